"""Refusals of the financial-certificate issuance, each with its catalog code: who the customer
is, ARS and departure check, media not held, lockouts, details, codes, PINs, order, expiry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from tests.conftest import LiveServer
from tests.financial_issuance.support import Browser
from tests.mobile_enrollment.test_refusals import assert_refusal


def failures(center: Center, code: str) -> list[Any]:
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        return [
            f
            for f in uow.failures.recent(customer_id=customer.id, limit=100)
            if f.code == code and f.step.startswith("financial.")
        ]


def proven(api: LiveServer, person: str = "C001") -> Browser:
    browser = Browser(api.url, person)
    browser.start()
    browser.identify()
    browser.proven_by_ars()
    return browser


def test_user_id_and_rrn_refused_alike_counted_and_paused(
    api: LiveServer, center: Center, clock: FrozenClock
) -> None:
    browser = Browser(api.url, "C001")
    browser.start()
    other = Browser(api.url, "C002")
    wrong_rrn = browser.refused("identify", rrn=other.rrn)
    unknown_id = browser.refused("identify", user_id="nobody-here")
    for err, left in ((wrong_rrn, 4), (unknown_id, 4)):
        assert_refusal(err, "FINANCIAL_IDENTITY_NOT_CONFIRMED")
        assert err.problem["context"]["tries_left"] == left
    # the same words whichever was wrong
    assert wrong_rrn.problem["message"] == unknown_id.problem["message"]
    assert_refusal(browser.refused("identify", rrn="900315-1512549"), "RRN_INVALID")
    for left in (3, 2, 1):
        err = browser.refused("identify", rrn=other.rrn)
        assert err.problem["context"]["tries_left"] == left
    assert_refusal(browser.refused("identify", rrn=other.rrn), "FINANCIAL_IDENTITY_LOCKED")
    # paused now, even with the right pair
    assert_refusal(browser.refused("identify"), "FINANCIAL_IDENTITY_LOCKED")
    # no resident number anywhere in the center's database
    with center.engine.connect() as conn:
        dump = " ".join(
            str(row)
            for table in ("failures", "audit_log", "factor_counters", "financial_enrollments")
            for row in conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
        )
    for rrn in (browser.rrn, other.rrn):
        assert rrn.replace("-", "") not in dump and rrn not in dump
    # the pause ends after block_hours
    clock.advance(hours=24, minutes=1)
    fresh = Browser(api.url, "C001")
    fresh.start()
    assert fresh.identify()["state"] == "identified"


def test_proofing_refusals(api: LiveServer) -> None:
    """Internet banking needed; the departure check only abroad; ARS declined or wrong."""
    newcomer = Browser(api.url, "C003")  # no user ID: never joined internet banking
    newcomer.start()
    err = newcomer.refused("identify", user_id="c003")
    assert_refusal(err, "FINANCIAL_INTERNET_BANKING_REQUIRED")
    assert "인터넷뱅킹" in err.problem["remedy"]["ko"]
    for person in ("C001", "C007"):  # never left; back from Japan
        browser = Browser(api.url, person)
        browser.start()
        browser.identify()
        err = browser.refused("departure")
        assert_refusal(err, "FINANCIAL_NOT_ABROAD")
        assert "ARS" in err.problem["remedy"]["ko"]
        assert browser.status()["state"] == "identified"
    # C013 is abroad too
    abroad = Browser(api.url, "C013")
    abroad.start()
    abroad.identify()
    assert abroad.departure()["detail"]["country"] == "US"
    browser = Browser(api.url, "C001")
    browser.start()
    browser.identify()
    code = browser.ars()
    browser.answer_call("00" if code != "00" else "11")
    assert_refusal(browser.refused("ars_confirm"), "FINANCIAL_ARS_FAILED")
    assert browser.status()["state"] == "identified"
    browser.ars()
    browser.answer_call(None)  # declined
    assert_refusal(browser.refused("ars_confirm"), "FINANCIAL_ARS_FAILED")
    # a third call is allowed (policy 3), a fourth is not
    code = browser.ars()
    assert_refusal(browser.refused("ars"), "FINANCIAL_ARS_CALL_LIMIT")
    browser.answer_call(code)
    assert browser.ars_confirm()["state"] == "identity_proven"


def test_media_the_customer_does_not_hold(api: LiveServer, center: Center) -> None:
    browser = proven(api, "C001")
    for medium, words in (
        ("otp", "OTP"),
        ("security_card", "보안카드"),
        ("mobile_certificate", "KB국민인증서"),
    ):
        err = browser.refused("medium", medium)
        assert_refusal(err, "MEDIUM_NOT_REGISTERED")
        assert words in err.problem["cause"]["ko"]
    browser.medium("account")
    err = browser.refused("medium_verify", account_number="12340100000004", account_password="2580")
    assert_refusal(err, "ACCOUNT_NOT_OWN")
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        counter = uow.factors.get(customer.id, "account_password")
        assert counter is None or counter.failures == 0
    assert_refusal(
        browser.refused(
            "medium_verify", bank_code="088", account_number="110000000002", account_password="2580"
        ),
        "INVALID_REQUEST",
    )
    # C002's only account is at another bank: no withdrawal account here
    other = proven(api, "C002")
    assert_refusal(other.refused("medium", "account"), "MEDIUM_ACCOUNT_NOT_HERE")
    # C016's account is suspended: the refusal names that, not a medium never registered
    suspended = proven(api, "C016")
    assert_refusal(suspended.refused("medium", "account"), "ACCOUNT_SUSPENDED")


def test_wrong_account_password_counts_toward_the_lockout(api: LiveServer, center: Center) -> None:
    browser = proven(api, "C001")
    browser.medium("account")
    body = {"account_number": "12340100000001"}
    for left in (4, 3, 2):
        err = browser.refused("medium_verify", **body, account_password="0000")
        assert_refusal(err, "AUTH_FAILED")
        assert err.problem["context"]["tries_left"] == left
    assert_refusal(
        browser.refused("medium_verify", **body, account_password="0000"), "AUTH_LAST_TRY"
    )
    assert_refusal(
        browser.refused("medium_verify", **body, account_password="0000"),
        "ACCOUNT_PASSWORD_LOCKED",
    )
    # locked: even the right password is refused now (and the same counter as transfers)
    assert_refusal(
        browser.refused("medium_verify", **body, account_password="2580"),
        "ACCOUNT_PASSWORD_LOCKED",
    )
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        counter = uow.factors.get(customer.id, "account_password")
        assert counter is not None and counter.locked_at is not None
    assert len(failures(center, "AUTH_FAILED")) == 3


def test_details_must_match_the_record(api: LiveServer, center: Center) -> None:
    browser = proven(api, "C001")
    browser.by_account()
    for wrong in (
        {"name": "김민수"},
        {"phone": "01020000002"},
        {"birth_date": "1990-03-16"},
    ):
        err = browser.refused("details", **wrong)
        assert_refusal(err, "FINANCIAL_DETAILS_MISMATCH")
    assert len(failures(center, "FINANCIAL_DETAILS_MISMATCH")) == 3
    assert_refusal(
        browser.refused("details", device_public_key="AAAA"), "FINANCIAL_DEVICE_KEY_INVALID"
    )
    assert browser.status()["state"] == "medium_verified"
    assert browser.details()["state"] == "code_sent"


def test_sms_code_pin_rules_and_then_issued(api: LiveServer) -> None:
    browser = proven(api, "C001")
    browser.by_account()
    browser.details()
    right = browser.sms_code()
    wrong = "000000" if right != "000000" else "111111"
    err = browser.refused("code_verify", wrong)
    assert_refusal(err, "CODE_INVALID")
    assert err.problem["context"]["tries_left"] == 4
    browser.code_verify(right)
    assert_refusal(browser.refused("pin", "111111"), "PIN_WEAK")
    assert_refusal(browser.refused("pin", "900315"), "PIN_WEAK")  # the birth date
    assert_refusal(browser.refused("pin", "12345"), "PIN_FORMAT")
    assert_refusal(browser.refused("pin", "480213", "480214"), "PIN_CONFIRMATION_MISMATCH")
    assert browser.status()["state"] == "code_verified"
    assert browser.pin()["state"] == "completed"


def test_terms_order_token_and_expiry(api: LiveServer, clock: FrozenClock) -> None:
    browser = Browser(api.url, "C001")
    err = browser.refused("start", ["financial_certificate"])
    assert_refusal(err, "TERMS_NOT_ACCEPTED")
    assert "privacy_collection" in err.problem["context"]["missing"]
    token = browser.start()["token"]
    for step, args in (
        ("ars", ()),
        ("medium", ("account",)),
        ("details", ()),
        ("code_verify", ("123456",)),
        ("pin", ()),
    ):
        err = browser.refused(step, *args)
        assert_refusal(err, "ENROLLMENT_STEP_OUT_OF_ORDER")
        assert err.problem["context"]["state"] == "started"
    browser.identify()
    assert_refusal(browser.refused("identify"), "ENROLLMENT_STEP_OUT_OF_ORDER")
    assert_refusal(browser.refused("ars_confirm"), "ENROLLMENT_STEP_OUT_OF_ORDER")
    assert_refusal(browser.refused("medium_verify"), "ENROLLMENT_STEP_OUT_OF_ORDER")
    browser.client.token = "not-the-token"
    assert_refusal(browser.refused("ars"), "ENROLLMENT_TOKEN_INVALID")
    browser.client.token = None
    assert_refusal(browser.refused("ars"), "ENROLLMENT_TOKEN_INVALID")
    # a flow not finished within 30 minutes (policy) is closed
    browser.client.token = token
    clock.advance(minutes=31)
    assert_refusal(browser.refused("ars"), "ENROLLMENT_EXPIRED")
    assert browser.status()["state"] == "failed"
    assert_refusal(browser.refused("ars"), "ENROLLMENT_CLOSED")


def test_repeated_refusals_block_the_customer_for_a_day(
    api: LiveServer, center: Center, clock: FrozenClock
) -> None:
    browser = proven(api, "C001")
    browser.by_account()
    for _ in range(10):
        browser.refused("details", name="김민수")
    err = browser.refused("details")
    assert_refusal(err, "TOO_MANY_ATTEMPTS")
    fresh = Browser(api.url, "C001")
    fresh.start()
    assert_refusal(fresh.refused("identify"), "TOO_MANY_ATTEMPTS")
    clock.advance(hours=24, minutes=1)
    fresh = Browser(api.url, "C001")
    fresh.start()
    assert fresh.identify()["state"] == "identified"


def test_an_ars_number_past_its_time_no_longer_serves(
    api: LiveServer, center: Center, clock: FrozenClock
) -> None:
    """The number on the screen serves until the stored ``ars_expires_at`` the page counts
    down to: keyed in after it, even rightly, it is refused and a new call may follow."""
    browser = Browser(api.url, "C001")
    browser.start()
    browser.identify()
    calling = browser.call("ars")
    code = str(calling["detail"]["ars_code"])
    browser.answer_call(code)
    clock.advance(seconds=center.settings.policy.ars_call_ttl_seconds)
    err = browser.refused("ars_confirm")
    assert_refusal(err, "ARS_CALL_EXPIRED")
    assert str(center.settings.policy.ars_call_ttl_seconds) in err.problem["cause"]["ko"]
    assert browser.status()["state"] == "identified"  # the call is over; ask for another
    code = browser.ars()
    browser.answer_call(code)
    assert browser.ars_confirm()["state"] == "identity_proven"
