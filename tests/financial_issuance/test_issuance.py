"""Issuing the financial certificate end to end over HTTP: ARS or the departure check, then
each additional medium (account, security card, OTP, mobile certificate approved in the app),
then name/phone/birth date, the SMS code and the PIN; re-issuing supersedes."""

from __future__ import annotations

import re

from cryptography import x509

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.media.otp import totp
from certcenter.media.security_card import answer_for
from tests.conftest import LiveServer
from tests.financial_issuance.support import Browser
from tests.media.test_otp_service import register as register_otp
from tests.media.test_otp_service import secret_of
from tests.media.test_security_card import issue_and_register
from tests.support.flow import FlowFactory
from tests.usage.support import issued, logged_in


def _record(center: Center, serial: str) -> tuple[str, str | None]:
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
        assert record is not None
        return record.status, record.family


def _assert_issued(center: Center, browser: Browser, done: dict[str, object]) -> str:
    assert done["state"] == "completed" and done["next_step"] is None, done
    detail = done["detail"]
    assert isinstance(detail, dict)
    serial = str(detail["serial"])
    status, family = _record(center, serial)
    assert status == "active" and family == "financial"
    with center.uow_factory() as uow:
        device = uow.browser_devices.get(str(detail["device_id"]))
        assert device is not None and device.public_key == browser.spki
        assert device.label == "Chrome on Windows"
        customer = uow.customers.by_number(browser.person.key)
        assert customer is not None and device.customer_id == customer.id
        enrollment = uow.financial_enrollments.get(browser.enrollment_id)
        assert enrollment is not None and enrollment.certificate_serial == serial
    return serial


def test_ars_and_the_withdrawal_account(api: LiveServer, center: Center) -> None:
    browser = Browser(api.url, "C001")
    started = browser.start()
    assert started["state"] == "started" and started["next_step"] == "identify"
    identified = browser.identify()
    assert identified["state"] == "identified"
    assert identified["choices"] == ["ars", "departure"]
    assert identified["detail"]["phone"] == "010-****-0001"
    assert identified["detail"]["reissue"] is False
    code = browser.ars()
    assert re.fullmatch(r"\d{2}", code)
    assert browser.last["state"] == "ars_calling"
    # the phone rings: the prompt names the issuance, never the code
    call = api_calls(browser)[0]
    assert (
        call["status"] == "ringing"
        and "금융인증서" in call["prompt"]
        and code not in call["prompt"]
    )
    waiting = browser.ars_confirm()
    assert waiting["state"] == "ars_calling" and waiting["detail"]["ars"] == "ringing"
    browser.answer_call(code)
    proven = browser.ars_confirm()
    assert proven["state"] == "identity_proven" and proven["detail"]["proofing"] == "ars"
    chosen = browser.medium("account")
    assert chosen["state"] == "medium_pending"
    assert chosen["detail"]["accounts"] == [
        {"bank_code": "004", "account_number": "1234*******001"},
        {"bank_code": "004", "account_number": "1234*******101"},
    ]
    verified = browser.medium_verify(account_number="12340100000001", account_password="2580")
    assert verified["state"] == "medium_verified"
    sent = browser.details()
    assert sent["state"] == "code_sent" and sent["detail"]["phone"] == "010-****-0001"
    assert (
        "금융인증서"
        in browser.client.call("GET", "/sim/api/phones/01020000001/messages")[0]["body"]
    )
    assert browser.code_verify()["state"] == "code_verified"
    done = browser.pin()
    serial = _assert_issued(center, browser, done)
    assert done["detail"]["proofing"] == "ars" and done["detail"]["medium"] == "account"
    # the certificate is real: issued by the financial CA to the customer
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
        assert record is not None and record.der is not None
        cert = x509.load_der_x509_certificate(record.der)
    assert "김민준" in cert.subject.rfc4514_string()
    # the flow is closed now; its status still reads
    assert browser.refused("pin").code == "ENROLLMENT_CLOSED"
    shown = browser.status()
    assert shown["state"] == "completed" and shown["detail"]["certificate_serial"] == serial


def api_calls(browser: Browser) -> list[dict[str, object]]:
    calls: list[dict[str, object]] = browser.client.call("GET", f"/sim/ars/{browser.phone}")
    return calls


def test_departure_check_for_a_customer_abroad(api: LiveServer, center: Center) -> None:
    browser = Browser(api.url, "C014")
    browser.start()
    browser.identify()
    proven = browser.departure()
    assert proven["state"] == "identity_proven"
    assert proven["detail"] == {
        "proofing": "departure",
        "country": "US",
        "departed_on": "2026-10-02",
    }
    browser.by_account()
    done = browser.finish()
    _assert_issued(center, browser, done)
    assert done["detail"]["proofing"] == "departure"
    # no ARS call was placed
    assert api_calls(browser) == []


def test_security_card(api: LiveServer, center: Center) -> None:
    _, _, slots = issue_and_register(center, "C001")
    browser = Browser(api.url, "C001")
    browser.start()
    browser.identify()
    browser.proven_by_ars()
    question = browser.medium("security_card")["detail"]["security_card"]
    assert 1 <= question["slot_a"] <= len(slots) and question["slot_a"] != question["slot_b"]
    browser.medium_verify(
        card_challenge_id=question["challenge_id"],
        card_answer=answer_for(slots, question["slot_a"], question["slot_b"]),
    )
    assert browser.last["state"] == "medium_verified"
    done = browser.finish()
    _assert_issued(center, browser, done)
    assert done["detail"]["medium"] == "security_card"


def test_otp(api: LiveServer, center: Center, clock: FrozenClock) -> None:
    _, made = register_otp(center, "C001")
    clock.advance(seconds=30)
    browser = Browser(api.url, "C001")
    browser.start()
    browser.identify()
    browser.proven_by_ars()
    browser.medium("otp")
    browser.medium_verify(otp_code=totp(secret_of(made), clock.now()))
    assert browser.last["state"] == "medium_verified"
    done = browser.finish()
    _assert_issued(center, browser, done)
    assert done["detail"]["medium"] == "otp"


def test_mobile_certificate_approved_in_the_app(
    api: LiveServer, center: Center, new_flow: FlowFactory, clock: FrozenClock
) -> None:
    app = logged_in(issued(new_flow, "C001"))
    clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    browser = Browser(api.url, "C001")
    browser.start()
    browser.identify()
    browser.proven_by_ars()
    chosen = browser.medium("mobile_certificate")
    code = chosen["detail"]["approval_code"]
    assert re.fullmatch(r"\d{8}", code)
    # not approved yet: the browser waits
    waiting = browser.medium_verify()
    assert waiting["state"] == "medium_pending" and waiting["detail"]["approval"] == "pending"
    approved = app.call("POST", "/v1/approvals/approve", {"code": code})
    assert approved["state"] == "approved" and approved["purpose"] == "financial-issuance"
    verified = browser.medium_verify()
    assert verified["state"] == "medium_verified" and verified["detail"]["approval"] == "approved"
    done = browser.finish()
    _assert_issued(center, browser, done)
    assert done["detail"]["medium"] == "mobile_certificate"
    # the approval was used once, by this flow
    refused = _refused_call(app, "/v1/approvals/approve", {"code": code})
    assert refused in ("APPROVAL_USED", "APPROVAL_CODE_INVALID")


def _refused_call(client: object, path: str, body: dict[str, object]) -> str:
    from certcenter.cli.client import ApiError

    try:
        client.call("POST", path, body)  # type: ignore[attr-defined]
    except ApiError as err:
        return err.code
    raise AssertionError("not refused")


def test_reissue_supersedes_the_old_certificate(
    api: LiveServer, center: Center, clock: FrozenClock
) -> None:
    first = Browser(api.url, "C001")
    first.start()
    first.identify()
    first.proven_by_ars()
    first.by_account()
    old = str(first.finish()["detail"]["serial"])
    clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    second = Browser(api.url, "C001")
    second.start()
    assert second.identify()["detail"]["reissue"] is True
    second.proven_by_ars()
    second.by_account()
    new = str(second.finish()["detail"]["serial"])
    assert new != old
    assert _record(center, old)[0] == "superseded"
    assert _record(center, new)[0] == "active"
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        usable = uow.certificates.for_customer(
            customer.id, family="financial", statuses=["active", "suspended"]
        )
    assert [c.serial for c in usable] == [new]
