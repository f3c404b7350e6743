"""OpenSC's ``pkcs11-tool`` as the outside judge: the keys ``certcenter init`` made in the
token are listed there, each private key and secret sensitive and never extractable.

``pkcs11-tool`` (Debian ``opensc``) is its own process with its own C_Initialize: it reads the
token directory as any other PKCS#11 application would. Without it this test is skipped,
unless CERTCENTER_TEST_REQUIRE_SOFTHSM=1 (CI: ``.ci/run`` installs it) makes that a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from certcenter.cli.main import cli
from certcenter.pki.hierarchy import FAMILIES, ROOT
from tests.support.softhsm import SOFTHSM_MODULE, USER_PIN, SoftHsm

HELD = {"sensitive", "always sensitive", "never extractable", "local"}


def _pkcs11_tool() -> str:
    found = shutil.which("pkcs11-tool")
    if found is None:
        reason = "pkcs11-tool is not on PATH (apt-get install opensc)"
        if os.environ.get("CERTCENTER_TEST_REQUIRE_SOFTHSM") == "1":
            pytest.fail(f"pkcs11-tool required: {reason}")
        pytest.skip(reason)
    return found


def _objects(listing: str) -> list[dict[str, str]]:
    """``--list-objects`` read into one dict per object: ``kind`` (its heading, as
    ``Private Key Object; EC``) and each ``name: value`` line under it."""
    objects: list[dict[str, str]] = []
    for line in listing.splitlines():
        if re.match(r"^\S.* Object; ", line):
            objects.append({"kind": line.strip()})
        elif objects and (field := re.match(r"^\s+([A-Za-z_ ]+):\s+(.*)$", line)):
            objects[-1][field[1].strip()] = field[2].strip()
    return objects


def _access(found: dict[str, str]) -> set[str]:
    return {word.strip() for word in found.get("Access", "").split(",") if word.strip()}


def test_pkcs11_tool_lists_the_centers_keys_as_sensitive_and_never_extractable(
    softhsm: SoftHsm, tmp_path: Path
) -> None:
    tool = _pkcs11_tool()
    env = {
        "CERTCENTER_DATA_DIR": str(tmp_path / "data"),
        "CERTCENTER_KEY_BACKEND": "pkcs11",
        "CERTCENTER_PKCS11_MODULE": str(SOFTHSM_MODULE),
        "CERTCENTER_PKCS11_TOKEN_LABEL": "certcenter",
        "CERTCENTER_PKCS11_PIN": USER_PIN,
    }
    made = CliRunner().invoke(cli, ["--lang", "en", "init"], env=env)
    assert made.exit_code == 0, made.output
    listed = subprocess.run(
        [tool, "--module", str(SOFTHSM_MODULE), "--token-label", "certcenter",
         "--login", "--pin", USER_PIN, "--list-objects"],
        capture_output=True, text=True, check=False, timeout=60,
        env={**os.environ, "SOFTHSM2_CONF": str(softhsm.config)},
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    objects = _objects(listed.stdout)
    private = {o["label"]: o for o in objects if o["kind"].startswith("Private Key Object")}
    public = {o["label"]: o for o in objects if o["kind"].startswith("Public Key Object")}
    secrets = [o for o in objects if o["kind"].startswith("Secret Key Object")]

    ca_labels = [ROOT.key_label, *(spec.key_label for spec in FAMILIES)]
    for label in [*ca_labels, "audit-checkpoint", "mobile-ocsp"]:
        assert label in private, sorted(private)
        assert _access(private[label]) >= HELD, (label, private[label])
        assert "sign" in private[label]["Usage"]
        assert label in public  # its public half, readable as it should be
        assert "sensitive" not in _access(public[label])
    assert private["joint-ca"]["kind"] == "Private Key Object; RSA"
    assert private[ROOT.key_label]["kind"] == "Private Key Object; EC"
    # the secrets: an HMAC key and an AES key under each label, the customer keys' KEK
    secret_labels = {o["label"] for o in secrets}
    assert {"pepper", "data-seal", "customer-kek"} <= secret_labels
    # nothing in the token, whoever made it, can be read out
    for found in [*private.values(), *secrets]:
        assert _access(found) >= HELD, found
        assert "extractable" not in _access(found)  # what pkcs11-tool prints for CKA_EXTRACTABLE
