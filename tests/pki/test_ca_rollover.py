"""Rolling an issuing CA over to a new key (``certcenter keys ceremony rollover-ca``) on an
installation whose root key lives apart: what the old key issued and what the new key
issues both verify with OpenSSL (the new ones also through the cross-certificate), each CA
generation's CRL and OCSP answer for its own certificates, and the record verifies.

One installation for the module: the ceremonies, a certificate before and one after.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID

from certcenter.bootstrap import Center, build_center, initialise
from certcenter.cli.main import cli
from certcenter.config import Settings, load_settings
from certcenter.entities import Customer
from certcenter.keys import software
from certcenter.lifecycle.service import ActorRef
from certcenter.server import create_app
from certcenter.signing.signer import chain_above
from tests.revocation.support import record_active
from tests.support.pkilint import Linter

PASSPHRASE = "rollover passphrase"
TEST_SCRYPT_N = 2**4  # the keys' scrypt cost in tests (tests/conftest.py says why)
OPERATOR = ActorRef.operator("tester", None)
pytestmark = pytest.mark.xdist_group("ca-rollover")  # one installation for the module


@dataclass
class Rolled:
    settings: Settings
    env: dict[str, str]
    ca: Path
    record: dict[str, Any]
    old_good: x509.Certificate
    old_revoked: x509.Certificate
    new_good: x509.Certificate
    new_revoked: x509.Certificate
    refusals: dict[str, str]
    center: Center

    def pem(self, certificate: x509.Certificate, name: str) -> Path:
        path = self.ca.parent / f"{name}.pem"
        path.write_bytes(certificate.public_bytes(Encoding.PEM))
        return path


def _run(runner: CliRunner, env: dict[str, str], *args: str) -> Result:
    return runner.invoke(cli, list(args), env=env)


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


def _add_customers(center: Center) -> None:
    """C001 … C004: one active mobile certificate each."""
    with center.uow_factory() as uow:
        for n in range(1, 5):
            uow.customers.add(
                Customer(
                    id=f"rollover-customer-{n}",
                    customer_number=f"C00{n}",
                    name="홍길동",
                    ci=f"ci-rollover-{n}",
                    birth_date=date(1990, 1, 1),
                    phone=f"0109999000{n}",
                    created_at=center.clock.now(),
                )
            )
        uow.commit()


def _revoke(center: Center, certificate: x509.Certificate) -> None:
    center.lifecycle.revoke(f"{certificate.serial_number:X}", "keyCompromise", OPERATOR)


@pytest.fixture(scope="module")
def rolled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rolled]:
    tmp = tmp_path_factory.mktemp("rollover")
    data, medium = tmp / "data", tmp / "root-medium"
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
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(software, "_SCRYPT_N", TEST_SCRYPT_N)
        patch.setattr(software, "_KEY_SCRYPT_N", TEST_SCRYPT_N)
        assert _run(runner, env, "keys", "ceremony", "init-root").exit_code == 0
        for family in ("mobile", "financial", "joint"):
            made = _run(runner, env, "keys", "ceremony", "issue-ca", "--family", family)
            assert made.exit_code == 0, made.output
        initialise(settings)
        before = build_center(settings)
        try:
            _add_customers(before)
            old_good = record_active(before, "C001")
            old_revoked = record_active(before, "C002")
        finally:
            before.close()

        refusals = {}
        for code, args, away in (
            ("CA_FAMILY_UNKNOWN", ("--family", "corporate"), False),
            ("ROOT_KEY_NOT_PRESENT", ("--family", "mobile"), True),
        ):
            if away:
                medium.rename(tmp / "root-medium-away")
            refused = _run(runner, env, "keys", "ceremony", "rollover-ca", *args)
            if away:
                (tmp / "root-medium-away").rename(medium)
            refusals[code] = f"{refused.exit_code} {refused.output}"
        refusals["nothing made"] = str(
            sorted(p.name for p in settings.ca_path.glob("mobile-ca.2*"))
        )
        done = _run(runner, env, "keys", "ceremony", "rollover-ca", "--family", "mobile")
        assert done.exit_code == 0, done.output
        record = json.loads(done.stdout)

        center = build_center(settings)  # the servers, restarted
        try:
            new_good = record_active(center, "C003")
            new_revoked = record_active(center, "C004")
            _revoke(center, old_revoked)  # the old key lists it after the rollover
            _revoke(center, new_revoked)
            yield Rolled(
                settings,
                env,
                settings.ca_path,
                record,
                old_good,
                old_revoked,
                new_good,
                new_revoked,
                refusals,
                center,
            )
        finally:
            center.close()


def _get(center: Center, path: str) -> httpx.Response:
    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(center))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as c:
            return await c.get(path)

    return asyncio.run(get())


def _url_path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _crl_url(certificate: x509.Certificate) -> str:
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    name = points[0].full_name
    assert name is not None
    return str(name[0].value)


def _ca_issuers_url(certificate: x509.Certificate) -> str:
    aia = certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    return next(
        str(d.access_location.value)
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
    )


def test_refusals_are_catalog_codes_and_make_nothing(rolled: Rolled) -> None:
    for code in ("CA_FAMILY_UNKNOWN", "ROOT_KEY_NOT_PRESENT"):
        assert rolled.refusals[code].startswith("1 ") and f"[{code}]" in rolled.refusals[code]
    assert rolled.refusals["nothing made"] == "[]"


def test_the_record_states_the_rollover_and_verifies(rolled: Rolled, tmp_path: Path) -> None:
    details = rolled.record["details"]
    assert rolled.record["ceremony"] == "rollover-ca"
    assert details["family"] == "mobile" and details["generation"] == 2
    assert details["new"]["key_label"] == "mobile-ca.2"
    assert details["new"]["file"] == "mobile-ca.2.pem"
    assert details["old"]["key_label"] == "mobile-ca"
    assert details["cross"]["file"] == "mobile-ca.2-cross.pem"
    assert details["new"]["key_id"] != details["old"]["key_id"]
    assert details["new"]["subject"] == details["old"]["subject"]  # the same CA, a new key
    assert details["ocsp_signer"]["key_label"] == "mobile.2-ocsp"
    path = tmp_path / "record.json"
    path.write_text(json.dumps(rolled.record), "utf-8")
    checked = CliRunner().invoke(cli, ["keys", "verify-record", str(path)], env=rolled.env)
    assert checked.exit_code == 0 and "record of rollover-ca" in checked.output, checked.output
    with rolled.center.uow_factory() as uow:
        subjects = [
            e.subject
            for e in uow.audit.entries(after_seq=0, limit=1000)
            if e.action == "key.ceremony"
        ]
    assert subjects[-1] == "rollover-ca"


def test_certificates_from_before_and_after_verify_against_their_chains(rolled: Rolled) -> None:
    ca = rolled.ca
    old_leaf = rolled.pem(rolled.old_good, "old-leaf")
    new_leaf = rolled.pem(rolled.new_good, "new-leaf")
    root = ca / "root-ca.pem"
    # the issuer chooses the new key; what the old key issued still chains through it
    assert rolled.new_good.issuer == rolled.old_good.issuer
    for leaf, issuing in ((old_leaf, ca / "mobile-ca.pem"), (new_leaf, ca / "mobile-ca.2.pem")):
        checked = _openssl("verify", "-CAfile", root, "-untrusted", issuing, leaf)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    wrong = _openssl("verify", "-CAfile", root, "-untrusted", ca / "mobile-ca.pem", new_leaf)
    assert wrong.returncode != 0  # the old CA certificate alone does not vouch for the new key
    # the chain file is the new CA's now
    chain = _openssl("verify", "-CAfile", root, "-untrusted", ca / "mobile-chain.pem", new_leaf)
    assert chain.returncode == 0, chain.stderr
    # a relying party holding the old chain: through the cross-certificate
    old_chain = ca.parent / "old-chain.pem"
    old_chain.write_bytes(
        (ca / "mobile-ca.2-cross.pem").read_bytes() + (ca / "mobile-ca.pem").read_bytes()
    )
    crossed = _openssl("verify", "-CAfile", root, "-untrusted", old_chain, new_leaf)
    assert crossed.returncode == 0, crossed.stderr
    pinned = _openssl(
        "verify",
        "-partial_chain",
        "-CAfile",
        ca / "mobile-ca.pem",
        "-untrusted",
        ca / "mobile-ca.2-cross.pem",
        new_leaf,
    )
    assert pinned.returncode == 0, pinned.stderr


def test_each_generation_names_its_own_ca_file_and_crls(rolled: Rolled) -> None:
    assert _ca_issuers_url(rolled.old_good).endswith("/ca/mobile-ca.der")
    assert _ca_issuers_url(rolled.new_good).endswith("/ca/mobile-ca.2.der")
    assert "/crl/mobile-" in _crl_url(rolled.old_good)
    assert "/crl/mobile.2-" in _crl_url(rolled.new_good)
    for certificate, name in (
        (rolled.old_good, "mobile-ca.pem"),
        (rolled.new_good, "mobile-ca.2.pem"),
    ):
        served = _get(rolled.center, _url_path(_ca_issuers_url(certificate)))
        assert served.status_code == 200
        assert served.content == x509.load_pem_x509_certificate(
            (rolled.ca / name).read_bytes()
        ).public_bytes(Encoding.DER)


def test_both_cas_crls_verify_and_list_their_own_certificates(rolled: Rolled) -> None:
    ca = rolled.ca
    root = ca / "root-ca.pem"
    cases = (
        (rolled.old_revoked, ca / "mobile-ca.pem", "old"),
        (rolled.new_revoked, ca / "mobile-ca.2.pem", "new"),
    )
    for revoked, issuing, name in cases:
        served = _get(rolled.center, _url_path(_crl_url(revoked)))
        assert served.status_code == 200
        crl = x509.load_der_x509_crl(served.content)
        crl_file = ca.parent / f"{name}.crl.pem"
        crl_file.write_bytes(crl.public_bytes(Encoding.PEM))
        signed = _openssl("crl", "-in", crl_file, "-CAfile", issuing, "-noout")
        assert "verify OK" in signed.stdout + signed.stderr, signed
        listed = {entry.serial_number for entry in crl}
        assert revoked.serial_number in listed
        other = rolled.new_revoked if revoked is rolled.old_revoked else rolled.old_revoked
        assert other.serial_number not in listed  # each CA lists only what it issued
        leaf = rolled.pem(revoked, f"{name}-revoked")
        checked = _openssl(
            "verify",
            "-crl_check",
            "-CAfile",
            root,
            "-untrusted",
            issuing,
            "-CRLfile",
            crl_file,
            leaf,
        )
        assert checked.returncode != 0 and "revoked" in checked.stdout + checked.stderr, checked


def test_ocsp_answers_for_both_generations(rolled: Rolled, tmp_path: Path) -> None:
    ca = rolled.ca
    cases = (
        (rolled.old_good, "mobile-ca.pem", ocsp.OCSPCertStatus.GOOD),
        (rolled.old_revoked, "mobile-ca.pem", ocsp.OCSPCertStatus.REVOKED),
        (rolled.new_good, "mobile-ca.2.pem", ocsp.OCSPCertStatus.GOOD),
    )
    for certificate, issuing, expected in cases:
        request = tmp_path / "request.der"
        made = _openssl(
            "ocsp",
            "-issuer",
            ca / issuing,
            "-cert",
            rolled.pem(certificate, "asked"),
            "-no_nonce",
            "-reqout",
            request,
        )
        assert made.returncode == 0, made.stderr
        answer = rolled.center.revocation.ocsp.respond(request.read_bytes())
        assert ocsp.load_der_ocsp_response(answer).certificate_status is expected
        response = tmp_path / "response.der"
        response.write_bytes(answer)
        checked = _openssl(
            "ocsp",
            "-respin",
            response,
            "-reqin",
            request,
            "-CAfile",
            ca / "root-ca.pem",
            "-verify_other",
            ca / issuing,
            "-issuer",
            ca / issuing,
            "-cert",
            rolled.pem(certificate, "asked"),
        )
        assert "Response verify OK" in checked.stderr, checked


def test_pkilint_finds_no_error_in_what_the_rollover_made(rolled: Rolled) -> None:
    linter = Linter()
    for name in ("mobile-ca.2.pem", "mobile-ca.2-cross.pem", "mobile.2-ocsp.pem"):
        certificate = x509.load_pem_x509_certificate((rolled.ca / name).read_bytes())
        assert linter.errors(certificate) == [], name
    assert linter.errors(rolled.new_good) == []


def test_signatures_and_logins_find_the_generation_that_issued_the_certificate(
    rolled: Rolled,
) -> None:
    hierarchy = rolled.center.hierarchy()
    old_ca = x509.load_pem_x509_certificate((rolled.ca / "mobile-ca.pem").read_bytes())
    new_ca = x509.load_pem_x509_certificate((rolled.ca / "mobile-ca.2.pem").read_bytes())
    root = hierarchy.root.certificate
    bag = hierarchy.ca_certificates("mobile")
    assert bag == [new_ca, old_ca, root]
    # a CMS signature carries the path of its own certificate
    assert chain_above(rolled.old_good, bag) == (old_ca, root)
    assert chain_above(rolled.new_good, bag) == (new_ca, root)
    # a login with a certificate from before the rollover is still the center's
    old_issuer = hierarchy.issuer_of("mobile", rolled.old_good)
    assert old_issuer is not None and old_issuer.key_label == "mobile-ca"
    new_issuer = hierarchy.issuer_of("mobile", rolled.new_good)
    assert new_issuer is not None and new_issuer.key_label == "mobile-ca.2"
    assert hierarchy.issuer_of("joint", rolled.old_good) is None
    # another family's CA is untouched
    assert [ca.key_label for ca in hierarchy.generations("financial")] == ["financial-ca"]
