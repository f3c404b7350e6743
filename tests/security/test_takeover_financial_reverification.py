"""Financial certificate takeover: whoever holds the customer's unlocked phone (the SMS code)
and knows their name and birth date cannot register a new browser or reset the PIN.

The attack: registering a browser and resetting the PIN needed only name, phone, birth date and
the SMS code. Now a second factor independent of the phone follows the code (the withdrawal
account's password, the security card, the OTP, or the mobile certificate approved in the
app), and when it succeeds the customer is told on every notification channel they have.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from certcenter.bootstrap import Center
from certcenter.config import Settings
from tests.conftest import LiveServer, _reset_postgres, make_settings, marked_policy
from tests.financial.support import (
    ACCOUNT_PASSWORD,
    Browser,
    customer,
    events,
    issue,
    latest_code,
)
from tests.security.support import assert_problem
from tests.support.policy import SHARED_CENTER_POLICY

# The SMS budget (a phone's wait and hourly codes) is tested in test_counting_sms_budget.py;
# these tests start many flows for one phone in frozen time to test what comes after it.
pytestmark = pytest.mark.policy(**SHARED_CENTER_POLICY)

NAME, PHONE, BIRTH = "김민준", "01020000001", "1990-03-15"  # C001
ACCOUNT = "12340100000001"  # C001's own account: the additional medium
THIEF = "211.36.1.9"  # a Korean network: the thief is in Korea
CHANNELS = {"sms", "email", "webhook"}


@pytest.fixture
def settings(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, pki_dir: Path
) -> Settings:
    """Every notification channel on (C001 has a phone and an e-mail address); a key
    directory of its own for the cloud keys."""
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    keys = tmp_path / "keys"
    shutil.copytree(pki_dir / "keys", keys)
    return make_settings(
        tmp_path,
        pki_dir,
        url,
        key_dir=keys,
        notification_channels=sorted(CHANNELS),
        webhook_url="http://127.0.0.1:9/certcenter-events",  # nothing listens: sent later
        webhook_secret="s" * 32,
        smtp_port=9,
        **marked_policy(request),
    )


class Thief:
    """Holds C001's phone (reads its texts) and knows the name and birth date."""

    def __init__(self, api: LiveServer, center: Center) -> None:
        self.http = httpx.Client(base_url=api.url, headers={"X-Forwarded-For": THIEF})
        self.center = center
        self.flow = ""

    def start(self, path: str, body: dict[str, Any], id_field: str) -> None:
        started = self.http.post(path, json=body)
        assert started.status_code == 201, started.text
        self.flow = f"{path}/{started.json()[id_field]}"
        self.http.headers["Authorization"] = f"Bearer {started.json()['token']}"

    def post(self, step: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"{self.flow}/{step}", json=body)

    def code(self) -> dict[str, Any]:
        answer = self.post("code", {"code": latest_code(self.center)})
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
def thief(api: LiveServer, center: Center) -> Iterator[Thief]:
    made = Thief(api, center)
    yield made
    made.http.close()


def _devices(center: Center) -> int:
    return len(center.financial_devices.list(customer(center).id))


def _events(center: Center, event: str) -> int:
    return events(center, customer(center).id).count(event)


def test_the_sms_code_alone_registers_no_browser(center: Center, thief: Thief) -> None:
    issue(center, Browser())
    told = _events(center, "financial_device_registered")
    body = {"name": NAME, "phone": PHONE, "birth_date": BIRTH, "public_key": Browser().spki_b64}
    thief.start("/v1/financial/devices/registrations", body, "registration_id")
    # the attack's request: the SMS code at /complete, as before
    code = latest_code(center)
    assert_problem(thief.post("complete", {"code": code}), 422, "INVALID_REQUEST")
    assert_problem(thief.post("complete", {}), 409, "FINANCIAL_CODE_REQUIRED")
    assert thief.code()["next_step"] == "medium"
    assert_problem(thief.post("complete", {}), 409, "FINANCIAL_MEDIUM_REQUIRED")
    # the phone does not hold the account password, nor the OTP or the card
    asked = thief.post("medium", {"medium": "account"})
    assert asked.status_code == 200 and asked.json()["detail"]["accounts"]
    for guess in ("0000", "1234"):
        wrong = thief.post("complete", {"account_number": ACCOUNT, "account_password": guess})
        assert_problem(wrong, 401, "AUTH_FAILED")
    assert_problem(thief.post("medium", {"medium": "otp"}), 409, "MEDIUM_NOT_REGISTERED")
    assert _devices(center) == 1
    assert _events(center, "financial_device_registered") == told


def test_the_sms_code_alone_resets_no_pin(center: Center, thief: Thief) -> None:
    issue(center, Browser())
    holder = customer(center)
    with center.uow_factory() as uow:
        pin_hash = uow.cloud_accounts.active_for_customer(holder.id).pin_hash  # type: ignore[union-attr]
    thief.start(
        "/v1/financial/pin/resets",
        {"name": NAME, "phone": PHONE, "birth_date": BIRTH},
        "reset_id",
    )
    new_pin = {"new_pin": "592864", "new_pin_confirmation": "592864"}
    # the attack's request: the SMS code and a new PIN at /complete, as before
    code = latest_code(center)
    assert_problem(thief.post("complete", {"code": code, **new_pin}), 422, "INVALID_REQUEST")
    assert_problem(thief.post("complete", new_pin), 409, "FINANCIAL_CODE_REQUIRED")
    thief.code()
    assert_problem(thief.post("complete", new_pin), 409, "FINANCIAL_MEDIUM_REQUIRED")
    thief.post("medium", {"medium": "account"})
    wrong = thief.post(
        "complete", {"account_number": ACCOUNT, "account_password": "0000", **new_pin}
    )
    assert_problem(wrong, 401, "AUTH_FAILED")
    with center.uow_factory() as uow:
        assert uow.cloud_accounts.active_for_customer(holder.id).pin_hash == pin_hash  # type: ignore[union-attr]
    assert "financial_pin_reset" not in events(center, holder.id)


def _outbox_ids(center: Center) -> set[str]:
    with center.uow_factory() as uow:
        return {m.id for m in uow.outbox.for_customer(customer(center).id, limit=200)}


def _told(center: Center, event: str, *, before: set[str]) -> dict[str, str]:
    """The channel and text of each message announcing ``event`` to C001 that was not in
    the outbox ``before`` (the clock is frozen: earlier messages have the same time)."""
    with center.uow_factory() as uow:
        found = uow.outbox.for_customer(customer(center).id, limit=200)
        return {m.channel: m.body for m in found if m.event == event and m.id not in before}


def test_the_customer_with_the_second_factor_succeeds_and_is_told_everywhere(
    center: Center, thief: Thief
) -> None:
    issue(center, Browser())  # told too, from 127.0.0.1
    before = _outbox_ids(center)
    me = thief  # the customer, this time, with their account password
    body = {"name": NAME, "phone": PHONE, "birth_date": BIRTH, "public_key": Browser().spki_b64}
    me.start("/v1/financial/devices/registrations", body, "registration_id")
    me.code()
    me.post("medium", {"medium": "account"})
    done = me.post("complete", {"account_number": ACCOUNT, "account_password": ACCOUNT_PASSWORD})
    assert done.status_code == 201, done.text
    assert _devices(center) == 2
    told = _told(center, "financial_device_registered", before=before)
    assert set(told) == CHANNELS, told
    assert "본인이 등록하지 않았다면" in told["sms"] and THIEF in told["sms"]
    assert re.search(r"If this was not you", told["email"])

    me.http.headers.pop("Authorization")
    me.start(
        "/v1/financial/pin/resets", {"name": NAME, "phone": PHONE, "birth_date": BIRTH}, "reset_id"
    )
    me.code()
    me.post("medium", {"medium": "account"})
    reset = me.post(
        "complete",
        {
            "account_number": ACCOUNT,
            "account_password": ACCOUNT_PASSWORD,
            "new_pin": "592864",
            "new_pin_confirmation": "592864",
        },
    )
    assert reset.status_code == 204, reset.text
    told = _told(center, "financial_pin_reset", before=before)
    assert set(told) == CHANNELS, told
    assert "본인이 하지 않았다면" in told["sms"]
