"""Who is a customer, and their birth date, cannot be learned from registering a browser or
resetting the financial PIN.

The attack: ``POST /v1/financial/pin/resets`` and ``POST /v1/financial/devices/registrations``
(and the web page that calls the same code) answered ``FINANCIAL_CERTIFICATE_NOT_FOUND`` for a
real customer and ``FINANCIAL_HOLDER_NOT_FOUND`` otherwise, with no limit: C001's birth date
came out in 74 requests. Now every start answers alike (the same status and bytes, but for the
flow's own id and token), the SMS goes only to the real customer, a code guessed on either
flow fails alike, and the tries are counted per phone, per person and per client address into
the 24-hour block.
"""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from certcenter.bootstrap import Center
from certcenter.financial.reverification import person_mark, phone_mark
from certcenter.server import create_app
from tests.conftest import LiveServer
from tests.financial.conftest import settings  # noqa: F401 (fixture: a key directory of its own)
from tests.financial.support import Browser, customer, issue
from tests.security.support import assert_problem
from tests.support.outbox import inbox
from tests.support.policy import SHARED_CENTER_POLICY
from tests.web.support import WebClient, main_text

# The SMS budget (a phone's wait and hourly codes) is tested in test_counting_sms_budget.py;
# these tests start many flows for one phone in frozen time to test what comes after it.
pytestmark = pytest.mark.policy(**SHARED_CENTER_POLICY)

NAME, PHONE, BIRTH = "김민준", "01020000001", date(1990, 3, 15)  # C001
ATTACKER = "198.51.100.74"
ENDPOINTS = {
    "registrations": ("/v1/financial/devices/registrations", "registration_id"),
    "resets": ("/v1/financial/pin/resets", "reset_id"),
}


def _body(kind: str, name: str, phone: str, born: date) -> dict[str, object]:
    body: dict[str, object] = {"name": name, "phone": phone, "birth_date": born.isoformat()}
    if kind == "registrations":
        body["public_key"] = Browser().spki_b64
        body["label"] = "크롬"
    return body


def _start(http: httpx.Client, kind: str, name: str, phone: str, born: date) -> httpx.Response:
    return http.post(ENDPOINTS[kind][0], json=_body(kind, name, phone, born))


def _shown(response: httpx.Response, kind: str) -> tuple[int, str, bytes]:
    """The answer with the flow's own id and token taken out: all that is left must match."""
    content = response.content
    if response.status_code == 201:
        found = response.json()
        content = content.replace(found[ENDPOINTS[kind][1]].encode(), b"<id>")
        content = content.replace(found["token"].encode(), b"<token>")
    return response.status_code, response.headers["content-type"], content


def _texts(center: Center, phone: str) -> int:
    return len(inbox(center, phone))


@pytest.mark.parametrize("kind", list(ENDPOINTS))
def test_probing_birth_dates_gets_one_answer_then_a_block(
    kind: str, center: Center, api: LiveServer
) -> None:
    issue(center, Browser())  # C001 holds a financial certificate
    limit = center.settings.policy.failure_max_in_window
    before = _texts(center, PHONE)
    with httpx.Client(base_url=api.url, headers={"X-Forwarded-For": ATTACKER}) as http:
        guesses = [BIRTH + timedelta(days=n) for n in range(-3, limit - 3)]  # one is right
        answers = [_start(http, kind, NAME, PHONE, born) for born in guesses]
        nobody = _start(http, kind, "홍길동", PHONE, BIRTH)  # not this number's name
        shown = {_shown(answer, kind) for answer in [*answers, nobody]}
        assert len(shown) == 1, shown  # byte for byte the same, whoever the details name
        status, _, content = shown.pop()
        assert status == 201 and b"010-****-0001" in content
        assert b"NOT_FOUND" not in content
        # only the customer's phone got a code, and only once: for the right birth date
        assert _texts(center, PHONE) == before + 1

        # the window is full: the number is blocked for every detail, the right ones too
        for born in (BIRTH - timedelta(days=9), BIRTH):
            assert_problem(_start(http, kind, NAME, PHONE, born), 429, "TOO_MANY_ATTEMPTS")
        assert_problem(_start(http, kind, "홍길동", PHONE, BIRTH), 429, "TOO_MANY_ATTEMPTS")
    assert _texts(center, PHONE) == before + 1
    holder = customer(center)
    now = center.clock.now()
    with center.uow_factory() as uow:
        block = uow.blocks.active(*phone_mark(center.hasher, PHONE), now)
        assert block is not None and block.blocked_until >= now + timedelta(hours=23)
        # the wrong birth dates were counted under the person the name and number named too
        person = person_mark(center.hasher, holder.id)
        counted = uow.failures.count_marked_since(*person, since=now - timedelta(hours=1))
        assert counted == limit - 1
        # the customer's own flows elsewhere are not blocked by what a stranger typed
        assert uow.blocks.active("customer", holder.id, now) is None


@pytest.mark.parametrize("kind", list(ENDPOINTS))
def test_a_code_guessed_on_a_flow_for_nobody_fails_like_a_wrong_code(
    kind: str, center: Center, api: LiveServer
) -> None:
    issue(center, Browser())
    with httpx.Client(base_url=api.url, headers={"X-Forwarded-For": ATTACKER}) as http:
        real = _start(http, kind, NAME, PHONE, BIRTH).json()
        wrong = _start(http, kind, NAME, PHONE, BIRTH + timedelta(days=1)).json()
        refusals = []
        for started in (real, wrong):
            flow_id = started[ENDPOINTS[kind][1]]
            headers = {"Authorization": f"Bearer {started['token']}"}
            answer = http.post(
                f"{ENDPOINTS[kind][0]}/{flow_id}/code", json={"code": "000000"}, headers=headers
            )
            assert_problem(answer, 422, "CODE_INVALID")
            refusals.append(answer.content.replace(flow_id.encode(), b"<id>"))
        assert refusals[0] == refusals[1]


def test_every_address_is_counted_across_numbers(center: Center, api: LiveServer) -> None:
    """Many numbers from one address: the address is blocked, for a real customer too."""
    limit = center.settings.policy.failure_max_in_window_per_address
    with httpx.Client(base_url=api.url, headers={"X-Forwarded-For": ATTACKER}) as http:
        for n in range(limit):
            answer = _start(http, "resets", "홍길동", f"0109{n:07d}", BIRTH)
            assert answer.status_code == 201, answer.text
        assert_problem(_start(http, "resets", NAME, PHONE, BIRTH), 429, "TOO_MANY_ATTEMPTS")
    with httpx.Client(base_url=api.url, headers={"X-Forwarded-For": "211.36.1.1"}) as http:
        assert _start(http, "resets", NAME, PHONE, BIRTH).status_code == 201  # another address


def test_the_web_pages_answer_alike(center: Center) -> None:
    """The web pages call the same code: the code page whoever the details name."""
    issue(center, Browser())
    app = create_app(center)
    pages = []
    for born in (BIRTH, BIRTH + timedelta(days=1)):
        web = WebClient(app, client=(ATTACKER, 4321))
        try:
            form = {"name": NAME, "phone": PHONE, "birth": born.isoformat()}
            sent = web.post("/login/pin-reset", data={**web.csrf("/login/pin-reset"), **form})
            assert sent.status_code == 303 and sent.headers["location"] == "/login/pin-reset/code"
            pages.append(main_text(web.follow(sent).text))
        finally:
            web.close()
    assert pages[0] == pages[1] and "010-****-0001" in pages[0]
