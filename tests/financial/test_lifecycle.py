"""The financial certificate over time, under the controlled clock: the inactivity notice,
then deletion (key destroyed, certificate revoked, customer told); renewal when used in its
last month, at login and by the job runner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from tests.financial.support import Browser, customer, events, issue, remote_sign
from tests.financial.support import cloud_keys as keys


def test_inactivity_notice_then_deletion(center: Center, clock: FrozenClock) -> None:
    browser = Browser()
    issued = issue(center, browser)
    holder = customer(center)
    policy = center.settings.policy
    days, notice = policy.financial_inactivity_days, policy.financial_inactivity_notice_days

    clock.advance(days=days - notice - 1)
    assert center.jobs.run_once().financial_noticed == []  # not yet
    clock.advance(days=1, seconds=1)
    report = center.jobs.run_once()
    assert report.financial_noticed == ["C001"] and report.financial_deleted == []
    assert events(center, holder.id).count("financial_inactivity_notice") == 1
    assert center.jobs.run_once().financial_noticed == []  # once per idle period
    with center.uow_factory() as uow:
        notices = [m for m in uow.outbox.for_customer(holder.id) if m.channel == "sms"]
    text = next(m.body for m in notices if m.event == "financial_inactivity_notice")
    delete_on = (clock.now() + timedelta(days=notice)).astimezone().date()
    assert "삭제될 예정" in text and str(delete_on.year) in text

    clock.advance(days=notice - 1)
    assert center.jobs.run_once().financial_deleted == []  # the notice's days are not over
    assert keys(center) != []
    clock.advance(days=1, seconds=1)
    report = center.jobs.run_once()
    assert report.financial_deleted == ["C001"] and report.errors == []

    assert keys(center) == []  # the cloud key is destroyed: its wrapped form erased
    with center.uow_factory() as uow:
        record = uow.certificates.get(issued.serial)
        assert uow.cloud_accounts.active_for_customer(holder.id) is None
        assert uow.browser_devices.count_active(holder.id) == 0
    assert record is not None and record.status == "revoked"
    assert record.revocation_reason == "cessationOfOperation"
    assert "financial_deleted" in events(center, holder.id)
    crl = x509.load_der_x509_crl(center.revocation.crls.current("financial", record.crl_shard).der)
    assert crl.get_revoked_certificate_by_serial_number(int(issued.serial, 16)) is not None
    with pytest.raises(CertCenterError) as caught:
        center.remote_signer.begin(issued.device_id or "", "document", b"x")
    assert caught.value.code == "FINANCIAL_DEVICE_NOT_REGISTERED"
    assert center.jobs.run_once().financial_deleted == []


def test_a_use_restarts_the_idle_period(center: Center, clock: FrozenClock) -> None:
    browser = Browser()
    device_id = issue(center, browser).device_id or ""
    policy = center.settings.policy
    days, notice = policy.financial_inactivity_days, policy.financial_inactivity_notice_days
    clock.advance(days=days - notice, seconds=1)
    assert center.cloud_certificates.run_jobs().noticed == ["C001"]
    remote_sign(center, browser, device_id, b"still here")  # the notice worked
    clock.advance(days=notice + 1)
    assert center.cloud_certificates.run_jobs().deleted == []
    assert keys(center) != []
    clock.advance(days=days - notice - 1)
    # a new idle period, a new notice
    assert center.cloud_certificates.run_jobs().noticed == ["C001"]


def test_deletion_always_comes_after_a_notice(center: Center, clock: FrozenClock) -> None:
    """The job did not run for a long time: the customer is still told first."""
    issue(center, Browser())
    clock.advance(days=center.settings.policy.financial_inactivity_days + 100)
    first = center.cloud_certificates.run_jobs()
    assert first.noticed == ["C001"] and first.deleted == []
    clock.advance(days=center.settings.policy.financial_inactivity_notice_days, seconds=1)
    assert center.cloud_certificates.run_jobs().deleted == ["C001"]


def test_login_in_the_last_month_renews_the_certificate(center: Center, clock: FrozenClock) -> None:
    browser = Browser()
    issued = issue(center, browser)
    device_id = issued.device_id or ""
    window = center.settings.policy.financial_renewal_window_days

    def login() -> tuple[str, bool]:
        request = center.financial_login.begin(device_id)
        result = center.financial_login.login(
            request.activation_id, browser.sign(request.message), "480213"
        )
        assert result.opened.session.method == "financial"
        assert result.opened.session.device_id == device_id
        return result.certificate_serial, result.renewed

    clock.advance(days=1095 - window - 2)
    assert login() == (issued.serial, False)  # not in its last month yet
    clock.advance(days=3)
    serial, renewed = login()
    assert renewed and serial != issued.serial
    with center.uow_factory() as uow:
        old = uow.certificates.get(issued.serial)
        new = uow.certificates.get(serial)
    assert old is not None and old.status == "superseded" and old.replaced_by == serial
    assert new is not None and new.status == "active" and new.renewed_from == issued.serial
    assert new.not_after - clock.now() > timedelta(days=1090)
    new_cert = x509.load_der_x509_certificate(new.der or b"")
    assert new_cert.public_key() == issued.certificate.public_key()  # the same cloud key
    assert "financial_renewed" in events(center, customer(center).id)
    assert remote_sign(center, browser, device_id, b"x").certificate_serial == serial
    assert login() == (serial, False)


def test_the_job_renews_a_certificate_used_in_its_last_month(
    center: Center, clock: FrozenClock
) -> None:
    browser = Browser()
    issued = issue(center, browser)
    window = center.settings.policy.financial_renewal_window_days
    clock.advance(days=1095 - window + 1)
    assert center.cloud_certificates.run_jobs().renewed == {}  # not used in its last month
    remote_sign(center, browser, issued.device_id or "", b"a use")
    report = center.jobs.run_once()
    assert list(report.renewed) == [issued.serial]
    assert center.cloud_certificates.run_jobs().renewed == {}  # once
