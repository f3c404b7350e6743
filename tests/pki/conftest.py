"""Fixtures for the PKI tests: settings in a temporary directory, a frozen clock, a software
key backend, a CA hierarchy, CSR making, and pkilint's RFC 5280 linter (built once).

Helpers are fixtures rather than importable functions, so nothing depends on how pytest
puts test directories on ``sys.path``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from certcenter.clock import FrozenClock
from certcenter.config import Settings, load_settings
from certcenter.keys import SoftwareKeyBackend
from certcenter.pki import CaHierarchy, ensure_hierarchy
from tests.support.pkilint import Linter

PASSPHRASE = "test passphrase: long, random and never reused"
START = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)

# Under IANA's enterprise number for documentation (RFC 5612), like the demo default but a
# different sub-arc, so the tests show the arc comes from settings.
TEST_OID_ARC = "1.3.6.1.4.1.32473.7"

MakeSettings = Callable[..., Settings]
MakeCsr = Callable[..., x509.CertificateSigningRequest]


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
