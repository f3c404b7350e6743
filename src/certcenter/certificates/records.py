"""The states of a certificate and the allowed moves between them, on the record itself.

    active ──suspend──▶ suspended ──release──▶ active
    active | suspended ──revoke──▶ revoked            (terminal)
    active | suspended ──renew / re-issue──▶ superseded  (terminal)
    active | suspended ──validity ends──▶ expired        (terminal)

Every function here checks the move, changes the record, and keeps its CRL entry right:
a revoked, superseded or suspended certificate carries the DER of its CRL entry (with its
reason; certificateHold while suspended); a released one carries none.

    revoke(record, now, "keyCompromise")   # True when it changed, False when already revoked
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

from certcenter.entities import CertificateRecord
from certcenter.entities import CertificateStatus as S
from certcenter.errors import CertCenterError
from certcenter.pki.crl import encode_crl_entry
from certcenter.pki.issuer import IssuanceIntent
from certcenter.pki.names import display_name

# Reasons a customer or an operator may give (RFC 5280 §5.3.1). certificateHold is what
# suspension uses; removeFromCRL and the CA reasons are not for end-entity revocation.
REVOCATION_REASONS: dict[str, x509.ReasonFlags] = {
    flag.value: flag
    for flag in (
        x509.ReasonFlags.unspecified,
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.privilege_withdrawn,
    )
}
USABLE = (S.ACTIVE.value, S.SUSPENDED.value)


def reason_flag(reason: str) -> x509.ReasonFlags:
    try:
        return REVOCATION_REASONS[reason]
    except KeyError:
        raise CertCenterError(
            "REVOCATION_REASON_INVALID", allowed=", ".join(REVOCATION_REASONS)
        ) from None


def _serial(record: CertificateRecord) -> int:
    return int(record.serial, 16)


def _refuse_unusable(record: CertificateRecord) -> None:
    if record.status == S.REVOKED:
        raise CertCenterError("CERTIFICATE_REVOKED", reason=record.revocation_reason or "-")
    if record.status not in USABLE:
        raise CertCenterError("CERTIFICATE_NOT_USABLE", status=record.status)


def revoke(record: CertificateRecord, now: datetime, reason: str) -> bool:
    """Revoke; idempotent (False when it was revoked already)."""
    flag = reason_flag(reason)
    if record.status == S.REVOKED:
        return False
    _refuse_unusable(record)
    record.status = S.REVOKED.value
    record.revoked_at = now
    record.revocation_reason = flag.value
    record.suspended_at = None
    record.crl_entry = encode_crl_entry(_serial(record), now, flag)
    return True


def suspend(record: CertificateRecord, now: datetime) -> bool:
    """Put on hold (certificateHold); idempotent (False when suspended already)."""
    if record.status == S.SUSPENDED:
        return False
    _refuse_unusable(record)
    record.status = S.SUSPENDED.value
    record.suspended_at = now
    record.revoked_at = now
    record.revocation_reason = x509.ReasonFlags.certificate_hold.value
    record.crl_entry = encode_crl_entry(_serial(record), now, x509.ReasonFlags.certificate_hold)
    return True


def release(record: CertificateRecord) -> None:
    """Lift a hold: the certificate is good again and leaves the CRL."""
    if record.status != S.SUSPENDED:
        if record.status == S.REVOKED:
            _refuse_unusable(record)
        raise CertCenterError("CERTIFICATE_NOT_SUSPENDED", status=record.status)
    record.status = S.ACTIVE.value
    record.suspended_at = None
    record.revoked_at = None
    record.revocation_reason = None
    record.crl_entry = None


def supersede(record: CertificateRecord, now: datetime, by_serial: str | None) -> None:
    """Replaced by a renewal or a re-issue (listed as revoked with reason superseded)."""
    _refuse_unusable(record)
    record.status = S.SUPERSEDED.value
    record.revoked_at = now
    record.revocation_reason = x509.ReasonFlags.superseded.value
    record.suspended_at = None
    record.replaced_by = by_serial
    record.crl_entry = encode_crl_entry(_serial(record), now, x509.ReasonFlags.superseded)


def expire(record: CertificateRecord) -> bool:
    """Validity over. An expired certificate leaves the CRL (RFC 5280 §3.3 lets it go)."""
    if record.status not in USABLE:
        return False
    record.status = S.EXPIRED.value
    record.crl_entry = None
    return True


def require_usable(record: CertificateRecord, now: datetime) -> None:
    """For operations on a certificate in use: refuse revoked, out-of-use and expired ones."""
    _refuse_unusable(record)
    if record.not_after <= now:
        raise CertCenterError("CERTIFICATE_EXPIRED", not_after=record.not_after.date().isoformat())


def pending_record(
    intent: IssuanceIntent,
    *,
    family: str,
    customer_id: str,
    device_id: str | None,
    created_at: datetime,
    enrollment_id: str | None = None,
    renewed_from: str | None = None,
) -> CertificateRecord:
    """The record of an issuance intent, written ahead of the signature (status pending)."""
    return CertificateRecord(
        serial=f"{intent.serial:X}",  # serials are upper-case hex throughout the center
        family=family,
        profile=intent.profile,
        customer_id=customer_id,
        device_id=device_id,
        enrollment_id=enrollment_id,
        subject=display_name(intent.subject),
        public_key_sha256=intent.public_key_sha256,
        not_before=intent.not_before,
        not_after=intent.not_after,
        tbs=intent.tbs,
        issuer_key_label=intent.issuer_key_label,
        status=S.PENDING.value,
        created_at=created_at,
        renewed_from=renewed_from,
        crl_shard=intent.crl_shard,
    )


def require_active(record: CertificateRecord, now: datetime) -> None:
    """For using a certificate (login, transfer, signature): only an active one within its
    validity; suspended, revoked or superseded, and expired ones are refused by name."""
    if record.status == S.SUSPENDED:
        raise CertCenterError("CERTIFICATE_SUSPENDED")
    if record.status in (S.REVOKED, S.SUPERSEDED):
        raise CertCenterError("CERTIFICATE_REVOKED", reason=record.revocation_reason or "-")
    if record.status == S.EXPIRED or record.not_after <= now:
        raise CertCenterError("CERTIFICATE_EXPIRED", not_after=record.not_after.date().isoformat())
    if record.status != S.ACTIVE:
        raise CertCenterError("CERTIFICATE_NOT_USABLE", status=record.status)
