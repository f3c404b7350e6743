"""The financial-certificate family: its own issuing CA and end-entity profile, clean under
pkilint, verified by OpenSSL, and added to a data directory made before it existed."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from certcenter.keys import SoftwareKeyBackend
from certcenter.pki import CaHierarchy, Issuer, SubjectInfo, certificate_pem, ensure_hierarchy
from certcenter.pki import hierarchy as hierarchy_module
from certcenter.pki.profiles import profile
from tests.pki.conftest import TEST_OID_ARC


@pytest.fixture
def financial_certificate(backend, hierarchy: CaHierarchy, settings, clock) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    issuer = Issuer(backend, hierarchy, settings, clock)
    return issuer.sign(issuer.prepare("financial", key, SubjectInfo("홍길동", "C0012345")), key)


def test_the_financial_ca_is_its_own_under_the_same_root(hierarchy: CaHierarchy, settings) -> None:
    financial = hierarchy.issuing("financial")
    mobile = hierarchy.issuing("mobile")
    assert financial.key_label == "financial-ca"
    assert financial.certificate.public_key() != mobile.certificate.public_key()
    financial.certificate.verify_directly_issued_by(hierarchy.root.certificate)
    cn = financial.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == f"{settings.bank_name} Financial Certificate CA"
    policies = financial.certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    assert [p.policy_identifier.dotted_string for p in policies.value] == [f"{TEST_OID_ARC}.1.2"]
    constraints = financial.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca and constraints.value.path_length == 0
    assert hierarchy.chain("financial") == [financial.certificate, hierarchy.root.certificate]
    assert hierarchy.ocsp_signer("financial") is not None
    assert "financial" in hierarchy.families


def test_the_financial_profile(
    financial_certificate: x509.Certificate, settings, clock, lint
) -> None:
    cert = financial_certificate
    assert profile("financial", settings).validity == timedelta(days=1095)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=1095)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [f"{TEST_OID_ARC}.1.2"]
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == (
        "financial"
    )
    access = {
        a.access_method: a.access_location.value
        for a in cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    }
    base = settings.public_base_url
    assert access[AuthorityInformationAccessOID.OCSP] == f"{base}/ocsp"
    assert access[AuthorityInformationAccessOID.CA_ISSUERS] == f"{base}/ca/financial-ca.der"
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    url = points[0].full_name[0].value  # type: ignore[index]
    assert url.startswith(f"{base}/crl/financial-") and url.endswith(".crl")
    assert lint.errors(cert) == []


def test_the_financial_ca_lints_clean(hierarchy: CaHierarchy, lint) -> None:
    assert lint.errors(hierarchy.issuing("financial").certificate) == []


def test_openssl_verifies_a_financial_certificate(
    financial_certificate: x509.Certificate, settings, clock, tmp_path: Path
) -> None:
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(certificate_pem(financial_certificate))
    ca = settings.ca_path
    at = str(int(clock.now().timestamp()) + 3600)
    args = ["openssl", "verify", "-attime", at, "-CAfile", str(ca / "root-ca.pem")]
    ok = subprocess.run(
        [*args, "-untrusted", str(ca / "financial-chain.pem"), str(leaf)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the mobile CA did not issue it
    wrong = subprocess.run(
        [*args, "-untrusted", str(ca / "mobile-ca.pem"), str(leaf)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert wrong.returncode != 0


def test_an_existing_deployment_gains_the_financial_ca(
    settings, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data directory made before the financial family existed: ensure_hierarchy adds its
    CA, chain and OCSP responder and leaves the root and the mobile CA as they were."""
    backend = SoftwareKeyBackend(settings.keys_path, settings.passphrase())
    mobile_only = tuple(s for s in hierarchy_module.FAMILIES if s.family == "mobile")
    with monkeypatch.context() as patched:
        patched.setattr(hierarchy_module, "FAMILIES", mobile_only)
        old = ensure_hierarchy(backend, settings, clock)
    assert old.families == ("mobile",)
    before = {p.name: p.read_bytes() for p in settings.ca_path.iterdir()}
    assert "financial-ca.pem" not in before

    clock.advance(days=30)
    grown = ensure_hierarchy(backend, settings, clock)
    after = {p.name: p.read_bytes() for p in settings.ca_path.iterdir()}
    assert {name: after[name] for name in before} == before  # nothing replaced
    assert {  # and the families added after it (the joint CA)
        "financial-ca.pem",
        "financial-chain.pem",
        "financial-ocsp.pem",
    } <= set(after) - set(before)
    assert grown.root == old.root and grown.issuing("mobile") == old.issuing("mobile")
    grown.issuing("financial").certificate.verify_directly_issued_by(old.root.certificate)
    assert ensure_hierarchy(backend, settings, clock) == grown  # and again: idempotent
