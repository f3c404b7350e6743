"""인터넷뱅킹 가입 (/banking/join) and 아이디 찾기 (/banking/find-id) in the in-process app.

C003 (박지훈) has an account at the bank but no internet banking: /issue refuses him for want
of a user ID, and 아이디 찾기 tells him he has none. He joins — name, phone, birth date, the
SMS code, his account and its password, then a user ID, a password twice and the terms, each
rule refused first — and can then identify himself on /issue with the new ID, and find it.
Every step answers 303 (Post/Redirect/Get); the resident number and the password never reach
the session cookie.
"""

from __future__ import annotations

import pytest

from certcenter.banking import check_new_password, check_user_id, mask_user_id
from certcenter.banking.join import PASSWORD_PURPOSE
from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import text
from tests.web.financial_support import (
    ACCOUNT_PASSWORD,
    WORLD,
    FinancialWeb,
    error_code,
    session_cookie,
)
from tests.web.support import WebClient, main_text

C003 = WORLD.people["C003"]
C003_PHONE = str((C003.phone or {})["number"])
NEW_ID = "jihun95"
NEW_PASSWORD = "Park!2026x"


def _customer(center: Center, number: str):  # type: ignore[no-untyped-def]
    with center.uow_factory() as uow:
        found = uow.customers.by_number(number)
        assert found is not None
        return found


def _find_id(web: FinancialWeb, person: str, **overrides: str):  # type: ignore[no-untyped-def]
    who = WORLD.people[person]
    form = {
        "name": who.name,
        "rrn": f"{who.rrn.digits[:6]}-{who.rrn.digits[6:]}",
        "phone": str((who.phone or {})["number"]),
    }
    form.update(overrides)
    return web.post("/banking/find-id", **form)


def _join_medium(web: FinancialWeb) -> None:
    """Through the details, the SMS code and the choice of the account (C003)."""
    web.get("/banking/join")
    code_page = web.follow(
        web.post(
            "/banking/join",
            name=C003.name,
            phone=C003_PHONE,
            birth=C003.rrn.birth_date.isoformat(),
        )
    )
    assert code_page.url.path == "/banking/join/code"
    wrong = web.follow(web.post("/banking/join/code", code="000000"))
    assert wrong.url.path == "/banking/join/code" and error_code(wrong.text) == "CODE_INVALID"
    code = web.sms_code(C003_PHONE, "인터넷뱅킹 가입")
    medium = web.follow(web.post("/banking/join/code", code=code))
    assert medium.url.path == "/banking/join/medium"
    asked = web.follow(web.post("/banking/join/medium", medium="account"))
    assert 'name="user_id"' in asked.text and 'name="terms"' in asked.text


def test_c003_joins_internet_banking_then_issues_and_finds_the_id(
    web_center: Center, web: WebClient
) -> None:
    site = FinancialWeb(web, web_center)
    # today: no user ID, so the certificate flows refuse him and 아이디 찾기 finds none
    site.start_issue("C003")
    refused = site.follow(site.identify("C003", user_id="c003"))
    assert error_code(refused.text) == "FINANCIAL_INTERNET_BANKING_REQUIRED"
    assert 'href="/banking/join"' in refused.text  # the way from the step
    site.follow(_find_id(site, "C003"))
    none = site.follow(
        site.post("/banking/find-id/code", code=site.sms_code(C003_PHONE, "아이디 찾기"))
    )
    assert none.url.path == "/banking/find-id" and error_code(none.text) == "USER_ID_NONE"

    _join_medium(site)
    account = str(C003.accounts[0]["number"])
    right = {"account_number": account, "account_password": ACCOUNT_PASSWORD}
    terms = list(web_center.banking_join.required_terms)
    for choice, code in (
        ({"user_id": "1jihun", "password": NEW_PASSWORD}, "USER_ID_FORMAT"),
        ({"user_id": "c001user", "password": NEW_PASSWORD}, "USER_ID_TAKEN"),
        ({"user_id": NEW_ID, "password": "short1!"}, "PASSWORD_RULES"),
        ({"user_id": NEW_ID, "password": "onlyletters"}, "PASSWORD_RULES"),
        ({"user_id": NEW_ID, "password": "Jihun95!abc"}, "PASSWORD_RULES"),  # holds the ID
        ({"user_id": NEW_ID, "password": "Park!1234x"}, "PASSWORD_RULES"),  # 1234
        ({"user_id": NEW_ID, "password": "Ab!950721"}, "PASSWORD_RULES"),  # birth date
        (
            {"user_id": NEW_ID, "password": NEW_PASSWORD, "password_confirmation": "x"},
            "PASSWORD_CONFIRMATION_MISMATCH",
        ),
        ({"user_id": NEW_ID, "password": NEW_PASSWORD, "terms": terms[:1]}, "TERMS_NOT_ACCEPTED"),
        (
            {"user_id": NEW_ID, "password": NEW_PASSWORD, "account_password": "0000"},
            "AUTH_FAILED",  # the medium's own answer: counted
        ),
    ):
        form = {"password_confirmation": choice["password"], "terms": terms, **right, **choice}
        page = site.follow(site.post("/banking/join/medium/verify", **form))
        assert page.url.path == "/banking/join/medium", code  # PRG, the same step again
        assert error_code(page.text) == code, main_text(page.text)
    assert _customer(web_center, "C003").user_id is None

    form = {
        "user_id": NEW_ID,
        "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD,
        "terms": terms,
        **right,
    }
    sent = site.post("/banking/join/medium/verify", **form)
    assert sent.status_code == 303 and sent.headers["location"] == "/banking/join/done"
    done = site.get("/banking/join/done")
    assert f"<code data-user-id>{NEW_ID}</code>" in done.text
    assert 'href="/issue"' in done.text and 'href="/joint"' in done.text
    assert site.get("/banking/join/done").status_code == 200  # a reload shows it again
    again = site.post("/banking/join/medium/verify", **form)  # sent twice: joined once
    assert again.headers["location"] == "/banking/join/done"
    cookie = str(session_cookie(web))
    assert NEW_PASSWORD not in cookie and ACCOUNT_PASSWORD not in cookie

    joined = _customer(web_center, "C003")
    assert joined.user_id == NEW_ID and joined.internet_banking
    assert joined.password_hash and NEW_PASSWORD not in joined.password_hash
    assert web_center.hasher.verify(joined.password_hash, NEW_PASSWORD, purpose=PASSWORD_PURPOSE)
    with web_center.uow_factory() as uow:
        told = [m.event for m in uow.outbox.for_customer(joined.id, limit=50)]
    assert "banking_joined" in told

    # now /issue knows him by the new user ID, and 아이디 찾기 shows it masked
    site.start_issue("C003")
    identified = site.follow(site.identify("C003", user_id=NEW_ID))
    assert error_code(identified.text) is None, main_text(identified.text)
    assert identified.url.path != "/issue/identify"
    site.follow(_find_id(site, "C003"))
    found = site.post("/banking/find-id/code", code=site.sms_code(C003_PHONE, "아이디 찾기"))
    found_page = site.follow(found)
    assert found_page.url.path == "/banking/find-id/done"
    assert "<code data-user-id>jih***5</code>" in found_page.text


def test_joining_again_is_refused_after_the_code(web_center: Center, web: WebClient) -> None:
    site = FinancialWeb(web, web_center)
    who = WORLD.people["C002"]
    phone = str((who.phone or {})["number"])
    site.follow(
        site.post("/banking/join", name=who.name, phone=phone, birth=who.rrn.birth_date.isoformat())
    )
    page = site.follow(
        site.post("/banking/join/code", code=site.sms_code(phone, "인터넷뱅킹 가입"))
    )
    assert page.url.path == "/banking/join" and error_code(page.text) == "BANKING_ALREADY_JOINED"
    assert 'href="/banking/find-id"' in page.text
    # nothing to verify without a sign-up under way
    late = site.follow(site.post("/banking/join/medium/verify", user_id="x"))
    assert late.url.path == "/banking/join"


def test_find_id_refusals_and_the_resident_number_kept_nowhere(
    web_center: Center, web: WebClient
) -> None:
    site = FinancialWeb(web, web_center)
    who = WORLD.people["C001"]
    phone = str((who.phone or {})["number"])
    assert site.get("/banking/find-id").status_code == 200
    malformed = site.follow(_find_id(site, "C001", rrn="900315-1512549"))  # check digit
    assert error_code(malformed.text) == "RRN_INVALID"
    assert who.name in malformed.text and "1512549" not in malformed.text  # not filled again
    # someone else's number with C001's name and phone: the same answer, no SMS is sent
    sent_before = len(web_center.sim_store.messages(phone))
    other = WORLD.people["C002"].rrn.digits
    site.follow(_find_id(site, "C001", rrn=other))
    assert len(web_center.sim_store.messages(phone)) == sent_before
    guessed = site.follow(site.post("/banking/find-id/code", code="123456"))
    assert error_code(guessed.text) == "CODE_INVALID"

    site.follow(_find_id(site, "C001"))
    code = site.sms_code(phone, "아이디 찾기")
    found = site.follow(site.post("/banking/find-id/code", code=code))
    assert "<code data-user-id>c00****r</code>" in found.text
    assert who.rrn.digits[6:] not in str(session_cookie(web))
    assert site.follow(site.post("/banking/find-id/code", code=code)).url.path == (
        "/banking/find-id/done"  # sent again: where the first went
    )
    with web_center.uow_factory() as uow:
        trail = list(uow.audit.entries(limit=100_000))
    found_entries = [e for e in trail if e.action == "user_id_found"]
    assert found_entries and found_entries[-1].details.get("shown") == "c00****r"
    assert all(who.rrn.digits[6:] not in repr(entry.details) for entry in trail)


@pytest.mark.parametrize(
    ("user_id", "ok"),
    [
        ("jihun95", True),
        ("JiHun95 ", True),
        ("ab12", False),
        ("1abcdef", False),
        ("abc_def", False),
    ],
)
def test_user_id_rule(user_id: str, ok: bool) -> None:
    if ok:
        assert check_user_id(user_id) == user_id.strip().lower()
    else:
        with pytest.raises(CertCenterError) as caught:
            check_user_id(user_id)
        assert caught.value.code == "USER_ID_FORMAT"


def test_password_rules_and_masking() -> None:
    check_new_password(NEW_PASSWORD, NEW_PASSWORD, user_id=NEW_ID, birth_date=None)
    for bad in ("Pa!1", "Park 2026!x", "park2026xx", "Park!aaaa1"):
        with pytest.raises(CertCenterError) as caught:
            check_new_password(bad, bad, user_id=NEW_ID, birth_date=None)
        assert caught.value.code == "PASSWORD_RULES"
        assert caught.value.cause("ko") in {
            text(f"password_rule.{rule}", "ko") for rule in ("length", "characters", "mix", "run")
        }
    assert mask_user_id("c001user") == "c00****r"
    assert mask_user_id("abcd") == "a***"
