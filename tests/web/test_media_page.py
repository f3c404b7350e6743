"""/my/media (보안매체) in the in-process app, on SQLite and PostgreSQL: the mobile OTP
registered through the page (a wrong and a right SMS code, the secret shown once, a code
from it checked), cancelled with the app's PIN (and refused to a session that is not the
app's), the security card registered by its serial and a question on its slots and
cancelled with another question and the app's PIN; a customer
with no medium sees how to get one; the code pages carry the expiry the center stored."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import httpx
from fastapi import FastAPI

from certcenter.bootstrap import Center
from certcenter.errors.catalog import text
from certcenter.media.otp import totp
from certcenter.media.security_card import answer_for
from certcenter.simulators.world import DEMO_ACCOUNT_PASSWORD
from tests.financial.support import customer
from tests.media.test_otp_service import register as register_otp
from tests.media.test_otp_service import sms_code
from tests.media.test_security_card import OPERATOR, printed
from tests.web.signin import (  # noqa: F401 (fixtures)
    app_fixture,
    center_fixture,
    csrf,
    log_in,
    log_in_with_the_app,
)
from tests.web.support import WebClient, main_text

PAGE = "/my/media"
APP_PIN = "246813"
_EXPIRY = re.compile(r'data-expires-at="([^"]+)" data-seconds-left="(\d+)"')


def post(web: WebClient, path: str, **fields: str) -> httpx.Response:
    """A form of the page: 303 back to it (Post/Redirect/Get), whatever the outcome."""
    done = web.post(path, data={"csrf_token": csrf(web, PAGE), **fields})
    assert done.status_code == 303, done.text
    assert done.headers["location"].startswith(PAGE)
    return web.follow(done)


def give_app_pin(center: Center, number: str) -> None:
    """The app of ``number`` has a PIN (the seeded phone was registered without one)."""
    who = customer(center, number)
    with center.uow_factory() as uow:
        device = uow.devices.active_for_customer(who.id)
        assert device is not None
        device.pin_hash = center.hasher.hash(APP_PIN, purpose="pin")
        uow.commit()


def secret_on(page: str) -> bytes:
    found = re.search(r"data-otp-secret>([A-Z2-7=]+)<", page)
    assert found, "no secret on the page"
    return base64.b32decode(found.group(1))


def test_a_customer_without_media_sees_how_to_get_them(db_center: Center, db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        assert web.get(PAGE).status_code == 401
        log_in(web, db_center, "C004")
        page = web.get(PAGE)
        web.get("/lang/en")
        english = main_text(web.get(PAGE).text)
    assert page.status_code == 200 and "data-media-none" in page.text
    words = main_text(page.text)
    for key in ("media.none_otp", "media.none_card", "media.none_id", "media.otp.start"):
        assert text(key, "ko") in words
        assert text(key, "en") in english
    assert 'href="/issue"' in page.text  # the ID card check at the financial issuance
    assert 'action="/my/media/otp/start"' in page.text
    assert 'action="/my/media/card/start"' in page.text


def test_otp_registered_checked_and_cancelled_on_the_page(
    db_center: Center, db_app: FastAPI
) -> None:
    who = customer(db_center, "C012")
    give_app_pin(db_center, "C012")
    account = ("004", "12340100000012")
    with WebClient(db_app) as web:
        log_in_with_the_app(web, "C012")
        started = post(web, "/my/media/otp/start")
        assert 'action="/my/media/otp/confirm"' in started.text
        # the countdown carries the expiry the center stored, not a guessed 180 s
        expected = db_center.clock.now() + timedelta(
            seconds=db_center.settings.policy.sms_code_ttl_seconds
        )
        found = _EXPIRY.search(started.text)
        assert found and found.group(1) == expected.isoformat()
        assert int(found.group(2)) == db_center.settings.policy.sms_code_ttl_seconds
        assert text("issue.code.code_hint", "ko", seconds=180) in main_text(started.text)

        right = sms_code(db_center, who.phone)
        wrong = "000000" if right != "000000" else "111111"
        fields = {
            "bank_code": account[0],
            "account_number": account[1],
            "account_password": DEMO_ACCOUNT_PASSWORD,
        }
        refused = post(web, "/my/media/otp/confirm", sms_code=wrong, **fields)
        assert (
            refused.status_code >= 400
            and "AUTH_FAILED" in refused.text
            and "data-otp-secret" not in refused.text
        )
        assert db_center.otp.status(who.id).status == "none"

        made = post(web, "/my/media/otp/confirm", sms_code=right, **fields)
        assert made.status_code == 200 and 'data-otp-status="active"' in made.text
        secret = secret_on(made.text)
        assert 'src="data:image/png;base64,' in made.text
        again = web.get(PAGE)
        assert "data-otp-secret" not in again.text  # shown once
        assert db_center.otp.status(who.id).registered

        code = totp(secret, db_center.clock.now())
        checked = post(web, "/my/media/otp/check", code=code)
        assert checked.status_code == 200 and text("media.otp.checked", "ko") in checked.text
        replayed = post(web, "/my/media/otp/check", code=code)
        assert "AUTH_FAILED" in replayed.text or "AUTH_LAST_TRY" in replayed.text

        wrong_pin = post(web, "/my/media/otp/cancel", pin="000000")
        assert "AUTH_FAILED" in wrong_pin.text and db_center.otp.status(who.id).registered
        cancelled = post(web, "/my/media/otp/cancel", pin=APP_PIN)
        assert cancelled.status_code == 200 and text("media.otp.cancelled", "ko") in cancelled.text
    assert db_center.otp.status(who.id).status == "revoked"


def test_otp_cancel_needs_the_apps_login(db_center: Center, db_app: FastAPI) -> None:
    who, _ = register_otp(db_center, "C001")
    with WebClient(db_app) as web:
        log_in(web, db_center, "C001")  # the financial certificate: no app behind the session
        page = web.get(PAGE)
        assert 'action="/my/media/otp/cancel"' not in page.text
        assert 'href="/login/mobile"' in page.text
        refused = post(web, "/my/media/otp/cancel", pin="123456")
    assert refused.status_code == 403 and "WEB_APP_LOGIN_REQUIRED" in refused.text
    assert db_center.otp.status(who.id).registered


def test_security_card_registered_by_its_serial(db_center: Center, db_app: FastAPI) -> None:
    who = customer(db_center, "C002")
    issued = db_center.security_cards.issue("C002", OPERATOR)
    slots = printed(db_center, issued.serial)
    with WebClient(db_app) as web:
        log_in(web, db_center, "C002")
        unknown = post(web, "/my/media/card/start", serial="1234")
        assert "SECURITY_CARD_UNKNOWN" in unknown.text
        asked = post(web, "/my/media/card/start", serial=issued.serial)
        question = re.search(r'data-slot-a="(\d+)" data-slot-b="(\d+)"', asked.text)
        assert question, "no question on the page"
        expected = db_center.clock.now() + timedelta(
            seconds=db_center.settings.policy.security_card_challenge_ttl_seconds
        )
        found = _EXPIRY.search(asked.text)
        assert found and found.group(1) == expected.isoformat()
        slot_a, slot_b = int(question.group(1)), int(question.group(2))
        right = answer_for(slots, slot_a, slot_b)
        wrong = f"{(int(right) + 1) % 10000:04d}"
        refused = post(web, "/my/media/card/answer", answer=wrong)
        assert "AUTH_FAILED" in refused.text
        assert 'action="/my/media/card/start"' in refused.text  # the question was used up
        asked = post(web, "/my/media/card/start", serial=issued.serial)
        question = re.search(r'data-slot-a="(\d+)" data-slot-b="(\d+)"', asked.text)
        assert question
        right = answer_for(slots, int(question.group(1)), int(question.group(2)))
        done = post(web, "/my/media/card/answer", answer=right)
    assert done.status_code == 200 and 'data-card-status="active"' in done.text
    assert issued.serial not in done.text and issued.serial[-4:] in done.text  # masked
    assert [c.status for c in db_center.security_cards.cards(who.id)] == ["active"]


def test_security_card_cancelled_with_its_slots_and_the_app_pin(
    db_center: Center, db_app: FastAPI
) -> None:
    who = customer(db_center, "C012")
    give_app_pin(db_center, "C012")
    issued = db_center.security_cards.issue("C012", OPERATOR)
    slots = printed(db_center, issued.serial)
    asked = db_center.security_cards.start_registration(who.id, issued.serial)
    db_center.security_cards.complete_registration(
        who.id, asked.id, answer_for(slots, asked.slot_a, asked.slot_b)
    )
    question = re.compile(r'data-card-cancel-question data-slot-a="(\d+)" data-slot-b="(\d+)"')
    with WebClient(db_app) as web:
        log_in_with_the_app(web, "C012")
        page = web.get(PAGE)
        assert 'action="/my/media/card/cancel/start"' in page.text
        assert text("media.card.cancel_warning", "ko") in main_text(page.text)
        asked_page = post(web, "/my/media/card/cancel/start")
        found = question.search(asked_page.text)
        assert found and 'action="/my/media/card/cancel"' in asked_page.text
        right = answer_for(slots, int(found.group(1)), int(found.group(2)))
        wrong = right[:3] + str((int(right[3]) + 1) % 10)
        refused = post(web, "/my/media/card/cancel", answer=wrong, pin=APP_PIN)
        assert refused.status_code == 401 and "AUTH_FAILED" in refused.text
        assert not question.search(refused.text)  # the question was used up
        found = question.search(post(web, "/my/media/card/cancel/start").text)
        assert found
        right = answer_for(slots, int(found.group(1)), int(found.group(2)))
        done = post(web, "/my/media/card/cancel", answer=right, pin=APP_PIN)
    assert done.status_code == 200
    assert text("media.card.cancelled", "ko", serial="******" + issued.serial[-4:]) in done.text
    assert 'data-card-status="active"' not in done.text
    assert 'action="/my/media/card/cancel/start"' not in done.text
    assert [c.status for c in db_center.security_cards.cards(who.id)] == ["cancelled"]


def test_app_approval_code_carries_the_stored_expiry(db_center: Center, db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        started = web.post("/login/mobile", data={"csrf_token": csrf(web, "/login/mobile")})
        assert started.status_code == 303  # Post/Redirect/Get: the code is on the GET
        shown = web.get(started.headers["location"])
    assert shown.status_code == 200
    found = _EXPIRY.search(shown.text)
    expected = db_center.clock.now() + timedelta(
        seconds=db_center.settings.policy.approval_ttl_seconds
    )
    assert found and found.group(1) == expected.isoformat()
    assert "data-countdown-live" in shown.text and 'aria-live="polite"' in shown.text
    assert 'action="/login/mobile"' in shown.text  # a new code, offered again when it expires
