"""Every allowed move of a certificate's status, and every forbidden one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certcenter.certificates import records
from certcenter.entities import CertificateRecord
from certcenter.errors import CertCenterError

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def record(status: str, *, not_after: datetime | None = None) -> CertificateRecord:
    return CertificateRecord(
        serial="3F2A9C",
        family="mobile",
        profile="mobile",
        customer_id="c",
        device_id="d",
        enrollment_id=None,
        subject="CN=x",
        public_key_sha256="0" * 64,
        not_before=NOW - timedelta(days=1),
        not_after=not_after or NOW + timedelta(days=700),
        tbs=b"",
        issuer_key_label="mobile-ca",
        status=status,
        created_at=NOW,
    )


def test_active_can_be_suspended_released_revoked_superseded_and_expired() -> None:
    r = record("active")
    assert records.suspend(r, NOW) is True
    assert (r.status, r.revocation_reason) == ("suspended", "certificateHold") and r.crl_entry
    assert records.suspend(r, NOW) is False  # idempotent
    records.release(r)
    assert (r.status, r.revocation_reason, r.crl_entry) == ("active", None, None)
    assert records.revoke(r, NOW, "keyCompromise") is True
    assert (r.status, r.revocation_reason, r.revoked_at) == ("revoked", "keyCompromise", NOW)
    assert r.crl_entry
    assert records.revoke(r, NOW, "keyCompromise") is False  # idempotent

    s = record("active")
    records.supersede(s, NOW, "ABCDEF")
    assert (s.status, s.replaced_by, s.revocation_reason) == ("superseded", "ABCDEF", "superseded")

    e = record("suspended", not_after=NOW - timedelta(seconds=1))
    assert records.expire(e) is True
    assert (e.status, e.crl_entry) == ("expired", None)


@pytest.mark.parametrize("status", ["revoked", "superseded", "expired", "abandoned", "pending"])
def test_nothing_but_revoke_again_is_allowed_out_of_a_final_state(status: str) -> None:
    r = record(status)
    r.revocation_reason = "keyCompromise" if status == "revoked" else None
    code = "CERTIFICATE_REVOKED" if status == "revoked" else "CERTIFICATE_NOT_USABLE"
    for move in (
        lambda: records.suspend(r, NOW),
        lambda: records.supersede(r, NOW, "X"),
        lambda: records.require_usable(r, NOW),
    ):
        with pytest.raises(CertCenterError) as refused:
            move()
        assert refused.value.code == code
    with pytest.raises(CertCenterError) as refused:
        records.release(r)
    assert refused.value.code in {"CERTIFICATE_REVOKED", "CERTIFICATE_NOT_SUSPENDED"}
    if status == "revoked":
        assert records.revoke(r, NOW, "unspecified") is False
    else:
        with pytest.raises(CertCenterError):
            records.revoke(r, NOW, "unspecified")
    assert records.expire(r) is False


def test_release_needs_a_suspension_and_reasons_are_checked() -> None:
    with pytest.raises(CertCenterError) as refused:
        records.release(record("active"))
    assert refused.value.code == "CERTIFICATE_NOT_SUSPENDED"
    for bad in ("certificateHold", "removeFromCRL", "cACompromise", "nonsense"):
        with pytest.raises(CertCenterError) as refused:
            records.revoke(record("active"), NOW, bad)
        assert refused.value.code == "REVOCATION_REASON_INVALID"


def test_an_expired_certificate_cannot_be_acted_on() -> None:
    r = record("active", not_after=NOW)
    with pytest.raises(CertCenterError) as refused:
        records.require_usable(r, NOW)
    assert refused.value.code == "CERTIFICATE_EXPIRED"
