"""Helpers for the diagnosis tests: customers of the demo world, real refused flows."""

from __future__ import annotations

import re

from certcenter.bootstrap import Center
from certcenter.cli.demo import scripted_answers
from certcenter.diagnosis import CheckItem, Checklist
from certcenter.enrollment.service import EnrollmentRef, StartRequest
from certcenter.entities import Customer
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef
from certcenter.simulators.world import load_world

OPERATOR = ActorRef.operator("kim", "10.0.0.7")
FOREIGN_IP = "203.0.113.9"  # TEST-NET-3: not a domestic network of the policy


def customer(center: Center, number: str) -> Customer:
    with center.uow_factory() as uow:
        found = uow.customers.by_number(number)
    assert found is not None, number
    return found


def diagnose(center: Center, number: str, *, client_ip: str | None = None) -> Checklist:
    return center.diagnosis.for_customer(customer(center, number).id, client_ip=client_ip)


def rrn(person: str) -> str:
    """The demo person's resident number as typed (YYMMDD-NNNNNNN)."""
    digits = load_world().people[person].rrn.digits
    return f"{digits[:6]}-{digits[6:]}"


def not_ok(checklist: Checklist) -> list[tuple[str, str, str | None]]:
    return [(i.key, i.status, i.code) for i in checklist.items if i.status != "ok"]


def only(checklist: Checklist, key: str) -> CheckItem:
    items = checklist.all(key)
    assert len(items) == 1, items
    return items[0]


def refused(work: object) -> CertCenterError:
    try:
        work()  # type: ignore[operator]
    except CertCenterError as err:
        return err
    raise AssertionError("not refused")


def started(
    center: Center, person: str, *, device_id: str | None = None, ip: str = "127.0.0.1"
) -> EnrollmentRef:
    """A flow of the app, with its terms accepted."""
    begun = center.mobile_enrollment.start(
        StartRequest(
            device_id=device_id or f"test-device-{person.lower()}",
            platform="android",
            device_model="SM-S928N",
            app_version="5.2.0",
            client_ip=ip,
        )
    )
    ref = EnrollmentRef(begun.enrollment_id, begun.token, ip)
    center.mobile_enrollment.accept_terms(ref, center.settings.policy.required_terms)
    return ref


def phone_step(center: Center, ref: EnrollmentRef, person: str) -> None:
    a = scripted_answers(person)
    assert a.carrier and a.name and a.rrn_front and a.phone
    center.mobile_enrollment.request_phone_code(
        ref, carrier=a.carrier, name=a.name, rrn_front=a.rrn_front, phone=a.phone
    )


def phone_verified(center: Center, person: str, **start: str) -> EnrollmentRef:
    """A flow past phone verification, the SMS code read from the demo phone."""
    ref = started(center, person, **start)
    phone_step(center, ref, person)
    phone = scripted_answers(person).phone or ""
    body = center.sim_store.messages(phone, limit=1)[0]["body"]
    code = re.search(r"\[(\d{6})\]", body)
    assert code is not None, body
    center.mobile_enrollment.verify_phone_code(ref, code.group(1))
    return ref
