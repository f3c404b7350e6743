"""The joint certificate's registration pages (/joint) against the in-process app: every
step Post/Redirect/Get on the core the API uses, the authorization code shown by one GET
only, refusals as the catalog's box in the page's language."""

from __future__ import annotations

import re

import httpx
import pytest

from certcenter.bootstrap import Center
from certcenter.errors.catalog import catalog
from certcenter.media.security_card import answer_for
from tests.joint.support import WORLD, account_of
from tests.media.test_otp_service import sms_code
from tests.media.test_security_card import issue_and_register
from tests.web.conftest import web, web_app, web_center  # noqa: F401 - fixtures
from tests.web.support import WebClient, csrf_token, main_text

_SLOTS = re.compile(r'name="card_challenge_id" value="([^"]+)"')
_CARD = re.compile(r"(\d+)번의 앞 2자리와 (\d+)번")


@pytest.fixture(scope="module")
def slots() -> dict[str, list[str]]:
    """The security cards registered in this module's center, per person."""
    return {}


def card_of(center: Center, person: str, cache: dict[str, list[str]]) -> list[str]:
    if person not in cache:
        _, _, cache[person] = issue_and_register(center, person)
    return cache[person]


def post(web: WebClient, path: str, page: str, **data: str) -> httpx.Response:  # noqa: F811
    return web.post(path, data={**data, "csrf_token": csrf_token(page)})


def walk_to_register(
    web: WebClient,  # noqa: F811
    center: Center,
    person: str,
    kind: str,
    cards: dict[str, list[str]],
) -> httpx.Response:
    slots = card_of(center, person, cards)
    found = WORLD.people[person]
    page = web.get("/joint").text
    terms = center.settings.policy.joint_required_terms
    started = web.post(
        "/joint/start",
        data={"kind": kind, "accepted": terms, "csrf_token": csrf_token(page)},
    )
    assert started.headers["location"] == "/joint/identify"
    page = web.follow(started).text
    digits = found.rrn.digits
    user_id = str((found.customer or {})["user_id"])
    identified = post(
        web, "/joint/identify", page, user_id=user_id, rrn_front=digits[:6], rrn_back=digits[6:]
    )
    assert identified.headers["location"] == "/joint/medium"
    page = web.follow(identified).text
    chosen = post(web, "/joint/medium", page, medium="security_card")
    assert chosen.status_code == 303
    page = web.follow(chosen).text
    challenge = _SLOTS.search(page)
    asked = _CARD.search(main_text(page))
    assert challenge and asked, main_text(page)
    answer = answer_for(slots, int(asked.group(1)), int(asked.group(2)))
    verified = post(
        web,
        "/joint/medium/verify",
        page,
        card_challenge_id=challenge.group(1),
        card_answer=answer,
    )
    assert verified.headers["location"] == "/joint/code", verified.text
    page = web.follow(verified).text
    phone = str((found.phone or {})["number"])
    coded = post(web, "/joint/code", page, code=sms_code(center, phone))
    assert coded.headers["location"] == "/joint/register"
    return web.follow(coded)


def test_a_general_registration_in_the_browser_shows_the_code_once(
    web: WebClient,  # noqa: F811
    web_center: Center,  # noqa: F811
    slots: dict[str, list[str]],
) -> None:
    page = walk_to_register(web, web_center, "C002", "general", slots)
    assert "4,400원" in main_text(page.text)
    no_account = web.follow(
        post(web, "/joint/register", page.text, bank_code="088", account_number="")
    )
    assert no_account.status_code == catalog()["JOINT_FEE_ACCOUNT_REQUIRED"].http_status
    assert catalog()["JOINT_FEE_ACCOUNT_REQUIRED"].message_ko in main_text(no_account.text)
    bank, number = account_of("C002")
    done = post(web, "/joint/register", page.text, bank_code=bank, account_number=number)
    assert done.headers["location"] == "/joint/done"
    shown = web.follow(done).text
    reference = re.search(r"data-reference>(\d{10})<", shown)
    code = re.search(r"data-authorization-code>([A-Z2-9]{16})<", shown)
    assert reference and code, main_text(shown)
    assert web_center.joint_authority.shared_secret(reference.group(1)) == code.group(1).encode()
    assert code.group(1) not in str(web.cookies.get("certcenter_web"))
    assert f'value="{code.group(1)}"' in shown  # the issue form on this page, filled in
    assert f'value="{reference.group(1)}"' in shown
    again = web.get("/joint/done").text
    assert reference.group(1) in again and code.group(1) not in again
    statement = web_center.sim_store.statement(bank, number)
    assert any(line["amount"] == -4400 for line in statement), statement


def test_refusals_are_the_catalogs_words_in_the_pages_language(
    web: WebClient,  # noqa: F811
    web_center: Center,  # noqa: F811
) -> None:
    early = web.get("/joint/register")
    assert early.status_code == 409
    assert catalog()["WEB_JOINT_NOT_STARTED"].message_ko in main_text(early.text)
    web.get("/lang/en?next=/joint")
    page = web.get("/joint").text
    missing = web.follow(
        web.post(
            "/joint/start",
            data={"kind": "banking", "accepted": [], "csrf_token": csrf_token(page)},
        )
    )
    assert missing.status_code == catalog()["TERMS_NOT_ACCEPTED"].http_status
    assert catalog()["TERMS_NOT_ACCEPTED"].message_en in main_text(missing.text)
    terms = web_center.settings.policy.joint_required_terms
    gold = web.follow(
        web.post(
            "/joint/start",
            data={"kind": "gold", "accepted": terms, "csrf_token": csrf_token(page)},
        )
    )
    assert catalog()["JOINT_KIND_INVALID"].message_en in main_text(gold.text)
    started = web.post(
        "/joint/start",
        data={"kind": "banking", "accepted": terms, "csrf_token": csrf_token(page)},
    )
    page = web.follow(started).text
    wrong = web.follow(
        post(
            web,
            "/joint/identify",
            page,
            user_id="c003nobody",
            rrn_front="900101",
            rrn_back="1234568",
        )
    )
    assert wrong.status_code in (400, 401, 404, 422), wrong.status_code
    assert "1234568" not in wrong.text
    assert "Traceback" not in wrong.text and '<html lang="en"' in wrong.text


def test_the_scripts_words_come_from_the_catalog(web: WebClient) -> None:  # noqa: F811
    page = web.get("/joint/issue").text
    token = {"csrf_token": csrf_token(page)}
    locked = web.post("/joint/explain", data={"code": "JOINT_REFERENCE_LOCKED", **token})
    assert locked.status_code == 200
    words = locked.json()
    assert words["code"] == "JOINT_REFERENCE_LOCKED"
    assert words["message"] == catalog()["JOINT_REFERENCE_LOCKED"].message_ko
    assert "5" in words["cause"] and "{" not in words["cause"]
    odd = web.post("/joint/explain", data={"code": "<b>NOPE</b>", "detail": "x" * 60, **token})
    assert odd.json()["code"] == "CMP_REFUSED" and "<b>" not in odd.text
    web.get("/lang/en?next=/joint/issue")
    english = web.post("/joint/explain", data={"code": "CMP_PROTECTION_INVALID", **token})
    assert english.json()["message"] == catalog()["CMP_PROTECTION_INVALID"].message_en
    without_token = web.post("/joint/explain", data={"code": "CMP_PROTECTION_INVALID"})
    assert without_token.status_code == 403


def test_the_issue_page_shows_the_rule_and_names_no_secret_field(
    web: WebClient,  # noqa: F811
) -> None:
    page = web.get("/joint/issue").text
    assert "10자 이상 56자 이하" in main_text(page)
    form = page[page.index("data-joint-issue") : page.index("</form>")]
    names = re.findall(r'name="([^"]+)"', form)
    assert names == []  # the code and the password are never posted to the center
    assert 'id="joint-code"' in form and 'id="joint-password"' in form


def test_a_joint_login_with_bad_inputs_is_refused_with_the_catalogs_words(
    web: WebClient,  # noqa: F811
) -> None:
    page = web.get("/login/joint").text
    token = csrf_token(page)
    cases = [
        ({"challenge": "", "signature": "", "certificate": ""}, "WEB_JOINT_BROWSER_UNSUPPORTED"),
        ({"challenge": "c" * 40, "signature": "AAAA", "certificate": "%%%"}, "INVALID_REQUEST"),
        (
            {"challenge": "c" * 40, "signature": "AAAA", "certificate": "AAAA"},
            "CHALLENGE_INVALID",
        ),
    ]
    for form, code in cases:
        sent = web.post("/login/joint", data={**form, "csrf_token": token})
        assert sent.status_code == 303 and sent.headers["location"] == "/login/joint"  # PRG
        answer = web.follow(sent)
        assert answer.status_code == catalog()[code].http_status, (code, answer.status_code)
        assert catalog()[code].message_ko in main_text(answer.text)
        assert "Traceback" not in answer.text
    challenge = web.post("/login/joint/challenge", headers={"X-CSRF-Token": token})
    assert challenge.status_code == 200
    issued = challenge.json()
    assert issued["sign"].endswith(issued["challenge"]) and "joint-login" in issued["sign"]
