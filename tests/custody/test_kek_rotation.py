"""Rotating the customer keys' key-encryption key (software backend): every live cloud key is
re-wrapped under the new one and still signs for its certificate; new keys are wrapped under
it; the old one is destroyed once nothing uses it and the new one has settled; an
interrupted rotation is resumed, and a new one is refused until then."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from certcenter.audit.ceremony import record_problem
from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from certcenter.clock import FrozenClock
from certcenter.entities import CloudAccount
from certcenter.errors import CertCenterError
from certcenter.keys.backend import signature_valid
from certcenter.pki.cms import signed_attributes
from tests.custody.support import cli_env
from tests.financial.support import Browser, customer, issue, remote_sign


def _account(center: Center, number: str) -> CloudAccount:
    with center.uow_factory() as uow:
        account = uow.cloud_accounts.active_for_customer(customer(center, number).id)
    assert account is not None
    return account


def _signs(center: Center, browser: Browser, device_id: str | None, number: str) -> None:
    """A remote signature that verifies with the certificate's public key."""
    data = f"transfer from {number}".encode()
    signed = remote_sign(center, browser, device_id or "", data)
    public = signed.certificate_der and center.remote_signer.signature(signed).certificate
    assert public is not None and signed.signing_time is not None
    to_be_signed = signed_attributes(data, signed.signing_time)
    assert signature_valid(public.public_key(), signed.signature, to_be_signed)


def test_rotate_rewraps_every_key_then_destroys_the_old_one(center: Center) -> None:
    clock = center.clock
    assert isinstance(clock, FrozenClock)
    holders = {number: Browser() for number in ("C001", "C002")}
    issued = {number: issue(center, b, number=number) for number, b in holders.items()}
    before = {number: _account(center, number).wrapped_key for number in holders}
    keys_dir = center.settings.keys_path
    assert (keys_dir / "customer-kek.secret.json").is_file()

    report = center.kek_rotation.rotate(operator="cli:kim")
    record = report.record.document()
    assert record_problem(record, center.ceremonies.public_key()) is None
    details = record["details"]
    assert details["label"] == "customer-kek.2" and details["rewrapped"] == 2
    assert details["deleted"] == [] and "customer-kek" in details["kept"]
    with center.uow_factory() as uow:
        trail = uow.audit.for_subject("key-ceremony", "rotate-kek")
    assert [entry.details["signature"] for entry in trail] == [record["signature"]]

    for number, browser in holders.items():
        account = _account(center, number)
        assert account.wrapping_key_label == "customer-kek.2"
        assert account.wrapped_key != before[number]
        _signs(center, browser, issued[number].device_id, number)  # the same key, re-wrapped

    # this process reads the new generation within 30 s: new keys are wrapped under it
    clock.advance(seconds=30)
    third = Browser()
    issue(center, third, number="C003")
    assert _account(center, "C003").wrapping_key_label == "customer-kek.2"

    # the old key is kept until the new one has settled, then destroyed by a resume
    early = center.kek_rotation.rotate(operator="cli:kim", resume=True)
    assert early.deleted == [] and "customer-kek" in early.kept
    assert (keys_dir / "customer-kek.secret.json").is_file()
    clock.advance(minutes=10)
    done = center.kek_rotation.rotate(operator="cli:kim", resume=True)
    assert done.deleted == ["customer-kek"] and done.record.details["deleted"] == ["customer-kek"]
    assert not (keys_dir / "customer-kek.secret.json").exists()
    status = CliRunner().invoke(cli, ["keys", "kek-status", "--json"], env=cli_env(center))
    rows = {row["label"]: row for row in json.loads(status.stdout)}
    assert rows["customer-kek"]["retired"] and rows["customer-kek"]["count"] == 0
    assert rows["customer-kek.2"]["current"] and rows["customer-kek.2"]["count"] == 3
    for number, browser in holders.items():
        _signs(center, browser, issued[number].device_id, number)


def test_an_interrupted_rotation_is_resumed_and_a_new_one_refused_until_then(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    holders = {number: Browser() for number in ("C001", "C002", "C003")}
    issued = {number: issue(center, b, number=number) for number, b in holders.items()}
    keys = center.key_backends.customer
    real = keys.rewrap
    calls: list[str] = []

    def dies_after_one(old_label: str, new_label: str, wrapped: bytes) -> bytes:
        if calls:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or the machine going down
        calls.append(old_label)
        return real(old_label, new_label, wrapped)

    monkeypatch.setattr(keys, "rewrap", dies_after_one)
    with pytest.raises(KeyboardInterrupt):
        center.kek_rotation.rotate(operator="cli:kim", batch=2)
    monkeypatch.undo()
    labels = sorted(_account(center, n).wrapping_key_label or "" for n in holders)
    assert labels == ["customer-kek", "customer-kek", "customer-kek.2"]
    # every key still signs meanwhile: each under the key-encryption key it names
    for number, browser in holders.items():
        _signs(center, browser, issued[number].device_id, number)

    runner = CliRunner()
    refused = runner.invoke(cli, ["keys", "ceremony", "rotate", "kek"], env=cli_env(center))
    assert refused.exit_code == 1
    assert "[KEK_ROTATION_UNFINISHED]" in refused.output and "Traceback" not in refused.output
    assert "2 customer keys" in refused.output and "--resume" in refused.output
    with pytest.raises(CertCenterError) as unfinished:
        center.kek_rotation.rotate(operator="cli:kim")
    assert unfinished.value.code == "KEK_ROTATION_UNFINISHED"

    resumed = runner.invoke(
        cli, ["keys", "ceremony", "rotate", "kek", "--resume", "--batch", "1"], env=cli_env(center)
    )
    assert resumed.exit_code == 0, resumed.output
    record = json.loads(resumed.stdout)
    assert record["ceremony"] == "rotate-kek" and record["details"]["resumed"] is True
    assert record["details"]["rewrapped"] == 2 and record["details"]["label"] == "customer-kek.2"
    assert record_problem(record, center.ceremonies.public_key()) is None
    assert "2 customer keys re-wrapped under customer-kek.2" in resumed.stderr
    assert {_account(center, n).wrapping_key_label for n in holders} == {"customer-kek.2"}
    for number, browser in holders.items():
        _signs(center, browser, issued[number].device_id, number)


def test_a_key_that_does_not_unwrap_is_reported_and_keeps_the_old_key(center: Center) -> None:
    issue(center, Browser())
    account = _account(center, "C001")
    with center.uow_factory() as uow:  # a damaged row: not a key under customer-kek
        assert uow.cloud_accounts.rewrap(
            account.id, "customer-kek", account.wrapped_key or b"", "customer-kek", b"\x01junk"
        )
        uow.commit()
    clock = center.clock
    assert isinstance(clock, FrozenClock)
    report = center.kek_rotation.rotate(operator="cli:kim")
    assert report.count.failed == [account.id] and report.count.rewrapped == 0
    clock.advance(minutes=11)
    again = center.kek_rotation.rotate(operator="cli:kim", resume=True)
    assert again.deleted == [] and "1 customer keys still wrapped" in again.kept["customer-kek"]
    assert (center.settings.keys_path / "customer-kek.secret.json").is_file()


def test_a_signature_raced_by_the_rotation_reads_the_key_again(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row was read under the old key-encryption key, then re-wrapped and the old key
    destroyed before the signature: the signer reads the row again and signs."""
    browser = Browser()
    issued = issue(center, browser)
    clock = center.clock
    assert isinstance(clock, FrozenClock)
    keys = center.key_backends.customer
    real = keys.sign_wrapped
    labels: list[str] = []

    def rotated_meanwhile(wrapping_label: str, wrapped: bytes, data: bytes) -> bytes:
        labels.append(wrapping_label)
        if len(labels) == 1:
            center.kek_rotation.rotate(operator="cli:kim")
            clock.advance(minutes=10)
            assert center.kek_rotation.rotate(operator="cli:kim", resume=True).deleted
        return real(wrapping_label, wrapped, data)

    monkeypatch.setattr(keys, "sign_wrapped", rotated_meanwhile)
    _signs(center, browser, issued.device_id, "C001")
    assert labels == ["customer-kek", "customer-kek.2"]
