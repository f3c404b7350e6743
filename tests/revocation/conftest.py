"""Fixtures for the status tests: real time, the live server, the session's CA.

The clock starts at the real current time: ``openssl ocsp`` and ``openssl verify -crl_check``
judge thisUpdate/nextUpdate against the machine's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from certcenter.api.routes import status
from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.config import load_settings
from certcenter.keys import load_key_backend
from certcenter.pki.hierarchy import load_hierarchy
from certcenter.pki.pem import certificate_pem
from certcenter.revocation import RevocationStatus
from tests.conftest import LiveServer, key_backend_settings
from tests.revocation.support import Ca, Pki


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture(scope="session")
def ca(pki_dir: Path) -> Ca:
    settings = load_settings(
        environ={}, data_dir=pki_dir, key_passphrase="test-passphrase", **key_backend_settings()
    )
    return Ca(settings, load_key_backend(settings), load_hierarchy(settings))


@pytest.fixture
def status_url(api: LiveServer) -> str:
    """Where /ocsp and /crl are served for this test's center."""
    return api.url


@pytest.fixture
def revocation(center: Center) -> RevocationStatus:
    return status.revocation_status(center)


@pytest.fixture
def pki(center: Center, tmp_path: Path) -> Pki:
    hierarchy = center.hierarchy()
    root = tmp_path / "root-ca.pem"
    root.write_text(certificate_pem(hierarchy.root.certificate))
    issuing = tmp_path / "mobile-ca.pem"
    issuing.write_text(certificate_pem(hierarchy.issuing("mobile").certificate))
    return Pki(root, issuing, tmp_path)
