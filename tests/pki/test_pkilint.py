"""pkilint's RFC 5280 linter finds no ERROR or FATAL in the root, issuing and mobile
certificates, and does find them in certificates that are broken on purpose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certcenter.config import DEMO_OID_ARC
from certcenter.keys import SoftwareKeyBackend
from certcenter.pki import CaHierarchy, Issuer, SubjectInfo, ensure_hierarchy


@pytest.fixture
def mobile_certificate(backend, hierarchy: CaHierarchy, settings, clock) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    issuer = Issuer(backend, hierarchy, settings, clock)
    return issuer.sign(issuer.prepare("mobile", key, SubjectInfo("홍길동", "C0012345")), key)


def test_root_ca_lints_clean(hierarchy: CaHierarchy, lint) -> None:
    assert lint.errors(hierarchy.root.certificate) == []


def test_issuing_ca_lints_clean(hierarchy: CaHierarchy, lint) -> None:
    assert lint.errors(hierarchy.issuing("mobile").certificate) == []


def test_mobile_certificate_lints_clean(mobile_certificate: x509.Certificate, lint) -> None:
    assert lint.errors(mobile_certificate) == []


def test_the_linter_does_run(mobile_certificate: x509.Certificate, lint) -> None:
    # it reports something (an INFO about the key identifier method) on our certificates
    codes = {f.code for f in lint.findings(mobile_certificate)}
    assert "pkix.subject_key_identifier_method_1_identified" in codes


def test_a_broken_ca_certificate_gets_errors(lint, clock) -> None:
    """A CA certificate without key identifiers, with non-critical basicConstraints and no
    keyUsage: the same check that passes ours must fail this one."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = clock.now()
    broken = (
        x509.CertificateBuilder()
        .serial_number(x509.random_serial_number())
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other CA")]))
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Broken CA")]))
        .public_key(key.public_key())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=False)
        .sign(key, hashes.SHA256())
    )
    codes = {f.code for f in lint.errors(broken)}
    assert {
        "pkix.certificate_skid_ca_missing",
        "pkix.authority_key_identifier_extension_absent",
        "pkix.basic_constraints_extension_not_critical",
        "pkix.ca_certificate_no_ku_extension",
    } <= codes


def test_default_demo_arc_lints_clean(make_settings, clock, lint) -> None:
    settings = make_settings(bank_oid_arc=DEMO_OID_ARC)
    backend = SoftwareKeyBackend(settings.keys_path, settings.passphrase())
    hierarchy = ensure_hierarchy(backend, settings, clock)
    assert lint.errors(hierarchy.issuing().certificate) == []


def test_certificates_with_a_cps_qualifier_lint_clean(make_settings, clock, lint) -> None:
    """The CPS URI qualifier production certificates carry (cps_url) keeps pkilint clean."""
    settings = make_settings(cps_url="http://pki.bank.example/cps")
    backend = SoftwareKeyBackend(settings.keys_path, settings.passphrase())
    hierarchy = ensure_hierarchy(backend, settings, clock)
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    issuer = Issuer(backend, hierarchy, settings, clock)
    mobile = issuer.sign(issuer.prepare("mobile", key, SubjectInfo("홍길동", "C0012345")), key)
    for certificate in (hierarchy.issuing("mobile").certificate, mobile):
        assert lint.errors(certificate) == []
        (policy,) = certificate.extensions.get_extension_for_class(x509.CertificatePolicies).value
        assert policy.policy_qualifiers == ["http://pki.bank.example/cps"]
