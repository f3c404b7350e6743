"""분실 신고 let anyone suspend anyone's certificate: ``POST /v1/lost-phone-reports`` took the
carrier, the name, the first 7 resident-number digits and the number, told a wrong carrier
apart (``PHONE_CARRIER_MISMATCH``), never blocked, and suspended at once.

Now the details only start a report, answered alike whatever they name; a medium the
customer holds confirms it; every wrong try counts into the 24-hour block under the claimed
identity, the number and the address; the suspension is announced on every channel with a
single-use, expiring undo code that lifts it."""

from __future__ import annotations

import concurrent.futures
import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.lifecycle.service import ActorRef
from certcenter.media.security_card import answer_for
from certcenter.storage import tables
from tests.conftest import LiveServer
from tests.media.test_security_card import issue_and_register
from tests.security.support import assert_problem
from tests.support.flow import Flow, FlowFactory
from tests.support.outbox import deliver_pending
from tests.support.ports import free_port

C001 = {"carrier": "SKT", "name": "김민준", "rrn_front": "900315-1", "phone": "01020000001"}
ACCOUNT = {"medium": "account", "account_number": "12340100000001", "account_password": "2580"}
WRONG_ACCOUNT = {**ACCOUNT, "account_password": "1111"}
ATTACKER = "198.51.100.7"
UNDO_RE = re.compile(r"\[(\d{4}-\d{4})\]")


@dataclass
class Mailbox:
    port: int
    received: list[bytes] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        self.received.append(bytes(envelope.content or b""))  # type: ignore[arg-type]
        return "250 OK"

    def bodies(self) -> list[str]:
        parsed = [email.message_from_bytes(m, policy=email.policy.default) for m in self.received]
        return [str(p.get_content()) for p in parsed]  # type: ignore[attr-defined]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    port = free_port()
    box = Mailbox(port)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box
    controller.stop()


def _client(url: str, address: str = ATTACKER) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"X-Forwarded-For": address}, timeout=30)


def _holder(new_flow: FlowFactory) -> tuple[Flow, str]:
    flow = new_flow("C001")
    flow.through("csr")
    return flow, flow.current_serial()


def _status(center: Center, serial: str) -> str:
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
    assert record is not None
    return record.status


def _rows(center: Center, query: Any) -> list[Any]:
    with center.engine.connect() as conn:
        return list(conn.execute(query).all())


def _start(http: httpx.Client, details: dict[str, str]) -> dict[str, Any]:
    response = http.post("/v1/lost-phone-reports", json=details)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def _confirm(http: httpx.Client, report_id: str, answer: dict[str, str]) -> httpx.Response:
    return http.post(f"/v1/lost-phone-reports/{report_id}/confirm", json=answer)


# the address's window as the customer's: the spray below fills both at the same try
@pytest.mark.policy(failure_max_in_window_per_address=10)
def test_probing_carriers_and_identities_gets_one_answer_and_is_blocked(
    new_flow: FlowFactory, center: Center, api: LiveServer
) -> None:
    _, serial = _holder(new_flow)
    probes = [
        {**C001, "carrier": "KT"},  # wrong carrier (was PHONE_CARRIER_MISMATCH)
        {**C001, "name": "최유진", "rrn_front": "920505-2"},  # someone else (PHONE_NOT_OWN_NAME)
        {**C001, "phone": "01099990000"},  # no such line
        {"carrier": "KT_MVNO", "name": "이서연", "rrn_front": "881102-2", "phone": "01020000002"},
        C001,  # the customer holding the certificate
    ]
    with _client(api.url) as http:
        answers = [http.post("/v1/lost-phone-reports", json=p) for p in probes]
        assert {a.status_code for a in answers} == {202}
        bodies = [a.json() for a in answers]
        assert {tuple(sorted(b)) for b in bodies} == {("expires_at", "media", "report_id")}
        assert {(b["expires_at"], tuple(b["media"])) for b in bodies} == {
            (bodies[0]["expires_at"], ("account", "otp", "security_card"))
        }
        assert len({len(a.content) for a in answers}) == 1
        assert _status(center, serial) == "active"  # a start never suspends

        # 25 wrong identities in a row: the three failures above and seven more fill the
        # window (failure_max_in_window); the rest are blocked, the right details too
        limit = center.settings.policy.failure_max_in_window
        spray = [
            http.post("/v1/lost-phone-reports", json={**C001, "name": "김민" + chr(0xAC00 + i)})
            for i in range(25)
        ]
        assert [r.status_code for r in spray] == [202] * (limit - 3) + [429] * (25 - limit + 3)
        assert_problem(spray[-1], 429, "TOO_MANY_ATTEMPTS")
        assert_problem(http.post("/v1/lost-phone-reports", json=C001), 429, "TOO_MANY_ATTEMPTS")
    # the number was sprayed too: its tenth failure, from anywhere, blocks it everywhere
    with _client(api.url, "203.0.113.5") as other:
        _start(other, {**C001, "name": "박지훈"})
        assert_problem(other.post("/v1/lost-phone-reports", json=C001), 429, "TOO_MANY_ATTEMPTS")
        # another number from another address is not touched
        c002 = {"carrier": "KT_MVNO", "name": "이서연", "rrn_front": "881102-2"}
        _start(other, {**c002, "phone": "01020000002"})
    kinds = {row[0] for row in _rows(center, select(tables.blocks.c.subject_kind))}
    assert kinds == {"client_address", "lost_phone"}  # never the customer's own block
    # the number and the names are kept as keyed digests in the counters, never in clear
    subjects = [row[0] for row in _rows(center, select(tables.failure_marks.c.subject))]
    assert subjects and not any("0102000" in s or "김민준" in s for s in subjects)
    with center.uow_factory() as uow:
        assert uow.blocks.active("client_address", ATTACKER, center.clock.now()) is not None
    assert _status(center, serial) == "active"


def test_name_phone_and_rrn_front_alone_no_longer_suspend(
    new_flow: FlowFactory, center: Center, api: LiveServer
) -> None:
    _, serial = _holder(new_flow)
    with _client(api.url) as http:
        real = _start(http, C001)["report_id"]
        nobody = _start(http, {**C001, "name": "최유진", "rrn_front": "920505-2"})["report_id"]
        # the security card's question has one shape for either report
        cards = [
            http.post(f"/v1/lost-phone-reports/{r}/security-card", json={}) for r in (real, nobody)
        ]
        assert {c.status_code for c in cards} == {200}
        assert {tuple(sorted(c.json())) for c in cards} == {
            ("challenge_id", "expires_at", "slot_a", "slot_b")
        }
        # a wrong answer, and the right answer on a report that named no customer, fail
        # alike, counted alike; the third wrong answer closes a report
        for report in (real, nobody):
            refused = _confirm(http, report, WRONG_ACCOUNT)
            assert_problem(refused, 401, "AUTH_FAILED")
            assert refused.json()["context"]["tries_left"] == 4
        assert _confirm(http, nobody, ACCOUNT).json()["context"]["tries_left"] == 3
        assert _confirm(http, real, WRONG_ACCOUNT).json()["context"]["tries_left"] == 3
        for report in (real, nobody):
            refused = _confirm(http, report, WRONG_ACCOUNT)
            assert_problem(refused, 401, "AUTH_FAILED")
            assert refused.json()["context"]["tries_left"] == 2
        for report in (real, nobody):
            closed = _confirm(http, report, ACCOUNT)
            assert_problem(closed, 409, "LOST_REPORT_CLOSED")
        # missing answers are refused before anything is counted
        assert_problem(_confirm(http, real, {"medium": "otp"}), 422, "INVALID_REQUEST")
        assert_problem(
            _confirm(http, "00000000-0000-0000-0000-000000000000", ACCOUNT),
            404,
            "LOST_REPORT_NOT_FOUND",
        )
    assert _status(center, serial) == "active"
    with center.uow_factory() as uow:
        since = center.clock.now().replace(year=2000)
        # the start that named no customer, and six wrong answers
        assert uow.failures.count_marked_since("client_address", ATTACKER, since=since) == 7
        # what the reporter typed never earns the customer's own block
        customer = uow.customers.by_number("C001")
        assert customer is not None and list(uow.failures.recent(customer_id=customer.id)) == []
        trail = uow.audit.for_subject("lost_phone_report", real)
        assert {e.action for e in trail} == {"lost_report.start", "lost_report.confirm"}


def test_the_right_medium_suspends_notifies_every_channel_and_the_undo_releases(
    new_flow: FlowFactory, center: Center, api: LiveServer, mailbox: Mailbox
) -> None:
    flow, serial = _holder(new_flow)
    settings = center.settings.model_copy(
        update={"notification_channels": ["sms", "email"], "smtp_port": mailbox.port}
    )
    serving = center.reconfigured(settings)
    api.serve(serving)
    flow.deliver = partial(deliver_pending, serving)  # its sender has the e-mail channel
    with _client(api.url, "211.36.1.1") as http:
        report = _start(http, C001)["report_id"]
        confirmed = _confirm(http, report, ACCOUNT)
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json() == [
            {"serial": serial, "status": "suspended", "changed": True, "replaced_by": None}
        ]
        assert _status(center, serial) == "suspended"
        assert_problem(_confirm(http, report, ACCOUNT), 409, "LOST_REPORT_CLOSED")

        # told at once on the phone and by mail, with the undo code
        sms = [m["body"] for m in flow.messages("01020000001")]
        undo_sms = [b for b in sms if "분실 신고" in b and report in b]
        assert len(undo_sms) == 1 and any("정지되었습니다" in b and report not in b for b in sms)
        mails = mailbox.bodies()
        assert any("정지되었습니다" in b and report not in b for b in mails)  # the notice
        undo_mail = [b for b in mails if report in b]
        assert len(undo_mail) == 1
        match = UNDO_RE.search(undo_sms[0])
        assert match is not None
        code = match.group(1)
        assert code in undo_mail[0]
        sent = _rows(
            center,
            select(tables.outbox.c.channel, tables.outbox.c.status).where(
                tables.outbox.c.event == "suspended"
            ),
        )
        assert set(sent) == {("sms", "sent"), ("email", "sent")}
        # the code is kept as a keyed digest only: in no report, message or audit entry
        kept = repr(_rows(center, select(tables.lost_phone_reports)))
        kept += repr(_rows(center, select(tables.outbox.c.body)))
        kept += repr(_rows(center, select(tables.audit_log.c.details)))
        assert report in kept and code.replace("-", "") not in kept and code not in kept

        # the undo: a wrong code is counted, the right one releases at once, and only once
        wrong = http.post(f"/v1/lost-phone-reports/{report}/undo", json={"code": "0000-0000"})
        assert_problem(wrong, 401, "LOST_REPORT_UNDO_FAILED")
        assert wrong.json()["context"]["tries_left"] == 4
        undone = http.post(f"/v1/lost-phone-reports/{report}/undo", json={"code": code})
        assert undone.status_code == 200, undone.text
        assert undone.json()[0]["status"] == "active"
        assert _status(center, serial) == "active"
        again = http.post(f"/v1/lost-phone-reports/{report}/undo", json={"code": code})
        assert_problem(again, 401, "LOST_REPORT_UNDO_FAILED")
    with center.uow_factory() as uow:
        actions = [e.action for e in uow.audit.for_subject("lost_phone_report", report)]
        assert sorted(actions) == sorted(
            ["lost_report.start", "lost_report.confirm", "lost_report.undo", "lost_report.undo"]
        )
        certificate = [e.action for e in uow.audit.for_subject("certificate", serial)]
        assert "suspend" in certificate and "release" in certificate


def test_the_undo_code_expires_and_wrong_codes_kill_it(
    new_flow: FlowFactory, center: Center, api: LiveServer, clock: FrozenClock
) -> None:
    flow, serial = _holder(new_flow)
    with _client(api.url, "211.36.1.1") as http:
        report = _start(http, C001)["report_id"]
        assert _confirm(http, report, ACCOUNT).status_code == 200
        sms = [m["body"] for m in flow.messages("01020000001") if report in m["body"]]
        match = UNDO_RE.search(sms[-1])
        assert match is not None
        clock.advance(hours=center.settings.policy.lost_report_undo_hours, seconds=1)
        late = http.post(f"/v1/lost-phone-reports/{report}/undo", json={"code": match.group(1)})
        assert_problem(late, 410, "LOST_REPORT_UNDO_EXPIRED")
        assert _status(center, serial) == "suspended"

        # released by an operator; a fresh report whose code is guessed at: dead after the
        # policy's tries, even for the right code
        center.lifecycle.release(serial, ActorRef.operator("desk", "10.0.0.5"))
        second = _start(http, C001)["report_id"]
        assert _confirm(http, second, ACCOUNT).status_code == 200
        sms = [m["body"] for m in flow.messages("01020000001") if second in m["body"]]
        match = UNDO_RE.search(sms[-1])
        assert match is not None
        tries = center.settings.policy.lost_report_undo_max_tries
        for left in range(tries - 1, -1, -1):
            wrong = http.post(f"/v1/lost-phone-reports/{second}/undo", json={"code": "12345678"})
            assert_problem(wrong, 401, "LOST_REPORT_UNDO_FAILED")
            assert wrong.json()["context"]["tries_left"] == left
        right = http.post(f"/v1/lost-phone-reports/{second}/undo", json={"code": match.group(1)})
        assert_problem(right, 401, "LOST_REPORT_UNDO_FAILED")
        assert _status(center, serial) == "suspended"


def test_a_started_report_expires(
    new_flow: FlowFactory, center: Center, api: LiveServer, clock: FrozenClock
) -> None:
    _, serial = _holder(new_flow)
    with _client(api.url, "211.36.1.1") as http:
        report = _start(http, C001)["report_id"]
        clock.advance(minutes=center.settings.policy.lost_report_ttl_minutes)
        assert_problem(_confirm(http, report, ACCOUNT), 410, "LOST_REPORT_EXPIRED")
    assert _status(center, serial) == "active"


def test_racing_probes_get_no_more_than_the_limit_compared(center: Center, api: LiveServer) -> None:
    """Concurrent wrong reports from one address, 20 more than its window holds: every try
    is counted before the carrier is asked, so exactly the policy's number are compared (and
    fail), one block is written, and the rest are refused."""
    limit = center.settings.policy.failure_max_in_window_per_address
    tries = limit + 20

    def probe(n: int) -> int:
        with _client(api.url, "198.51.100.99") as http:
            details = {**C001, "name": "김" + chr(0xAC00 + n), "phone": f"0109999{n:04d}"}
            return http.post("/v1/lost-phone-reports", json=details).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(probe, range(tries)))
    assert sorted(statuses) == [202] * limit + [429] * (tries - limit), statuses
    failures = _rows(
        center,
        select(tables.failures.c.code).where(tables.failures.c.client_ip == "198.51.100.99"),
    )
    assert [code for (code,) in failures] == ["PHONE_SUBSCRIBER_NOT_FOUND"] * limit
    blocks = _rows(
        center,
        select(tables.blocks.c.id).where(
            tables.blocks.c.subject_kind == "client_address",
            tables.blocks.c.subject == "198.51.100.99",
        ),
    )
    assert len(blocks) == 1
    # no reservation is left behind: the marks are the failures'
    marks = _rows(
        center,
        select(tables.failure_marks.c.failure_id).where(
            tables.failure_marks.c.subject == "198.51.100.99"
        ),
    )
    assert len(marks) == limit


def test_the_security_card_confirms_a_report(
    new_flow: FlowFactory, center: Center, api: LiveServer
) -> None:
    _, serial = _holder(new_flow)
    _, _, slots = issue_and_register(center, "C001")
    with _client(api.url, "211.36.1.1") as http:
        report = _start(http, C001)["report_id"]
        asked = http.post(f"/v1/lost-phone-reports/{report}/security-card", json={}).json()
        right = answer_for(slots, asked["slot_a"], asked["slot_b"])
        wrong = right[:3] + str((int(right[3]) + 1) % 10)
        card = {"medium": "security_card", "card_challenge_id": asked["challenge_id"]}
        assert_problem(_confirm(http, report, {**card, "card_answer": wrong}), 401, "AUTH_FAILED")
        assert _status(center, serial) == "active"
        # a question is used once: a fresh one, answered right, suspends
        asked = http.post(f"/v1/lost-phone-reports/{report}/security-card", json={}).json()
        right = answer_for(slots, asked["slot_a"], asked["slot_b"])
        card = {"medium": "security_card", "card_challenge_id": asked["challenge_id"]}
        confirmed = _confirm(http, report, {**card, "card_answer": right})
        assert confirmed.status_code == 200, confirmed.text
    assert _status(center, serial) == "suspended"
