"""The SMS flood: Start → terms → phone → resend, repeated, sent 60 codes to one phone in 2.2 s,
and another person's flow from the same address still got codes. Codes by SMS now come out of
one budget per phone, per person and per client address, per hour and per day *(policy)*; a
phone waits before its next code; a blocked person gets none. Counted under row locks: racing
requests never send more than the budget, on PostgreSQL as on SQLite."""

from __future__ import annotations

import concurrent.futures
import re
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError
from certcenter.clock import FrozenClock
from certcenter.config import Settings
from certcenter.entities import Block, new_id
from tests.conftest import LiveServer, _reset_postgres, make_settings
from tests.financial.support import BIRTH, NAME, PHONE, Browser, customer, issue, latest_code
from tests.security.support import assert_problem
from tests.support.flow import Flow, FlowFactory
from tests.usage.support import issued, logged_in


@pytest.fixture
def settings(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, pki_dir: Path
) -> Settings:
    """Each test's own key directory (a copy of the session's CA keys: the financial
    certificate's cloud key is made there), under the test's ``policy`` marker."""
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    keys = tmp_path / "keys"
    shutil.copytree(pki_dir / "keys", keys)
    marker = request.node.get_closest_marker("policy")
    policy = dict(marker.kwargs) if marker is not None else {}
    return make_settings(tmp_path, pki_dir, url, key_dir=keys, policy=policy)


C001_PHONE = "01020000001"
ELSEWHERE = "175.192.0.9"  # domestic addresses (policy), as the flows require
SHARED = "211.32.0.77"


def codes_on(flow: Flow, phone: str) -> int:
    """How many verification codes the demo phone has received."""
    return sum(bool(re.search(r"\[\d{6}\]", m["body"])) for m in flow.messages(phone))


def outcome(call: Callable[[], Any]) -> str:
    """``sent``, or the code the request was refused with."""
    try:
        call()
    except ApiError as err:
        return err.code
    return "sent"


def one_round(flow: Flow) -> list[str]:
    """The attack's round: a new flow, its terms, the phone step, a resend."""
    flow.start()
    flow.terms()
    return [outcome(flow.phone), outcome(lambda: flow.client.step("phone/resend"))]


def fresh_phone_step(flow: Flow) -> str:
    flow.start()
    flow.terms()
    return outcome(flow.phone)


def test_counting_sms_resend_loop_sends_one_code_then_makes_it_wait(
    new_flow: FlowFactory, center: Center
) -> None:
    """The report's loop at full speed (the clock does not move): one code goes out; every
    other phone step and resend is told how long to wait."""
    flow = new_flow("C001")
    before = codes_on(flow, C001_PHONE)
    assert fresh_phone_step(flow) == "sent"
    # the resend as the client reads it: 429, the catalog's texts, the seconds to wait
    raw = flow.client.http.post(
        f"/v1/enrollments/{flow.client.enrollment_id}/phone/resend",
        headers={"Authorization": f"Bearer {flow.client.token}"},
    )
    assert_problem(raw, 429, "SMS_RESEND_TOO_SOON")
    wait = center.settings.policy.sms_resend_wait_seconds
    assert raw.json()["context"]["seconds"] == wait
    assert raw.headers["Retry-After"] == str(wait)
    answers = [one_round(flow) for _ in range(15)]
    assert {phone for phone, _ in answers} == {"SMS_RESEND_TOO_SOON"}, answers
    # no code went out in those flows, so there was nothing to resend
    assert {resend for _, resend in answers} == {"ENROLLMENT_STEP_OUT_OF_ORDER"}, answers
    assert codes_on(flow, C001_PHONE) == before + 1
    # a limit, not a failure of the person: no 24-hour block came of it
    with center.uow_factory() as uow:
        holder = uow.customers.by_number("C001")
        assert holder is not None
        assert uow.blocks.active("customer", holder.id, center.clock.now()) is None


def test_counting_sms_resend_loop_is_refused_after_the_hourly_limit(
    new_flow: FlowFactory, center: Center, clock: FrozenClock
) -> None:
    """The same loop with the wait kept: the phone gets the hour's codes, then none until the
    oldest is an hour old."""
    policy = center.settings.policy
    limit = policy.sms_max_per_phone_hour
    flow = new_flow("C001")
    before = codes_on(flow, C001_PHONE)
    first = clock.now()
    answers: list[list[str]] = []
    for _ in range(limit + 4):
        answers.append(one_round(flow))
        clock.advance(seconds=policy.sms_resend_wait_seconds)
    assert (
        answers
        == [["sent", "SMS_RESEND_TOO_SOON"]] * (limit - 1)
        + [["sent", "SMS_LIMIT_REACHED"]]  # the limit is told before the wait: it ends later
        + [["SMS_LIMIT_REACHED", "ENROLLMENT_STEP_OUT_OF_ORDER"]] * 4
    ), answers
    assert codes_on(flow, C001_PHONE) == before + limit

    flow.start()
    flow.terms()
    refused = flow.refused("phone")
    assert_problem_code(refused, "SMS_LIMIT_REACHED")
    until = first + timedelta(hours=1)  # when the first code is an hour old
    assert refused.problem["context"]["until"] == until.isoformat(timespec="minutes")
    clock.set(until - timedelta(seconds=1))
    assert fresh_phone_step(flow) == "SMS_LIMIT_REACHED"
    clock.set(until)
    assert fresh_phone_step(flow) == "sent"
    assert codes_on(flow, C001_PHONE) == before + limit + 1


@pytest.mark.policy(sms_max_per_phone_hour=2, sms_max_per_phone_day=3)
def test_counting_sms_daily_limit_holds_for_a_day(
    new_flow: FlowFactory, clock: FrozenClock, center: Center
) -> None:
    flow = new_flow("C001")
    first = clock.now()
    assert fresh_phone_step(flow) == "sent"
    clock.advance(seconds=30)
    assert outcome(lambda: flow.client.step("phone/resend")) == "sent"
    clock.advance(seconds=30)
    assert outcome(lambda: flow.client.step("phone/resend")) == "SMS_LIMIT_REACHED"  # hour
    clock.advance(hours=1)
    assert fresh_phone_step(flow) == "sent"  # the day's third
    clock.advance(hours=1)
    flow.start()
    flow.terms()
    refused = flow.refused("phone")
    assert_problem_code(refused, "SMS_LIMIT_REACHED")
    until = first + timedelta(days=1)
    assert refused.problem["context"]["until"] == until.isoformat(timespec="minutes")
    clock.set(until)
    assert fresh_phone_step(flow) == "sent"
    # that send forgot the phone's first send, a day old now: the two later ones of that
    # day and its own are kept
    phone = center.hasher.digest(C001_PHONE, purpose="sms-phone")
    day = timedelta(days=1)
    with center.uow_factory(read_only=True) as uow:
        kept = uow.sms_budget.latest_over(
            "phone", phone, [(until - 2 * day, 3), (until - 2 * day, 4)], forget_before=until - day
        )
    assert kept.forgettable is False
    assert kept.full == [first + timedelta(seconds=30), None]


@pytest.mark.policy(sms_max_per_address_hour=2)
def test_counting_sms_another_persons_flow_from_the_same_address_is_refused(
    new_flow: FlowFactory, center: Center
) -> None:
    """After the address's codes for the hour, a flow of someone else from that address gets
    no code; the same person from another address does."""
    first = new_flow("C001", forwarded_for=SHARED)
    second = new_flow("C002", forwarded_for=SHARED, keystore="keystore-second")
    third = new_flow("C003", forwarded_for=SHARED, keystore="keystore-third")
    for flow in (first, second):
        flow.through("phone")
    third.start()
    third.terms()
    before = codes_on(third, "01020000003")
    assert_problem_code(third.refused("phone"), "SMS_LIMIT_REACHED")
    assert codes_on(third, "01020000003") == before
    # the person is not blocked by it: from their own address the code goes out
    own = new_flow("C003", forwarded_for=ELSEWHERE, keystore="keystore-third")
    own.through("phone")
    assert codes_on(own, "01020000003") == before + 1


def assert_problem_code(err: ApiError, code: str) -> None:
    assert err.code == code and err.status == 429, err.problem
    assert err.problem["message"]["ko"] and err.problem["remedy"]["en"]


def _sixteen_racing_phone_steps(new_flow: FlowFactory) -> tuple[list[str], int, int]:
    flows = [new_flow("C001", keystore=f"keystore-racer-{n:02d}") for n in range(16)]
    for flow in flows:
        flow.start()
        flow.terms()
    before = codes_on(flows[0], C001_PHONE)
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(lambda f: outcome(f.phone), flows))
    return answers, before, codes_on(flows[0], C001_PHONE)


@pytest.mark.policy(sms_resend_wait_seconds=0)
def test_counting_sms_sixteen_racing_flows_do_not_overshoot_the_phones_limit(
    new_flow: FlowFactory, center: Center
) -> None:
    limit = center.settings.policy.sms_max_per_phone_hour
    answers, before, after = _sixteen_racing_phone_steps(new_flow)
    assert answers.count("sent") == limit, answers
    assert answers.count("SMS_LIMIT_REACHED") == 16 - limit, answers
    assert after == before + limit
    with center.engine.connect() as connection:
        sends = connection.execute(
            text("SELECT count(*) FROM sms_sends WHERE subject_kind = 'phone'")
        ).scalar_one()
        subjects = connection.execute(text("SELECT subject FROM sms_subjects")).scalars().all()
    assert sends == limit
    # the counters name the phone, the person and the address by keyed digest only
    assert len(subjects) == 3
    assert all(re.fullmatch(r"[0-9a-f]{64}", s) for s in subjects), subjects
    holder = customer(center)
    assert not {C001_PHONE, holder.id, "127.0.0.1"} & set(subjects)


def test_counting_sms_sixteen_racing_flows_send_one_code_within_the_wait(
    new_flow: FlowFactory,
) -> None:
    answers, before, after = _sixteen_racing_phone_steps(new_flow)
    assert answers.count("sent") == 1, answers
    assert answers.count("SMS_RESEND_TOO_SOON") == 15, answers
    assert after == before + 1


def test_counting_sms_a_blocked_person_is_told_only_after_the_code_and_gets_no_further(
    api: LiveServer, center: Center, clock: FrozenClock
) -> None:
    """The financial certificate's device registration and PIN reset answer their start
    alike whoever the details name (a blocked customer's start may not tell that they are a
    customer): the code goes to the customer's own phone, counted in its budget, and the
    block is told once the right code proves the phone is in hand: no device, no reset."""
    issue(center, Browser())
    holder = customer(center)
    now = center.clock.now()
    with center.uow_factory() as uow:
        uow.blocks.add(
            Block(
                id=new_id(),
                subject_kind="customer",
                subject=holder.id,
                reason="too_many_failures",
                created_at=now,
                blocked_until=now + timedelta(hours=24),
            )
        )
        uow.commit()
    who = {"name": NAME, "phone": PHONE, "birth_date": BIRTH}
    starts = {
        "/v1/financial/devices/registrations": (
            {**who, "public_key": Browser().spki_b64, "label": "PC"},
            "registration_id",
        ),
        "/v1/financial/pin/resets": (who, "reset_id"),
    }
    with httpx.Client(base_url=api.url) as http:
        for path, (body, id_field) in starts.items():
            before = len(http.get(f"/sim/api/phones/{PHONE}/messages").json())
            started = http.post(path, json=body)
            assert started.status_code == 201, started.text
            assert len(http.get(f"/sim/api/phones/{PHONE}/messages").json()) == before + 1
            flow = f"{path}/{started.json()[id_field]}"
            answer = http.post(
                f"{flow}/code",
                json={"code": latest_code(center)},
                headers={"Authorization": f"Bearer {started.json()['token']}"},
            )
            assert_problem(answer, 429, "TOO_MANY_ATTEMPTS")
            clock.advance(seconds=30)  # the phone's wait before its next code
    assert len(center.financial_devices.list(holder.id)) == 1  # the issuing browser only


def test_counting_sms_the_otp_registration_code_is_in_the_same_budget(
    new_flow: FlowFactory, clock: FrozenClock
) -> None:
    """The mobile OTP's registration code is sent outside the flows: it waits like any other."""
    flow = issued(new_flow)  # its issuance sent C001's phone a code just now
    app = logged_in(flow)
    with pytest.raises(ApiError) as refused:
        app.call("POST", "/v1/otp/registrations")
    assert_problem_code(refused.value, "SMS_RESEND_TOO_SOON")
    before = codes_on(flow, C001_PHONE)
    clock.advance(seconds=30)
    assert app.call("POST", "/v1/otp/registrations")["registration_id"]
    assert codes_on(flow, C001_PHONE) == before + 1
