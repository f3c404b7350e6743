"""/my (내 인증서·기기) in the in-process app, on SQLite and PostgreSQL: the customer's
certificates and registered devices; removing a device (it can no longer sign); the device
limit; revoking and renewing the financial certificate with the PIN asked again; every
state-changing form refused without its CSRF token."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from certcenter.bootstrap import Center
from certcenter.entities import BrowserDevice
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import text
from certcenter.financial import FINANCIAL_PIN
from certcenter.financial.access import PIN_PURPOSE
from certcenter.web.rendering import kst
from tests.financial.support import PIN, Browser, customer, events, issue, register_browser
from tests.web.signin import (  # noqa: F401 (fixtures)
    LoggedIn,
    app_fixture,
    center_fixture,
    csrf,
    device_message,
    log_in,
    log_in_with_the_app,
)
from tests.web.support import WebClient, csrf_token, main_text


def register(center: Center, number: str, label: str) -> tuple[Browser, BrowserDevice]:
    """Another browser registered the way a customer does it: name, phone, birth date, the
    SMS code and the account password."""
    browser = Browser()
    return browser, register_browser(center, browser, label, number=number)


def listed_devices(page: str) -> list[str]:
    return re.findall(r'<li class="device card" data-device="([^"]+)">', page)


def device_cards(page: str) -> dict[str, str]:
    """Each listed device's card (its HTML), by device id."""
    parts = re.split(r'(?=<li class="device card" data-device=")', page)
    cards = {}
    for part in parts[1:]:
        found = re.match(r'<li class="device card" data-device="([^"]+)">', part)
        assert found
        cards[found.group(1)] = part[: part.index("</details>")]
    return cards


def refused(work: object) -> CertCenterError:
    with pytest.raises(CertCenterError) as caught:
        work()  # type: ignore[operator]
    return caught.value


def test_my_page_needs_a_login(db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        page = web.get("/my")
        assert page.status_code == 401 and "WEB_LOGIN_REQUIRED" in main_text(page.text)
        for path in ("/my/financial/revoke", "/my/devices/x/remove"):
            assert web.post(path, data={"csrf_token": csrf(web)}).status_code == 401


def test_certificates_and_devices_are_listed(db_center: Center, db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        me = log_in(web, db_center, "C012")  # C012 also holds a mobile certificate
        _, other = register(db_center, "C012", "회사 노트북")
        page = web.get("/my")
        assert page.status_code == 200
        body, words = page.text, main_text(page.text)
        web.get("/lang/en")
        english = main_text(web.get("/my").text)

    overview = db_center.cloud_certificates.overview(me.customer_id)
    with db_center.uow_factory() as uow:
        mobile = [
            c
            for c in uow.certificates.for_customer(me.customer_id, family="mobile")
            if c.status == "active"
        ]
    assert len(mobile) == 1
    for serial in (me.serial, mobile[0].serial):
        assert f'data-serial="{serial}" data-status="active"' in body
    assert kst(overview.not_before) in words and kst(overview.not_after) in words
    assert kst(mobile[0].not_after) in words
    assert text("my.state.active", "ko") in words and text("my.state.active", "en") in english
    assert "SM-G991N (android)" in words  # the phone of the mobile certificate
    assert text("my.mobile_in_app", "ko") in words  # revoked and renewed in the app
    assert sorted(listed_devices(body)) == sorted([me.device_id, other.id])
    cards = device_cards(body)
    assert "집 PC" in cards[me.device_id] and "회사 노트북" in cards[other.id]
    assert text("my.this_browser", "ko") in cards[me.device_id]
    assert text("my.this_browser", "ko") not in cards[other.id]
    limit = db_center.settings.policy.financial_max_devices
    assert f'data-count="2" data-max="{limit}"' in body
    assert text("my.device_count", "ko", count=2, max=limit) in words
    assert text("my.device_count", "en", count=2, max=limit) in english
    assert 'action="/my/financial/renew"' in body and 'action="/my/financial/revoke"' in body
    assert f'action="/my/devices/{other.id}/remove"' in body


def test_removing_a_device_means_it_can_no_longer_sign(db_center: Center, db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        me = log_in(web, db_center, "C007")
        browser, laptop = register(db_center, "C007", "사무실 PC")
        pending = db_center.remote_signer.begin(laptop.id, "document", b"before removal")
        remove = f"/my/devices/{laptop.id}/remove"

        no_token = web.post(remove)
        assert no_token.status_code == 403 and "WEB_CSRF_INVALID" in main_text(no_token.text)
        wrong_token = web.post(remove, data={"csrf_token": "x" * 43})
        assert wrong_token.status_code == 403
        assert laptop.id in listed_devices(web.get("/my").text)

        done = web.post(remove, data={"csrf_token": csrf(web, "/my")})
        assert done.status_code == 303 and done.headers["location"] == "/my"
        page = web.follow(done).text
        assert text("my.removed", "ko", label="사무실 PC") in main_text(page)
        assert listed_devices(page) == [me.device_id]
        again = web.post(remove, data={"csrf_token": csrf(web, "/my")})  # sent again
        assert again.status_code == 303 and again.headers["location"] == "/my"
        again = web.follow(again)
        assert again.status_code == 404 and listed_devices(again.text) == [me.device_id]
        assert "FINANCIAL_DEVICE_NOT_REGISTERED" in main_text(again.text)

    # the removed browser signs nothing: neither a new activation nor one begun before
    assert (
        refused(lambda: db_center.remote_signer.begin(laptop.id, "document", b"after")).code
        == "FINANCIAL_DEVICE_NOT_REGISTERED"
    )
    late = refused(
        lambda: db_center.remote_signer.authorize(
            pending.activation_id, browser.sign(pending.message), PIN
        )
    )
    assert late.code == "FINANCIAL_DEVICE_NOT_REGISTERED"
    # this browser still signs
    still = db_center.remote_signer.begin(me.device_id, "document", b"still mine")
    db_center.remote_signer.authorize(still.activation_id, me.browser.sign(still.message), PIN)


def test_a_device_of_someone_else_cannot_be_removed(db_center: Center, db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        log_in(web, db_center, "C018")
        theirs = issue(db_center, Browser(), number="C005").device_id
        assert theirs is not None
        refusal = web.follow(
            web.post(f"/my/devices/{theirs}/remove", data={"csrf_token": csrf(web)})
        )
        assert refusal.status_code == 404
        assert "FINANCIAL_DEVICE_NOT_REGISTERED" in main_text(refusal.text)
    assert db_center.financial_devices.get(customer(db_center, "C005").id, theirs)


def test_removing_this_browser_logs_out(db_center: Center, db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        me = log_in(web, db_center, "C010")
        done = web.post(f"/my/devices/{me.device_id}/remove", data={"csrf_token": csrf(web)})
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert text("my.removed_this", "ko", label="집 PC") in main_text(web.follow(done).text)
        assert web.get("/my").status_code == 401
    assert db_center.financial_devices.list(me.customer_id) == []


def test_the_device_limit_is_shown_and_held(db_center: Center, db_app: FastAPI) -> None:
    limit = db_center.settings.policy.financial_max_devices
    with WebClient(db_app) as web:
        me = log_in(web, db_center, "C014")
        assert text("my.device_limit_reached", "ko", max=limit) not in web.get("/my").text
        for n in range(limit - 1):
            register(db_center, "C014", f"기기 {n + 2}")
        page = web.get("/my").text
        assert len(listed_devices(page)) == limit
        assert f'data-count="{limit}" data-max="{limit}"' in page
        assert text("my.device_limit_reached", "ko", max=limit) in main_text(page)
    full = refused(lambda: register(db_center, "C014", "하나 더"))
    assert full.code == "FINANCIAL_DEVICE_LIMIT"
    assert len(db_center.financial_devices.list(me.customer_id)) == limit


def _confirm(web: WebClient, me: LoggedIn, page: str, pin: str = PIN) -> httpx.Response:
    activation = re.search(r'name="activation_id" value="([^"]+)"', page)
    assert activation is not None
    return web.post(
        "/my/financial/confirm",
        data={
            "csrf_token": csrf(web, "/my"),
            "activation_id": activation.group(1),
            "device_signature": me.browser.sign(device_message(page)),
            "pin": pin,
            **dict(re.findall(r'name="(flow_tag)" value="([^"]+)"', page)[:1]),
        },
    )


def test_revoking_asks_the_pin_again_and_ends_the_session(
    db_center: Center, db_app: FastAPI
) -> None:
    with WebClient(db_app) as web:
        me = log_in(web, db_center, "C001")
        assert web.post("/my/financial/revoke").status_code == 403  # no CSRF token
        chosen = web.post("/my/financial/revoke", data={"csrf_token": csrf(web, "/my")})
        assert chosen.headers["location"] == "/my/financial/confirm"
        step = web.follow(chosen)
        assert step.status_code == 200
        assert text("my.confirm.revoke_title", "ko") in main_text(step.text)
        assert 'src="/static/js/device-key.js"' in step.text
        assert 'name="pin" type="password" value=""' in step.text

        # no device signature (no key, no script): refused before the PIN is counted
        activation = re.search(r'name="activation_id" value="([^"]+)"', step.text)
        assert activation is not None
        unsigned = web.post(
            "/my/financial/confirm",
            data={"csrf_token": csrf(web, "/my"), "activation_id": activation.group(1), "pin": PIN},
        )
        assert unsigned.headers["location"] == "/my/financial/confirm"  # PRG
        unsigned = web.follow(unsigned)
        assert unsigned.status_code == 422 and "WEB_DEVICE_KEY_MISSING" in main_text(unsigned.text)
        with db_center.uow_factory() as uow:
            counter = uow.factors.get(me.customer_id, FINANCIAL_PIN)
            assert counter is None or counter.failures == 0

        wrong = web.follow(_confirm(web, me, unsigned.text, pin="000000"))
        assert wrong.status_code == 401
        assert "FINANCIAL_AUTH_FAILED" in main_text(wrong.text)
        assert db_center.cloud_certificates.overview(me.customer_id).status == "active"

        stale = web.post(
            "/my/financial/confirm",
            data={
                "csrf_token": csrf(web, "/my"),
                "activation_id": activation.group(1),  # an older step's
                "device_signature": me.browser.sign(device_message(step.text)),
                "pin": PIN,
            },
        )
        # an older page of this confirmation (another window opened it again since): not
        # applied, and said so, on the confirmation as it is now
        assert stale.headers["location"] == "/my/financial/confirm"
        stale = web.follow(stale)
        assert stale.status_code == 409 and "WEB_FLOW_TAKEN_OVER" in main_text(stale.text)
        # the page of a change chosen before another tab chose again: not applied either
        tag = re.search(r'name="flow_tag" value="([^"]+)"', stale.text)
        assert tag is not None
        other_tab = web.post(
            "/my/financial/renew", data={"csrf_token": csrf(web, "/my"), "flow_tag": tag.group(1)}
        )
        assert other_tab.headers["location"] == "/my/financial/confirm"
        older = _confirm(web, me, stale.text)  # the first tab's revocation, its tag now old
        assert older.headers["location"] == "/my/financial/confirm"
        older = web.follow(older)
        assert older.status_code == 409 and "WEB_FLOW_TAKEN_OVER" in main_text(older.text)
        assert text("my.confirm.renew_title", "ko") in main_text(older.text)  # the other's
        assert db_center.cloud_certificates.overview(me.customer_id).status == "active"

        again = web.follow(web.post("/my/financial/revoke", data={"csrf_token": csrf(web, "/my")}))
        done = _confirm(web, me, again.text)
        assert done.status_code == 303
        assert done.headers["location"] == "/"
        assert me.serial in main_text(web.follow(done).text)
        assert web.get("/my").status_code == 401  # the session went with the certificate
        # revoking again from this browser: told it is already revoked, and what now
        twice = web.post("/my/financial/revoke", data={"csrf_token": csrf(web, "/")})
        assert twice.status_code == 409
        assert "CERTIFICATE_ALREADY_REVOKED" in main_text(twice.text)
        assert CertCenterError("CERTIFICATE_ALREADY_REVOKED", reason="unspecified").message(
            "ko"
        ) in main_text(twice.text)

    with db_center.uow_factory() as uow:
        record = uow.certificates.get(me.serial)
        assert record is not None and record.status == "revoked"
    assert db_center.financial_devices.list(me.customer_id) == []


def test_renewing_gives_a_new_certificate_for_the_same_key(
    db_center: Center, db_app: FastAPI
) -> None:
    with WebClient(db_app) as web:
        me = log_in(web, db_center, "C002")
        step = web.follow(web.post("/my/financial/renew", data={"csrf_token": csrf(web, "/my")}))
        assert text("my.confirm.renew_title", "ko") in main_text(step.text)
        reloaded = web.get("/my/financial/confirm")  # a reload: the same step, a fresh activation
        assert text("my.confirm.renew_title", "ko") in main_text(reloaded.text)
        done = _confirm(web, me, reloaded.text)
        assert done.status_code == 303
        page = web.follow(done).text
        renewed = db_center.cloud_certificates.overview(me.customer_id)
        twice = _confirm(web, me, reloaded.text)  # the same form sent again: renewed once
        assert twice.status_code == 303 and twice.headers["location"] == "/my"
        assert "WEB_CONFIRMATION_INVALID" in main_text(web.follow(twice).text)
        with db_center.uow_factory() as uow:  # one renewal: the old and the new, no third
            mine = uow.certificates.for_customer(me.customer_id)
            assert len([r for r in mine if r.family == "financial"]) == 2
        assert renewed.serial != me.serial
        assert text("my.renewed", "ko", serial=renewed.serial, until=renewed.not_after.date()) in (
            main_text(page)
        )
        assert f'data-serial="{renewed.serial}" data-status="active"' in page
        assert f'data-serial="{me.serial}" data-status="superseded"' in page
        assert text("my.state.superseded", "ko") in main_text(page)


def test_a_session_of_the_app_cannot_revoke_the_financial_certificate(
    db_center: Center, db_app: FastAPI
) -> None:
    with WebClient(db_app) as web:
        log_in(web, db_center, "C012")  # C012 has a financial certificate …
    with WebClient(db_app) as web:
        log_in_with_the_app(web, "C012")  # … and logs in with the mobile certificate here
        page = web.get("/my").text
        assert text("my.financial_login_needed", "ko") in main_text(page)
        assert 'action="/my/financial/revoke"' not in page
        refusal = web.follow(
            web.post("/my/financial/revoke", data={"csrf_token": csrf(web, "/my")})
        )
        assert refusal.status_code == 403
        assert "WEB_FINANCIAL_LOGIN_REQUIRED" in main_text(refusal.text)


# ---------------------------------------------------------------- 비밀번호 변경 (/my/password)


def _change_pin(
    web: WebClient, me: LoggedIn, page: str, old: str, new: str, again: str | None = None
) -> httpx.Response:
    """The PIN change form of ``page`` sent with this browser's device signature (PRG: 303)."""
    activation = re.search(r'name="activation_id" value="([^"]+)"', page)
    assert activation is not None, "no PIN change form on the page"
    sent = web.post(
        "/my/password/financial",
        data={
            "csrf_token": csrf_token(page),
            "activation_id": activation.group(1),
            "device_signature": me.browser.sign(device_message(page)),
            "pin": old,
            "new_pin": new,
            "new_pin_confirmation": new if again is None else again,
        },
    )
    assert sent.status_code == 303 and sent.headers["location"] == "/my/password"
    return sent


def _pin_failures(center: Center, customer_id: str) -> int:
    with center.uow_factory() as uow:
        counter = uow.factors.get(customer_id, FINANCIAL_PIN)
        return 0 if counter is None else counter.failures


def _pin_is(center: Center, customer_id: str, pin: str) -> bool:
    with center.uow_factory() as uow:
        account = uow.cloud_accounts.active_for_customer(customer_id)
        assert account is not None
        return center.hasher.verify(account.pin_hash, pin, purpose=PIN_PURPOSE)


def test_the_financial_pin_is_changed_with_the_old_one(db_center: Center, db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        me = log_in(web, db_center, "C011")
        assert 'href="/my/password"' in web.get("/my").text
        page = web.get("/my/password")
        assert page.status_code == 200
        assert text("my.password.title", "ko") in main_text(page.text)
        assert text("my.password.mobile_how", "ko") in main_text(page.text)  # the other kinds
        assert text("my.password.joint_how", "ko") in main_text(page.text)
        assert web.post("/my/password/financial").status_code == 403  # no CSRF token

        # the new PIN's mistakes are told before the old one is counted
        for new, again, code in (
            ("2468", None, "PIN_FORMAT"),
            ("730516", "730517", "PIN_CONFIRMATION_MISMATCH"),
            ("111111", None, "PIN_WEAK"),
            (PIN, None, "PIN_UNCHANGED"),
        ):
            refused_page = web.follow(_change_pin(web, me, page.text, PIN, new, again))
            assert refused_page.status_code == 422, code
            assert code in main_text(refused_page.text)
            page = refused_page  # a fresh activation on every GET
        assert _pin_failures(db_center, me.customer_id) == 0

        # a form without the device signature (no key, no script): nothing counted
        activation = re.search(r'name="activation_id" value="([^"]+)"', page.text)
        assert activation is not None
        unsigned = web.post(
            "/my/password/financial",
            data={
                "csrf_token": csrf_token(page.text),
                "activation_id": activation.group(1),
                "pin": PIN,
                "new_pin": "730516",
                "new_pin_confirmation": "730516",
            },
        )
        page = web.follow(unsigned)
        assert "WEB_DEVICE_KEY_MISSING" in main_text(page.text)
        assert _pin_failures(db_center, me.customer_id) == 0

        # a wrong old PIN is counted like every use of the PIN
        wrong = web.follow(_change_pin(web, me, page.text, "000000", "730516"))
        assert wrong.status_code == 401 and "FINANCIAL_AUTH_FAILED" in main_text(wrong.text)
        assert _pin_failures(db_center, me.customer_id) == 1
        assert _pin_is(db_center, me.customer_id, PIN)

        done = _change_pin(web, me, wrong.text, PIN, "730516")
        shown = web.follow(done)
        assert text("my.password.changed", "ko") in main_text(shown.text)
        assert _pin_is(db_center, me.customer_id, "730516")
        assert not _pin_is(db_center, me.customer_id, PIN)
        assert _pin_failures(db_center, me.customer_id) == 0  # the count starts again
        assert "financial_pin_changed" in events(db_center, me.customer_id)

        # the same form sent again (Back, then submit): its activation is used up
        twice = web.follow(_change_pin(web, me, wrong.text, PIN, "730516"))
        assert twice.status_code == 409 and "WEB_CONFIRMATION_INVALID" in main_text(twice.text)
        assert _pin_is(db_center, me.customer_id, "730516")


def test_the_old_pin_locks_after_the_policys_failures(db_center: Center, db_app: FastAPI) -> None:
    limit = db_center.settings.policy.financial_pin_max_failures
    with WebClient(db_app) as web:
        me = log_in(web, db_center, "C005")
        page = web.get("/my/password")
        codes = []
        for _ in range(limit):
            page = web.follow(_change_pin(web, me, page.text, "000000", "730516"))
            codes.append(re.findall(r"[A-Z_]{6,}", main_text(page.text)))
        assert any("FINANCIAL_PIN_LAST_TRY" in found for found in codes)
        assert page.status_code == 423 and "FINANCIAL_PIN_LOCKED" in main_text(page.text)
        assert text("my.pin_locked", "ko") in main_text(page.text)
        assert 'action="/my/password/financial"' not in page.text  # no form while locked
        assert _pin_is(db_center, me.customer_id, PIN)
        assert "/login/pin-reset" in page.text


def test_a_session_of_the_app_cannot_change_the_financial_pin(
    db_center: Center, db_app: FastAPI
) -> None:
    with WebClient(db_app) as web:
        log_in(web, db_center, "C012")  # C012 has a financial certificate …
    with WebClient(db_app) as web:
        log_in_with_the_app(web, "C012")  # … and logs in with the mobile certificate here
        page = web.get("/my/password")
        assert text("my.password.financial_login_needed", "ko") in main_text(page.text)
        assert 'action="/my/password/financial"' not in page.text
        sent = web.post(
            "/my/password/financial",
            data={"csrf_token": csrf(web), "activation_id": "x", "pin": PIN, "new_pin": "730516"},
        )
        assert "WEB_CONFIRMATION_INVALID" in main_text(web.follow(sent).text)
    with WebClient(db_app) as web:
        assert web.get("/my/password").status_code == 401  # nobody logged in
