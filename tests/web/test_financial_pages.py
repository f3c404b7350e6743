"""The financial-certificate pages against the in-process app (a demo center per module on
SQLite, its own key directory): every page in both languages, the CSRF check on every POST,
the polling endpoints' JSON, refusals shown in the error box on the step the customer is on
(never a 500), the browser registration with its SMS code and the device limit, a locked PIN
and its release. test_financial_flows.py runs the whole way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from certcenter.bootstrap import Center, build_center, initialise
from certcenter.clock import FrozenClock, as_utc
from certcenter.errors import CertCenterError, Locale
from certcenter.errors.catalog import text
from certcenter.financial.issuance import CODE_PURPOSE
from certcenter.media.security_card import answer_for
from certcenter.server import create_app
from certcenter.simulators.ars import SimulatedArs
from certcenter.web.pages import financial_issue, login, login_mobile, login_pin_reset, transfer
from tests.conftest import START, make_settings
from tests.financial.support import Browser, customer
from tests.financial.support import issue as issue_directly
from tests.media.test_security_card import issue_and_register, printed
from tests.support.policy import SHARED_CENTER_POLICY
from tests.web.financial_support import (
    PIN,
    WORLD,
    FinancialWeb,
    attribute,
    error_code,
    session_cookie,
)
from tests.web.support import WebClient, html_lang, main_text

ROUTERS = [financial_issue, login, login_mobile, login_pin_reset, transfer]
PAGES = ["/issue", "/login", "/login/register", "/login/mobile", "/login/pin-reset"]


@pytest.fixture(scope="module")
def web_center(tmp_path_factory: pytest.TempPathFactory, pki_dir: Path) -> Iterator[Center]:
    """A demo center with a key directory of its own (the cloud keys made here stay here)."""
    base = tmp_path_factory.mktemp("web-financial")
    shutil.copytree(pki_dir / "keys", base / "keys")
    settings = make_settings(
        base, pki_dir, None, key_dir=base / "keys", policy=SHARED_CENTER_POLICY
    )
    clock = FrozenClock(START)
    initialise(settings, clock)
    center = build_center(settings, clock)
    yield center
    center.close()


@pytest.fixture(scope="module")
def web_app(web_center: Center) -> FastAPI:
    return create_app(web_center)


@pytest.fixture
def web(web_app: FastAPI, web_center: Center) -> Iterator[FinancialWeb]:
    with WebClient(web_app) as client:
        yield FinancialWeb(client, web_center)


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_pages_render_in_both_languages(web: FinancialWeb, path: str, locale: Locale) -> None:
    if locale == "en":
        web.get(f"/lang/en?next={path}")
    page = web.get(path)
    assert page.status_code == 200, main_text(page.text)
    assert html_lang(page.text) == locale and page.headers["content-language"] == locale
    words = main_text(page.text)
    assert "{" not in words and "Traceback" not in page.text
    assert re.search(r"[\uac00-\ud7a3]", words) if locale == "ko" else True
    assert "<script>" not in page.text and " style=" not in page.text
    for form in re.findall(r"<form [^>]*>", page.text):
        assert 'method="post"' in form, form  # codes and secrets never in a URL
    assert page.text.count('name="csrf_token"') == page.text.count("<form ")
    if path == "/issue":
        assert text("issue.terms.financial_certificate", locale) in words
        assert text("issue.step.done", locale) in words  # the progress shows every step
    if path == "/login":
        assert text("login.financial.submit", locale) in words
        assert text("login.mobile.submit", locale) in words


def _post_routes() -> list[str]:
    paths = []
    for module in ROUTERS:
        for route in module.router.routes:
            if isinstance(route, APIRoute) and "POST" in route.methods:
                paths.append(route.path.replace("{transfer_id}", "0" * 8))
    return paths


@pytest.mark.parametrize("path", _post_routes())
def test_every_post_needs_the_csrf_token(web: FinancialWeb, path: str) -> None:
    web.get("/issue")
    refused = web.client.post(path, data={"pin": "480213", "code": "123456"})
    assert refused.status_code == 403, path
    assert error_code(refused.text) == "WEB_CSRF_INVALID"
    stolen = web.client.post(path, data={"csrf_token": "x" * 43})
    assert stolen.status_code == 403 and error_code(stolen.text) == "WEB_CSRF_INVALID"


def test_polling_endpoints_answer_json_and_need_the_header(web: FinancialWeb) -> None:
    for path, code in (
        ("/issue/medium/status", "WEB_ISSUE_NOT_STARTED"),
        ("/login/mobile/status", "WEB_LOGIN_NOT_STARTED"),
    ):
        assert web.client.post(path).status_code == 403  # no CSRF header: refused
        answer = web.client.post(path, headers={"X-CSRF-Token": web.token()})
        assert answer.status_code == 409 and answer.headers["content-type"] == "application/json"
        assert answer.json()["code"] == code
        assert answer.json()["remedy"] == CertCenterError(code).remedy("ko")
    # (the pending and approved answers: test_financial_flows.py)


def test_logged_out_pages_send_to_the_login(web: FinancialWeb) -> None:
    away = web.get("/transfer")
    assert away.status_code == 303 and away.headers["location"] == "/login?next=/transfer"
    assert web.get("/transfer/abc").headers["location"] == "/login?next=/transfer"
    evidence = web.get("/transfer/abc/evidence")
    assert evidence.status_code == 401 and error_code(evidence.text) == "WEB_LOGIN_REQUIRED"
    assert web.post("/transfer", amount="1000").headers["location"] == "/login?next=/transfer"
    no_pin = web.get("/login/pin")
    assert no_pin.status_code == 409 and error_code(no_pin.text) == "WEB_LOGIN_NOT_STARTED"
    no_code = web.follow(web.get("/login/register/code"))
    assert error_code(no_code.text) == "WEB_LOGIN_NOT_STARTED"
    assert web.post("/logout").headers["location"] == "/"


def test_bad_inputs_are_the_error_box_never_a_500(web: FinancialWeb) -> None:
    web.start_issue("C018")
    huge = web.post("/issue/identify", user_id="x" * 5000)  # refused before the step
    assert huge.status_code == 422 and error_code(huge.text) == "INVALID_REQUEST"
    assert "x" * 300 not in huge.text  # what was typed is not echoed
    odd = web.submit("/issue/identify", user_id="\u0000'\"<script>", rrn_front="abc", rrn_back="")
    assert odd.status_code == 422 and error_code(odd.text) == "RRN_INVALID"
    assert "<script>" not in odd.text.split("<main")[1]
    terms = web.follow(
        web.client.post("/issue/start", data={"csrf_token": web.token(), "accepted": ""})
    )
    assert terms.status_code == 422 and error_code(terms.text) == "TERMS_NOT_ACCEPTED"
    medium = web.submit("/issue/medium", medium="carrier-pigeon")
    assert error_code(medium.text) in ("INVALID_REQUEST", "ENROLLMENT_STEP_OUT_OF_ORDER")
    assert medium.status_code < 500
    junk = web.post("/login/financial", device_public_key="not base64 at all!")
    assert junk.headers["location"] == "/login/register"
    bad_birth = web.submit(
        "/login/register", name="a", phone="1", birth="soon", device_public_key=web.spki_b64
    )
    assert bad_birth.status_code == 422 and error_code(bad_birth.text) == "INVALID_REQUEST"
    nobody = web.post(
        "/login/register",
        name="홍길동",
        phone="01099999999",
        birth="1990-01-01",
        device_public_key=web.spki_b64,
    )
    # the same page as for a customer: who is one is not told
    assert nobody.headers["location"] == "/login/register/code"
    told = web.follow(nobody)
    assert "010-****-9999" in main_text(told.text) and error_code(told.text) is None
    reset = web.submit("/login/pin-reset", name="홍길동", phone="010", birth="1990-01-01")
    assert reset.status_code < 500 and error_code(reset.text) is not None


def test_refusals_show_the_box_and_keep_the_customer_on_the_step(
    web: FinancialWeb, web_center: Center
) -> None:
    # no flow in this browser: the start page says so
    orphan = web.submit("/issue/identify", user_id="x")
    assert orphan.status_code == 409 and error_code(orphan.text) == "WEB_ISSUE_NOT_STARTED"
    refused = web.submit("/issue/start", accepted=["financial_certificate"])
    assert refused.status_code == 422 and error_code(refused.text) == "TERMS_NOT_ACCEPTED"

    web.start_issue("C007")
    assert web.get("/issue/pin").headers["location"] == "/issue/identify"  # not there yet
    bad = web.follow(web.identify("C007", rrn_back="12"))
    assert bad.status_code == 422 and error_code(bad.text) == "RRN_INVALID"
    assert 'value="c007user"' in bad.text and "1215441" not in bad.text
    wrong = web.follow(web.identify("C007", user_id="c002user"))
    assert error_code(wrong.text) == "FINANCIAL_IDENTITY_NOT_CONFIRMED"
    assert "남은 입력 횟수" in main_text(wrong.text) and "본인 확인" in main_text(wrong.text)
    web.follow(web.identify("C007"))

    # the ARS call declined: refused, back to the choice of ARS or departure
    page = web.submit("/issue/ars")
    assert re.search(r"data-ars-code>\d\d<", page.text)
    assert 'href="/demo/calls/01020000007"' in page.text
    shown = re.search(r"data-ars-code>(\d\d)<", page.text).group(1)
    ringing = web.submit("/issue/ars/confirm")
    assert f"data-ars-code>{shown}<" in ringing.text  # still ringing: the code stays
    assert "아직 전화가 연결 중입니다" in main_text(ringing.text)
    assert SimulatedArs(web_center.sim_store, web_center.clock).answer("01020000007", None)
    declined = web.submit("/issue/ars/confirm")
    assert declined.status_code == 401 and error_code(declined.text) == "FINANCIAL_ARS_FAILED"
    assert "ARS 전화 요청" in main_text(declined.text)
    web.through_ars("C007")

    # the security card: its two slots are on the page; a wrong answer gets new slots
    _, card_serial, _ = issue_and_register(web_center, "C007")
    slots = printed(web_center, card_serial)
    card = web.submit("/issue/medium", medium="security_card")
    with web_center.uow_factory() as uow:
        asked = uow.factor_challenges.get(attribute(card.text, 'name="card_challenge_id" value'))
    assert asked is not None
    assert attribute(card.text, "data-expires-at") == as_utc(asked.expires_at).isoformat()
    slot_a, slot_b = (
        int(n)
        for n in re.search(
            r"보안카드 (\d+)번의 앞 2자리와 (\d+)번의 뒤 2자리", main_text(card.text)
        ).groups()
    )
    right = answer_for(slots, slot_a, slot_b)
    wrong_answer = right[:3] + str((int(right[3]) + 1) % 10)
    again = web.submit(
        "/issue/medium/verify",
        card_challenge_id=attribute(card.text, 'name="card_challenge_id" value'),
        card_answer=wrong_answer,
    )
    assert error_code(again.text) == "AUTH_FAILED" and "card_challenge_id" in again.text
    slot_a, slot_b = (
        int(n)
        for n in re.search(
            r"보안카드 (\d+)번의 앞 2자리와 (\d+)번의 뒤 2자리", main_text(again.text)
        ).groups()
    )
    web.follow(
        web.post(
            "/issue/medium/verify",
            card_challenge_id=attribute(again.text, 'name="card_challenge_id" value'),
            card_answer=answer_for(slots, slot_a, slot_b),
        )
    )

    # details: no key from the browser (no script), a garbled key, a bad date, a mismatch
    nokey = web.follow(web.details("C007", device_public_key=""))
    assert nokey.status_code == 422 and error_code(nokey.text) == "WEB_DEVICE_KEY_MISSING"
    assert 'value="조현우"' in nokey.text  # what was typed stays
    assert error_code(web.follow(web.details("C007", device_public_key="@@")).text) == (
        "FINANCIAL_DEVICE_KEY_INVALID"
    )
    assert error_code(web.follow(web.details("C007", birth="1983-13-45")).text) == "INVALID_REQUEST"
    mismatch = web.follow(web.details("C007", name="조현수"))
    assert error_code(mismatch.text) == "FINANCIAL_DETAILS_MISMATCH"
    code_page = web.follow(web.details("C007", birth="19830418"))
    # the countdown counts to the expiry of the code the center stored
    with web_center.uow_factory() as uow:
        stored = uow.codes.latest(session_cookie(web.client)["fin_issue"]["id"], CODE_PURPOSE)
    assert stored is not None
    assert attribute(code_page.text, "data-expires-at") == as_utc(stored.expires_at).isoformat()
    web.follow(web.post("/issue/code", code=web.sms_code("01020000007", "발급 인증번호")))
    differ = web.submit("/issue/pin", pin=PIN, pin_confirmation="480214")
    assert error_code(differ.text) == "PIN_CONFIRMATION_MISMATCH"
    assert "비밀번호 설정" in main_text(differ.text)
    assert "Traceback" not in differ.text


def test_registration_device_limit_pin_lock_and_release(
    web: FinancialWeb, web_center: Center, web_app: FastAPI
) -> None:
    issue_directly(web_center, number="C001", pin=PIN, label="집 PC")  # no browser registered
    unknown = web.follow(web.post("/login/financial", device_public_key=web.spki_b64))
    assert str(unknown.url).endswith("/login/register")
    assert "아직 금융인증서 이용 기기가 아닙니다" in main_text(unknown.text)

    def register(browser: FinancialWeb, *, mistakes: bool = False) -> None:
        browser.get("/login/register")
        sent = browser.post(
            "/login/register",
            name="김민준",
            phone="010-2000-0001",
            birth="1990-03-15",
            device_public_key=browser.spki_b64,
            device_label="Chrome · Linux",
        )
        code_page = browser.follow(sent)
        assert "010-****-0001" in main_text(code_page.text)
        assert 'href="/demo/phones/01020000001"' in code_page.text
        if mistakes:
            wrong = browser.submit("/login/register/code", code="000000")
            assert error_code(wrong.text) == "CODE_INVALID"  # stays on the code page
        code = browser.sms_code("01020000001", "기기 등록")
        medium = browser.follow(browser.post("/login/register/code", code=code))
        assert 'action="/login/register/medium"' in medium.text  # the code alone is not enough
        asked = browser.submit("/login/register/medium", medium="account")
        assert "1234*******001" in asked.text
        if mistakes:  # a wrong password: the same question again
            wrong = browser.submit(
                "/login/register/medium/verify",
                account_number="12340100000001",
                account_password="0000",
            )
            assert error_code(wrong.text) == "AUTH_FAILED" and "1234*******001" in wrong.text
        pin = browser.follow(
            browser.post(
                "/login/register/medium/verify",
                account_number="12340100000001",
                account_password="2580",
            )
        )
        assert "data-device-sign" in pin.text and "이용 기기로 등록했습니다" in pin.text

    register(web, mistakes=True)
    limit = web_center.settings.policy.financial_max_devices
    others: list[WebClient] = []
    try:
        for _ in range(limit - 1):
            other_client = WebClient(web_app)
            others.append(other_client)
            register(FinancialWeb(other_client, web_center))
        extra_client = WebClient(web_app)
        others.append(extra_client)
        extra = FinancialWeb(extra_client, web_center)
        extra.get("/login/register")
        extra.follow(
            extra.post(
                "/login/register",
                name="김민준",
                phone="01020000001",
                birth="19900315",
                device_public_key=extra.spki_b64,
            )
        )  # the limit is told once the phone is proven
        code = extra.sms_code("01020000001", "기기 등록")
        refused = extra.submit("/login/register/code", code=code)
        assert refused.status_code == 409 and error_code(refused.text) == "FINANCIAL_DEVICE_LIMIT"
        assert f"최대 {limit}대" in main_text(refused.text)
    finally:
        for made in others:
            made.close()

    # five wrong PINs lock it; the PIN page then offers the release
    page = web.pin_page()
    for _ in range(web_center.settings.policy.financial_pin_max_failures - 1):
        page = web.follow(web.submit_pin(page, "000000"))
    # the last try before the lock names the online reset, not a re-issue
    assert error_code(page.text) == "FINANCIAL_PIN_LAST_TRY"
    assert "재설정" in main_text(page.text) and "재발급" not in main_text(page.text)
    page = web.follow(web.submit_pin(page, "000000"))
    assert error_code(page.text) == "FINANCIAL_PIN_LOCKED"
    assert 'name="pin"' not in page.text  # locked: no PIN field, only the reset
    assert 'href="/login/pin-reset"' in page.text and "비밀번호 재설정" in main_text(page.text)
    web.get("/login/pin-reset")
    code_page = web.follow(
        web.post("/login/pin-reset", name="김민준", phone="01020000001", birth="1990-03-15")
    )
    assert "data-demo-inbox" in code_page.text
    code = web.sms_code("01020000001", "비밀번호 재설정")
    web.follow(web.post("/login/pin-reset/code", code=code))
    web.submit("/login/pin-reset/medium", medium="account")
    account = {"account_number": "12340100000001", "account_password": "2580"}
    weak = web.submit(
        "/login/pin-reset/medium/verify", **account, new_pin="111111", new_pin_confirmation="111111"
    )
    assert error_code(weak.text) == "PIN_WEAK" and "1234*******001" in weak.text
    released = web.post(
        "/login/pin-reset/medium/verify", **account, new_pin="592864", new_pin_confirmation="592864"
    )
    assert released.headers["location"] == "/login/pin"  # back to this browser's PIN page
    again = web.follow(released)
    assert "비밀번호를 재설정했습니다" in main_text(again.text)
    logged = web.follow(web.submit_pin(again, "592864"))
    assert "김민준님, 로그인되었습니다" in main_text(logged.text)


# ---------------------------------------------------------------- Post/Redirect/Get

C004_ACCOUNT = "004:12340100000004"  # 640,000원 on it


def _logged_in(web: FinancialWeb, center: Center, number: str) -> None:
    """``number`` holds a financial certificate with this browser registered, logged in."""
    browser = Browser()
    issue_directly(center, browser, number=number)
    web.key = browser.key
    assert "로그인되었습니다" in main_text(web.log_in().text)


def test_a_transfer_answers_303_and_the_amount_is_checked_before_any_factor(
    web: FinancialWeb, web_center: Center
) -> None:
    _logged_in(web, web_center, "C004")
    holder = customer(web_center, "C004").id
    form = web.get("/transfer")
    assert 'data-balance="640000"' in form.text and "출금가능금액" in main_text(form.text)
    policy = web_center.settings.policy
    top = max(policy.transfer_tiers, key=lambda tier: tier.max_amount)
    limit = policy.medium_limits["certificate"]
    per_transfer = min(limit.per_transfer_with(list(top.factors)), top.max_amount)
    assert f'data-per-transfer="{per_transfer}"' in form.text
    assert f'data-remaining="{limit.per_day}"' in form.text

    # more than the balance: refused on the form, before the payee, the PIN or the password
    over = web.prepare_transfer(700_000, source=C004_ACCOUNT, form=form)
    assert over.status_code == 303 and over.headers["location"] == "/transfer"
    page = web.follow(over)
    assert page.status_code == 422 and error_code(page.text) == "INSUFFICIENT_FUNDS"
    assert 'value="700000"' in page.text and "data-device-sign" not in page.text
    assert error_code(web.get("/transfer").text) is None  # shown once; a reload is the form
    above = web.follow(web.prepare_transfer(600_000_000, source=C004_ACCOUNT))
    assert error_code(above.text) == "TRANSFER_AMOUNT_OVER_TIERS"
    with web_center.uow_factory() as uow:
        assert list(uow.transfers.for_customer(holder)) == []  # nothing was prepared

    # within it: 303 to the confirmation; the same form sent again is the same transfer
    form = web.get("/transfer")
    sent = web.prepare_transfer(600_000, source=C004_ACCOUNT, form=form)
    assert sent.status_code == 303 and sent.headers["location"].startswith("/transfer/")
    again = web.prepare_transfer(600_000, source=C004_ACCOUNT, form=form)
    assert again.headers["location"] == sent.headers["location"]
    with web_center.uow_factory() as uow:
        assert len(uow.transfers.for_customer(holder)) == 1
    confirm = web.follow(sent)
    reloaded = web.get(sent.headers["location"])
    document = re.compile(r"data-document>(.*?)</pre>", re.S)
    assert document.search(confirm.text).group(1) == document.search(reloaded.text).group(1)
    assert "600,000원" in main_text(reloaded.text)

    # signed: 303 to the transfer; the same form sent again moves no money twice
    signed = web.sign_transfer(reloaded)
    assert signed.status_code == 303 and signed.headers["location"] == sent.headers["location"]
    twice = web.sign_transfer(reloaded)
    assert twice.status_code == 303 and twice.headers["location"] == sent.headers["location"]
    done = web.follow(twice)
    assert "이체가 완료되었습니다" in main_text(done.text)
    assert web.get(sent.headers["location"]).text.count("이체가 완료되었습니다") == 1
    assert web_center.sim_store.account("004", "12340100000004")["balance"] == 40_000
    assert 'data-balance="40000"' in web.get("/transfer").text
    # the first form sent once more, now above the balance: still that transfer, done
    late = web.prepare_transfer(600_000, source=C004_ACCOUNT, form=form)
    assert late.headers["location"] == sent.headers["location"]
    assert web_center.sim_store.account("004", "12340100000004")["balance"] == 40_000
    with web_center.uow_factory() as uow:
        assert len(uow.transfers.for_customer(holder)) == 1


def test_the_pin_reset_answers_303_and_a_form_sent_again_acts_once(
    web: FinancialWeb, web_center: Center
) -> None:
    issue_directly(web_center, Browser(), number="C010")
    phone = "01020000010"
    web.get("/login/pin-reset")
    who = WORLD.people["C010"]
    details = {"name": who.name, "phone": phone, "birth": who.rrn.birth_date.isoformat()}
    sent = web.post("/login/pin-reset", **details)
    assert sent.status_code == 303 and sent.headers["location"] == "/login/pin-reset/code"
    texts_before = len(web_center.sim_store.messages(phone))
    again = web.post("/login/pin-reset", **details)  # Back, then the same form: no second SMS
    assert again.headers["location"] == "/login/pin-reset/code"
    assert len(web_center.sim_store.messages(phone)) == texts_before
    code_page = web.follow(again)
    assert main_text(code_page.text) == main_text(web.get("/login/pin-reset/code").text)

    wrong = web.post("/login/pin-reset/code", code="000000")
    assert wrong.headers["location"] == "/login/pin-reset/code"
    assert error_code(web.follow(wrong).text) == "CODE_INVALID"
    code = web.sms_code(phone, "비밀번호 재설정")
    assert web.post("/login/pin-reset/code", code=code).headers["location"] == (
        "/login/pin-reset/medium"
    )
    asked = web.post("/login/pin-reset/medium", medium="account")
    assert asked.headers["location"] == "/login/pin-reset/medium"
    question = web.follow(asked)
    assert "1234*******010" in question.text
    assert "1234*******010" in web.get("/login/pin-reset/medium").text  # a reload: the same

    account = {"account_number": "12340100000010", "account_password": "0000"}
    refused = web.post("/login/pin-reset/medium/verify", **account)
    assert refused.headers["location"] == "/login/pin-reset/medium"
    shown = web.follow(refused)
    assert error_code(shown.text) == "AUTH_FAILED" and "1234*******010" in shown.text
    reload = web.get("/login/pin-reset/medium")
    assert error_code(reload.text) is None and "1234*******010" in reload.text

    account["account_password"] = "2580"
    new_pin = {"new_pin": "592864", "new_pin_confirmation": "592864"}
    released = web.post("/login/pin-reset/medium/verify", **account, **new_pin)
    assert released.status_code == 303 and released.headers["location"] == "/login"
    twice = web.post("/login/pin-reset/medium/verify", **account, **new_pin)
    assert twice.status_code == 303 and twice.headers["location"] == "/login"
    assert "비밀번호를 재설정했습니다" in main_text(web.follow(twice).text)


def test_the_browser_registration_sent_again_sends_no_second_code(
    web: FinancialWeb, web_center: Center
) -> None:
    issue_directly(web_center, Browser(), number="C014")
    phone = "01020000014"
    web.get("/login/register")
    who = WORLD.people["C014"]
    form = {
        "name": who.name,
        "phone": phone,
        "birth": who.rrn.birth_date.isoformat(),
        "device_public_key": web.spki_b64,
    }
    refused = web.post("/login/register", **{**form, "birth": "soon"})
    assert refused.headers["location"] == "/login/register"
    page = web.follow(refused)
    assert error_code(page.text) == "INVALID_REQUEST" and f'value="{phone}"' in page.text
    first = web.post("/login/register", **form)
    count = len(web_center.sim_store.messages(phone))
    second = web.post("/login/register", **form)
    assert first.headers["location"] == second.headers["location"] == "/login/register/code"
    assert len(web_center.sim_store.messages(phone)) == count
    code = web.sms_code(phone, "기기 등록")
    tag = attribute(web.get("/login/register/code").text, 'name="flow_tag" value')
    older = web.post("/login/register/code", code=code, flow_tag=tag[::-1])  # another tab's
    assert older.headers["location"] == "/login/register/code"
    assert error_code(web.follow(older).text) == "WEB_FLOW_TAKEN_OVER"
    medium = web.post("/login/register/code", code=code, flow_tag=tag)
    assert medium.headers["location"] == "/login/register/medium"
    chosen = web.post("/login/register/medium", medium="account")
    assert "1234*******014" in web.follow(chosen).text
    answer = {"account_number": "12340100000014", "account_password": "2580"}
    registered = web.post("/login/register/medium/verify", **answer)
    assert registered.headers["location"] == "/login/pin"
    assert web.post("/login/register/medium/verify", **answer).headers["location"] == "/login/pin"
    holder = customer(web_center, "C014").id
    assert len(web_center.financial_devices.list(holder)) == 2  # the first one and this one
