"""The CA's key ceremonies as an operator holds them: ``certcenter keys ceremony …`` through
click on a new installation whose root key lives apart (``root_key_dir``, a medium attached
only during ceremonies). OpenSSL judges the chains, the OCSP answers and the root's CRL.

The installation is the test's own (its own keys and CA folder, SQLite): the ceremonies make
the CA, which the session's shared center must not see change.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from certcenter.bootstrap import Center, build_center, initialise
from certcenter.cli.main import cli
from certcenter.config import Settings, load_settings
from certcenter.errors import CertCenterError
from certcenter.keys import software
from certcenter.pki.crl import ROOT_CRL_FAMILY
from certcenter.revocation import ocsp_responder
from certcenter.server import create_app

PASSPHRASE = "ceremony passphrase"
TEST_SCRYPT_N = 2**4  # the keys' scrypt cost in tests (tests/conftest.py says why)


@dataclass
class Installation:
    """A new installation, its root key's medium, and the commands run on it."""

    settings: Settings
    root_medium: Path
    env: dict[str, str]
    runner: CliRunner

    def run(self, *args: str) -> Result:
        return self.runner.invoke(cli, list(args), env=self.env)

    def ok(self, *args: str) -> dict[str, Any]:
        """Run a ceremony that succeeds; its printed record."""
        result = self.run(*args)
        assert result.exit_code == 0, result.output
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    def refused(self, code: str, *args: str) -> None:
        result = self.run(*args)
        assert result.exit_code == 1, result.output
        assert f"[{code}]" in result.output, result.output

    def detach_root(self) -> None:
        self.root_medium.rename(self.root_medium.with_name("root-medium-away"))

    def attach_root(self) -> None:
        self.root_medium.with_name("root-medium-away").rename(self.root_medium)

    def ca(self, name: str) -> Path:
        return self.settings.ca_path / name


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Installation:
    monkeypatch.setattr(software, "_SCRYPT_N", TEST_SCRYPT_N)
    monkeypatch.setattr(software, "_KEY_SCRYPT_N", TEST_SCRYPT_N)
    data, medium = tmp_path / "data", tmp_path / "root-medium"
    env = {
        "CERTCENTER_DATA_DIR": str(data),
        "CERTCENTER_KEY_PASSPHRASE": PASSPHRASE,
        "CERTCENTER_ROOT_KEY_DIR": str(medium),
        "CERTCENTER_SIMULATORS_ENABLED": "false",
        "CERTCENTER_LANG": "en",
    }
    settings = load_settings(
        environ={},
        data_dir=data,
        key_passphrase=PASSPHRASE,
        root_key_dir=medium,
        simulators_enabled=False,
    )
    return Installation(settings, medium, env, CliRunner())


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


def _verify_record(inst: Installation, document: dict[str, Any], tmp: Path) -> Result:
    path = tmp / f"{document['ceremony']}.json"
    path.write_text(json.dumps(document), "utf-8")
    return inst.run("keys", "verify-record", str(path))


def _hold_the_first_ceremonies(inst: Installation) -> dict[str, dict[str, Any]]:
    records = {"root": inst.ok("keys", "ceremony", "init-root")}
    for family in ("mobile", "financial", "joint"):
        records[family] = inst.ok("keys", "ceremony", "issue-ca", "--family", family)
    return records


def test_the_root_and_the_issuing_cas_are_made_at_ceremonies(
    installation: Installation, tmp_path: Path
) -> None:
    inst = installation
    inst.refused("ROOT_CEREMONY_NEEDED", "init")  # set-up never makes a root kept apart
    records = _hold_the_first_ceremonies(inst)

    root = records["root"]
    assert root["ceremony"] == "init-root"
    facts = root["details"]["root"]
    certificate = x509.load_pem_x509_certificate(inst.ca("root-ca.pem").read_bytes())
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    assert facts["key_id"] == digest.finalize().hex()
    assert facts["certificate_sha256"] == certificate.fingerprint(hashes.SHA256()).hex()
    assert facts["backend"] == "software" and facts["key_kind"] == "EC P-384"
    assert facts["not_after"] == certificate.not_valid_after_utc.isoformat()
    assert root["details"]["root_key_apart"] is True
    assert (inst.root_medium / "root-ca.key.pem").is_file()  # on the medium only
    assert not (inst.settings.keys_path / "root-ca.key.pem").exists()

    for family in ("mobile", "financial", "joint"):
        record = records[family]
        assert record["details"]["family"] == family
        assert record["details"]["root_key_id"] == facts["key_id"]
        assert record["details"]["ca"]["file"] == f"{family}-ca.pem"
        chain = inst.ca(f"{family}-chain.pem")
        checked = _openssl(
            "verify", "-CAfile", str(inst.ca("root-ca.pem")), str(inst.ca(f"{family}-ca.pem"))
        )
        assert checked.returncode == 0, checked.stderr
        signer = _openssl(
            "verify", "-CAfile", str(chain), "-partial_chain", str(inst.ca(f"{family}-ocsp.pem"))
        )
        assert signer.returncode == 0, signer.stderr
        assert _verify_record(inst, record, tmp_path).exit_code == 0

    good = _verify_record(inst, root, tmp_path)
    assert good.exit_code == 0 and "record of init-root" in good.output, good.output
    forged = dict(root, details={**root["details"], "key_made": False})
    bad = _verify_record(inst, forged, tmp_path)
    assert bad.exit_code == 1 and "does not verify" in bad.output, bad.output

    # the trail keeps each record, with the statement's digest
    center = build_center(inst.settings)
    try:
        with center.uow_factory() as uow:
            entries = [
                e for e in uow.audit.entries(after_seq=0, limit=1000) if e.action == "key.ceremony"
            ]
    finally:
        center.close()
    assert [e.subject for e in entries] == ["init-root", "issue-ca", "issue-ca", "issue-ca"]
    assert entries[0].details["signature"] == root["signature"]


def test_ceremonies_refuse_with_their_codes(installation: Installation) -> None:
    inst = installation
    # before the root: no installation yet for any command but init-root
    inst.refused("INSTALLATION_NOT_FOUND", "keys", "ceremony", "issue-ca", "--family", "mobile")
    inst.ok("keys", "ceremony", "init-root")
    inst.refused("ROOT_ALREADY_EXISTS", "keys", "ceremony", "init-root")
    inst.refused("CA_FAMILY_UNKNOWN", "keys", "ceremony", "issue-ca", "--family", "corporate")
    inst.detach_root()
    inst.refused("ROOT_KEY_NOT_PRESENT", "keys", "ceremony", "issue-ca", "--family", "mobile")
    assert not inst.ca("mobile-ca.pem").exists()
    assert not (inst.settings.keys_path / "mobile-ca.key.pem").exists()  # nothing made
    inst.attach_root()
    inst.ok("keys", "ceremony", "issue-ca", "--family", "mobile")
    before = inst.ca("mobile-ca.pem").read_bytes()
    inst.refused("CA_ALREADY_EXISTS", "keys", "ceremony", "issue-ca", "--family", "mobile")
    assert inst.ca("mobile-ca.pem").read_bytes() == before
    inst.refused(
        "CA_FAMILY_UNKNOWN", "keys", "ceremony", "rotate", "ocsp-signer", "--family", "corporate"
    )
    # a family's responder rotates once its CA is there, whatever the other families'
    inst.refused(
        "CA_NOT_INITIALISED", "keys", "ceremony", "rotate", "ocsp-signer", "--family", "financial"
    )
    rotated = inst.ok("keys", "ceremony", "rotate", "ocsp-signer", "--family", "mobile")
    assert rotated["details"]["new"]["file"] == "mobile-ocsp.2.pem"


def test_without_the_root_the_center_starts_and_only_the_root_crl_is_refused(
    installation: Installation, tmp_path: Path
) -> None:
    inst = installation
    _hold_the_first_ceremonies(inst)
    inst.detach_root()
    report = initialise(inst.settings)  # what `certcenter serve` does first
    assert report.hierarchy.root.certificate.subject.rfc4514_string().startswith("CN=")
    center = build_center(inst.settings)
    try:
        assert center.readiness.run().ok
        crls = center.revocation.crls
        assert not crls.root_key_here()
        published = crls.publish_due()
        assert published and all(p.family != ROOT_CRL_FAMILY for p in published)
        with pytest.raises(CertCenterError) as refused:
            crls.current(ROOT_CRL_FAMILY, 0)
        assert refused.value.code == "ROOT_KEY_NOT_PRESENT"
        answer = _get(center, "/crl/root.crl")  # no root CRL signed yet
        assert answer.status_code == 503 and "ROOT_KEY_NOT_PRESENT" in answer.text
        assert _get(center, "/crl/mobile-0.crl").status_code == 200
    finally:
        center.close()
    inst.refused("ROOT_KEY_NOT_PRESENT", "keys", "ceremony", "sign-root-crl")

    inst.attach_root()
    record = inst.ok("keys", "ceremony", "sign-root-crl")
    assert record["details"]["crl_number"] == 1 and record["details"]["entries"] == 0
    assert _verify_record(inst, record, tmp_path).exit_code == 0
    inst.detach_root()
    center = build_center(inst.settings)
    try:
        served = center.revocation.crls.current(ROOT_CRL_FAMILY, 0)  # stored, not re-signed
        answer = _get(center, "/crl/root.crl")
    finally:
        center.close()
    assert served.number == 1
    assert answer.status_code == 200 and answer.content == bytes(served.der)
    arl = tmp_path / "root.crl"
    arl.write_bytes(bytes(served.der))
    checked = _openssl(
        "crl", "-inform", "DER", "-in", str(arl), "-CAfile", str(inst.ca("root-ca.pem")), "-noout"
    )
    assert checked.returncode == 0 and "verify OK" in checked.stderr + checked.stdout, checked
    parsed = x509.load_der_x509_crl(bytes(served.der))
    validity = parsed.next_update_utc - parsed.last_update_utc  # type: ignore[operator]
    assert validity.days == inst.settings.policy.root_crl_validity_days


def test_a_rotated_ocsp_signer_answers_for_the_running_responder(
    installation: Installation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = installation
    _hold_the_first_ceremonies(inst)
    inst.detach_root()  # rotating the OCSP signer needs the issuing CA, not the root
    initialise(inst.settings)
    center = build_center(inst.settings)  # the running server's responder
    try:
        request = tmp_path / "request.der"
        made = _openssl(
            "ocsp",
            "-issuer",
            str(inst.ca("mobile-ca.pem")),
            "-serial",
            "0x1234ABCD",
            "-no_nonce",  # OpenSSL checks a response against its own request's nonce
            "-reqout",
            str(request),
        )
        assert made.returncode == 0, made.stderr
        before = center.revocation.ocsp.respond(request.read_bytes())
        assert _responder_key(before) == _certificate_key(inst.ca("mobile-ocsp.pem"))

        record = inst.ok("keys", "ceremony", "rotate", "ocsp-signer", "--family", "mobile")
        details = record["details"]
        assert details["new"]["key_label"] == "mobile-ocsp.2"
        assert details["old"]["key_label"] == "mobile-ocsp"
        assert details["old_key_kept_until"] == details["old"]["not_after"]
        assert details["new"]["key_id"] != details["old"]["key_id"]
        assert _verify_record(inst, record, tmp_path).exit_code == 0
        new_certificate = inst.ca("mobile-ocsp.2.pem")
        checked = _openssl(
            "verify",
            "-CAfile",
            str(inst.ca("root-ca.pem")),
            "-untrusted",
            str(inst.ca("mobile-ca.pem")),
            str(new_certificate),
        )
        assert checked.returncode == 0, checked.stderr
        assert (inst.settings.keys_path / "mobile-ocsp.key.pem").is_file()  # the old key stays

        monkeypatch.setattr(ocsp_responder, "SIGNER_REREAD_SECONDS", 0.0)  # a minute later
        after = center.revocation.ocsp.respond(request.read_bytes())
    finally:
        center.close()
    assert _responder_key(after) == _certificate_key(new_certificate)
    response = tmp_path / "response.der"
    response.write_bytes(after)
    verified = _openssl(
        "ocsp",
        "-respin",
        str(response),
        "-reqin",
        str(request),
        "-CAfile",
        str(inst.ca("root-ca.pem")),
        "-verify_other",
        str(inst.ca("mobile-chain.pem")),
        "-issuer",
        str(inst.ca("mobile-ca.pem")),
        "-serial",
        "0x1234ABCD",
    )
    assert verified.returncode == 0, verified.stderr
    assert "Response verify OK" in verified.stderr, verified.stderr
    # a second rotation takes the next generation; a new server process reads it at once
    inst.ok("keys", "ceremony", "rotate", "ocsp-signer", "--family", "mobile")
    fresh = build_center(inst.settings)
    try:
        third = fresh.revocation.ocsp.respond(request.read_bytes())
    finally:
        fresh.close()
    assert _responder_key(third) == _certificate_key(inst.ca("mobile-ocsp.3.pem"))


def _get(center: Center, path: str) -> httpx.Response:
    """``path`` from the center's app, in this process."""

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(center))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            return await c.get(path)

    return asyncio.run(get())


def _responder_key(der: bytes) -> bytes:
    """The key of the responder certificate a response carries (OpenSSL checks the rest)."""
    response = ocsp.load_der_ocsp_response(der)
    assert response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    return _spki(response.certificates[0])


def _certificate_key(path: Path) -> bytes:
    return _spki(x509.load_pem_x509_certificate(path.read_bytes()))


def _spki(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_the_root_key_stays_on_the_ca_backend_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(software, "_SCRYPT_N", TEST_SCRYPT_N)
    monkeypatch.setattr(software, "_KEY_SCRYPT_N", TEST_SCRYPT_N)
    env = {
        "CERTCENTER_DATA_DIR": str(tmp_path / "data"),
        "CERTCENTER_KEY_PASSPHRASE": PASSPHRASE,
        "CERTCENTER_SIMULATORS_ENABLED": "false",
        "CERTCENTER_LANG": "en",
    }
    runner = CliRunner()
    made = runner.invoke(cli, ["keys", "ceremony", "init-root"], env=env)
    assert made.exit_code == 0, made.output
    record = json.loads(made.stdout)
    assert record["details"]["root_key_apart"] is False
    assert (tmp_path / "data" / "keys" / "root-ca.key.pem").is_file()
    # set-up makes the issuing CAs under the ceremony's root, as before
    init = runner.invoke(cli, ["init"], env=env)
    assert init.exit_code == 0, init.output
    root = tmp_path / "data" / "ca" / "root-ca.pem"
    assert (
        x509.load_pem_x509_certificate(root.read_bytes()).fingerprint(hashes.SHA256()).hex()
        == (record["details"]["root"]["certificate_sha256"])
    )
    checked = _openssl(
        "verify", "-CAfile", str(root), str(tmp_path / "data" / "ca" / "joint-ca.pem")
    )
    assert checked.returncode == 0, checked.stderr
