"""Remote PIN lockout: a stranger who knows only a device id cannot lock its owner's PIN.

The device's signature over the single-use challenge is checked before any PIN try is counted;
a bogus signature is counted against the stranger's address, never against the owner.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import threading

import pytest

from certcenter.authn.device_auth import challenge_message
from certcenter.authn.factors import DEVICE_KEY, address_subject
from certcenter.bootstrap import Center
from certcenter.enrollment.service import StartRequest
from certcenter.errors import CertCenterError
from certcenter.lifecycle.customer_actions import DeviceProof
from certcenter.usage.login import LoginAttempt
from tests.lifecycle.support import PIN as LIFECYCLE_PIN
from tests.support.flow import Flow, FlowFactory
from tests.usage.support import PIN

ATTACKER = "198.51.100.66"
OWNER = "10.20.30.40"
BOGUS = base64.b64encode(b"\x30\x06\x02\x01\x01\x02\x01\x01").decode()  # a well-formed nothing


def _issued(new_flow: FlowFactory) -> tuple[Flow, str]:
    flow = new_flow("C001")
    flow.through("csr")
    device = flow.keystore.device()
    assert device is not None
    return flow, device.device_id


def _login(center: Center, flow: Flow, device_id: str, *, pin: str, ip: str, sign: bool) -> str:
    issued = center.login.challenge(device_id)
    signature = flow.keystore.sign(challenge_message("login", issued.challenge)) if sign else BOGUS
    try:
        center.login.login(
            LoginAttempt(device_id, issued.challenge, signature, "pin", pin, source_ip=ip)
        )
    except CertCenterError as err:
        return err.code
    return "ok"


def _pin_failures(center: Center) -> int:
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        counter = uow.factors.get(customer.id, "pin")
        return 0 if counter is None else counter.failures


def test_counting_five_bogus_logins_do_not_lock_the_owner(
    new_flow: FlowFactory, center: Center
) -> None:
    flow, device_id = _issued(new_flow)
    codes = [
        _login(center, flow, device_id, pin="000000", ip=ATTACKER, sign=False) for _ in range(5)
    ]
    assert codes == ["DEVICE_AUTH_FAILED"] * 3 + ["AUTH_LAST_TRY", "DEVICE_PROOF_LOCKED"], codes
    # the stranger's address is refused from now on, whatever it sends
    assert _login(center, flow, device_id, pin=PIN, ip=ATTACKER, sign=False) == (
        "DEVICE_PROOF_LOCKED"
    )
    assert _pin_failures(center) == 0
    with center.uow_factory() as uow:
        counter = uow.factors.get(address_subject(ATTACKER), DEVICE_KEY)
        assert counter is not None and counter.locked_at is not None
    # the owner, with the right key and PIN, logs in
    assert _login(center, flow, device_id, pin=PIN, ip=OWNER, sign=True) == "ok"


def test_counting_bogus_lifecycle_proofs_do_not_lock_the_owner(
    new_flow: FlowFactory, center: Center
) -> None:
    flow, device_id = _issued(new_flow)
    serial = flow.current_serial()
    for _ in range(5):
        challenge = center.customer_actions.challenge(device_id, "revoke")
        proof = DeviceProof(device_id, challenge.challenge, BOGUS, "000000")
        with pytest.raises(CertCenterError) as refused:
            center.customer_actions.revoke(serial, proof, "keyCompromise", ATTACKER)
        assert refused.value.code in ("DEVICE_AUTH_FAILED", "AUTH_LAST_TRY", "DEVICE_PROOF_LOCKED")
    assert _pin_failures(center) == 0
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
        assert record is not None and record.status == "active"
    # the owner still renews with the right key and PIN
    challenge = center.customer_actions.challenge(device_id, "renew")
    signature = flow.keystore.sign(challenge_message("renew", challenge.challenge))
    proof = DeviceProof(device_id, challenge.challenge, signature, LIFECYCLE_PIN)
    center.customer_actions.renew(serial, proof, OWNER)


@pytest.mark.parametrize("threads", [16, 200])
def test_counting_a_proven_device_with_wrong_pins_counts_the_policy_number(
    new_flow: FlowFactory, center: Center, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    """Threads at once, each with a valid signature and a wrong PIN: exactly the policy's
    tries are compared with the stored PIN hash and counted, then the PIN is locked."""
    flow, device_id = _issued(new_flow)
    limit = center.settings.policy.pin_max_failures
    compared: list[str] = []
    verify = center.hasher.verify

    def counted_verify(encoded: str, secret: str, *, purpose: str) -> bool:
        compared.append(purpose)
        return verify(encoded, secret, purpose=purpose)

    monkeypatch.setattr(center.hasher, "verify", counted_verify)
    # the challenges first, so that the wrong PINs arrive together
    challenges = [center.login.challenge(device_id).challenge for _ in range(threads)]
    start = threading.Barrier(min(threads, 32))

    def attempt(challenge: str) -> str:
        signature = flow.keystore.sign(challenge_message("login", challenge))
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait(timeout=10)
        try:
            center.login.login(
                LoginAttempt(device_id, challenge, signature, "pin", "000000", source_ip=OWNER)
            )
        except CertCenterError as err:
            return err.code
        return "ok"

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(threads, 32)) as pool:
        codes = list(pool.map(attempt, challenges))
    checked = codes.count("DEVICE_AUTH_FAILED") + codes.count("AUTH_LAST_TRY")
    assert checked == limit - 1, codes
    assert codes.count("AUTH_LAST_TRY") == 1, codes
    assert codes.count("PIN_LOCKED") + codes.count("AUTH_BUSY") == threads - checked, codes
    assert "DEVICE_PROOF_LOCKED" not in codes and "ok" not in codes
    assert compared.count("pin") == limit, compared  # no try past the limit reached the hash
    assert _pin_failures(center) == limit
    with center.uow_factory(read_only=True) as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        counter = uow.factors.get(customer.id, "pin")
        assert counter is not None and counter.locked_at is not None
    # locked: even the right PIN is not compared any more
    assert _login(center, flow, device_id, pin=PIN, ip=OWNER, sign=True) == "PIN_LOCKED"
    assert compared.count("pin") == limit


def test_counting_bogus_reissue_proofs_do_not_lock_the_owner(
    new_flow: FlowFactory, center: Center
) -> None:
    """The shortened re-issue shares the check: five bogus starts leave the owner's PIN be."""
    flow, device_id = _issued(new_flow)

    def start(ip: str, *, sign: bool, pin: str) -> str:
        with center.uow_factory() as uow:
            challenge = center.customer_actions.authenticator.issue_challenge(
                uow, device_id=device_id, purpose="reissue"
            )
            uow.commit()
        message = challenge_message("reissue", challenge.challenge)
        request = StartRequest(
            device_id=device_id,
            platform="android",
            device_model="SM-S928N",
            app_version="5.2.0",
            client_ip=ip,
            reissue_challenge=challenge.challenge,
            reissue_signature=flow.keystore.sign(message) if sign else BOGUS,
            reissue_pin=pin,
        )
        try:
            center.mobile_enrollment.start(request)
        except CertCenterError as err:
            return err.code
        return "ok"

    codes = [start(ATTACKER, sign=False, pin="000000") for _ in range(5)]
    assert codes[-1] == "DEVICE_PROOF_LOCKED", codes
    assert _pin_failures(center) == 0
    assert start(OWNER, sign=True, pin=PIN) == "ok"
