"""The web center's ARS choice at registration, and the renewal and revocation pages
(/joint/renew, /joint/revoke) as the in-process app serves them: the ARS call's number on the
page, a wrong answer refused with the catalog's words; the pages' fields without names (the
file and its passwords never leave the browser) and the words the script shows for the CMP
server's refusals, with the renewal window of the certificate the page opened."""

from __future__ import annotations

import re

import httpx
import pytest

from certcenter.bootstrap import Center
from certcenter.errors.catalog import catalog
from certcenter.media.security_card import answer_for
from certcenter.simulators.ars import SimulatedArs
from tests.joint.support import WORLD
from tests.media.test_security_card import issue_and_register
from tests.web.conftest import web, web_app, web_center  # noqa: F401 - fixtures
from tests.web.support import WebClient, csrf_token, main_text

_SLOTS = re.compile(r'name="card_challenge_id" value="([^"]+)"')
_CARD = re.compile(r"(\d+)번의 앞 2자리와 (\d+)번")
_ARS = re.compile(r"data-ars-code>(\d+)<")


def post(web: WebClient, path: str, page: str, **data: str) -> httpx.Response:  # noqa: F811
    return web.post(path, data={**data, "csrf_token": csrf_token(page)})


def test_the_ars_call_instead_of_the_sms_on_the_registration_pages(
    web: WebClient,  # noqa: F811
    web_center: Center,  # noqa: F811
) -> None:
    person = WORLD.people["C006"]
    _, _, slots = issue_and_register(web_center, "C006")
    page = web.get("/joint").text
    terms = web_center.settings.policy.joint_required_terms
    started = web.post(
        "/joint/start", data={"kind": "banking", "accepted": terms, "csrf_token": csrf_token(page)}
    )
    page = web.follow(started).text
    digits = person.rrn.digits
    identified = post(
        web, "/joint/identify", page, user_id="c006user", rrn_front=digits[:6], rrn_back=digits[6:]
    )
    page = web.follow(identified).text
    page = web.follow(post(web, "/joint/medium", page, medium="security_card")).text
    assert 'name="check" value="ars"' in page  # the choice: SMS or ARS
    challenge, asked = _SLOTS.search(page), _CARD.search(main_text(page))
    assert challenge and asked
    asked_call = post(
        web,
        "/joint/medium/verify",
        page,
        card_challenge_id=challenge.group(1),
        card_answer=answer_for(slots, int(asked.group(1)), int(asked.group(2))),
        check="ars",
    )
    calling = web.follow(asked_call)  # Post/Redirect/Get: the code page shows the number
    assert calling.status_code == 200, main_text(calling.text)
    shown = _ARS.search(calling.text)
    assert shown, main_text(calling.text)
    assert _ARS.search(web.get("/joint/code").text).group(1) == shown.group(1)  # reload: same
    phone = str((person.phone or {})["number"])
    ars = SimulatedArs(web_center.sim_store, web_center.clock)
    ringing = ars.ringing(phone)
    assert ringing is not None and shown.group(1) not in str(ringing["prompt"])
    # a wrong number keyed in: refused with the catalog's words, a new call may follow
    wrong = str((int(shown.group(1)) + 1) % 100).zfill(len(shown.group(1)))
    assert ars.answer(phone, wrong)
    failed = web.follow(post(web, "/joint/ars/confirm", calling.text))
    assert failed.status_code == catalog()["JOINT_ARS_FAILED"].http_status
    assert catalog()["JOINT_ARS_FAILED"].message_ko in main_text(failed.text)
    again = web.follow(post(web, "/joint/ars", failed.text))
    shown = _ARS.search(again.text)
    assert again.status_code == 200 and shown, main_text(again.text)
    still = web.follow(post(web, "/joint/ars/confirm", again.text))
    assert still.status_code == 200 and shown.group(1) in still.text  # still ringing
    assert ars.answer(phone, shown.group(1))
    confirmed = post(web, "/joint/ars/confirm", still.text)
    assert confirmed.headers["location"] == "/joint/register"


@pytest.mark.parametrize("path", ["/joint/renew", "/joint/revoke"])
def test_the_pages_name_no_secret_field(web: WebClient, path: str) -> None:  # noqa: F811
    page = web.get(path)
    assert page.status_code == 200
    assert 'id="joint-file"' in page.text and 'id="joint-password"' in page.text
    assert not re.search(r'<input[^>]+type="(password|file)"[^>]+name=', page.text)
    assert "/static/js/joint-manage.js" in page.text
    if path.endswith("revoke"):
        assert 'value="1"' in page.text and "키 유출" in page.text  # keyCompromise
        assert 'href="/joint/renew"' in page.text


def test_the_words_of_the_servers_refusals(web: WebClient, web_center: Center) -> None:  # noqa: F811
    page = web.get("/joint/renew").text
    early = post(
        web,
        "/joint/manage/explain",
        page,
        code="JOINT_RENEWAL_TOO_EARLY",
        not_after="2027-12-31T00:00:00+00:00",
    )
    assert early.status_code == 200
    words = early.json()
    assert words["code"] == "JOINT_RENEWAL_TOO_EARLY"
    assert words["message"] == catalog()["JOINT_RENEWAL_TOO_EARLY"].message_ko
    days = web_center.settings.policy.joint_renewal_window_days
    assert "2027-12-01" in words["cause"] and str(days) in words["cause"]
    bad_date = post(
        web, "/joint/manage/explain", page, code="JOINT_RENEWAL_TOO_EARLY", not_after="soon"
    )
    assert bad_date.status_code == 200 and bad_date.json()["code"] == "JOINT_RENEWAL_TOO_EARLY"
    twice = post(web, "/joint/manage/explain", page, code="CERTIFICATE_ALREADY_REVOKED").json()
    assert twice["message"] == catalog()["CERTIFICATE_ALREADY_REVOKED"].message_ko
    unknown = post(web, "/joint/manage/explain", page, code="NOT_A_CODE", detail="x" * 10).json()
    assert unknown["code"] == "CMP_REFUSED"
