"""Issuance.issue: write ahead, lint, sign, activate — for every kind of certificate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.bootstrap import Center
from certcenter.certificates.records import pending_record
from certcenter.entities import CertificateRecord, CertificateStatus, Customer, OcspCacheEntry
from certcenter.errors import CertCenterError
from certcenter.issuance import (
    Activated,
    AlreadyRenewedError,
    IssueHooks,
    IssueRequest,
    Notice,
    Renewal,
    conflict_error,
)
from certcenter.lifecycle.service import ActorRef
from certcenter.pki.issuer import IssuanceIntent, Issuer
from certcenter.ports import UnitOfWork
from tests.support.pkilint import Linter

ACTOR = ActorRef.operator("kim", "10.0.0.5")


def _customer(center: Center, number: str = "C001") -> Customer:
    with center.uow_factory() as uow:
        customer = uow.customers.by_number(number)
    assert customer is not None
    return customer


def _key() -> ec.EllipticCurvePublicKey:
    return ec.generate_private_key(ec.SECP256R1()).public_key()


def _record(center: Center, serial: str) -> CertificateRecord:
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
    assert record is not None
    return record


def _trail(center: Center, serial: str) -> list[tuple[str, dict[str, Any]]]:
    with center.uow_factory() as uow:
        return [(e.action, dict(e.details)) for e in uow.audit.for_subject("certificate", serial)]


def _request(center: Center, **changes: Any) -> IssueRequest:
    base = IssueRequest(
        profile="mobile",
        public_key=_key(),
        customer_id=_customer(center).id,
        actor=ACTOR,
        device_id="DEV-1",
    )
    return replace(base, **changes)


def test_issue_writes_activates_audits_and_notifies(center: Center) -> None:
    seen: list[Activated] = []

    def notices(done: Activated) -> list[Notice]:
        seen.append(done)
        return [Notice("issued", {"device": "SM-S928N"})]

    issued = center.issuance.issue(_request(center, notices=notices))
    record = _record(center, issued.serial)
    assert record.status == CertificateStatus.ACTIVE.value
    assert record.der == issued.der and record.device_id == "DEV-1"
    assert record.issued_at is not None and record.renewed_from is None
    assert issued.certificate.serial_number == int(issued.serial, 16)
    assert len(issued.chain) == 2 and issued.chain_pem[0].startswith("-----BEGIN CERTIFICATE")
    assert (issued.not_before, issued.not_after) == (record.not_before, record.not_after)
    assert _trail(center, issued.serial) == [("issue", {})]
    assert [d.serial for d in seen] == [issued.serial]
    with center.uow_factory() as uow:
        events = [m.event for m in uow.outbox.for_customer(_customer(center).id)]
    assert "issued" in events


def test_real_certificates_lint_clean_with_pkilint_too(center: Center) -> None:
    linter = Linter()
    for profile in ("mobile", "financial"):
        issued = center.issuance.issue(_request(center, profile=profile))
        assert linter.errors(issued.certificate) == []


def test_supersede_family_retires_the_other_usable_certificates(center: Center) -> None:
    first = center.issuance.issue(_request(center))
    second = center.issuance.issue(_request(center, supersede_family=True))
    assert second.retired == (first.serial,)
    old = _record(center, first.serial)
    assert old.status == CertificateStatus.SUPERSEDED.value and old.replaced_by == second.serial
    assert ("supersede", {"by": second.serial}) in _trail(center, first.serial)


def test_a_second_usable_certificate_is_refused_as_already_active(center: Center) -> None:
    center.issuance.issue(_request(center))
    with pytest.raises(CertCenterError) as refused:
        center.issuance.issue(_request(center))  # no supersede: one usable per family
    assert refused.value.code == "CERTIFICATE_ALREADY_ACTIVE"
    with center.uow_factory() as uow:
        statuses = [
            r.status for r in uow.certificates.for_customer(_customer(center).id, family="mobile")
        ]
    assert statuses.count(CertificateStatus.ACTIVE.value) == 1
    assert CertificateStatus.PENDING.value not in statuses  # the failed intent is abandoned


def test_renewal_supersedes_keeps_use_and_happens_once(center: Center) -> None:
    key = _key()
    first = center.issuance.issue(_request(center, public_key=key))
    renewed = center.issuance.issue(_request(center, public_key=key, replaces=first.serial))
    assert renewed.retired == (first.serial,)
    assert _record(center, renewed.serial).renewed_from == first.serial
    assert ("renew", {"new_serial": renewed.serial}) in _trail(center, first.serial)
    assert _trail(center, renewed.serial) == [("issue", {"renews": first.serial})]
    with pytest.raises(AlreadyRenewedError) as again:
        center.issuance.issue(_request(center, public_key=key, replaces=first.serial))
    assert again.value.replaced_by == renewed.serial
    assert again.value.status == CertificateStatus.SUPERSEDED.value


def test_a_renewal_under_way_is_not_doubled(center: Center) -> None:
    key = _key()
    first = center.issuance.issue(_request(center, public_key=key))

    class Racer(IssueHooks):
        def on_intent(self, uow: UnitOfWork, customer: Customer, intent: IssuanceIntent) -> None:
            # another renewal's intent for the same certificate, in the same commit: the
            # database refuses a second renewal however the two writers interleave
            other = center.issuer.prepare("mobile", key, _subject(customer))
            uow.certificates.add(
                pending_record(
                    other,
                    family="mobile",
                    customer_id=customer.id,
                    device_id=None,
                    created_at=center.clock.now(),
                    renewed_from=first.serial,
                )
            )

    with pytest.raises(AlreadyRenewedError) as raced:
        center.issuance.issue(_request(center, public_key=key, replaces=first.serial), Racer())
    assert raced.value.replaced_by is None  # under way, not finished


def _subject(customer: Customer) -> Any:
    from certcenter.pki.names import SubjectInfo

    return SubjectInfo(common_name=customer.name, customer_ref=customer.customer_number)


def test_hooks_run_in_both_transactions_and_may_refuse(center: Center) -> None:
    calls: list[str] = []

    class Hooks(IssueHooks):
        def on_intent(self, uow: UnitOfWork, customer: Customer, intent: IssuanceIntent) -> None:
            calls.append("intent")
            assert uow.certificates.get(f"{intent.serial:X}") is None  # before the pending row

        def on_activate(
            self,
            uow: UnitOfWork,
            customer: Customer,
            record: CertificateRecord,
            retired: Sequence[CertificateRecord],
        ) -> Mapping[str, object]:
            calls.append("activate")
            assert record.status == CertificateStatus.ACTIVE.value
            return {"device": record.device_id}

    issued = center.issuance.issue(_request(center), Hooks())
    assert calls == ["intent", "activate"]
    assert _trail(center, issued.serial) == [("issue", {"device": "DEV-1"})]
    assert issued.details == {"device": "DEV-1"}

    class Refuses(IssueHooks):
        def on_intent(self, uow: UnitOfWork, customer: Customer, intent: IssuanceIntent) -> None:
            raise CertCenterError("DEVICE_ALREADY_REGISTERED")

    with pytest.raises(CertCenterError) as refused:
        center.issuance.issue(_request(center, supersede_family=True), Refuses())
    assert refused.value.code == "DEVICE_ALREADY_REGISTERED"
    assert _record(center, issued.serial).status == CertificateStatus.ACTIVE.value

    class RefusesLate(IssueHooks):
        serial = ""

        def on_intent(self, uow: UnitOfWork, customer: Customer, intent: IssuanceIntent) -> None:
            RefusesLate.serial = f"{intent.serial:X}"

        def on_activate(self, *_: object) -> Mapping[str, object]:
            raise CertCenterError("DEVICE_IN_USE_BY_ANOTHER_CUSTOMER")

    with pytest.raises(CertCenterError):
        center.issuance.issue(_request(center, supersede_family=True), RefusesLate())
    assert _record(center, RefusesLate.serial).status == CertificateStatus.ABANDONED.value
    assert _record(center, issued.serial).status == CertificateStatus.ACTIVE.value


def test_a_lost_intent_is_the_hooks_error(center: Center) -> None:
    class Lost(IssueHooks):
        serial = ""

        def on_intent(self, uow: UnitOfWork, customer: Customer, intent: IssuanceIntent) -> None:
            Lost.serial = f"{intent.serial:X}"

        def intent_lost(self, serial: str) -> CertCenterError:
            return CertCenterError("CERTIFICATE_ALREADY_ACTIVE")

    real_sign = Issuer.sign

    def sign_and_lose(issuer: Issuer, intent: IssuanceIntent, key: Any) -> Any:
        with center.uow_factory() as uow:
            record = uow.certificates.get(f"{intent.serial:X}", for_update=True)
            assert record is not None
            record.status = CertificateStatus.ABANDONED.value  # a newer attempt took over
            uow.commit()
        return real_sign(issuer, intent, key)

    Issuer.sign = sign_and_lose  # type: ignore[method-assign]
    try:
        with pytest.raises(CertCenterError) as lost:
            center.issuance.issue(_request(center), Lost())
    finally:
        Issuer.sign = real_sign  # type: ignore[method-assign]
    assert lost.value.code == "CERTIFICATE_ALREADY_ACTIVE"


def test_a_lint_failure_signs_nothing_and_abandons_the_intent(center: Center) -> None:
    signed: list[str] = []
    real_sign, real_lint = Issuer.sign, Issuer.lint

    def never(issuer: Issuer, intent: IssuanceIntent, key: Any) -> Any:
        signed.append(intent.serial_hex)
        return real_sign(issuer, intent, key)

    def broken_lint(issuer: Issuer, intent: IssuanceIntent) -> None:
        real_lint(issuer, replace(intent, tbs=intent.tbs[:-3]))

    Issuer.sign, Issuer.lint = never, broken_lint  # type: ignore[method-assign]
    try:
        with pytest.raises(CertCenterError) as failed:
            center.issuance.issue(_request(center))
    finally:
        Issuer.sign, Issuer.lint = real_sign, real_lint  # type: ignore[method-assign]
    assert failed.value.code == "CERTIFICATE_PROFILE_LINT_FAILED"
    assert failed.value.http_status == 500
    assert signed == []
    with center.uow_factory() as uow:
        statuses = {r.status for r in uow.certificates.for_customer(_customer(center).id)}
    assert statuses == {CertificateStatus.ABANDONED.value}


def test_unknown_customer_and_foreign_replaces_are_refused(center: Center) -> None:
    with pytest.raises(CertCenterError) as unknown:
        center.issuance.issue(_request(center, customer_id="nobody"))
    assert unknown.value.code == "CUSTOMER_UNKNOWN"
    other = center.issuance.issue(_request(center, customer_id=_customer(center, "C002").id))
    with pytest.raises(CertCenterError) as foreign:
        center.issuance.issue(_request(center, replaces=other.serial))
    assert foreign.value.code == "CERTIFICATE_NOT_FOUND"


def test_no_actor_writes_no_audit_entry(center: Center) -> None:
    issued = center.issuance.issue(_request(center, actor=None))
    assert _trail(center, issued.serial) == []


def test_constraint_names_become_the_flow_codes() -> None:
    assert conflict_error("uq_devices_one_active_per_customer").code == (
        "DEVICE_ALREADY_REGISTERED"
    )
    assert conflict_error("devices.customer_id").code == "DEVICE_ALREADY_REGISTERED"
    assert conflict_error("uq_browser_devices_active_key").code == "CERTIFICATE_ALREADY_ACTIVE"
    assert conflict_error("browser_devices.key_sha256").code == "CERTIFICATE_ALREADY_ACTIVE"
    assert conflict_error("uq_certificates_one_usable_per_family").code == (
        "CERTIFICATE_ALREADY_ACTIVE"
    )


def test_retiring_invalidates_ocsp_and_publishes_the_crl_partition(center: Center) -> None:
    first = center.issuance.issue(_request(center))
    now = center.clock.now()
    with center.uow_factory() as uow:
        uow.ocsp.put(OcspCacheEntry(first.serial, b"cached", now, now, now))
        uow.commit()
    second = center.issuance.issue(_request(center, supersede_family=True))
    old = _record(center, first.serial)
    with center.uow_factory() as uow:
        assert uow.ocsp.get(first.serial) is None
        crl = uow.crls.latest(old.family, old.crl_shard)
    assert crl is not None
    listed = x509.load_der_x509_crl(crl.der).get_revoked_certificate_by_serial_number(
        int(first.serial, 16)
    )
    assert listed is not None
    assert second.retired == (first.serial,)


def test_a_failed_publication_is_logged_not_raised(
    center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    first = center.issuance.issue(_request(center))

    class Down:
        def publish(self, family: str, shard: int) -> None:
            raise OSError("CRL store down")

    center.issuance.publisher = Down()
    second = center.issuance.issue(_request(center, supersede_family=True))
    assert second.retired == (first.serial,)
    assert "not published now" in caplog.text


def test_renewal_checks_the_replaced_certificate_under_its_lock(center: Center) -> None:
    key = _key()
    first = center.issuance.issue(_request(center, public_key=key))
    seen: list[str] = []

    def refuse(old: CertificateRecord) -> None:
        seen.append(old.serial)
        raise CertCenterError("CERTIFICATE_SUSPENDED")

    with pytest.raises(CertCenterError) as refused:
        center.issuance.issue(
            _request(center, public_key=key, replaces=first.serial), Renewal(refuse)
        )
    assert refused.value.code == "CERTIFICATE_SUSPENDED" and seen == [first.serial]
    with center.uow_factory() as uow:
        mine = uow.certificates.for_customer(_customer(center).id)
    assert [r.serial for r in mine] == [first.serial]  # nothing written ahead
