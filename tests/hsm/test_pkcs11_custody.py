"""Key custody on SoftHSM2: a customer key re-wrapped inside the token under a new
key-encryption key still signs for its certificate and the old key is destroyed; a software
installation's secrets and customer keys moved into the token (``certcenter keys migrate``)
serve a center configured with ``key_backend_secrets`` and ``key_backend_customer`` =
``pkcs11``: an existing customer's PIN verifies and their financial certificate signs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pkcs11
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding
from pkcs11 import Attribute, KeyType, ObjectClass
from sqlalchemy import update

from certcenter.audit.ceremony import record_problem
from certcenter.bootstrap import SEAL_LABEL, Center, build_center, initialise
from certcenter.cli.main import cli
from certcenter.clock import FrozenClock
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys import Pkcs11KeyBackend
from certcenter.keys.backend import signature_valid
from certcenter.keys.pkcs8 import ScryptCost, seal_private_key
from certcenter.pki.cms import signed_attributes
from certcenter.storage import tables
from tests.conftest import START, _reset_postgres, make_settings
from tests.custody.support import cli_env
from tests.financial.support import PIN, Browser, customer, issue, remote_sign
from tests.support.softhsm import SOFTHSM_MODULE, USER_PIN, SoftHsm

TOKEN = "blank"


def _objects(
    backend: Pkcs11KeyBackend, attributes: dict[Attribute, Any] | None = None
) -> list[dict[str, Any]]:
    """What the token holds (class, key type, label and the protection attributes)."""

    def read(session: pkcs11.Session) -> list[dict[str, Any]]:
        found = []
        for item in session.get_objects({Attribute.TOKEN: True, **(attributes or {})}):
            row = {"label": item[Attribute.LABEL], "class": item[Attribute.CLASS]}
            if row["class"] in (ObjectClass.SECRET_KEY, ObjectClass.PRIVATE_KEY):
                row["sensitive"] = item[Attribute.SENSITIVE]
                row["extractable"] = item[Attribute.EXTRACTABLE]
                row["type"] = item[Attribute.KEY_TYPE]
            found.append(row)
        return found

    return backend._connection.run(USER_PIN, read)


def test_rewrap_in_the_token_keeps_the_key_and_never_shows_it(
    blank_backend: Pkcs11KeyBackend,
) -> None:
    backend = blank_backend
    backend.ensure_wrapping_key("kek-a")
    backend.ensure_wrapping_key("kek-b")
    made = backend.generate_wrapped_key("kek-a", "ec-p256")
    again = backend.rewrap("kek-a", "kek-b", made.wrapped)
    assert again != made.wrapped and again[:2] == made.wrapped[:2]  # format and kind kept
    signature = backend.sign_wrapped("kek-b", again, b"data")
    assert signature_valid(made.public_key, signature, b"data")
    with pytest.raises(CertCenterError) as wrong:
        backend.sign_wrapped("kek-a", again, b"data")  # not under the old one any more
    assert wrong.value.code == "KEY_NOT_FOUND"
    with pytest.raises(CertCenterError):
        backend.rewrap("kek-a", "kek-b", b"\x02\x00" + b"\x00" * 40)
    # nothing but the two key-encryption keys was stored: the unwrapped key was a
    # session object, and it is gone
    held = _objects(backend)
    assert sorted(row["label"] for row in held) == ["kek-a", "kek-b"]
    assert all(row["sensitive"] and not row["extractable"] for row in held)
    assert backend.delete_wrapping_key("kek-a") and not backend.delete_wrapping_key("kek-a")
    assert [row["label"] for row in _objects(backend)] == ["kek-b"]


def test_an_imported_secret_is_the_same_secret_and_a_different_one_is_refused(
    blank_backend: Pkcs11KeyBackend, tmp_path: Path
) -> None:
    from certcenter.keys import SoftwareKeyBackend

    software = SoftwareKeyBackend(tmp_path / "keys", "passphrase")
    software.ensure_secret("pepper")
    software.transfer_secret("pepper", blank_backend)
    software.transfer_secret("pepper", blank_backend)  # again: checked, kept, not doubled
    assert blank_backend.mac("pepper", b"x") == software.mac("pepper", b"x")
    sealed = software.encrypt("pepper", b"otp secret", b"context")
    assert blank_backend.decrypt("pepper", sealed, b"context") == b"otp secret"
    held = _objects(blank_backend, {Attribute.LABEL: "pepper"})
    assert sorted(row["type"] for row in held) == sorted([KeyType.GENERIC_SECRET, KeyType.AES])
    assert all(row["sensitive"] and not row["extractable"] for row in held)

    assert blank_backend.delete_secret("pepper") and not blank_backend.delete_secret("pepper")
    assert _objects(blank_backend) == []
    software.transfer_secret("pepper", blank_backend)  # taken in again, for the conflict below

    other = SoftwareKeyBackend(tmp_path / "other", "passphrase")
    other.ensure_secret("pepper")
    with pytest.raises(CertCenterError) as conflict:
        other.transfer_secret("pepper", blank_backend)
    assert conflict.value.code == "KEY_MIGRATION_CONFLICT"


# ---------------------------------------------------------------- a center on the token


@pytest.fixture
def software_settings(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, pki_dir: Path
) -> Settings:
    """A software installation of its own (its key directory a copy of the session's)."""
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    keys = tmp_path / "keys"
    shutil.copytree(pki_dir / "keys", keys, ignore=shutil.ignore_patterns("fin-*"))
    return make_settings(tmp_path, pki_dir, url, key_dir=keys)


def _token_settings(settings: Settings, **purposes: str) -> Settings:
    return make_settings(
        settings.data_dir,
        settings.ca_path.parent,
        settings.database_url if settings.database_url.startswith("postgresql") else None,
        key_dir=settings.keys_path,
        pkcs11_module=SOFTHSM_MODULE,
        pkcs11_token_label=TOKEN,
        pkcs11_pin=USER_PIN,
        **purposes,
    )


@pytest.fixture
def software_center(
    software_settings: Settings, blank_backend: Pkcs11KeyBackend, softhsm: SoftHsm
) -> Iterator[Center]:
    clock = FrozenClock(START)
    initialise(software_settings, clock)
    center = build_center(software_settings, clock)
    yield center
    center.close()


def _signs(center: Center, browser: Browser, device_id: str | None) -> None:
    signed = remote_sign(center, browser, device_id or "", b"transfer 50,000 KRW")
    certificate = center.remote_signer.signature(signed).certificate
    assert signed.signing_time is not None
    attributes = signed_attributes(b"transfer 50,000 KRW", signed.signing_time)
    assert signature_valid(certificate.public_key(), signed.signature, attributes)


def test_kek_rotation_in_the_token(
    software_settings: Settings, blank_backend: Pkcs11KeyBackend, softhsm: SoftHsm
) -> None:
    settings = _token_settings(software_settings, key_backend_customer="pkcs11")
    clock = FrozenClock(START)
    initialise(settings, clock)
    center = build_center(settings, clock)
    try:
        browser = Browser()
        issued = issue(center, browser)
        report = center.kek_rotation.rotate(operator="cli:kim")
        assert report.count.rewrapped == 1 and report.label == "customer-kek.2"
        _signs(center, browser, issued.device_id)  # re-wrapped in the token, still the key
        clock.advance(minutes=10)
        done = center.kek_rotation.rotate(operator="cli:kim", resume=True)
        assert done.deleted == ["customer-kek"]
        labels = {
            row["label"] for row in _objects(blank_backend, {Attribute.KEY_TYPE: KeyType.AES})
        }
        assert labels == {"customer-kek.2"}  # the old one is gone from the token
        _signs(center, browser, issued.device_id)
    finally:
        center.close()


def test_migrate_moves_secrets_and_customer_keys_into_the_token(
    software_center: Center, software_settings: Settings, blank_backend: Pkcs11KeyBackend
) -> None:
    center = software_center
    browser = Browser()
    issued = issue(center, browser)  # a financial certificate, its key wrapped in software
    with center.uow_factory() as uow:
        account = uow.cloud_accounts.active_for_customer(customer(center).id)
    assert account is not None and account.wrapped_key is not None
    assert account.wrapped_key[:1] == b"\x01"  # the software backend's blob
    older_browser = Browser()
    older = issue(center, older_browser, number="C003")
    _unwrap_into_a_key_file(center, "C003")  # an account made before keys were wrapped
    mobile_pin = center.hasher.hash("135790", purpose="pin")
    code = center.hasher.code_digest("482913", purpose="code:phone")
    lookup = center.hasher.digest("01020000001", purpose="sms-phone")
    sealed = center.key_backends.secrets.encrypt(SEAL_LABEL, b"otp seed", b"otp:1")

    env = {
        **cli_env(center),
        "CERTCENTER_PKCS11_MODULE": str(SOFTHSM_MODULE),
        "CERTCENTER_PKCS11_TOKEN_LABEL": TOKEN,
        "CERTCENTER_PKCS11_PIN": USER_PIN,
    }
    runner = CliRunner()
    plan = runner.invoke(cli, ["keys", "migrate", "--to", "pkcs11"], env=env)
    assert plan.exit_code == 0, plan.output
    for words in (
        "secret pepper: imported",
        "secret data-seal: imported",
        "key-encryption key customer-kek: imported to unwrap only",
        "key-encryption key customer-kek.2: made in the token",
        "customer keys: 1 re-wrapped under it, 1 of older accounts wrapped then re-wrapped",
        "root-ca: a signing key: not moved",
        "mobile-ca: a signing key: not moved; an issuing CA key is rolled over into the token",
        "rollover-ca --family joint",
        "audit-checkpoint: a signing key: not moved",
        "nothing changed",
    ):
        assert words in plan.stdout, words
    assert _objects(blank_backend) == []  # the plan changes nothing

    refused = runner.invoke(cli, ["keys", "migrate", "--to", "software"], env=env)
    assert refused.exit_code == 1 and "[KEY_MIGRATION_TARGET]" in refused.output
    no_pin = {key: value for key, value in env.items() if key != "CERTCENTER_PKCS11_PIN"}
    pinless = runner.invoke(cli, ["keys", "migrate", "--to", "pkcs11"], env=no_pin)
    assert pinless.exit_code == 1 and "[KEY_TOKEN_PIN_MISSING]" in pinless.output
    unknown = runner.invoke(cli, ["keys", "migrate", "--to", "kms"], env=env)
    assert unknown.exit_code == 1 and "[KEY_MIGRATION_TARGET]" in unknown.output
    assert "Traceback" not in refused.output + unknown.output

    applied = runner.invoke(cli, ["keys", "migrate", "--to", "pkcs11", "--apply"], env=env)
    assert applied.exit_code == 0, applied.output
    record = json.loads(applied.stdout)
    assert record["ceremony"] == "migrate-keys" and record["details"]["rewrapped"] == 1
    assert record["details"]["destroyed_in_token"] == ["customer-kek"]
    assert record["details"]["older_accounts_wrapped"] == 1
    assert list(software_settings.keys_path.glob("fin-*")) == []  # its key file is gone
    assert record_problem(record, center.ceremonies.public_key()) is None
    held = _objects(blank_backend)
    assert {row["label"] for row in held} == {
        "pepper",
        "data-seal",
        "security-card",
        "web-session",
        "customer-kek.2",
    }
    assert all(row["sensitive"] and not row["extractable"] for row in held)
    again = runner.invoke(cli, ["keys", "migrate", "--to", "pkcs11"], env=env)
    # a second run has nothing to do
    assert "customer keys: 0 re-wrapped under it, 0 of older" in again.stdout

    # the center, now configured with its secrets and customer keys in the token
    token_settings = _token_settings(
        software_settings, key_backend_secrets="pkcs11", key_backend_customer="pkcs11"
    )
    moved = build_center(token_settings, FrozenClock(START))
    try:
        assert isinstance(moved.key_backends.secrets, Pkcs11KeyBackend)
        assert isinstance(moved.key_backends.customer, Pkcs11KeyBackend)
        assert moved.hasher.verify(mobile_pin, "135790", purpose="pin")
        assert not moved.hasher.verify(mobile_pin, "135791", purpose="pin")
        assert moved.hasher.code_matches(code, "482913", purpose="code:phone")
        assert moved.hasher.digest("01020000001", purpose="sms-phone") == lookup
        assert moved.key_backends.secrets.decrypt(SEAL_LABEL, sealed, b"otp:1") == b"otp seed"
        # the financial certificate: its PIN checked, its key re-wrapped in the token signs
        _signs(moved, browser, issued.device_id)
        _signs(moved, older_browser, older.device_id)  # the older account's key, now a row
        with moved.uow_factory() as uow:
            moved_older = uow.cloud_accounts.active_for_customer(customer(moved, "C003").id)
        assert moved_older is not None and moved_older.wrapping_key_label == "customer-kek.2"
        with pytest.raises(CertCenterError) as wrong:
            remote_sign(moved, browser, issued.device_id or "", b"x", pin="000000")
        assert wrong.value.code == "FINANCIAL_AUTH_FAILED"
        # a new certificate is made with a key wrapped in the token
        other = Browser()
        fresh = issue(moved, other, number="C002", pin=PIN)
        with moved.uow_factory() as uow:
            made = uow.cloud_accounts.active_for_customer(customer(moved, "C002").id)
        assert made is not None and made.wrapping_key_label == "customer-kek.2"
        _signs(moved, other, fresh.device_id)
    finally:
        moved.close()


def _unwrap_into_a_key_file(center: Center, number: str) -> None:
    """Make the account's key one kept under its own label, as before keys were wrapped."""
    with center.uow_factory() as uow:
        account = uow.cloud_accounts.active_for_customer(customer(center, number).id)
    assert account is not None and account.wrapped_key is not None
    kek = center.key_backends.customer._secret("customer-kek")  # type: ignore[attr-defined]
    private = serialization.load_der_private_key(
        aes_key_unwrap_with_padding(kek, account.wrapped_key[1:]), None
    )
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    key_file = center.settings.keys_path / f"{account.key_label}.key.pem"
    key_file.write_bytes(seal_private_key(private, b"test-passphrase", ScryptCost(2**4, 8, 1)))
    table = tables.cloud_accounts
    with center.engine.begin() as connection:
        connection.execute(
            update(table)
            .where(table.c.id == account.id)
            .values(wrapped_key=None, wrapping_key_label=None)
        )
