"""The 24-hour block under a race: 16 concurrent flows failing for one customer write exactly
one block, on PostgreSQL as on SQLite, and the failures that wrote it are the policy's number.
"""

from __future__ import annotations

import concurrent.futures

import pytest
from sqlalchemy import text

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError
from certcenter.errors import CertCenterError
from certcenter.risk.rules import RiskRules
from tests.support.flow import Flow, FlowFactory


def test_counting_sixteen_racing_flows_write_one_block(center: Center) -> None:
    policy = center.settings.policy
    risk = RiskRules(policy, center.clock)
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        customer_id = customer.id

    refusals: list[str] = []

    def flow(n: int) -> int:
        """Five wrong codes from one flow; how many were let through to be checked."""
        checked = 0
        for _ in range(5):
            try:
                with center.uow_factory() as uow:
                    risk.check_blocks(uow, customer_id=customer_id, device_id=None)
            except CertCenterError as err:
                refusals.append(err.code)
                break
            checked += 1
            with center.uow_factory() as uow:
                risk.record_failure(
                    uow,
                    step="phone_verify",
                    code="CODE_INVALID",
                    customer_id=customer_id,
                    enrollment_id=None,
                    device_id=f"racing-device-{n:02d}",
                    client_ip="203.0.113.5",
                )
                uow.commit()
        return checked

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        checked = sum(pool.map(flow, range(16)))
    with center.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT count(*) FROM blocks WHERE subject_kind = 'customer' AND subject = :s"),
            {"s": customer_id},
        ).scalar_one()
    with center.uow_factory() as uow:
        block = uow.blocks.active("customer", customer_id, center.clock.now())
    assert set(refusals) <= {"TOO_MANY_ATTEMPTS"}, refusals
    assert rows == 1, rows
    assert block is not None
    # every try after the block was written is refused; those already past the check when it
    # was written are recorded, never more than one per racing flow
    assert policy.failure_max_in_window <= checked < policy.failure_max_in_window + 16, checked


# Sixteen codes to one phone at once: more than the SMS budget lets out (that budget is tested
# in test_counting_sms_budget.py); here the guesses are what is counted.
@pytest.mark.policy(
    sms_resend_wait_seconds=0, sms_max_per_phone_hour=100, sms_max_per_person_hour=100
)
def test_counting_sixteen_flows_guessing_codes_get_the_policy_number_checked(
    new_flow: FlowFactory, center: Center
) -> None:
    """The attack: 16 concurrent flows of one customer, five wrong SMS codes each. No more
    guesses are compared than the block's limit, and one block row is written."""
    policy = center.settings.policy
    flows = [new_flow("C001", keystore=f"keystore-racer-{n:02d}") for n in range(16)]
    for flow in flows:
        flow.through("phone")

    def guess(flow: Flow) -> list[str]:
        answers = []
        for _ in range(5):
            try:
                flow.phone_verify("000000")
            except ApiError as err:
                answers.append(str(err.problem["code"]))
        return answers

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        answers = [a for flow_answers in pool.map(guess, flows) for a in flow_answers]
    checked = answers.count("CODE_INVALID") + answers.count("CODE_TRIES_EXCEEDED")
    assert checked == policy.failure_max_in_window, answers
    assert answers.count("TOO_MANY_ATTEMPTS") == 16 * 5 - checked, answers
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        customer_id = customer.id
    with center.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT count(*) FROM blocks WHERE subject_kind = 'customer' AND subject = :s"),
            {"s": customer_id},
        ).scalar_one()
        reserved = connection.execute(
            text("SELECT count(*) FROM failure_reservations")
        ).scalar_one()
    assert rows == 1, rows
    assert reserved == 0  # every guess was decided and recorded
