"""Cloud keys stored wrapped with their account: destroyed in the same transaction as the
revocation or re-issue that ends them, so a crash never leaves a key behind."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding
from sqlalchemy import update

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.financial.cloud import WRAPPING_KEY_LABEL
from certcenter.keys.pkcs8 import ScryptCost, seal_private_key
from certcenter.lifecycle.service import ActorRef
from certcenter.storage import tables
from tests.financial.support import Browser, cloud_keys, customer, issue, remote_sign

OPERATOR = ActorRef.operator("kim", "10.0.0.5")


def _account(center: Center, number: str = "C001"):  # type: ignore[no-untyped-def]
    with center.uow_factory() as uow:
        return uow.cloud_accounts.active_for_customer(customer(center, number).id)


def test_an_operator_revocation_destroys_the_cloud_key_with_it(center: Center) -> None:
    browser = Browser()
    issued = issue(center, browser)
    account = _account(center)
    assert account is not None and cloud_keys(center) == [account.key_label]
    center.lifecycle.revoke(issued.serial, "keyCompromise", OPERATOR)
    assert cloud_keys(center) == []
    assert _account(center) is None
    with center.uow_factory() as uow:
        closed = uow.cloud_accounts.get(account.id)
    assert closed is not None and closed.status == "deleted" and closed.wrapped_key is None
    with pytest.raises(CertCenterError):
        remote_sign(center, browser, issued.device_id or "", b"after the revocation")


def test_the_revocation_and_the_key_destruction_commit_or_fail_together(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    issued = issue(center, Browser())
    (label,) = cloud_keys(center)

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process dies before the commit")

    # the notice is written after the key's row changed, in the same transaction
    monkeypatch.setattr(center.lifecycle.notifier, "notify", crash)
    with pytest.raises(RuntimeError):
        center.lifecycle.revoke(issued.serial, "keyCompromise", OPERATOR)
    assert cloud_keys(center) == [label]  # rolled back: the key is still there...
    with center.uow_factory() as uow:
        record = uow.certificates.get(issued.serial)
    assert record is not None and record.status == "active"  # ...with its certificate
    monkeypatch.undo()
    center.lifecycle.revoke(issued.serial, "keyCompromise", OPERATOR)
    assert cloud_keys(center) == []


def test_a_reissue_that_crashes_leaves_no_orphan_key(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = Browser()
    first = issue(center, browser)
    before = cloud_keys(center)
    made: list[bytes] = []
    generate = center.cloud_certificates.keys.generate_wrapped_key

    def watched(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        key = generate(*args, **kwargs)  # type: ignore[arg-type]
        made.append(key.wrapped)
        return key

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process dies inside the activation")

    monkeypatch.setattr(center.cloud_certificates.keys, "generate_wrapped_key", watched)
    # the browser is registered in the activation's transaction, after the new account
    monkeypatch.setattr(center.cloud_certificates.devices, "register", crash)
    with pytest.raises(RuntimeError):
        issue(center, Browser(), pin="591734")
    assert len(made) == 1  # a key was made...
    assert cloud_keys(center) == before  # ...and exists nowhere: the old one is still whole
    with center.engine.connect() as connection:
        stored = connection.execute(tables.cloud_accounts.select()).all()
    assert all(row.wrapped_key != made[0] for row in stored)
    assert not list(center.settings.keys_path.glob("fin-*"))
    # the first certificate still signs
    signed = remote_sign(center, browser, first.device_id or "", b"still mine")
    assert signed.certificate_serial == first.serial


@pytest.mark.software_keys
def test_a_cloud_key_from_before_wrapping_still_signs_and_is_destroyed(
    center: Center,
) -> None:
    """An account whose key the backend holds under its own label (made by an earlier
    version): signing uses it, deleting the account destroys it."""
    browser = Browser()
    issued = issue(center, browser)
    account = _account(center)
    assert account is not None and account.wrapped_key is not None
    kek = center.keys._secret(WRAPPING_KEY_LABEL)  # type: ignore[attr-defined]
    private = serialization.load_der_private_key(
        aes_key_unwrap_with_padding(kek, account.wrapped_key[1:]), None
    )
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    key_file = center.settings.keys_path / f"{account.key_label}.key.pem"
    key_file.write_bytes(
        seal_private_key(private, b"test-passphrase", ScryptCost(n=2**4, r=8, p=1))
    )
    table = tables.cloud_accounts
    with center.engine.begin() as connection:
        connection.execute(
            update(table)
            .where(table.c.id == account.id)
            .values(wrapped_key=None, wrapping_key_label=None)
        )
    assert cloud_keys(center) == [account.key_label]  # the file only
    signed = remote_sign(center, browser, issued.device_id or "", b"legacy")
    assert signed.certificate_serial == issued.serial
    center.cloud_certificates.delete(customer(center).id, ActorRef.customer("C001", None))
    assert not key_file.exists()
    assert cloud_keys(center) == []
