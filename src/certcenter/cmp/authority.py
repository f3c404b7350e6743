"""What the CMP server asks of the joint certificate's authority (공동인증서 발급기관).

The server speaks the protocol; the authority decides. ``certcenter.joint``'s
``JointAuthority`` (``Center.joint_authority``) implements :class:`CmpAuthority`; every
refusal is a :class:`~certcenter.errors.CertCenterError` from the catalog, which the server
turns into a CMP error message through one table (:mod:`certcenter.cmp.failures`).

    secret = authority.shared_secret("12345678")        # the 인가코드, for the MAC
    enrolled = authority.enroll("12345678", public_key_der=spki, requested_subject=None,
                                transaction_id=tid)
    authority.confirm(tid, accepted=True)                 # after a good certConf
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cryptography import x509

__all__ = ["CmpAuthority", "Enrolled"]


class Enrolled(Protocol):
    """A certificate the authority made (``JointEnrolled``): the certificate, the chain
    above it (issuing CA first, root last) and the VID's random value (kept by the customer's
    software with the private key, for identity checks by relying parties)."""

    @property
    def certificate(self) -> x509.Certificate: ...
    @property
    def chain(self) -> Sequence[x509.Certificate]: ...
    @property
    def vid_random(self) -> bytes: ...


class CmpAuthority(Protocol):
    """The joint certificate's registration and issuance, as the CMP server sees it."""

    def shared_secret(self, reference: str) -> bytes:
        """The authorization code (인가코드) handed out with the reference number
        (참조번호), the key of the password-based MAC; a catalog refusal when the reference
        is unknown, used, expired or locked."""
        ...

    def record_bad_mac(self, reference: str) -> None:
        """Count a message whose MAC did not verify against the reference's code (a wrong
        code typed): the authority locks the reference at its limit."""
        ...

    def enroll(
        self,
        reference: str,
        *,
        public_key_der: bytes,
        requested_subject: x509.Name | None,
        transaction_id: bytes,
    ) -> Enrolled:
        """Issue the reference's certificate for the key (SubjectPublicKeyInfo, DER); it is
        handed out but not in use until :meth:`confirm`."""
        ...

    def confirm(self, transaction_id: bytes, *, accepted: bool) -> None:
        """The client confirmed (``accepted``) or rejected the certificate issued in the
        transaction; a rejected or never confirmed one is revoked."""
        ...

    def renew(
        self, old_certificate: x509.Certificate, *, public_key_der: bytes, transaction_id: bytes
    ) -> Enrolled:
        """Renew ``old_certificate`` (its holder signed the request) for a new key."""
        ...

    def revoke(self, certificate: x509.Certificate, *, reason: x509.ReasonFlags | None) -> None:
        """Revoke ``certificate`` at its holder's request."""
        ...
