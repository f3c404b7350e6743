"""Issuing end-entity certificates in two steps: record the intent, then sign exactly that.

    issuer = Issuer(backend, hierarchy, settings, clock)
    intent = issuer.prepare("mobile", csr.public_key, SubjectInfo("홍길동", "C0012345"))
    store(intent)                       # the caller's database, committed BEFORE signing
    issuer.lint(intent)                 # CERTIFICATE_PROFILE_LINT_FAILED, before any CA key
    certificate = issuer.sign(intent, csr.public_key)

:meth:`Issuer.prepare` decides everything (serial, subject, validity, extensions) and
computes the to-be-signed bytes without the CA key: it signs the same builder with a
throwaway key of the CA key's type and keeps ``tbs_certificate_bytes`` (the TBS names the
signature algorithm, not the key). :meth:`Issuer.sign` rebuilds the builder from the intent,
has the key backend sign it, and refuses (RuntimeError) unless the result's TBS is the
recorded one and the signature verifies under the issuing CA certificate. So a crash can
leave an intent without a certificate, never a certificate without a record.

Serials are :func:`cryptography.x509.random_serial_number` (159 random bits, positive,
at most 20 octets); store them as text or NUMERIC, they do not fit a 64-bit integer column.
The serial also decides the certificate's CRL partition (``intent.crl_shard``,
:func:`certcenter.pki.crl.crl_shard_of` over ``policy.crl_shards``), which its CRL
distribution point names (``/crl/mobile-3.crl``): store it with the certificate.
Validity: see :func:`certcenter.pki.builder.validity_window` (5 minutes back-dated).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certcenter.clock import Clock, as_utc
from certcenter.config import Settings
from certcenter.keys.backend import CaKeys
from certcenter.pki.builder import (
    certificate_builder,
    check_key_allowed,
    signature_hash_for,
    throwaway_key_like,
    validity_window,
)
from certcenter.pki.crl import crl_shard_of, named_partitions
from certcenter.pki.hierarchy import CertificateAuthority, Hierarchy, IssuingCa
from certcenter.pki.lint import certificate_of_tbs, require_clean
from certcenter.pki.names import SubjectInfo, end_entity_subject
from certcenter.pki.pem import public_key_sha256
from certcenter.pki.profiles import CertificateProfile, profile

__all__ = ["IssuanceIntent", "Issuer", "SubjectInfo"]


@dataclass(frozen=True)
class IssuanceIntent:
    """A certificate decided but not yet signed: what the database records first."""

    serial: int
    profile: str
    subject: x509.Name
    public_key_sha256: str
    not_before: datetime
    not_after: datetime
    tbs: bytes
    issuer_key_label: str
    crl_shard: int  # the partition of the family's CRL that lists it, if it is revoked
    # the subjectAltName (the joint certificate's VID); also inside ``tbs``, read back from it
    subject_alt_name: x509.SubjectAlternativeName | None = None

    @property
    def serial_hex(self) -> str:
        return format(self.serial, "x")

    @property
    def crl_distribution_points(self) -> list[tuple[str, int, str]]:
        """``(family, shard, url)`` of the CRL partitions the certificate will name, read
        from the recorded TBS (see :func:`certcenter.pki.crl.named_partitions`)."""
        return named_partitions(certificate_of_tbs(self.tbs))

    def to_record(self) -> dict[str, str]:
        """Plain strings for a database row; :meth:`from_record` reverses it exactly."""
        return {
            "serial": self.serial_hex,
            "profile": self.profile,
            "subject": self.subject.rfc4514_string(),
            "public_key_sha256": self.public_key_sha256,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "tbs": self.tbs.hex(),
            "issuer_key_label": self.issuer_key_label,
            "crl_shard": str(self.crl_shard),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> IssuanceIntent:
        return cls(
            serial=int(record["serial"], 16),
            profile=record["profile"],
            subject=x509.Name.from_rfc4514_string(record["subject"]),
            public_key_sha256=record["public_key_sha256"],
            not_before=as_utc(datetime.fromisoformat(record["not_before"])),
            not_after=as_utc(datetime.fromisoformat(record["not_after"])),
            tbs=bytes.fromhex(record["tbs"]),
            issuer_key_label=record["issuer_key_label"],
            crl_shard=int(record.get("crl_shard", "0")),
            subject_alt_name=_recorded_subject_alt_name(bytes.fromhex(record["tbs"])),
        )


class Issuer:
    """The one entry point that makes end-entity certificates, driven by profiles."""

    def __init__(
        self, backend: CaKeys, hierarchy: Hierarchy, settings: Settings, clock: Clock
    ) -> None:
        self._backend = backend
        self._hierarchy = hierarchy
        self._settings = settings
        self._clock = clock

    def _end_entity(
        self, name: str, key_label: str | None = None
    ) -> tuple[CertificateProfile, IssuingCa]:
        """The profile as the CA signs it, and the CA: the family's current one, or the one
        of ``key_label`` (an intent recorded before a key rollover) while it is still there."""
        chosen = profile(name, self._settings)
        if chosen.is_ca or chosen.family is None:
            kind = "an OCSP responder" if chosen.ocsp_no_check else "a CA"
            raise ValueError(f"profile {name!r} is {kind} profile: see ensure_hierarchy")
        issuing = self._hierarchy.issuing(chosen.family)
        if key_label is not None and key_label != issuing.key_label:
            named = self._hierarchy.authority(key_label)
            issuing = named if named is not None and named.family == chosen.family else issuing
        return for_generation(chosen, issuing), issuing

    def _builder(
        self,
        chosen: CertificateProfile,
        issuing: IssuingCa,
        intent: IssuanceIntent,
        public_key: PublicKeyTypes,
    ) -> x509.CertificateBuilder:
        return certificate_builder(
            chosen.for_crl_shard(intent.crl_shard),
            self._settings,
            serial=intent.serial,
            subject=intent.subject,
            public_key=check_key_allowed(chosen, public_key),
            issuer_certificate=issuing.certificate,
            not_before=as_utc(intent.not_before),
            not_after=as_utc(intent.not_after),
            subject_alt_name=intent.subject_alt_name,
        )

    def prepare(
        self,
        profile_name: str,
        public_key: PublicKeyTypes,
        subject: SubjectInfo,
        *,
        subject_name: x509.Name | None = None,
        subject_alt_name: x509.SubjectAlternativeName | None = None,
    ) -> IssuanceIntent:
        """Decide the certificate and compute its TBS bytes; nothing is signed by the CA.

        ``subject_name`` replaces the subject made from ``subject`` (the joint certificate's
        NPKI name, made by :func:`certcenter.pki.names.joint_subject`); ``subject_alt_name``
        is required exactly by profiles that carry the identity (VID).
        ``CSR_KEY_TYPE_NOT_ALLOWED`` if the profile does not take this kind of key;
        ValueError for a subject that breaks the naming rules (see :mod:`.names`).
        """
        chosen, issuing = self._end_entity(profile_name)
        if chosen.carries_vid != (subject_alt_name is not None):
            raise ValueError(f"profile {profile_name!r}: subjectAltName (VID) is required exactly")
        check_key_allowed(chosen, public_key)
        not_before, not_after = validity_window(chosen, self._clock, issuing.certificate)
        serial = x509.random_serial_number()
        draft = IssuanceIntent(
            serial=serial,
            profile=chosen.name,
            subject=subject_name
            if subject_name is not None
            else end_entity_subject(self._settings, chosen.organizational_unit, subject),
            public_key_sha256=public_key_sha256(public_key),
            not_before=not_before,
            not_after=not_after,
            tbs=b"",
            issuer_key_label=issuing.key_label,
            crl_shard=crl_shard_of(serial, self._settings.policy.crl_shards),
            subject_alt_name=subject_alt_name,
        )
        issuer_key = issuing.certificate.public_key()
        unsigned = self._builder(chosen, issuing, draft, public_key)
        trial = unsigned.sign(throwaway_key_like(issuer_key), signature_hash_for(issuer_key))
        return replace(draft, tbs=trial.tbs_certificate_bytes)

    def family_of(self, profile_name: str) -> str:
        """The CA family of an end-entity profile (ValueError for a CA profile)."""
        chosen, _ = self._end_entity(profile_name)
        if chosen.family is None:  # pragma: no cover - _end_entity refuses it
            raise ValueError(f"profile {profile_name!r} has no family")
        return chosen.family

    def chain(self, profile_name: str) -> list[x509.Certificate]:
        """The chain a certificate of this profile needs: its issuing CA, then the root."""
        return self._hierarchy.chain(self.family_of(profile_name))

    def lint(self, intent: IssuanceIntent) -> None:
        """``CERTIFICATE_PROFILE_LINT_FAILED`` unless the intent's TBS lints clean
        (:mod:`certcenter.pki.lint`); no key is used."""
        chosen, issuing = self._end_entity(intent.profile, intent.issuer_key_label)
        require_clean(
            intent.tbs,
            chosen.for_crl_shard(intent.crl_shard),
            issuing.certificate,
            serial=f"{intent.serial:X}",
        )

    def sign(self, intent: IssuanceIntent, public_key: PublicKeyTypes) -> x509.Certificate:
        """Have the CA key sign exactly the recorded intent (RuntimeError if it differs)."""
        if public_key_sha256(public_key) != intent.public_key_sha256:
            raise ValueError("public key does not match the intent's public_key_sha256")
        chosen, issuing = self._end_entity(intent.profile, intent.issuer_key_label)
        if intent.issuer_key_label != issuing.key_label:
            raise RuntimeError(
                f"intent names CA key {intent.issuer_key_label!r}, "
                f"the {chosen.family} CA key is {issuing.key_label!r}"
            )
        builder = self._builder(chosen, issuing, intent, public_key)
        certificate = self._backend.sign_certificate(issuing.key_label, builder)
        if certificate.tbs_certificate_bytes != intent.tbs:
            raise RuntimeError(
                f"certificate {intent.serial_hex} differs from its recorded intent; not issued"
            )
        try:
            certificate.verify_directly_issued_by(issuing.certificate)
        except (InvalidSignature, ValueError, TypeError) as exc:
            raise RuntimeError(
                f"key {issuing.key_label!r} does not match the {chosen.family} CA certificate"
            ) from exc
        return certificate


def for_generation(chosen: CertificateProfile, ca: CertificateAuthority) -> CertificateProfile:
    """The end-entity profile as CA generation ``ca`` issues it: after a key rollover its
    certificates name the new generation's own CA file (``/ca/mobile-ca.2.der``) and CRLs
    (``/crl/mobile.2-3.crl``), so those the earlier generation issued keep theirs."""
    if ca.generation == 1 or ca.family is None:
        return chosen
    crl_path = chosen.crl_path
    if crl_path is not None:
        crl_path = crl_path.replace(f"/crl/{ca.family}", f"/crl/{ca.scope}", 1)
    ca_issuers = None if chosen.ca_issuers_path is None else f"/ca/{ca.key_label}.der"
    return replace(chosen, crl_path=crl_path, ca_issuers_path=ca_issuers)


def _recorded_subject_alt_name(tbs: bytes) -> x509.SubjectAlternativeName | None:
    """The subjectAltName inside recorded TBS bytes, None when it has none."""
    try:
        extension = certificate_of_tbs(tbs).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except (x509.ExtensionNotFound, ValueError):
        return None
    return extension.value
