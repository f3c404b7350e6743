"""A center on the PKCS#11 backend: set up in the token, and refused at start-up with the
catalog's words (never a traceback) when the module, the token or the PIN is wrong."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from certcenter.bootstrap import build_center
from certcenter.cli.main import cli
from certcenter.config import load_settings
from certcenter.keys import Pkcs11KeyBackend
from certcenter.keys.backend import signature_valid
from certcenter.lifecycle.service import ActorRef
from certcenter.pki.cms import signed_attributes
from tests.financial.support import Browser, cloud_keys, issue, remote_sign
from tests.support.softhsm import SOFTHSM_MODULE, USER_PIN, SoftHsm


def _environment(data_dir: Path, **values: str) -> dict[str, str]:
    return {
        "CERTCENTER_DATA_DIR": str(data_dir),
        "CERTCENTER_KEY_BACKEND": "pkcs11",
        "CERTCENTER_PKCS11_MODULE": str(SOFTHSM_MODULE),
        "CERTCENTER_PKCS11_TOKEN_LABEL": "certcenter",
        **values,
    }


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (
            {"CERTCENTER_PKCS11_TOKEN_LABEL": "pin-check", "CERTCENTER_PKCS11_PIN": "000000"},
            "The HSM token's PIN is wrong.",
        ),
        ({}, "The HSM token's PIN is not configured."),
        (
            {"CERTCENTER_PKCS11_MODULE": "/opt/vendor/libnone.so", "CERTCENTER_PKCS11_PIN": "1"},
            "The HSM's PKCS#11 module cannot be loaded.",
        ),
    ],
)
def test_init_refuses_a_token_it_cannot_use_in_words(
    softhsm: SoftHsm, tmp_path: Path, values: dict[str, str], words: str
) -> None:
    result = CliRunner().invoke(cli, ["--lang", "en", "init"], env=_environment(tmp_path, **values))
    assert result.exit_code != 0
    assert words in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "keys" / "demo-passphrase").exists()


def test_a_center_runs_on_the_token(softhsm: SoftHsm, tmp_path: Path) -> None:
    pin_file = tmp_path / "token-pin"
    pin_file.write_text(f"{USER_PIN}\n")
    env = _environment(tmp_path / "data", CERTCENTER_PKCS11_PIN_FILE=str(pin_file))
    result = CliRunner().invoke(cli, ["--lang", "en", "init"], env=env)
    assert result.exit_code == 0, result.output
    assert "CA ready" in result.output
    # no passphrase anywhere: nothing of the center's is in files but certificates
    assert not (tmp_path / "data" / "keys").exists()
    settings = load_settings(environ=env)
    center = build_center(settings)
    try:
        assert isinstance(center.keys, Pkcs11KeyBackend)
        report = center.readiness.run()
        assert report.ok, report.failures
        root = center.hierarchy().root.certificate
        assert center.keys.public_key("root-ca") == root.public_key()
        signature = center.keys.sign("audit-checkpoint", b"x")
        assert signature_valid(center.keys.public_key("audit-checkpoint"), signature, b"x")
        # the financial certificate: its key wrapped by the token, signing in the token
        browser = Browser()
        issued = issue(center, browser)
        signed = remote_sign(center, browser, issued.device_id or "", b"transfer 50,000 KRW")
        public = issued.certificate.public_key()
        # the key signs the CMS signed attributes over the data (contentType, signingTime,
        # messageDigest), as in every piece of evidence
        assert signed.signing_time is not None
        to_be_signed = signed_attributes(b"transfer 50,000 KRW", signed.signing_time)
        assert signature_valid(public, signed.signature, to_be_signed)
        assert not signature_valid(public, signed.signature, b"transfer 50,000 KRW")
        assert cloud_keys(center) != []
        center.lifecycle.revoke(issued.serial, "keyCompromise", ActorRef.operator("kim", None))
        assert cloud_keys(center) == []
    finally:
        center.close()


def test_ca_keys_and_secrets_in_the_token_ocsp_signers_in_software(
    softhsm: SoftHsm, tmp_path: Path
) -> None:
    env = _environment(
        tmp_path,
        CERTCENTER_KEY_BACKEND="software",
        CERTCENTER_KEY_BACKEND_CA="pkcs11",
        CERTCENTER_KEY_BACKEND_SECRETS="pkcs11",
        CERTCENTER_KEY_PASSPHRASE="software passphrase",
        CERTCENTER_PKCS11_PIN=USER_PIN,
    )
    result = CliRunner().invoke(cli, ["--lang", "en", "init"], env=env)
    assert result.exit_code == 0, result.output
    files = {path.name for path in (tmp_path / "keys").iterdir()}
    # in software: the OCSP responders' and the audit checkpoint's keys, and the customer
    # keys' key-encryption key; nothing of the CAs and no secret
    assert files == {
        "mobile-ocsp.key.pem",
        "financial-ocsp.key.pem",
        "joint-ocsp.key.pem",
        "audit-checkpoint.key.pem",
        "oidc-signing.key.pem",  # the ID tokens' key: an online signing key, as OCSP's
        "customer-kek.secret.json",
    }
    center = build_center(load_settings(environ=env))
    try:
        keys = center.key_backends
        assert isinstance(keys.ca, Pkcs11KeyBackend) and keys.secrets is keys.ca
        assert keys.ca.has_key("root-ca") and keys.ca.has_key("mobile-ca")
        assert not keys.ocsp.has_key("root-ca")
        hierarchy = center.hierarchy()
        signer = hierarchy.ocsp_signer("mobile")
        assert signer is not None
        # the responder's certificate: signed in the token for a key kept in software
        assert keys.ocsp.public_key(signer.key_label) == signer.certificate.public_key()
        ca = tmp_path / "ca"
        checked = subprocess.run(
            ["openssl", "verify", "-CAfile", ca / "root-ca.pem", "-untrusted",
             ca / "mobile-ca.pem", ca / "mobile-ocsp.pem"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stderr
        assert center.readiness.run().ok
    finally:
        center.close()
