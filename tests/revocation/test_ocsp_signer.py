"""The delegated OCSP responder certificate: made by ensure_hierarchy, also for data
directories that predate it, and re-issued before it ends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certcenter.clock import FrozenClock
from certcenter.config import Settings, load_settings
from certcenter.keys import SoftwareKeyBackend
from certcenter.pki import Issuer, SubjectInfo, certificate_pem
from certcenter.pki.hierarchy import (
    CaHierarchy,
    ensure_hierarchy,
    ensure_ocsp_signer,
    load_hierarchy,
)
from certcenter.pki.profiles import profile
from tests.revocation.support import run
from tests.support.pkilint import Linter

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


@dataclass
class Fresh:
    settings: Settings
    backend: SoftwareKeyBackend
    clock: FrozenClock

    def ensure(self) -> CaHierarchy:
        return ensure_hierarchy(self.backend, self.settings, self.clock)

    @property
    def signer_file(self) -> Path:
        return self.settings.ca_path / "mobile-ocsp.pem"


@pytest.fixture
def fresh(tmp_path: Path) -> Fresh:
    settings = load_settings(environ={}, data_dir=tmp_path, key_passphrase="signer tests")
    return Fresh(
        settings, SoftwareKeyBackend(settings.keys_path, settings.passphrase()), FrozenClock(NOW)
    )


def test_the_signer_is_a_delegated_ocsp_responder(fresh: Fresh) -> None:
    hierarchy = fresh.ensure()
    signer = hierarchy.ocsp_signer("mobile")
    assert signer is not None and signer.key_label == "mobile-ocsp"
    certificate = signer.certificate
    issuing = hierarchy.issuing("mobile").certificate
    certificate.verify_directly_issued_by(issuing)
    assert isinstance(certificate.public_key(), ec.EllipticCurvePublicKey)
    assert isinstance(certificate.public_key().curve, ec.SECP256R1)  # type: ignore[union-attr]
    extensions = certificate.extensions
    eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    extensions.get_extension_for_class(x509.OCSPNoCheck)
    usage = extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature
    assert not usage.value.key_cert_sign and not usage.value.content_commitment
    assert not extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    cn = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == f"{fresh.settings.bank_name} Mobile OCSP Responder"
    lifetime = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert lifetime == profile("ocsp-signer", fresh.settings).validity == timedelta(days=365)
    assert fresh.signer_file.is_file()
    assert (fresh.settings.keys_path / "mobile-ocsp.key.pem").is_file()
    assert load_hierarchy(fresh.settings) == hierarchy


def test_the_signer_lints_clean_and_openssl_takes_it_as_ocsp_helper(fresh: Fresh) -> None:
    hierarchy = fresh.ensure()
    signer = hierarchy.ocsp_signer()
    assert signer is not None
    assert Linter().errors(signer.certificate) == []
    ca = fresh.settings.ca_path
    result = run("openssl", "verify", "-attime", str(int(NOW.timestamp()) + 60),
                 "-purpose", "ocsphelper", "-CAfile", ca / "root-ca.pem",
                 "-untrusted", ca / "mobile-ca.pem", fresh.signer_file)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_is_made_once_and_then_kept(fresh: Fresh) -> None:
    first = fresh.ensure()
    fresh.clock.advance(days=300)
    assert fresh.ensure() == first  # 65 days left: kept
    assert fresh.signer_file.read_text() == certificate_pem(first.ocsp_signer().certificate)  # type: ignore[union-attr]


def test_an_old_data_directory_gets_one_on_the_next_start(fresh: Fresh) -> None:
    before = fresh.ensure()
    fresh.signer_file.unlink()  # as made before the responder existed: no file, no key
    (fresh.settings.keys_path / "mobile-ocsp.key.pem").unlink()
    fresh.backend = SoftwareKeyBackend(fresh.settings.keys_path, fresh.settings.passphrase())
    old = load_hierarchy(fresh.settings)
    assert old.ocsp_signer("mobile") is None  # the rest loads as before
    assert old.issuing("mobile") == before.issuing("mobile")

    upgraded = fresh.ensure()
    signer = upgraded.ocsp_signer("mobile")
    assert signer is not None
    assert signer.certificate != before.ocsp_signer("mobile").certificate  # type: ignore[union-attr]
    assert upgraded.root == before.root and upgraded.issuing_cas == before.issuing_cas
    assert load_hierarchy(fresh.settings) == upgraded


def test_it_is_reissued_in_its_last_thirty_days_with_the_same_key(fresh: Fresh) -> None:
    first = fresh.ensure().ocsp_signer()
    assert first is not None
    fresh.clock.set(first.certificate.not_valid_after_utc - timedelta(days=29))
    second = fresh.ensure().ocsp_signer()
    assert second is not None
    assert second.certificate.serial_number != first.certificate.serial_number
    assert second.certificate.public_key() == first.certificate.public_key()
    assert second.certificate.not_valid_after_utc > first.certificate.not_valid_after_utc
    assert load_hierarchy(fresh.settings).ocsp_signer() == second


def test_a_damaged_or_foreign_signer_file_is_replaced(fresh: Fresh, tmp_path: Path) -> None:
    fresh.ensure()
    fresh.signer_file.write_text("damaged")
    assert load_hierarchy(fresh.settings).ocsp_signer() is None
    repaired = fresh.ensure().ocsp_signer()
    assert repaired is not None

    other = load_settings(environ={}, data_dir=tmp_path / "other", key_passphrase="x" * 20)
    foreign = ensure_hierarchy(
        SoftwareKeyBackend(other.keys_path, other.passphrase()), other, fresh.clock
    ).ocsp_signer()
    assert foreign is not None
    fresh.signer_file.write_text(certificate_pem(foreign.certificate))
    assert load_hierarchy(fresh.settings).ocsp_signer() is None  # not issued by our CA
    hierarchy = load_hierarchy(fresh.settings)
    mine = ensure_ocsp_signer(
        fresh.backend, fresh.settings, fresh.clock, hierarchy.issuing("mobile")
    )
    mine.certificate.verify_directly_issued_by(hierarchy.issuing("mobile").certificate)
    assert mine.certificate.public_key() == repaired.certificate.public_key()


def test_issuer_refuses_the_signer_profile(fresh: Fresh) -> None:
    issuer = Issuer(fresh.backend, fresh.ensure(), fresh.settings, fresh.clock)
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(ValueError, match="OCSP responder profile"):
        issuer.prepare("ocsp-signer", key, SubjectInfo("x", "y"))
