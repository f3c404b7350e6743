"""Key ceremonies with the root key on a token of its own (SoftHSM2's ``blank`` token), the
rest of the center in software: the root never leaves the token, and with the token away
the center starts and only the root's ceremonies are refused."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from certcenter.bootstrap import build_center, initialise
from certcenter.cli.main import cli
from certcenter.config import load_settings
from certcenter.keys import Pkcs11KeyBackend, software
from certcenter.pki.crl import ROOT_CRL_FAMILY
from tests.support.softhsm import SOFTHSM_MODULE, USER_PIN

TEST_SCRYPT_N = 2**4  # the software keys' scrypt cost in tests (tests/conftest.py says why)


# Looking for the absent token re-initialises the module (a token put back is seen only after
# C_Initialize), which ends every session of this process; python-pkcs11 then complains, in a
# destructor, about an object search of such a session. Here the ceremonies and the center
# share one process; the center's backend opens new sessions (the warning logged), as it must.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_root_on_its_own_token(
    blank_backend: Pkcs11KeyBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(software, "_SCRYPT_N", TEST_SCRYPT_N)
    monkeypatch.setattr(software, "_KEY_SCRYPT_N", TEST_SCRYPT_N)
    env = {
        "CERTCENTER_DATA_DIR": str(tmp_path / "data"),
        "CERTCENTER_KEY_PASSPHRASE": "ceremony passphrase",
        "CERTCENTER_SIMULATORS_ENABLED": "false",
        "CERTCENTER_LANG": "en",
        "CERTCENTER_KEY_BACKEND_ROOT": "pkcs11",
        "CERTCENTER_PKCS11_MODULE": str(SOFTHSM_MODULE),
        "CERTCENTER_ROOT_PKCS11_TOKEN_LABEL": "blank",
        "CERTCENTER_PKCS11_PIN": USER_PIN,
    }
    away = {**env, "CERTCENTER_ROOT_PKCS11_TOKEN_LABEL": "root-token-in-the-safe"}
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "ceremony", "init-root"], env=env)
    assert made.exit_code == 0, made.output
    record = json.loads(made.stdout)
    assert record["details"]["root"]["backend"] == "pkcs11"
    assert blank_backend.has_key("root-ca")
    ca = tmp_path / "data" / "ca"
    root_certificate = (ca / "root-ca.pem").read_bytes()
    assert blank_backend.public_key("root-ca") == _public_key(root_certificate)
    assert not (tmp_path / "data" / "keys" / "root-ca.key.pem").exists()

    for family in ("mobile", "financial", "joint"):
        issued = runner.invoke(cli, ["keys", "ceremony", "issue-ca", "--family", family], env=env)
        assert issued.exit_code == 0, issued.output
        checked = subprocess.run(
            ["openssl", "verify", "-CAfile", str(ca / "root-ca.pem"), str(ca / f"{family}-ca.pem")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stderr
    signed = runner.invoke(cli, ["keys", "ceremony", "sign-root-crl"], env=env)
    assert signed.exit_code == 0, signed.output

    # the token in the safe: the center starts and serves the root's CRL signed at the
    # ceremony; signing another waits for the next ceremony
    settings = load_settings(environ=away)
    initialise(settings)
    center = build_center(settings)
    try:
        assert center.readiness.run().ok
        assert not center.revocation.crls.root_key_here()
        der = bytes(center.revocation.crls.current(ROOT_CRL_FAMILY, 0).der)
    finally:
        center.close()
    (tmp_path / "root.crl").write_bytes(der)
    arl = ["-inform", "DER", "-in", str(tmp_path / "root.crl")]
    checked = subprocess.run(
        ["openssl", "crl", *arl, "-CAfile", str(ca / "root-ca.pem"), "-noout"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0 and "verify OK" in checked.stdout + checked.stderr, checked
    # last: looking for the absent token re-initialises the module (see above)
    refused = runner.invoke(cli, ["keys", "ceremony", "sign-root-crl"], env=away)
    assert refused.exit_code == 1 and "[ROOT_KEY_NOT_PRESENT]" in refused.output, refused.output


def _public_key(pem: bytes) -> object:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem).public_key()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_software_issuing_ca_rolls_over_into_the_token(
    blank_backend: Pkcs11KeyBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/operations.md's move into the HSM: the old CA key stays in software and signs
    its CRL; the new one is made in the token and issues from then on."""
    monkeypatch.setattr(software, "_SCRYPT_N", TEST_SCRYPT_N)
    monkeypatch.setattr(software, "_KEY_SCRYPT_N", TEST_SCRYPT_N)
    env = {
        "CERTCENTER_DATA_DIR": str(tmp_path / "data"),
        "CERTCENTER_KEY_PASSPHRASE": "ceremony passphrase",
        "CERTCENTER_SIMULATORS_ENABLED": "false",
        "CERTCENTER_LANG": "en",
    }
    initialise(load_settings(environ=env))  # a software installation
    into_token = {
        **env,
        "CERTCENTER_KEY_BACKEND_CA": "pkcs11",
        "CERTCENTER_KEY_BACKEND_CA_RETIRED": "software",
        "CERTCENTER_PKCS11_MODULE": str(SOFTHSM_MODULE),
        "CERTCENTER_PKCS11_TOKEN_LABEL": "blank",
        "CERTCENTER_PKCS11_PIN": USER_PIN,
    }
    runner = CliRunner()
    # the old key must sign the cross-certificate: without its backend, nothing is made
    # (the root found in software here, as an offline root would be on its medium)
    alone = {k: v for k, v in into_token.items() if k != "CERTCENTER_KEY_BACKEND_CA_RETIRED"}
    alone |= {
        "CERTCENTER_KEY_BACKEND_ROOT": "software",
        "CERTCENTER_ROOT_KEY_DIR": str(tmp_path / "data" / "keys"),
    }
    refused = runner.invoke(
        cli, ["keys", "ceremony", "rollover-ca", "--family", "joint"], env=alone
    )
    assert refused.exit_code == 1 and "[CA_KEY_NOT_PRESENT]" in refused.output, refused.output
    assert not blank_backend.has_key("joint-ca.2")
    done = runner.invoke(
        cli, ["keys", "ceremony", "rollover-ca", "--family", "joint"], env=into_token
    )
    assert done.exit_code == 0, done.output
    details = json.loads(done.stdout)["details"]
    assert details["new"]["backend"] == "pkcs11" and details["new"]["key_label"] == "joint-ca.2"
    assert details["new"]["key_kind"] == "RSA-2048"
    assert blank_backend.has_key("joint-ca.2") and not blank_backend.has_key("joint-ca")
    assert (tmp_path / "data" / "keys" / "joint-ca.key.pem").is_file()  # the old key stays
    record = tmp_path / "record.json"
    record.write_text(done.stdout, "utf-8")
    assert runner.invoke(cli, ["keys", "verify-record", str(record)], env=into_token).exit_code == 0

    ca = tmp_path / "data" / "ca"
    settings = load_settings(environ=into_token)
    center = build_center(settings)
    try:
        assert center.hierarchy().issuing("joint").key_label == "joint-ca.2"
        new_crl = bytes(center.revocation.crls.publish("joint", 0).der)  # both generations
        with center.uow_factory(read_only=True) as uow:
            first = uow.crls.latest("joint", 0)
        assert first is not None
        first_crl = bytes(first.der)
    finally:
        center.close()
    for der, issuing in ((new_crl, "joint-ca.2.pem"), (first_crl, "joint-ca.pem")):
        (tmp_path / "check.crl").write_bytes(der)
        checked = subprocess.run(
            [
                "openssl",
                "crl",
                "-inform",
                "DER",
                "-in",
                str(tmp_path / "check.crl"),
                "-CAfile",
                str(ca / issuing),
                "-noout",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert "verify OK" in checked.stdout + checked.stderr, (issuing, checked)
    for name in ("joint-ca.2.pem", "joint-ca.2-cross.pem"):
        checked = subprocess.run(
            [
                "openssl",
                "verify",
                "-CAfile",
                str(ca / "root-ca.pem"),
                "-untrusted",
                str(ca / "joint-ca.pem"),
                str(ca / name),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, (name, checked.stderr)
