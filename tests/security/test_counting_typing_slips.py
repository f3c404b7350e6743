"""Typing slips count towards no block: weak PINs, a malformed pattern, PINs typed differently
twice and a resident number with a wrong check digit are the form's own refusals. A customer
who makes more of them than the block's limit still gets the certificate; wrong codes still
block, and the refusal of a block names its release time in Korean time."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from certcenter.bootstrap import Center
from certcenter.clock import KST, FrozenClock
from certcenter.errors import CertCenterError
from tests.diagnosis.support import diagnose
from tests.support.flow import FlowFactory


def slips(limit: int) -> list[tuple[str, dict[str, object]]]:
    """More credential slips than the block allows, each a refusal the form can check."""
    shapes: list[dict[str, object]] = [
        {"pin": "111111"},  # PIN_WEAK
        {"pin": "123456"},  # PIN_WEAK
        {"pin": "591734", "confirmation": "591735"},  # PIN_CONFIRMATION_MISMATCH
        {"pattern": [0, 1]},  # PATTERN_INVALID: too short
        {"pattern": [0, 2, 5, 8]},  # PATTERN_INVALID: passes over 1
    ]
    return [("credentials", shapes[i % len(shapes)]) for i in range(limit + 2)]


@pytest.mark.policy(failure_max_in_window=4)
def test_c005_typing_slips_never_block_an_otherwise_valid_enrolment(
    center: Center, new_flow: FlowFactory
) -> None:
    limit = center.settings.policy.failure_max_in_window
    flow = new_flow("C005")
    flow.through("account_verify")

    # an RRN typo (wrong check digit) at the ID step, again and again
    fields = dict(flow.answers.id_fields)
    good = str(fields["rrn"])
    typo = good[:-1] + str((int(good[-1]) + 1) % 10)
    for _ in range(3):
        assert flow.refused("id", rrn=typo).code == "RRN_INVALID"
    flow.id()

    codes = set()
    for step, kwargs in slips(limit):
        codes.add(flow.refused(step, **kwargs).code)
    assert codes == {"PIN_WEAK", "PIN_CONFIRMATION_MISMATCH", "PATTERN_INVALID"}

    flow.credentials()
    issued = flow.csr()
    assert issued["serial"]

    # the slips are kept for the diagnosis, the customer is not blocked
    checklist = diagnose(center, "C005")
    assert checklist.item("blocks").status == "ok"
    shown = {f["code"]: f["count"] for f in checklist.item("recent_failures").context["failures"]}
    assert shown["RRN_INVALID"] == 3
    assert shown["PIN_WEAK"] + shown["PATTERN_INVALID"] >= limit - 1


@pytest.mark.policy(failure_max_in_window=3)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_wrong_codes_still_block_and_the_refusal_names_the_release_in_kst(
    center: Center, clock: FrozenClock, new_flow: FlowFactory
) -> None:
    policy = center.settings.policy
    flow = new_flow("C001")
    flow.through("phone")
    seen = [
        flow.refused("phone_verify", "000000").code for _ in range(policy.failure_max_in_window)
    ]
    assert "CODE_INVALID" in seen
    blocked = flow.refused("phone_verify", "000000")
    assert blocked.code == "TOO_MANY_ATTEMPTS", seen
    until = clock.now() + timedelta(hours=policy.block_hours)
    local = until.astimezone(KST)
    korean = f"{local.year}년 {local.month}월 {local.day}일 {local:%H:%M} (KST)"
    assert korean in blocked.problem["cause"]["ko"]
    assert korean in blocked.problem["remedy"]["ko"]
    english = blocked.problem["remedy"]["en"]
    assert f"{local:%H:%M} (KST)" in english and str(local.year) in english
    # programs still read the instant in ISO 8601 (UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d\+00:00", blocked.problem["context"]["until"])

    # the diagnosis shows the same release time
    item = diagnose(center, "C001").item("blocks")
    assert item.status == "problem"
    error = item.error()
    assert isinstance(error, CertCenterError) and korean in error.cause("ko")
