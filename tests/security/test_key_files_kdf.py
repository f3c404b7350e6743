"""The CA key files resist an offline guess at the passphrase: `certcenter init` writes every
private key as PKCS#8 under scrypt (OpenSSL reads it), never PBKDF2 with 2048 rounds; a key
store of an older version opens as before and its files are rewritten under scrypt."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from certcenter.cli.main import cli
from certcenter.keys.pkcs8 import Kdf, kdf_of

PASSPHRASE = "a long and random key-store passphrase, 2026"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "CERTCENTER_DATA_DIR": str(tmp_path / "var"),
        "CERTCENTER_KEY_PASSPHRASE": PASSPHRASE,
        "CERTCENTER_LANG": "en",
    }


def _key_files(keys: Path) -> list[Path]:
    return sorted(keys.glob("*.key.pem"))


def _openssl_structure(path: Path) -> str:
    return subprocess.run(
        ["openssl", "asn1parse", "-in", str(path)], capture_output=True, check=True, timeout=30
    ).stdout.decode()


def test_init_writes_every_key_under_scrypt(env: dict[str, str], tmp_path: Path) -> None:
    made = CliRunner().invoke(cli, ["init"], env=env)
    assert made.exit_code == 0, made.output
    files = _key_files(tmp_path / "var" / "keys")
    assert {p.name for p in files} >= {"root-ca.key.pem", "audit-checkpoint.key.pem"}
    for path in files:
        assert kdf_of(path.read_bytes()) == Kdf("scrypt", 2**14, 8, 2), path.name
        structure = _openssl_structure(path)
        assert ":scrypt" in structure and "PBKDF2" not in structure, path.name
        opened = subprocess.run(
            ["openssl", "pkey", "-in", str(path), "-passin", "env:CC_PASS", "-noout"],
            env={**os.environ, "CC_PASS": PASSPHRASE},
            capture_output=True,
            check=False,
            timeout=30,
        )
        assert opened.returncode == 0, opened.stderr


def test_an_older_key_store_opens_and_is_rewritten_under_scrypt(
    env: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    keys = tmp_path / "var" / "keys"
    root_certificate = (tmp_path / "var" / "ca" / "root-ca.pem").read_bytes()
    # the key store as an older version wrote it: the same keys under PBKDF2, 2048 rounds
    for path in _key_files(keys):
        key = serialization.load_pem_private_key(path.read_bytes(), PASSPHRASE.encode())
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(PASSPHRASE.encode()),
            )
        )
        assert kdf_of(path.read_bytes()) == Kdf("pbkdf2", 2048)

    # the next start checks the keys against the CA certificates: they open, as before
    again = runner.invoke(cli, ["init"], env=env)
    assert again.exit_code == 0, again.output
    assert (tmp_path / "var" / "ca" / "root-ca.pem").read_bytes() == root_certificate
    assert kdf_of((keys / "root-ca.key.pem").read_bytes()).name == "scrypt"

    # a key the start did not open is rewritten the first time it is used
    checked = runner.invoke(cli, ["audit", "checkpoint"], env=env)
    assert checked.exit_code == 0, checked.output
    # (the ID tokens' key is first used by a login through the OpenID provider: not here)
    used = [p for p in _key_files(keys) if not p.name.startswith("oidc-signing")]
    assert {p.name: kdf_of(p.read_bytes()).name for p in used} == {p.name: "scrypt" for p in used}
