"""A session ends with what it was opened with: deregistering the app, removing the browser,
revoking, suspending or deleting the certificate ends its sessions in the same transaction;
cancelling the mobile OTP asks for the PIN again."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.config import Settings
from certcenter.entities import Session
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef
from tests.conftest import LiveServer, _reset_postgres, make_settings
from tests.financial.support import Browser
from tests.financial.support import issue as issue_financial
from tests.media.test_otp_service import APP_PIN, app_device, customer, register
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory
from tests.usage.support import OPENED, issued, logged_in


@pytest.fixture
def settings(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, pki_dir: Path
) -> Settings:
    """Each test's own key directory (a copy of the session's CA keys): a financial
    certificate deleted here destroys only its own cloud key."""
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    keys = tmp_path / "keys"
    shutil.copytree(pki_dir / "keys", keys)
    return make_settings(tmp_path, pki_dir, url, key_dir=keys)


@pytest.fixture(autouse=True)
def _close_app_clients() -> Iterator[None]:
    yield
    while OPENED:
        OPENED.pop().close()


def _session_of(center: Center, client: CenterClient) -> Session:
    assert client.token is not None
    return center.sessions.resolve(client.token)


def _refused_now(client: CenterClient, code: str = "SESSION_INVALID") -> None:
    """The session is over: refused by ``code`` (the certificate's state when it ended with
    the certificate), on every call."""
    for _ in range(2):
        with pytest.raises(ApiError) as refused:
            client.call("GET", "/v1/session")
        assert_refusal(refused.value, code)


def _refused_token(center: Center, token: str, code: str = "SESSION_INVALID") -> None:
    with pytest.raises(CertCenterError) as refused:
        center.sessions.resolve(token)
    assert refused.value.code == code


def test_deregistering_the_app_ends_its_sessions(new_flow: FlowFactory, center: Center) -> None:
    flow = issued(new_flow)
    client, other = logged_in(flow), logged_in(flow)
    session = _session_of(center, client)
    center.lifecycle.deregister_device(session.device_id, ActorRef.operator("kim", None))
    _refused_now(client)
    _refused_now(other)
    with center.uow_factory() as uow:
        ended = uow.sessions.by_token_hash(session.token_hash)
        device = uow.devices.registration(session.customer_id, session.device_id)
        assert ended is not None and device is not None
        assert ended.ended_at == device.deregistered_at  # the same transaction
        assert ended.ended_reason == "device_deregistered"


@pytest.mark.parametrize("action", ["revoke", "suspend"])
def test_revoking_or_suspending_the_certificate_ends_its_sessions(
    new_flow: FlowFactory, center: Center, action: str
) -> None:
    client = logged_in(issued(new_flow))
    session = _session_of(center, client)
    operator = ActorRef.operator("kim", None)
    if action == "revoke":
        center.lifecycle.revoke(session.certificate_serial, "keyCompromise", operator)
    else:
        center.lifecycle.suspend(session.certificate_serial, operator, why="lost_phone")
    _refused_now(
        client, {"revoke": "CERTIFICATE_REVOKED", "suspend": "CERTIFICATE_SUSPENDED"}[action]
    )
    with center.uow_factory() as uow:
        ended = uow.sessions.by_token_hash(session.token_hash)
        assert ended is not None and ended.ended_at is not None


def test_releasing_a_suspension_does_not_revive_an_ended_session(
    new_flow: FlowFactory, center: Center
) -> None:
    client = logged_in(issued(new_flow))
    session = _session_of(center, client)
    operator = ActorRef.operator("kim", None)
    center.lifecycle.suspend(session.certificate_serial, operator)
    center.lifecycle.release(session.certificate_serial, operator)
    _refused_now(client)


def test_removing_the_browser_ends_its_financial_sessions(center: Center) -> None:
    made = issue_financial(center, Browser())
    assert made.device_id is not None
    holder = customer(center)
    opened = center.sessions.open(
        customer_id=holder.id,
        device_id=made.device_id,
        certificate_serial=made.serial,
        method="financial",
    )
    center.sessions.resolve(opened.token)
    center.financial_devices.remove(
        holder.id, made.device_id, ActorRef.customer("C001", "127.0.0.1")
    )
    _refused_token(center, opened.token)


def test_deleting_the_financial_certificate_ends_its_sessions(center: Center) -> None:
    browser = Browser()
    made = issue_financial(center, browser)
    assert made.device_id is not None
    holder = customer(center)
    opened = center.sessions.open(
        customer_id=holder.id,
        device_id=made.device_id,
        certificate_serial=made.serial,
        method="financial",
    )
    center.sessions.resolve(opened.token)
    center.cloud_certificates.delete(holder.id, ActorRef.customer("C001", "127.0.0.1"))
    _refused_token(center, opened.token)


def test_cancelling_the_otp_without_the_right_pin_is_refused(center: Center) -> None:
    who, _ = register(center)
    device_id = app_device(center, who)
    for pin in ("000000", ""):
        with pytest.raises(CertCenterError) as refused:
            center.otp.cancel(who.id, device_id=device_id, pin=pin)
        assert refused.value.code in ("AUTH_FAILED", "AUTH_LAST_TRY")
    assert center.otp.status(who.id).registered
    # a session on a device that is not the customer's app cannot cancel it at all
    with pytest.raises(CertCenterError) as refused:
        center.otp.cancel(who.id, device_id="someone-elses", pin=APP_PIN)
    assert refused.value.code == "DEVICE_NOT_REGISTERED"
    assert center.otp.status(who.id).registered
    assert center.otp.cancel(who.id, device_id=device_id, pin=APP_PIN).status == "revoked"


def test_cancelling_the_otp_over_http_needs_the_pin(center: Center, api: LiveServer) -> None:
    who, _ = register(center)
    opened = center.sessions.open(
        customer_id=who.id,
        device_id=app_device(center, who),
        certificate_serial="5E55",
        method="pin",
    )
    with CenterClient(api.url, locale="en") as client:
        client.token = opened.token
        for body, code in ((None, "INVALID_REQUEST"), ({}, "INVALID_REQUEST")):
            with pytest.raises(ApiError) as refused:
                client.call("DELETE", "/v1/otp", body)
            assert_refusal(refused.value, code)
        with pytest.raises(ApiError) as refused:
            client.call("DELETE", "/v1/otp", {"pin": "000000"})
        assert_refusal(refused.value, "AUTH_FAILED")
        assert client.call("GET", "/v1/otp")["registered"]
        assert client.call("DELETE", "/v1/otp", {"pin": APP_PIN})["status"] == "revoked"


def test_moving_the_certificate_to_a_new_phone_ends_the_old_phones_sessions(
    new_flow: FlowFactory, center: Center
) -> None:
    old_phone = "demo-old-phone-c012"
    with center.uow_factory() as uow:
        holder = uow.customers.by_number("C012")
        assert holder is not None
        (certificate,) = [
            c for c in uow.certificates.for_customer(holder.id) if c.device_id == old_phone
        ]
    opened = center.sessions.open(
        customer_id=holder.id,
        device_id=old_phone,
        certificate_serial=certificate.serial,
        method="pin",
    )
    center.sessions.resolve(opened.token)
    flow = new_flow("C012")
    flow.through("csr", move=True)
    assert flow.issued is not None and flow.issued["moved_from_device"] == old_phone
    _refused_token(center, opened.token)
