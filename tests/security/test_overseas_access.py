"""해외 IP 차단 해제: a customer abroad, refused FOREIGN_IP_BLOCKED, allows access from abroad
for a number of days from the app — confirmed with the device's signature and the PIN, audited,
told to the customer, ended by itself — and gets on with issuance from abroad."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError
from certcenter.cli.main import cli
from certcenter.clock import FrozenClock
from certcenter.errors import entry
from certcenter.errors.catalog import text
from tests.conftest import LiveServer
from tests.support.flow import Flow, FlowFactory
from tests.web.signin import app_fixture, center_fixture, log_in_with_the_app  # noqa: F401
from tests.web.support import WebClient

ABROAD = "203.0.113.10"  # TEST-NET-3: not a domestic network of the policy
PIN = "591734"  # the tests' flows' PIN (tests/support/flow.py)


def overseas(flow: Flow, body: dict[str, object], *, pin: str = PIN, end: bool = False) -> dict:
    device = flow.device.device_id
    path = f"/v1/devices/{device}/overseas-access" + ("/end" if end else "")
    result: dict = flow.client.device_action(
        device, "overseas_access", flow.keystore.sign, pin, path, body, send_device_id=False
    )
    return result


def test_a_customer_abroad_allows_access_from_the_app_and_issues_again(
    center: Center, clock: FrozenClock, new_flow: FlowFactory
) -> None:
    home = new_flow("C001")
    home.through("csr")  # the mobile certificate, issued at home

    # abroad: re-enrolling on the same phone is refused at the phone step
    abroad = new_flow("C001", forwarded_for=ABROAD, keystore="keystore-C001")
    abroad.through("terms")
    refused = abroad.refused("phone")
    assert refused.code == "FOREIGN_IP_BLOCKED"
    assert "certcenter app overseas-access" in refused.problem["remedy"]["ko"]
    assert "roaming data" in refused.problem["remedy"]["en"]

    # the period is checked; a wrong PIN is refused (and counted), not allowed
    longest = center.settings.policy.overseas_access_max_days
    for days in (0, longest + 1):
        with pytest.raises(ApiError) as too_long:
            overseas(abroad, {"days": days})
        assert too_long.value.code == "OVERSEAS_ACCESS_DAYS_INVALID"
        assert str(longest) in too_long.value.problem["cause"]["en"]
    with pytest.raises(ApiError) as wrong_pin:
        overseas(abroad, {"days": 7}, pin="000000")
    assert wrong_pin.value.code == "DEVICE_AUTH_FAILED"

    state = overseas(abroad, {"days": 7})
    assert state["allowed"] is True
    until = clock.now() + timedelta(days=7)
    assert state["until"].startswith(until.isoformat(timespec="minutes")[:16])

    # told to the customer, audited
    texts = [m["body"] for m in abroad.messages(abroad.answers.phone or "")]
    assert any("해외 IP 차단이 해제" in body for body in texts), texts
    with center.uow_factory() as uow:
        trail = uow.audit.for_subject("customer", "C001")
    assert [e.action for e in trail if e.action.startswith("overseas_access")] == [
        "overseas_access.allow"
    ]

    # the way forward: the phone step from abroad now goes on
    clock.advance(minutes=2)  # the SMS resend wait of the number since the last code
    again = new_flow("C001", forwarded_for=ABROAD, keystore="keystore-C001")
    again.through("phone")

    # the allowance ends by itself
    clock.advance(days=8)
    later = new_flow("C001", forwarded_for=ABROAD, keystore="keystore-C001")
    later.through("terms")
    assert later.refused("phone").code == "FOREIGN_IP_BLOCKED"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_access_from_abroad_is_blocked_again_at_once(center: Center, new_flow: FlowFactory) -> None:
    flow = new_flow("C002")
    flow.through("csr")
    assert overseas(flow, {"days": 3})["allowed"] is True
    blocked = overseas(flow, {}, end=True)
    assert blocked == {"allowed": False, "until": None}
    abroad = new_flow("C002", forwarded_for=ABROAD, keystore="keystore-C002")
    abroad.through("terms")
    assert abroad.refused("phone").code == "FOREIGN_IP_BLOCKED"
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C002")
    assert customer is not None and customer.overseas_access is False


def test_malformed_requests_are_refused_without_a_traceback(api: LiveServer) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as http:
        path = "/v1/devices/dev-x/overseas-access"
        for body in (
            {"challenge": "c" * 20, "signature": "s" * 20, "pin": "1", "days": "7"},
            {"challenge": "c" * 20, "signature": "s" * 20, "pin": "1"},
            {"days": 7},
        ):
            answer = http.post(path, json=body)
            assert answer.status_code == 422, answer.text
            assert answer.json()["code"] == "INVALID_REQUEST"
        unknown = http.post(
            path, json={"challenge": "c" * 20, "signature": "s" * 20, "pin": "1", "days": 7}
        )
        assert unknown.status_code in (401, 403, 404), unknown.text
        assert "Traceback" not in unknown.text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_app_command(
    center: Center, new_flow: FlowFactory, api: LiveServer, tmp_path: Path
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    runner = CliRunner()
    base = ["--lang", "en", "app", "overseas-access", "--keystore", str(tmp_path / "keystore-C001")]
    base += ["--url", api.url]
    allowed = runner.invoke(cli, [*base, "--days", "14"], input=f"{PIN}\n")
    assert allowed.exit_code == 0, allowed.output
    assert "access from abroad allowed until" in allowed.output and "KST" in allowed.output
    too_long = runner.invoke(cli, [*base, "--days", "400"], input=f"{PIN}\n")
    assert too_long.exit_code == 1 and "[OVERSEAS_ACCESS_DAYS_INVALID]" in too_long.output
    assert "Traceback" not in too_long.output
    neither = runner.invoke(cli, base)
    assert neither.exit_code == 1 and "--days" in neither.output
    off = runner.invoke(cli, [*base, "--off"], input=f"{PIN}\n")
    assert off.exit_code == 0 and "access from abroad blocked" in off.output
    assert entry("FOREIGN_IP_BLOCKED").actions[0] == "cli:app overseas-access"


def test_the_web_page_shows_the_setting_and_the_ways_abroad(
    db_center: Center, db_app: FastAPI
) -> None:
    with WebClient(db_app) as web:
        anonymous = web.get("/overseas-access")
        assert anonymous.status_code == 200
        assert "certcenter app overseas-access --days 14" in anonymous.text
        assert text("overseas.without_roaming", "ko") in anonymous.text
        assert "data-allowed" not in anonymous.text  # nobody's setting without a login

        log_in_with_the_app(web, "C012")  # the demo world's customer with a phone
        assert 'data-allowed="false"' in web.get("/overseas-access").text
        for until, shown in ((timedelta(days=3), "true"), (-timedelta(minutes=1), "false")):
            with db_center.uow_factory() as uow:
                customer = uow.customers.by_number("C012")
                assert customer is not None
                customer.overseas_access = True
                customer.overseas_access_until = db_center.clock.now() + until
                uow.commit()
            page = web.get("/overseas-access").text
            assert f'data-allowed="{shown}"' in page  # the end, as the center applies it
