"""/why (발급이 안 될 때) in the in-process app, on SQLite and PostgreSQL: the checklist the
demo world's customers get from their real state, in Korean and English, with the catalog's
remedies; refusals that tell nothing and never echo the resident number; the logged-in
customer's own check; the demo page of customers to try."""

from __future__ import annotations

import dataclasses
import html
import re

import pytest
from fastapi import FastAPI

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError, Locale, entry
from certcenter.errors.catalog import text
from tests.diagnosis.support import phone_verified, refused, rrn
from tests.web.signin import app_fixture, center_fixture, log_in  # noqa: F401 (fixtures)
from tests.web.support import WebClient, html_lang, main_text

FOREIGN = ("203.0.113.9", 40000)  # TEST-NET-3: not a domestic network of the policy

# person, the item that is not ok, its state and catalog code
CASES = [
    ("C004", "phone_own_name", "problem", "PHONE_NOT_OWN_NAME"),
    ("C006", "phone_corporate_line", "problem", "PHONE_CORPORATE_LINE"),
    ("C008", "account_usable", "problem", "ACCOUNT_DORMANT"),
    ("C012", "device_registered", "problem", "DEVICE_ALREADY_REGISTERED"),
    ("C013", "overseas_access", "problem", "FOREIGN_IP_BLOCKED"),  # asks from abroad
    ("C015", "sms_spam_block", "warning", "PHONE_SMS_SPAM_BLOCKED"),
    ("C016", "account_usable", "problem", "ACCOUNT_SUSPENDED"),
]


@dataclasses.dataclass
class Row:
    key: str
    status: str
    words: str  # the row's visible text


_ROW = re.compile(r'<li class="check check-\w+" data-key="(\w+)" data-status="(\w+)">')
_TAGS = re.compile(r"<[^>]+>")


def rows(page: str) -> list[Row]:
    """The checklist's rows: key, state and words (up to the next row)."""
    found = list(_ROW.finditer(page))
    out = []
    for n, match in enumerate(found):
        end = found[n + 1].start() if n + 1 < len(found) else page.index("</ol>", match.end())
        words = " ".join(html.unescape(_TAGS.sub(" ", page[match.end() : end])).split())
        out.append(Row(match.group(1), match.group(2), words))
    return out


def diagnose(web: WebClient, person: str, *, user_id: str | None = None, number: str = "") -> str:
    data = {"user_id": user_id or f"{person.lower()}user", "rrn": number or rrn(person)}
    response = web.follow(web.post("/why", data={**data, **web.csrf("/why")}))
    return response.text if response.status_code == 200 else f"{response.status_code}"


def choose(web: WebClient, locale: Locale) -> None:
    if locale == "en":
        web.get("/lang/en")


def expected_remedy(center: Center, person: str, key: str, locale: Locale, **ask: str) -> str:
    """The catalog's remedy, filled from the item's own context (e.g. the SMS sender)."""
    with center.uow_factory() as uow:
        customer = uow.customers.by_number(person)
    assert customer is not None
    item = center.diagnosis.for_customer(customer.id, **ask).item(key)
    assert item.code is not None
    return entry(item.code).render("remedy", locale, item.context)


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_each_demo_customer_gets_the_checklist_of_their_own_problem(
    db_center: Center, db_app: FastAPI, locale: Locale
) -> None:
    for person, key, status, code in CASES:
        client = FOREIGN if person == "C013" else ("127.0.0.1", 123)
        with WebClient(db_app, client=client) as web:
            choose(web, locale)
            page = diagnose(web, person)
        assert html_lang(page) == locale, (person, page[:200])
        shown = rows(page)
        assert len(shown) >= 11, person  # every check has its row
        not_ok = [(r.key, r.status) for r in shown if r.status != "ok"]
        assert not_ok == [(key, status)], person
        row = next(r for r in shown if r.key == key)
        assert text(f"why.state.{status}", locale) in row.words
        assert text(f"why.item.{key}", locale) in row.words
        ask = {"client_ip": FOREIGN[0]} if person == "C013" else {}
        assert expected_remedy(db_center, person, key, locale, **ask) in row.words, person
        assert entry(code).text("message", locale) in row.words
        assert code in row.words
        words = main_text(page)
        if status == "problem":
            assert text("why.blocked", locale, count=1) in words
        else:
            assert text("why.ready", locale) in words
            assert text("why.ready_warnings", locale, count=1) in words
        assert rrn(person) not in page and rrn(person).replace("-", "") not in page
        assert "{" not in words and "why.item" not in words

    with WebClient(db_app) as web:  # all clear, in words
        choose(web, locale)
        page = diagnose(web, "C001")
    assert {r.status for r in rows(page)} == {"ok"}
    assert text("why.ready", locale) in main_text(page)
    assert text("why.detail.own_name", locale, phone="010-****-0001") in main_text(page)


def test_details_of_the_state_are_told_in_words(db_center: Center, db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        web.get("/lang/en")
        c005 = {r.key: r for r in rows(diagnose(web, "C005"))}  # an MVNO line
        c012 = {r.key: r for r in rows(diagnose(web, "C012"))}
        c003 = diagnose(web, "C003", user_id="c003user")  # new to internet banking: no ID
    assert "Choose 'LG U+ MVNO' as the carrier" in c005["phone_carrier"].words
    assert text("why.detail.carrier_mvno", "en") in c005["phone_carrier"].words
    assert "SM-G991N (android)" in c012["device_registered"].words
    assert "valid until" in c012["certificate"].words
    assert c003 == "403"


def test_a_wrong_number_and_an_unknown_id_get_the_same_box_and_nothing_is_echoed(
    db_app: FastAPI,
) -> None:
    with WebClient(db_app, client=("10.9.0.1", 5)) as web:
        form = web.get("/why").text
        rrn_input = re.search(r'<input id="field-rrn"[^>]*>', form)
        assert rrn_input is not None
        assert 'type="password"' in rrn_input.group(0)
        assert 'autocomplete="off"' in rrn_input.group(0) and 'value=""' in rrn_input.group(0)

        token = web.csrf("/why")
        wrong_number = web.follow(
            web.post("/why", data={"user_id": "c004user", "rrn": rrn("C001"), **token})
        )
    with WebClient(db_app, client=("10.9.0.3", 5)) as web:  # first tries of both, alike
        token = web.csrf("/why")
        unknown_id = web.follow(
            web.post("/why", data={"user_id": "nobody-here", "rrn": rrn("C004"), **token})
        )
    error = CertCenterError("DIAGNOSIS_IDENTITY_NOT_CONFIRMED")
    for response, typed in ((wrong_number, rrn("C001")), (unknown_id, rrn("C004"))):
        assert response.status_code == 403
        words = main_text(response.text)
        assert error.message("ko") in words and error.remedy("ko") in words
        assert "DIAGNOSIS_IDENTITY_NOT_CONFIRMED" in words
        assert not rows(response.text)  # no checklist
        for form in (typed, typed.replace("-", ""), typed.split("-")[1]):
            assert form not in response.text
        assert 'name="rrn" type="password" value=""' in response.text
    # the two refusals read the same, whatever was wrong
    box = re.compile(r'<section class="error-box".*?</section>', re.DOTALL)
    first, second = box.search(wrong_number.text), box.search(unknown_id.text)
    assert first and second
    assert first.group(0) == second.group(0)


def test_malformed_input_and_a_missing_token_are_refused(db_app: FastAPI) -> None:
    with WebClient(db_app, client=("10.9.0.2", 5)) as web:
        token = web.csrf("/why")
        malformed = web.follow(
            web.post("/why", data={"user_id": "c004user", "rrn": "920505-27819", **token})
        )
        assert malformed.status_code == 422
        assert "RRN_INVALID" in main_text(malformed.text)
        assert "920505-27819" not in malformed.text and "27819" not in malformed.text
        too_long = web.follow(
            web.post("/why", data={"user_id": "x" * 41, "rrn": "1" * 30, **token})
        )
        assert too_long.status_code == 422 and "1" * 30 not in too_long.text
        no_token = web.post("/why", data={"user_id": "c004user", "rrn": rrn("C004")})
        assert no_token.status_code == 403
        assert "WEB_CSRF_INVALID" in main_text(no_token.text) and not rows(no_token.text)


def test_refusals_of_the_issuance_flow_are_listed(db_center: Center, db_app: FastAPI) -> None:
    ref = phone_verified(db_center, "C009", device_id="c009-phone")
    for _ in range(2):
        db_center.clock.advance(seconds=30)  # type: ignore[attr-defined]
        err = refused(
            lambda: db_center.mobile_enrollment.request_account_deposit(
                ref, bank_code="004", account_number="12340100000009"
            )
        )
        assert err.code == "ACCOUNT_TRANSFER_RESTRICTED"
    with WebClient(db_app) as web:
        shown = {r.key: r for r in rows(diagnose(web, "C009"))}
        web.get("/lang/en")
        english = {r.key: r for r in rows(diagnose(web, "C009"))}
    failures = shown["recent_failures"]
    assert failures.status == "warning"
    assert text("why.detail.failures", "ko", hours=24, total=2) in failures.words
    assert entry("ACCOUNT_TRANSFER_RESTRICTED").message_ko in failures.words
    assert "2회, 마지막 2026-11-23 10:01:00" in failures.words
    assert shown["account_usable"].status == "problem"
    assert entry("ACCOUNT_TRANSFER_RESTRICTED").message_en in english["recent_failures"].words
    assert "Times: 2, the last at 2026-11-23 10:01:00" in english["recent_failures"].words


def test_a_logged_in_customer_checks_without_typing(db_center: Center, db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        assert 'href="/why/me"' not in web.get("/why").text
        assert web.get("/why/me").status_code == 401
        log_in(web, db_center, "C015")
        assert 'href="/why/me"' in web.get("/why").text
        page = web.get("/why/me")
        assert page.status_code == 200
        shown = {r.key: r.status for r in rows(page.text)}
        assert shown["sms_spam_block"] == "warning" and shown["phone_own_name"] == "ok"
        assert "C015" in main_text(page.text)
        assert 'href="/my"' in page.text


def test_the_demo_page_lists_customers_with_a_problem_to_try(db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        assert 'href="/demo/why"' in web.get("/why").text
        assert 'href="/demo/why"' in web.get("/demo").text
        page = web.get("/demo/why").text
        words = main_text(page)
        for person in ("C004", "C006", "C008", "C012", "C015", "C016"):
            assert f'id="why-{person}"' in page and rrn(person) in words
        assert 'id="why-C001"' not in page  # nothing to find
        assert "c004user" in words and text("why.item.phone_own_name", "ko") in words
        # its button diagnoses that customer
        card = page[page.index('id="why-C006"') :]
        form = card[card.index("<form") : card.index("</form>")]
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
        result = web.follow(web.post("/why", data=fields))
        assert [(r.key, r.status) for r in rows(result.text) if r.status != "ok"] == [
            ("phone_corporate_line", "problem")
        ]


def test_the_demo_page_is_off_without_the_simulators(db_app: FastAPI) -> None:
    center: Center = db_app.state.center
    settings = center.settings.model_copy(update={"simulators_enabled": False})
    db_app.state.center = center.reconfigured(settings)
    try:
        with WebClient(db_app) as web:
            off = web.get("/demo/why")
            assert off.status_code == 404 and "SIMULATORS_DISABLED" in main_text(off.text)
            assert 'href="/demo/why"' not in web.get("/why").text
    finally:
        db_app.state.center = center


def test_the_old_address_leads_to_the_page(db_app: FastAPI) -> None:
    with WebClient(db_app) as web:
        moved = web.get("/diagnosis")
        assert moved.status_code == 303 and moved.headers["location"] == "/why"
        assert 'aria-current="page">발급이 안 될 때</a>' in web.get("/why").text
