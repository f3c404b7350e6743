"""Rotating the pepper: a new generation recorded and signed; a PIN hash of the old one still
verifies, and moves to the new one at the customer's next successful login (over HTTP, as
the app logs in); a wrong PIN is still counted; lookup digests and codes keep working."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from certcenter.audit.ceremony import CEREMONY_ACTION, record_problem
from certcenter.authn.hashing import SecretHasher
from certcenter.bootstrap import Center
from certcenter.cli.app_session import login
from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.main import cli
from certcenter.clock import FrozenClock
from certcenter.entities import Device
from certcenter.errors import CertCenterError
from tests.custody.support import cli_env
from tests.support.flow import Flow, FlowFactory
from tests.usage.support import PATTERN, PIN


@pytest.fixture
def clients() -> Iterator[list[CenterClient]]:
    made: list[CenterClient] = []
    yield made
    for client in made:
        client.close()


def _login(flow: Flow, clients: list[CenterClient], *, method: str = "pin", pin: str = PIN) -> None:
    client = CenterClient(str(flow.client.http.base_url))
    clients.append(client)
    login(client, flow.keystore, method=method, pin=pin, pattern=PATTERN)


def _device(center: Center, flow: Flow) -> Device:
    stored = flow.keystore.device()
    assert stored is not None
    with center.uow_factory() as uow:
        device = uow.devices.active_by_device_id(stored.device_id)
    assert device is not None and device.pin_hash is not None
    return device


def _counts(center: Center) -> dict[int, int]:
    return {use.generation: use.count for use in center.pepper_rotation.status()}


def test_rotate_then_log_in_moves_the_pin_hash_to_the_new_pepper(
    new_flow: FlowFactory, center: Center, clients: list[CenterClient]
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    before = _device(center, flow)
    assert SecretHasher.generation_of(before.pin_hash or "") == 1
    assert before.pin_hash is not None and before.pin_hash.startswith("$argon2id$")

    # the operator's command: a signed record on stdout, the same record in the trail
    runner = CliRunner()
    result = runner.invoke(cli, ["keys", "ceremony", "rotate", "pepper"], env=cli_env(center))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["ceremony"] == "rotate-pepper"
    assert record["details"]["generation"] == 2 and record["details"]["label"] == "pepper.2"
    assert record_problem(record, center.ceremonies.public_key()) is None
    assert "pepper generation 2 (pepper.2) is current" in result.stderr
    assert (center.settings.keys_path / "pepper.2.secret.json").is_file()
    with center.uow_factory() as uow:
        trail = uow.audit.for_subject("key-ceremony", "rotate-pepper")
    assert [entry.action for entry in trail] == [CEREMONY_ACTION]
    counts = _counts(center)
    assert counts[2] == 0 and counts[1] >= 2  # this device's PIN and pattern, at least

    # a running server reads the new generation within 30 seconds
    assert isinstance(center.clock, FrozenClock)
    center.clock.advance(seconds=30)

    # a wrong PIN is refused and counted, and nothing is re-hashed
    with pytest.raises(ApiError) as refused:
        _login(flow, clients, pin="000000")
    assert refused.value.code in {"DEVICE_AUTH_FAILED", "AUTH_FAILED"}
    assert refused.value.problem.get("tries_left") is not None or "tries" in str(
        refused.value.problem
    )
    assert _device(center, flow).pin_hash == before.pin_hash

    # the right PIN: verified under generation 1, then stored again under generation 2
    _login(flow, clients)
    after = _device(center, flow)
    assert after.pin_hash is not None and after.pin_hash.startswith("$pepper-g2$argon2id$")
    assert SecretHasher.generation_of(after.pin_hash) == 2
    assert after.pattern_hash == before.pattern_hash  # not typed yet: still generation 1
    assert center.hasher.verify(after.pin_hash, PIN, purpose="pin")
    assert not center.hasher.verify(after.pin_hash, "000000", purpose="pin")
    assert _counts(center)[2] == 1

    # the pattern moves at its own next login; logging in again leaves the hash alone
    _login(flow, clients, method="pattern")
    moved = _device(center, flow)
    assert SecretHasher.generation_of(moved.pattern_hash or "") == 2
    _login(flow, clients)
    assert _device(center, flow).pin_hash == after.pin_hash
    assert _counts(center)[2] == 2

    status = runner.invoke(cli, ["keys", "pepper-status", "--json"], env=cli_env(center))
    assert status.exit_code == 0, status.output
    by_generation = {row["generation"]: row for row in json.loads(status.stdout)}
    assert by_generation[2] == {
        "generation": 2,
        "label": "pepper.2",
        "current": True,
        "count": 2,
        "retired": False,
    }


def test_the_wrong_pin_still_counts_towards_the_lock_after_a_rotation(
    new_flow: FlowFactory, center: Center, clients: list[CenterClient]
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    center.pepper_rotation.rotate(operator="cli:kim")
    codes = []
    for _ in range(center.settings.policy.pin_max_failures):
        with pytest.raises(ApiError) as refused:
            _login(flow, clients, pin="000000")
        codes.append(refused.value.code)
    assert codes[-1] == "PIN_LOCKED"
    with pytest.raises(ApiError) as locked:
        _login(flow, clients)  # the right PIN, too late
    assert locked.value.code == "PIN_LOCKED"
    assert SecretHasher.generation_of(_device(center, flow).pin_hash or "") == 1


def test_an_old_generation_hash_verifies_before_it_is_rehashed(center: Center) -> None:
    hasher = center.hasher
    old = hasher.hash("480213", purpose="pin")
    code = hasher.code_digest("482913", purpose="code:phone")
    lookup = hasher.digest("01020000001", purpose="sms-phone")
    assert not hasher.needs_rehash(old)

    done = center.pepper_rotation.rotate(operator="cli:kim")
    assert [use.generation for use in done.status] == [1, 2]

    assert hasher.verify(old, "480213", purpose="pin")  # still, under pepper 1
    assert not hasher.verify(old, "480214", purpose="pin")
    assert hasher.needs_rehash(old)
    new = hasher.rehashed(old, "480213", purpose="pin")
    assert new is not None and SecretHasher.generation_of(new) == 2
    assert hasher.verify(new, "480213", purpose="pin") and not hasher.needs_rehash(new)
    assert hasher.rehashed(new, "480213", purpose="pin") is None
    # a hash is bound to its generation: the marker cannot be moved to another one
    assert not hasher.verify(new.replace("$pepper-g2$", "", 1), "480213", purpose="pin")
    assert not hasher.verify("$pepper-g1" + old, "480213", purpose="pin")
    assert not hasher.verify(new.replace("-g2$", "-g7$", 1), "480213", purpose="pin")

    # a code sent before the rotation still matches; new codes are made under pepper 2
    assert hasher.code_matches(code, "482913", purpose="code:phone")
    fresh = hasher.code_digest("482913", purpose="code:phone")
    assert fresh.startswith("hmac-sha256$g2$") and fresh != code
    assert hasher.code_matches(fresh, "482913", purpose="code:phone")
    assert not hasher.code_matches(fresh, "482914", purpose="code:phone")
    assert not hasher.code_matches(fresh.replace("$g2$", "$g9$"), "482913", purpose="code:phone")
    # lookup digests stay under generation 1: existing rows are still found
    assert hasher.digest("01020000001", purpose="sms-phone") == lookup

    # a second rotation: generation 3; generation 2 hashes still verify
    center.pepper_rotation.rotate(operator="cli:kim")
    assert hasher.verify(new, "480213", purpose="pin") and hasher.needs_rehash(new)
    assert hasher.hash("480213", purpose="pin").startswith("$pepper-g3$")


def test_the_financial_pin_moves_at_the_next_remote_signature(center: Center) -> None:
    from tests.financial.support import PIN as FINANCIAL_PIN
    from tests.financial.support import Browser, customer, issue, remote_sign

    browser = Browser()
    issued = issue(center, browser)

    def pin_hash() -> str:
        with center.uow_factory() as uow:
            account = uow.cloud_accounts.active_for_customer(customer(center).id)
        assert account is not None
        return account.pin_hash

    old = pin_hash()
    center.pepper_rotation.rotate(operator="cli:kim")
    with pytest.raises(CertCenterError) as refused:
        remote_sign(center, browser, issued.device_id or "", b"x", pin="000000")
    assert refused.value.code == "FINANCIAL_AUTH_FAILED"
    assert pin_hash() == old
    remote_sign(center, browser, issued.device_id or "", b"x", pin=FINANCIAL_PIN)
    assert SecretHasher.generation_of(pin_hash()) == 2


def test_two_rotations_at_once_one_is_refused(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another operator's rotation recorded generation 2 after this one read the table."""
    rotation = center.pepper_rotation
    stale = rotation.status()
    rotation.rotate(operator="cli:lee")
    monkeypatch.setattr(rotation, "status", lambda: stale)
    with pytest.raises(CertCenterError) as raced:
        rotation.rotate(operator="cli:kim")
    assert raced.value.code == "KEY_ROTATION_RACED"
    monkeypatch.undo()
    assert [use.generation for use in rotation.status()] == [1, 2]
    with center.uow_factory() as uow:  # one record in the trail: the rotation that was made
        trail = uow.audit.for_subject("key-ceremony", "rotate-pepper")
    assert [entry.actor for entry in trail] == ["cli:lee"]


def test_an_unused_older_pepper_is_destroyed_once_the_newest_has_settled(
    center: Center,
) -> None:
    clock = center.clock
    assert isinstance(clock, FrozenClock)
    rotation = center.pepper_rotation
    rotation.rotate(operator="cli:kim")
    made_under_2 = center.hasher.hash("480213", purpose="pin")  # never stored
    rotation.rotate(operator="cli:kim")
    keys_dir = center.settings.keys_path

    early = rotation.retire_unused(operator="cli:kim")
    assert early.destroyed == [] and "can go from" in early.kept["pepper.2"]
    assert "lookup digests" in early.kept["pepper"]
    clock.advance(minutes=10)
    runner = CliRunner()
    result = runner.invoke(cli, ["keys", "ceremony", "retire-peppers"], env=cli_env(center))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["ceremony"] == "retire-pepper" and record["details"]["destroyed"] == ["pepper.2"]
    assert record_problem(record, center.ceremonies.public_key()) is None
    assert not (keys_dir / "pepper.2.secret.json").exists()
    assert (keys_dir / "pepper.secret.json").is_file() and (
        keys_dir / "pepper.3.secret.json"
    ).is_file()
    statuses = {use.label: use for use in rotation.status()}
    assert statuses["pepper.2"].retired_at is not None and statuses["pepper.3"].current
    # what was made under a destroyed pepper can no longer be checked (nothing was stored);
    # this process knows within 30 s
    clock.advance(seconds=30)
    assert not center.hasher.verify(made_under_2, "480213", purpose="pin")


def test_a_challenge_issued_just_before_a_rotation_is_still_taken(
    new_flow: FlowFactory, center: Center
) -> None:
    """A device challenge's tag is keyed by the pepper: one issued under the older generation
    is still the center's own after the rotation, until it expires."""
    flow = new_flow("C001")
    flow.through("csr")
    device = flow.keystore.device()
    assert device is not None
    before = center.login.challenge(device.device_id)
    result = CliRunner().invoke(cli, ["keys", "ceremony", "rotate", "pepper"], env=cli_env(center))
    assert result.exit_code == 0, result.output
    assert isinstance(center.clock, FrozenClock)
    center.clock.advance(seconds=30)  # the running center now tags under generation 2
    assert [use.generation for use in center.pepper_rotation.status() if use.current] == [2]
    after = center.login.challenge(device.device_id)
    with center.uow_factory() as uow:
        for issued in (before, after):
            center.login.authenticator.take_challenge(
                uow, device_id=device.device_id, purpose="login", challenge=issued.challenge
            )
        uow.commit()
