"""The ARS call as the registration's phone check (instead of the SMS code): the same ARS
provider (the simulator's phone) as the financial certificate and the transfers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.media.security_card import answer_for
from certcenter.simulators.ars import SimulatedArs
from tests.conftest import LiveServer
from tests.joint.support import Registrant, rrn_of
from tests.media.test_security_card import issue_and_register


def refused(work) -> CertCenterError:  # type: ignore[no-untyped-def]
    with pytest.raises(CertCenterError) as caught:
        work()
    return caught.value


def _ready(center: Center) -> Registrant:
    registrant = Registrant(center, "C001")
    registrant.start()
    registrant.identify()
    registrant.card()
    return registrant


def _failures(center: Center, registrant: Registrant, code: str) -> int:
    assert registrant.ref is not None
    with center.uow_factory() as uow:
        row = uow.joint_registrations.get(registrant.ref.enrollment_id)
        assert row is not None and row.customer_id is not None
        return sum(1 for f in uow.failures.recent(customer_id=row.customer_id) if f.code == code)


def test_the_ars_call_instead_of_the_sms(center: Center) -> None:
    registrant = _ready(center)
    ref = registrant.ref
    assert ref is not None
    service = center.joint_registrations
    phone = SimulatedArs(center.sim_store, center.clock)
    calling = service.request_ars(ref)
    assert calling.state == "ars_calling" and calling.choices[0] == "ars_confirm"
    code = str(calling.detail["ars_code"])
    assert len(code) == service.policy.ars_code_digits
    # until when the number serves, stored with the call: what the page counts down to
    ttl = timedelta(seconds=service.policy.ars_call_ttl_seconds)
    expires_at = datetime.fromisoformat(str(calling.detail["ars_expires_at"]))
    assert expires_at == center.clock.now() + ttl
    assert service.status(ref).detail["ars_expires_at"] == calling.detail["ars_expires_at"]
    ringing = phone.ringing(registrant.phone)
    assert ringing is not None and "공동인증서" in str(ringing["prompt"])
    assert code not in str(ringing["prompt"])  # the number is on the screen only
    # before the customer keys in anything the flow waits
    assert service.confirm_ars(ref).detail["ars"] == "ringing"
    assert refused(lambda: service.register(ref)).code == "ENROLLMENT_STEP_OUT_OF_ORDER"
    assert phone.answer(registrant.phone, code)
    confirmed = service.confirm_ars(ref)
    assert service.status(ref).detail["ars_expires_at"] is None  # the call is over
    assert confirmed.state == "code_verified" and confirmed.detail["ars"] == "confirmed"
    registered = registrant.register()
    assert len(registered.reference) == 10
    with center.uow_factory() as uow:
        row = uow.joint_registrations.get(ref.enrollment_id)
        assert row is not None
        assert code not in str(row.data)  # only a keyed digest while it rang, then nothing
        assert row.data.get("phone_check") == "ars"


def test_a_wrong_ars_answer_is_counted_and_refused(center: Center, clock: FrozenClock) -> None:
    registrant = _ready(center)
    ref = registrant.ref
    assert ref is not None
    service = center.joint_registrations
    phone = SimulatedArs(center.sim_store, center.clock)
    limit = service.policy.joint_ars_max_calls
    before = _failures(center, registrant, "JOINT_ARS_FAILED")
    for made in range(1, limit + 1):
        code = str(service.request_ars(ref).detail["ars_code"])
        wrong = str((int(code) + 1) % 10 ** len(code)).zfill(len(code))
        assert phone.answer(registrant.phone, wrong)
        failed = refused(lambda: service.confirm_ars(ref))
        assert failed.code == "JOINT_ARS_FAILED"
        assert failed.context["calls_left"] == limit - made
        assert service.status(ref).state == "medium_verified"  # a new call or the SMS
        assert refused(lambda: service.register(ref)).code == "ENROLLMENT_STEP_OUT_OF_ORDER"
    assert _failures(center, registrant, "JOINT_ARS_FAILED") == before + limit
    over = refused(lambda: service.request_ars(ref))
    assert over.code == "JOINT_ARS_CALL_LIMIT" and over.http_status == 429
    # the SMS code still proves the phone
    clock.advance(seconds=60)
    registrant.sms()
    assert service.status(ref).state == "code_verified"


def test_a_declined_call_and_an_out_of_order_confirmation(center: Center) -> None:
    registrant = _ready(center)
    ref = registrant.ref
    assert ref is not None
    service = center.joint_registrations
    assert refused(lambda: service.confirm_ars(ref)).code == "ENROLLMENT_STEP_OUT_OF_ORDER"
    service.request_ars(ref)
    assert SimulatedArs(center.sim_store, center.clock).answer(registrant.phone, None)
    assert refused(lambda: service.confirm_ars(ref)).code == "JOINT_ARS_FAILED"


def test_the_ars_steps_over_http(api: LiveServer, center: Center) -> None:
    _, _, slots = issue_and_register(center, "C001")
    base = "/v1/joint/registrations"
    with httpx.Client(base_url=api.url, timeout=30) as http:
        required = http.get(f"{base}/terms").json()["required"]
        started = http.post(base, json={"kind": "banking", "accepted": required}).json()
        path = f"{base}/{started['registration_id']}"
        http.headers["Authorization"] = f"Bearer {started['token']}"

        def step(name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
            answer = http.post(f"{path}/{name}", json=payload or {})
            assert answer.status_code in (200, 201), answer.text
            result: dict[str, Any] = answer.json()
            return result

        step("identify", {"user_id": "c001user", "rrn": rrn_of("C001")})
        question = step("medium", {"medium": "security_card"})["detail"]["security_card"]
        verified = step(
            "medium/verify",
            {
                "card_challenge_id": question["challenge_id"],
                "card_answer": answer_for(slots, question["slot_a"], question["slot_b"]),
            },
        )
        assert verified["choices"] == ["code", "ars"]
        code = step("ars")["detail"]["ars_code"]
        wrong = str((int(code) + 1) % 10 ** len(code)).zfill(len(code))
        http.post("/sim/ars/01020000001/answer", json={"keyed": wrong}).raise_for_status()
        failed = http.post(f"{path}/ars/confirm")
        assert failed.status_code == 401 and failed.json()["code"] == "JOINT_ARS_FAILED"
        code = step("ars")["detail"]["ars_code"]
        assert step("ars/confirm")["detail"]["ars"] == "ringing"
        http.post("/sim/ars/01020000001/answer", json={"keyed": code}).raise_for_status()
        assert step("ars/confirm")["state"] == "code_verified"
        assert step("register")["detail"]["reference"]


def test_an_ars_number_past_its_time_no_longer_serves(center: Center, clock: FrozenClock) -> None:
    registrant = _ready(center)
    ref = registrant.ref
    assert ref is not None
    service = center.joint_registrations
    phone = SimulatedArs(center.sim_store, center.clock)
    code = str(service.request_ars(ref).detail["ars_code"])
    clock.advance(seconds=service.policy.ars_call_ttl_seconds)
    assert phone.answer(registrant.phone, code)
    late = refused(lambda: service.confirm_ars(ref))
    assert late.code == "ARS_CALL_EXPIRED" and late.http_status == 410
    assert service.status(ref).state == "medium_verified"  # a new call, or the SMS
    assert service.status(ref).detail["ars_expires_at"] is None
    code = str(service.request_ars(ref).detail["ars_code"])
    assert phone.answer(registrant.phone, code)
    assert service.confirm_ars(ref).state == "code_verified"
