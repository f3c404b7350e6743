"""ensure_hierarchy / load_hierarchy: the root and mobile issuing CA, made once, then loaded."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certcenter.errors import CertCenterError
from certcenter.keys import SoftwareKeyBackend
from certcenter.pki import (
    CaHierarchy,
    Issuer,
    SubjectInfo,
    certificate_pem,
    certificates_from_pem,
    ensure_hierarchy,
    load_hierarchy,
)


def names(name: x509.Name) -> list[tuple[str, str]]:
    return [(a.oid.dotted_string, str(a.value)) for a in name]


def test_first_call_makes_root_and_mobile_ca(hierarchy: CaHierarchy, settings) -> None:
    root = hierarchy.root.certificate
    mobile = hierarchy.issuing("mobile")
    assert hierarchy.root.key_label == "root-ca"
    assert mobile.key_label == "mobile-ca"
    assert hierarchy.issuing() == mobile
    bank = settings.bank_name

    assert names(root.subject) == [
        (NameOID.COUNTRY_NAME.dotted_string, "KR"),
        (NameOID.ORGANIZATION_NAME.dotted_string, bank),
        (NameOID.COMMON_NAME.dotted_string, f"{bank} Root CA"),
    ]
    assert root.issuer == root.subject
    root.verify_directly_issued_by(root)
    assert isinstance(root.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(root.public_key().curve, ec.SECP384R1)
    assert isinstance(root.signature_hash_algorithm, hashes.SHA384)

    issuing = mobile.certificate
    assert issuing.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == (
        f"{bank} Mobile Certificate CA"
    )
    assert issuing.issuer == root.subject
    issuing.verify_directly_issued_by(root)
    assert isinstance(issuing.public_key().curve, ec.SECP256R1)  # type: ignore[union-attr]
    assert isinstance(issuing.signature_hash_algorithm, hashes.SHA384)  # signed by P-384 root

    constraints = issuing.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    root_constraints = root.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert root_constraints.ca
    assert root_constraints.path_length is None
    usage = issuing.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign

    assert hierarchy.chain("mobile") == [issuing, root]
    with pytest.raises(ValueError, match="no issuing CA for family 'corporate'"):
        hierarchy.issuing("corporate")


def test_files_are_written(hierarchy: CaHierarchy, settings) -> None:
    ca = settings.ca_path
    assert sorted(p.name for p in ca.iterdir()) == [
        "financial-ca.pem",
        "financial-chain.pem",
        "financial-ocsp.pem",
        "joint-ca.pem",
        "joint-chain.pem",
        "joint-ocsp.pem",
        "mobile-ca.pem",
        "mobile-chain.pem",
        "mobile-ocsp.pem",
        "root-ca.pem",
    ]
    assert certificates_from_pem((ca / "root-ca.pem").read_bytes()) == [hierarchy.root.certificate]
    assert certificates_from_pem((ca / "mobile-ca.pem").read_bytes()) == [
        hierarchy.issuing().certificate
    ]
    assert certificates_from_pem((ca / "mobile-chain.pem").read_bytes()) == hierarchy.chain()
    assert (settings.keys_path / "root-ca.key.pem").is_file()
    assert (settings.keys_path / "mobile-ca.key.pem").is_file()


def test_second_call_loads_the_same_hierarchy(
    hierarchy: CaHierarchy, backend, settings, clock
) -> None:
    files = {p.name: p.read_bytes() for p in settings.ca_path.iterdir()}
    clock.advance(days=3)
    again = ensure_hierarchy(backend, settings, clock)
    assert again == hierarchy
    fresh_backend = SoftwareKeyBackend(settings.keys_path, settings.passphrase())
    assert ensure_hierarchy(fresh_backend, settings, clock) == hierarchy
    assert load_hierarchy(settings) == hierarchy
    assert {p.name: p.read_bytes() for p in settings.ca_path.iterdir()} == files


def test_chain_file_is_rewritten_if_damaged(hierarchy: CaHierarchy, backend, settings, clock):
    chain = settings.ca_path / "mobile-chain.pem"
    chain.write_text("damaged")
    ensure_hierarchy(backend, settings, clock)
    assert certificates_from_pem(chain.read_bytes()) == hierarchy.chain()


def test_load_before_init_is_ca_not_initialised(settings) -> None:
    with pytest.raises(CertCenterError) as caught:
        load_hierarchy(settings)
    assert caught.value.code == "CA_NOT_INITIALISED"


def test_load_with_missing_issuing_ca_is_ca_not_initialised(hierarchy, settings) -> None:
    (settings.ca_path / "mobile-ca.pem").unlink()
    with pytest.raises(CertCenterError) as caught:
        load_hierarchy(settings)
    assert caught.value.code == "CA_NOT_INITIALISED"


def test_resumes_after_a_crash_between_key_and_certificate(backend, settings, clock) -> None:
    root_key = backend.generate_key("root-ca", "ec-p384")  # the key was made, then a crash
    hierarchy = ensure_hierarchy(backend, settings, clock)
    assert hierarchy.root.certificate.public_key() == root_key


def test_missing_issuing_ca_is_made_under_the_existing_root(
    hierarchy: CaHierarchy, backend, settings, clock
) -> None:
    (settings.ca_path / "mobile-ca.pem").unlink()
    (settings.ca_path / "mobile-chain.pem").unlink()
    remade = ensure_hierarchy(backend, settings, clock)
    assert remade.root == hierarchy.root
    assert remade.issuing().certificate.public_key() == hierarchy.issuing().certificate.public_key()
    remade.issuing().certificate.verify_directly_issued_by(hierarchy.root.certificate)


def test_certificates_that_do_not_match_the_keys_are_refused(
    hierarchy: CaHierarchy, settings, clock, tmp_path: Path
) -> None:
    other_keys = SoftwareKeyBackend(tmp_path / "other-keys", settings.passphrase())
    other_keys.generate_key("root-ca", "ec-p384")
    with pytest.raises(RuntimeError, match="does not belong to key 'root-ca'"):
        ensure_hierarchy(other_keys, settings, clock)


def test_issuing_ca_from_another_root_is_refused(
    hierarchy: CaHierarchy, make_settings, clock, tmp_path: Path
) -> None:
    other_settings = make_settings(data_dir=tmp_path / "other")
    other = ensure_hierarchy(
        SoftwareKeyBackend(other_settings.keys_path, other_settings.passphrase()),
        other_settings,
        clock,
    )
    ours = make_settings()
    (ours.ca_path / "mobile-ca.pem").write_text(certificate_pem(other.issuing().certificate))
    with pytest.raises(RuntimeError, match=r"not issued by root-ca\.pem"):
        load_hierarchy(ours)


def test_bank_name_and_passphrase_problems_surface(make_settings, clock, tmp_path: Path) -> None:
    no_pass = make_settings(key_passphrase=None)
    with pytest.raises(CertCenterError) as caught:
        ensure_hierarchy(SoftwareKeyBackend(no_pass.keys_path, None), no_pass, clock)
    assert caught.value.code == "KEY_PASSPHRASE_MISSING"
    long_name = make_settings(bank_name="B" * 60)  # "<name> Root CA" > 64 characters
    with pytest.raises(ValueError, match="longer than 64"):
        ensure_hierarchy(
            SoftwareKeyBackend(long_name.keys_path, long_name.passphrase()), long_name, clock
        )


def _openssl_verify(
    ca: Path, leaf: Path, root: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(root or ca / "root-ca.pem"),
            "-untrusted",
            str(ca / "mobile-ca.pem"),
            "-attime",
            "1775000000",  # 2026-04-01, inside the frozen clock's validity
            str(leaf),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_openssl_verifies_an_issued_mobile_certificate(
    hierarchy: CaHierarchy, backend, settings, clock, tmp_path: Path, make_settings
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = Issuer(backend, hierarchy, settings, clock)
    intent = issuer.prepare("mobile", key.public_key(), SubjectInfo("홍길동", "C0012345"))
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(certificate_pem(issuer.sign(intent, key.public_key())))

    result = _openssl_verify(settings.ca_path, leaf)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(": OK")

    # and it can fail: a different root does not anchor this chain
    other = make_settings(data_dir=tmp_path / "other")
    ensure_hierarchy(SoftwareKeyBackend(other.keys_path, other.passphrase()), other, clock)
    refused = _openssl_verify(settings.ca_path, leaf, root=other.ca_path / "root-ca.pem")
    assert refused.returncode != 0


def test_ca_certificates_lint_clean(hierarchy: CaHierarchy, lint) -> None:
    assert lint.errors(hierarchy.root.certificate) == []
    assert lint.errors(hierarchy.issuing().certificate) == []
