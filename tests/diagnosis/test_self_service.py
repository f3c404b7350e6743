"""The customer's own diagnosis: user ID and resident number, refused alike when either is
wrong, every try counted before the comparison, paused after too many — never an oracle."""

from __future__ import annotations

import pytest

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.diagnosis.service import IDENTITY_FACTOR
from certcenter.errors import CertCenterError
from tests.diagnosis.support import customer, not_ok, rrn

IP = "211.40.1.1"


def denied(center: Center, user_id: str, number: str, *, client_ip: str) -> CertCenterError:
    """The customer's refused ask."""
    with pytest.raises(CertCenterError) as refusal:
        center.diagnosis.for_identity(user_id, number, client_ip=client_ip)
    return refusal.value


def test_the_customer_gets_their_checklist_with_user_id_and_resident_number(
    center: Center,
) -> None:
    checklist = center.diagnosis.for_identity("c004user", rrn("C004"), client_ip=IP)
    assert checklist.customer_number == "C004"
    assert not_ok(checklist) == [("phone_own_name", "problem", "PHONE_NOT_OWN_NAME")]
    # the hyphen is optional; the address is the customer's, so abroad is checked too
    abroad = center.diagnosis.for_identity(
        "c013user", rrn("C013").replace("-", ""), client_ip="203.0.113.9"
    )
    assert not_ok(abroad) == [("overseas_access", "problem", "FOREIGN_IP_BLOCKED")]


def test_a_wrong_number_and_an_unknown_id_are_refused_alike(center: Center) -> None:
    limit = center.settings.policy.failure_max_in_window
    wrong_number = denied(center, "c004user", rrn("C001"), client_ip=IP)
    unknown_id = denied(center, "nobody-here", rrn("C004"), client_ip="10.1.1.1")
    someone_elses_id = denied(center, "c001user", rrn("C004"), client_ip="10.1.1.2")
    for err in (wrong_number, unknown_id, someone_elses_id):
        assert err.code == "DIAGNOSIS_IDENTITY_NOT_CONFIRMED"
        assert err.context == {"tries_left": limit - 1}
    assert wrong_number.cause("ko") == unknown_id.cause("ko") == someone_elses_id.cause("ko")
    # a malformed number is refused for its form before anything is counted
    malformed = denied(center, "c004user", "920505-27819", client_ip=IP)
    assert malformed.code == "RRN_INVALID"
    with center.uow_factory() as uow:
        counter = uow.factors.get(customer(center, "C004").id, IDENTITY_FACTOR)
        assert counter is not None and counter.failures == 1

    # C003 is new to internet banking: no user ID; an empty one names nobody
    for user_id in ("", "   ", "c003user"):
        err = denied(center, user_id, rrn("C003"), client_ip=IP)
        assert err.code == "DIAGNOSIS_IDENTITY_NOT_CONFIRMED"


def test_too_many_tries_pause_the_diagnosis_but_never_block_issuance(
    center: Center, clock: FrozenClock
) -> None:
    policy = center.settings.policy
    limit = policy.failure_max_in_window
    c004 = customer(center, "C004")
    for n in range(1, limit + 1):
        err = denied(center, "c004user", rrn("C001"), client_ip=f"10.2.0.{n}")
        assert err.code == "DIAGNOSIS_IDENTITY_NOT_CONFIRMED"
        assert err.context["tries_left"] == limit - n
    # now even the right number is not compared
    locked = denied(center, "c004user", rrn("C004"), client_ip="10.2.1.1")
    assert locked.code == "DIAGNOSIS_LOCKED"
    assert locked.context["until"].startswith("2026-11-24T01:00")
    assert str(limit) in locked.cause("en")
    # issuance knows nothing of it: no failure, no block on the customer
    with center.uow_factory() as uow:
        assert uow.failures.recent(customer_id=c004.id) == []
        assert uow.blocks.active("customer", c004.id, clock.now()) is None
    assert center.diagnosis.for_customer(c004.id).customer_number == "C004"

    clock.advance(hours=policy.block_hours, minutes=1)
    after = center.diagnosis.for_identity("c004user", rrn("C004"), client_ip="10.2.1.1")
    assert after.customer_number == "C004"
    with center.uow_factory() as uow:  # the right answer clears the count
        counter = uow.factors.get(c004.id, IDENTITY_FACTOR)
        assert counter is not None and counter.failures == 0 and counter.locked_at is None


def test_an_unknown_id_and_one_address_are_counted_too(center: Center) -> None:
    limit = center.settings.policy.failure_max_in_window
    for n in range(limit):
        err = denied(center, "ghost", rrn("C001"), client_ip=f"10.3.0.{n}")
        assert err.code == "DIAGNOSIS_IDENTITY_NOT_CONFIRMED"
    assert denied(center, "ghost", rrn("C001"), client_ip="10.3.1.1").code == "DIAGNOSIS_LOCKED"

    # many IDs tried from one address: the address is paused, other addresses are not
    for n in range(limit):
        err = denied(center, f"spray{n}", rrn("C001"), client_ip="10.4.4.4")
        assert err.code == "DIAGNOSIS_IDENTITY_NOT_CONFIRMED"
    assert denied(center, "c001user", rrn("C001"), client_ip="10.4.4.4").code == "DIAGNOSIS_LOCKED"
    mine = center.diagnosis.for_identity("c001user", rrn("C001"), client_ip="10.5.5.5")
    assert mine.customer_number == "C001" and mine.ready
