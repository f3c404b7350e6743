"""Login with the mobile certificate: PIN, pattern, biometric key; lockouts; status; sessions."""

from __future__ import annotations

import concurrent.futures
from datetime import timedelta

import httpx
import pytest

from certcenter.authn.device_auth import challenge_message
from certcenter.authn.factors import unknown_subject
from certcenter.bootstrap import Center
from certcenter.cli.app_session import login
from certcenter.cli.client import ApiError
from certcenter.cli.keystore import DeviceInfo
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef
from certcenter.ports import UnitOfWork
from certcenter.usage.login import LoginAttempt
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import Flow, FlowFactory
from tests.usage.support import PIN, app_client, issued, logged_in


def _issued_device(new_flow: FlowFactory) -> tuple[Flow, DeviceInfo]:
    """C001's flow through the certificate, and the device the app registered."""
    flow = issued(new_flow)
    device = flow.keystore.device()
    assert device is not None
    return flow, device


def _refused(work: object) -> ApiError:
    try:
        work()  # type: ignore[operator]
    except ApiError as err:
        return err
    raise AssertionError("expected a refusal")


def _answer(
    flow: Flow,
    device_id: str,
    issued: dict[str, str],
    *,
    method: str = "pin",
    pin: str | None = PIN,
    key: str = "certificate",
) -> dict[str, str]:
    """The body of ``POST /v1/login`` answering the challenge ``issued`` (the answer of
    ``POST /v1/login/challenges``), signed with the device's ``key``."""
    return {
        "device_id": device_id,
        "challenge": issued["challenge"],
        "signature": flow.keystore.sign(issued["sign"].encode(), key=key),
        "method": method,
        **({"pin": pin} if method == "pin" and pin is not None else {}),
    }


def test_pin_login_opens_a_session_and_records_the_use(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    me = client.call("GET", "/v1/session")
    assert me["customer_number"] == "C001" and me["method"] == "pin"
    assert me["certificate_serial"] == flow.current_serial()
    assert me["idle_timeout_seconds"] == 300
    with center.uow_factory() as uow:
        record = uow.certificates.get(flow.current_serial())
        assert record is not None and record.last_used_at == center.clock.now()
        trail = uow.audit.for_subject("certificate", flow.current_serial())
        assert any(e.action == "login" and e.details["method"] == "pin" for e in trail)
    # the token is not stored: only its digest
    with center.uow_factory() as uow:
        session = uow.sessions.by_token_hash("x" * 64)
        assert session is None
    client.call("POST", "/v1/logout")
    assert_refusal(_refused(lambda: client.call("GET", "/v1/session")), "SESSION_INVALID")


def test_pattern_and_biometric_logins(new_flow: FlowFactory) -> None:
    flow = issued(new_flow)
    assert logged_in(flow, method="pattern").call("GET", "/v1/session")["method"] == "pattern"
    assert logged_in(flow, method="biometric").call("GET", "/v1/session")["method"] == "biometric"
    # the certificate key is not the biometric key: a biometric login signed by it fails
    client = app_client(flow)
    device = flow.keystore.device()
    assert device is not None
    issued_challenge = client.call("POST", "/v1/login/challenges", {"device_id": device.device_id})
    body = _answer(flow, device.device_id, issued_challenge, method="biometric")
    assert_refusal(
        _refused(lambda: client.call("POST", "/v1/login", body)), "BIOMETRIC_AUTH_FAILED"
    )
    # the refused challenge was used up: the biometric key's signature comes too late for it
    body["signature"] = flow.keystore.sign(issued_challenge["sign"].encode(), key="biometric")
    assert_refusal(_refused(lambda: client.call("POST", "/v1/login", body)), "CHALLENGE_INVALID")


def test_wrong_pins_warn_before_the_last_try_and_lock(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = app_client(flow)
    for left in (4, 3, 2):
        err = _refused(lambda: login(client, flow.keystore, pin="000000"))
        assert_refusal(err, "DEVICE_AUTH_FAILED")
        assert err.problem["context"]["tries_left"] == left
    assert_refusal(_refused(lambda: login(client, flow.keystore, pin="000000")), "AUTH_LAST_TRY")
    assert_refusal(_refused(lambda: login(client, flow.keystore, pin="000000")), "PIN_LOCKED")
    # locked: even the right PIN is refused, also after a restart of the service objects
    assert_refusal(_refused(lambda: login(client, flow.keystore, pin=PIN)), "PIN_LOCKED")
    # the pattern has a counter of its own and still works
    login(client, flow.keystore, method="pattern", pattern=[0, 1, 2, 5, 8])
    # an operator releases the PIN after verifying the customer
    center.operator_desk.unlock_factor("C001", "pin", ActorRef.operator("op", None))
    login(client, flow.keystore, pin=PIN)


def test_a_right_pin_resets_the_count(new_flow: FlowFactory, center: Center) -> None:
    flow = issued(new_flow)
    client = app_client(flow)
    for _ in range(3):
        _refused(lambda: login(client, flow.keystore, pin="000000"))
    login(client, flow.keystore, pin=PIN)
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        counter = uow.factors.get(customer.id, "pin")
        assert counter is not None and counter.failures == 0


def test_concurrent_wrong_pins_count_exactly_the_policy_number(
    new_flow: FlowFactory, center: Center
) -> None:
    """200 wrong PINs at once against one customer: exactly 5 are tried, the rest are locked."""
    flow, device = _issued_device(new_flow)
    url = str(flow.client.http.base_url)
    bodies = []
    with httpx.Client(base_url=url, timeout=120) as http:
        for _ in range(200):
            issued_challenge = http.post(
                "/v1/login/challenges", json={"device_id": device.device_id}
            ).json()
            bodies.append(_answer(flow, device.device_id, issued_challenge, pin="000000"))

    def attempt(body: dict[str, object]) -> str:
        with httpx.Client(base_url=url, timeout=120) as http:
            return str(http.post("/v1/login", json=body).json()["code"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        codes = list(pool.map(attempt, bodies))
    # five tries were checked: three told "wrong", one warned of the last try, one locked it
    assert codes.count("DEVICE_AUTH_FAILED") == 3, codes
    assert codes.count("AUTH_LAST_TRY") == 1, codes
    # the other 195 never reached the PIN: locked, or refused while the five were checked
    assert codes.count("PIN_LOCKED") + codes.count("AUTH_BUSY") == 196, codes
    assert codes.count("PIN_LOCKED") >= 1
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        counter = uow.factors.get(customer.id, "pin")
        assert counter is not None
        assert counter.failures == center.settings.policy.pin_max_failures
        assert counter.locked_at is not None


def test_unknown_devices_are_answered_and_counted_like_real_ones(
    api: object, center: Center, new_flow: FlowFactory
) -> None:
    flow = issued(new_flow)
    url = str(flow.client.http.base_url)
    with httpx.Client(base_url=url) as http:
        issued_challenge = http.post(
            "/v1/login/challenges", json={"device_id": "nobody-device-0001"}
        )
        assert issued_challenge.status_code == 201
        answer = http.post(
            "/v1/login",
            json={
                "device_id": "nobody-device-0001",
                "challenge": issued_challenge.json()["challenge"],
                "signature": flow.keystore.sign(b"whatever"),
                "method": "pin",
                "pin": "123456",
            },
        )
    assert answer.status_code == 401
    assert answer.json()["code"] == "DEVICE_AUTH_FAILED"
    assert answer.json()["context"]["tries_left"] == 4
    with center.uow_factory() as uow:
        counter = uow.factors.get(unknown_subject("nobody-device-0001"), "pin")
        assert counter is not None and counter.failures == 1


@pytest.mark.parametrize("state", ["revoked", "suspended", "expired"])
def test_unusable_certificates_cannot_log_in(
    new_flow: FlowFactory, center: Center, clock: FrozenClock, state: str
) -> None:
    flow = issued(new_flow)
    serial = flow.current_serial()
    operator = ActorRef.operator("op", None)
    if state == "revoked":
        center.lifecycle.revoke(serial, "keyCompromise", operator)
        code = "CERTIFICATE_REVOKED"
    elif state == "suspended":
        center.lifecycle.suspend(serial, operator)
        code = "CERTIFICATE_SUSPENDED"
    else:
        with center.uow_factory() as uow:
            record = uow.certificates.get(serial)
            assert record is not None
            clock.set(record.not_after + timedelta(seconds=1))
        code = "CERTIFICATE_EXPIRED"
    client = app_client(flow)
    assert_refusal(_refused(lambda: login(client, flow.keystore, pin=PIN)), code)


def test_a_session_expires_after_idle_time(new_flow: FlowFactory, clock: FrozenClock) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    clock.advance(minutes=4, seconds=50)
    client.call("GET", "/v1/session")  # used: the idle time starts again
    clock.advance(minutes=4, seconds=50)
    client.call("GET", "/v1/session")
    clock.advance(minutes=5, seconds=1)
    assert_refusal(_refused(lambda: client.call("GET", "/v1/session")), "SESSION_EXPIRED")
    assert_refusal(_refused(lambda: client.call("GET", "/v1/session")), "SESSION_INVALID")


def test_login_challenges_are_single_use_and_expire(
    new_flow: FlowFactory, clock: FrozenClock
) -> None:
    flow, device = _issued_device(new_flow)
    client = app_client(flow)
    issued_challenge = client.call("POST", "/v1/login/challenges", {"device_id": device.device_id})
    assert len(issued_challenge["challenge"]) >= 43  # 256 bits, base64url
    body = _answer(flow, device.device_id, issued_challenge)
    client.call("POST", "/v1/login", body)
    assert_refusal(_refused(lambda: client.call("POST", "/v1/login", body)), "CHALLENGE_INVALID")
    late = client.call("POST", "/v1/login/challenges", {"device_id": device.device_id})
    clock.advance(seconds=121)
    body["challenge"] = late["challenge"]
    body["signature"] = flow.keystore.sign(late["sign"].encode())
    assert_refusal(_refused(lambda: client.call("POST", "/v1/login", body)), "CHALLENGE_INVALID")


@pytest.mark.parametrize(
    "body",
    [
        {"device_id": "x", "challenge": "y", "signature": "z", "method": "pin"},
        {
            "device_id": "device-000001",
            "challenge": "c" * 20,
            "signature": "s" * 20,
            "method": "face",
        },
        {
            "device_id": "device-000001",
            "challenge": "c" * 20,
            "signature": "s" * 20,
            "method": "pin",
            "pin": "1" * 50,
        },
        {
            "device_id": "device-000001",
            "challenge": "c" * 20,
            "signature": "s" * 20,
            "method": "pattern",
            "pattern": [9, 10],
        },
    ],
)
def test_malformed_logins_are_refused_cleanly(
    api: object, center: Center, body: dict[str, object]
) -> None:
    url = api.url
    with httpx.Client(base_url=url) as http:
        answer = http.post("/v1/login", json=body)
    assert answer.status_code == 422
    assert answer.json()["code"] == "INVALID_REQUEST"


@pytest.mark.parametrize("method", ["pin", "biometric"])
@pytest.mark.parametrize(
    ("change", "code"),
    [
        # a deregistered device's certificate is revoked with it: the login is told so
        ("revoked", "CERTIFICATE_REVOKED"),
        ("suspended", "CERTIFICATE_SUSPENDED"),
        ("deregistered", "CERTIFICATE_REVOKED"),
    ],
)
def test_a_change_between_the_checks_and_the_session_is_seen(
    new_flow: FlowFactory,
    center: Center,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    change: str,
    code: str,
) -> None:
    """The login reads its subject and checks the signature before it writes (on SQLite
    before it takes the write lock); a certificate revoked or suspended, or a device
    deregistered, in between is still refused by name, with the challenge used, no
    session opened and the certificate's last use left as it was."""
    flow, device = _issued_device(new_flow)
    serial = flow.current_serial()
    operator = ActorRef.operator("op", None)
    examine = center.login._examine
    with center.uow_factory(read_only=True) as uow:
        record = uow.certificates.get(serial)
        assert record is not None
        last_used = record.last_used_at

    def examine_then_change(uow: UnitOfWork, attempt: LoginAttempt) -> object:
        found = examine(uow, attempt)
        if change == "revoked":
            center.lifecycle.revoke(serial, "keyCompromise", operator)
        elif change == "suspended":
            center.lifecycle.suspend(serial, operator)
        else:
            center.lifecycle.deregister_device(device.device_id, operator)
        return found

    monkeypatch.setattr(center.login, "_examine", examine_then_change)
    client = app_client(flow)
    key = "biometric" if method == "biometric" else "certificate"
    issued_challenge = client.call("POST", "/v1/login/challenges", {"device_id": device.device_id})
    body = _answer(flow, device.device_id, issued_challenge, method=method, key=key)
    assert_refusal(_refused(lambda: client.call("POST", "/v1/login", body)), code)
    monkeypatch.undo()
    # the challenge was used up by the refusal
    assert_refusal(_refused(lambda: client.call("POST", "/v1/login", body)), "CHALLENGE_INVALID")
    with center.uow_factory(read_only=True) as uow:
        assert not [e for e in uow.audit.for_subject("certificate", serial) if e.action == "login"]
        record = uow.certificates.get(serial)
        assert record is not None and record.last_used_at == last_used


def _altered(challenge: str) -> list[str]:
    """The challenge with its expiry moved a day on, its random part or its tag changed, and
    a challenge of the same form the center never issued."""
    nonce, expiry, tag = challenge.split(".")

    def flipped(part: str) -> str:  # its first character changed, whatever it was
        return {"A": "B"}.get(part[0], "A") + part[1:]

    altered = [
        f"{nonce}.{int(expiry) + 86_400_000_000}.{tag}",
        f"{flipped(nonce)}.{expiry}.{tag}",
        f"{nonce}.{expiry}.{flipped(tag)}",
        f"{'x' * 43}.{expiry}.{'y' * 22}",
    ]
    assert challenge not in altered
    return altered


def test_a_challenge_is_the_centers_own_for_one_device_and_one_purpose(
    new_flow: FlowFactory, center: Center
) -> None:
    """A challenge is not stored until used: it carries its expiry and a tag keyed by the
    pepper over its device and purpose. Altered, made up, or presented by another device or
    for another purpose, it is refused, and a refusal leaves the real one usable."""
    flow, device = _issued_device(new_flow)
    client = app_client(flow)
    issued_challenge = client.call("POST", "/v1/login/challenges", {"device_id": device.device_id})
    for value in _altered(issued_challenge["challenge"]):
        body = {
            "device_id": device.device_id,
            "challenge": value,
            "signature": flow.keystore.sign(challenge_message("login", value)),
            "method": "pin",
            "pin": PIN,
        }
        assert_refusal(
            _refused(lambda body=body: client.call("POST", "/v1/login", body)),
            "CHALLENGE_INVALID",
        )
    authenticator = center.login.authenticator
    with center.uow_factory() as uow:
        for device_id, purpose in (("device-someone-else", "login"), (device.device_id, "revoke")):
            with pytest.raises(CertCenterError) as refused:
                authenticator.take_challenge(
                    uow,
                    device_id=device_id,
                    purpose=purpose,
                    challenge=issued_challenge["challenge"],
                )
            assert refused.value.code == "CHALLENGE_INVALID"
    body = _answer(flow, device.device_id, issued_challenge)
    assert client.call("POST", "/v1/login", body)["token"]


def test_one_challenge_sent_many_times_at_once_logs_in_once(
    new_flow: FlowFactory, center: Center
) -> None:
    flow, device = _issued_device(new_flow)
    issued_challenge = app_client(flow).call(
        "POST", "/v1/login/challenges", {"device_id": device.device_id}
    )
    body = _answer(flow, device.device_id, issued_challenge, method="biometric", key="biometric")

    def attempt(_: int) -> str:
        try:
            app_client(flow).call("POST", "/v1/login", body)
        except ApiError as err:
            return str(err.code)
        return "ok"

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "CHALLENGE_INVALID"}
