"""Fixtures for the PKI tests: settings in a temporary directory, a frozen clock, a software
key backend, a CA hierarchy, CSR making, and pkilint's RFC 5280 linter (built once).

Helpers are fixtures rather than importable functions, so nothing depends on how pytest
puts test directories on ``sys.path``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from certcenter.clock import FrozenClock
from certcenter.config import Settings, load_settings
from certcenter.keys import SoftwareKeyBackend
from certcenter.pki import CaHierarchy, ensure_hierarchy

PASSPHRASE = "test passphrase: long, random and never reused"
START = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)

# Under IANA's enterprise number for documentation (RFC 5612). The demo default arc
# (2.25.<128-bit UUID>) has an arc above 2^32 that pkilint's decoder (like other decoders
# limited to 32-bit arcs) cannot read: see test_pkilint.test_default_demo_arc_lints_clean.
TEST_OID_ARC = "1.3.6.1.4.1.32473.7"

MakeSettings = Callable[..., Settings]
MakeCsr = Callable[..., x509.CertificateSigningRequest]


class Finding(NamedTuple):
    severity: str
    code: str
    message: str | None
    path: str


class Linter:
    """pkilint's RFC 5280 certificate linter, built the way ``lint_pkix_cert`` builds it."""

    def __init__(self) -> None:
        from pkilint import loader
        from pkilint.pkix import certificate, extension, name

        self._validator = certificate.create_pkix_certificate_validator_container(
            certificate.create_decoding_validators(
                name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
            ),
            [
                certificate.create_issuer_validator_container([]),
                certificate.create_validity_validator_container(),
                certificate.create_subject_validator_container([]),
                certificate.create_extensions_validator_container([]),
                certificate.create_spki_validator_container([]),
            ],
        )
        self._loader = loader.RFC5280CertificateDocumentLoader()

    def findings(self, cert: x509.Certificate) -> list[Finding]:
        document = self._loader.load_der_document(
            cert.public_bytes(serialization.Encoding.DER), "certificate"
        )
        return [
            Finding(
                description.finding.severity.name,
                description.finding.code,
                description.message,
                str(result.node.path),
            )
            for result in self._validator.validate(document.root)
            for description in result.finding_descriptions
        ]

    def errors(self, cert: x509.Certificate) -> list[Finding]:
        """ERROR and FATAL findings (those fail a certificate); the others are printed."""
        findings = self.findings(cert)
        for finding in findings:
            if finding.severity not in {"ERROR", "FATAL"}:
                print(f"pkilint {finding.severity}: {finding.code} at {finding.path}")
        return [f for f in findings if f.severity in {"ERROR", "FATAL"}]


@pytest.fixture(scope="session")
def lint() -> Linter:
    return Linter()


@pytest.fixture
def passphrase() -> str:
    return PASSPHRASE


@pytest.fixture
def make_settings(tmp_path: Path) -> MakeSettings:
    """Settings under ``tmp_path`` (or ``data_dir=``), isolated from the environment."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path,
            "key_passphrase": PASSPHRASE,
            "bank_oid_arc": TEST_OID_ARC,
        }
        values.update(overrides)
        return load_settings(environ={}, **values)

    return make


@pytest.fixture
def settings(make_settings: MakeSettings) -> Settings:
    return make_settings()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def backend(settings: Settings) -> SoftwareKeyBackend:
    return SoftwareKeyBackend(settings.keys_path, settings.passphrase())


@pytest.fixture
def hierarchy(backend: SoftwareKeyBackend, settings: Settings, clock: FrozenClock) -> CaHierarchy:
    return ensure_hierarchy(backend, settings, clock)


@pytest.fixture
def make_csr() -> MakeCsr:
    """``make_csr(key, algorithm=SHA256())``: a PKCS#10 request (pass None for EdDSA keys)."""

    def make(
        key: CertificateIssuerPrivateKeyTypes,
        algorithm: hashes.HashAlgorithm | None = hashes.SHA256(),  # noqa: B008
    ) -> x509.CertificateSigningRequest:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")])
        builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
        return builder.sign(key, algorithm)  # type: ignore[arg-type]

    return make
