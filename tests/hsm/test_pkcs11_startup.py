"""A center on the PKCS#11 backend: set up in the token, and refused at start-up with the
catalog's words (never a traceback) when the module, the token or the PIN is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from certcenter.bootstrap import build_center
from certcenter.cli.main import cli
from certcenter.config import load_settings
from certcenter.keys import Pkcs11KeyBackend
from certcenter.keys.backend import signature_valid
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
    finally:
        center.close()
