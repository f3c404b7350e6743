"""What the joint certificate's two kinds are, and how its secrets are sealed.

    profile_of("general")                 # 'joint-general'
    sealed = seal(keys, "data-seal", AUTHORIZATION, registration.id, code.encode())
    opened = unseal(keys, "data-seal", AUTHORIZATION, registration.id, sealed)

The authorization code (인가코드) and the VID's random value R are kept only sealed: AES-256-GCM
under a secret of the key backend (the same one that seals the OTP secrets), bound to the
registration's id and to what the value is, so a sealed value copied to another row or field
does not open.
"""

from __future__ import annotations

from cryptography import x509

from certcenter.errors import CertCenterError
from certcenter.keys import Secrets
from certcenter.pki.profiles import VID_OTHER_NAME_OID

__all__ = [
    "AUTHORIZATION",
    "AUTHORIZATION_FACTOR",
    "KINDS",
    "VID_RANDOM",
    "check_kind",
    "profile_of",
    "seal",
    "unseal",
    "vid_subject_alt_name",
]

KINDS = ("banking", "general")  # 은행·신용카드·보험용 (free), 범용 (the yearly fee)
_PROFILES = {"banking": "joint-banking", "general": "joint-general"}
AUTHORIZATION = "authorization"  # what a sealed value is: the 인가코드
VID_RANDOM = "vid-random"  # … the VID's random value R
AUTHORIZATION_FACTOR = "joint_authorization"  # the counter of wrong 인가코드 (factor_counters)


def check_kind(kind: str) -> str:
    """``kind`` if it is one of :data:`KINDS`, else ``JOINT_KIND_INVALID``."""
    if kind not in KINDS:
        raise CertCenterError("JOINT_KIND_INVALID", kind=str(kind)[:20])
    return kind


def profile_of(kind: str) -> str:
    """The certificate profile of a kind: ``joint-banking`` or ``joint-general``."""
    return _PROFILES[check_kind(kind)]


def _context(what: str, registration_id: str) -> bytes:
    return f"joint:{what}:{registration_id}".encode("ascii")


def seal(keys: Secrets, label: str, what: str, registration_id: str, value: bytes) -> bytes:
    return keys.encrypt(label, value, _context(what, registration_id))


def unseal(keys: Secrets, label: str, what: str, registration_id: str, sealed: bytes) -> bytes:
    return keys.decrypt(label, sealed, _context(what, registration_id))


def vid_subject_alt_name(vid_value: bytes) -> x509.SubjectAlternativeName:
    """The subjectAltName of a joint certificate: the identity (VID) otherName alone."""
    return x509.SubjectAlternativeName([x509.OtherName(VID_OTHER_NAME_OID, vid_value)])
