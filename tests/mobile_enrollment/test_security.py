"""What must never be kept in clear, and the block after repeated failures."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from certcenter.bootstrap import Center, build_center
from certcenter.clock import FrozenClock
from certcenter.storage.tables import metadata
from tests.conftest import LiveServer
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory

RRN = "9003151512541"  # 김민준 in the demo world
PIN = "591734"
PATTERN_TEXT = "0-1-2-5-8"


def database_text(center: Center) -> str:
    """Every value of every row of every table of the center's database, as text."""
    parts: list[str] = []
    with center.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def test_no_resident_number_pin_pattern_or_code_in_the_database_or_logs(
    new_flow: FlowFactory, center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    flow = new_flow("C001")
    flow.through("phone")
    sms_code = flow.sms_code()
    flow.phone_verify(sms_code)
    flow.account()
    deposit_code = flow.deposit_code()
    flow.account_verify(deposit_code)
    flow.id()  # the resident card step sends the full resident number
    flow.credentials(pin=PIN, pattern=[0, 1, 2, 5, 8])
    flow.csr()

    stored = database_text(center)
    assert "김민준" in stored  # the dump does contain the customer's data...
    secrets = {
        "resident number": RRN,
        "resident number (hyphen)": f"{RRN[:6]}-{RRN[6:]}",
        "resident number (back six)": RRN[7:],
        "PIN": PIN,
        "pattern": PATTERN_TEXT,
        "SMS code": f"[{sms_code}]",
        "SMS code (bare)": sms_code,
        "1-won code": f"인증{deposit_code}",
    }
    for what, value in secrets.items():
        assert value not in stored, f"{what} is stored in clear"

    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert "refused" not in logged  # the flow went through without refusals...
    assert "issued" in logged  # ...and the log does speak of it
    for what, value in secrets.items():
        assert value not in logged, f"{what} is in the logs"


def test_repeated_failures_block_for_24_hours_even_across_a_restart(
    new_flow: FlowFactory, center: Center, clock: FrozenClock, api: LiveServer
) -> None:
    flow = new_flow("C001")
    flow.through("terms")
    for _ in range(10):  # policy: 10 failures within 10 minutes
        assert_refusal(flow.refused("phone", name="김 민 준"), "PHONE_IDENTITY_MISMATCH")
        clock.advance(seconds=20)
    err = flow.refused("phone")  # now even the right details are refused
    assert_refusal(err, "TOO_MANY_ATTEMPTS")

    center.close()
    restarted = build_center(center.settings, clock)
    api.serve(restarted)
    try:
        again = new_flow("C001")  # same device: blocked from the start
        assert_refusal(again.refused("start"), "TOO_MANY_ATTEMPTS")
        clock.advance(hours=24, minutes=1)
        again.through("csr")
        assert again.issued is not None
    finally:
        restarted.close()


def test_failures_spread_over_time_do_not_block(new_flow: FlowFactory, clock: FrozenClock) -> None:
    flow = new_flow("C001")
    flow.through("terms")
    for _ in range(12):
        assert_refusal(flow.refused("phone", name="김 민 준"), "PHONE_IDENTITY_MISMATCH")
        clock.advance(minutes=2)  # 5 per 10 minutes, under the policy
    flow.phone()
