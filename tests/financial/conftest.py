"""Fixtures for the financial-certificate tests: each test gets its own key directory (a copy
of the session's CA keys), so the cloud keys it makes and destroys are its own to inspect."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from certcenter.config import Settings
from tests.conftest import _reset_postgres, make_settings, marked_policy


@pytest.fixture
def settings(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, pki_dir: Path
) -> Settings:
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    keys = tmp_path / "keys"
    # only the CA keys and secrets: cloud keys other tests of the session made in the shared
    # directory (tests/financial_issuance) are not this test's
    shutil.copytree(pki_dir / "keys", keys, ignore=shutil.ignore_patterns("fin-*"))
    return make_settings(tmp_path, pki_dir, url, key_dir=keys, **marked_policy(request))
