"""Fixtures for the key custody tests: each test gets its own key directory (a copy of the
session's CA keys and secrets), so the peppers and key-encryption keys it makes and destroys
are its own."""

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
    shutil.copytree(pki_dir / "keys", keys, ignore=shutil.ignore_patterns("fin-*"))
    return make_settings(tmp_path, pki_dir, url, key_dir=keys, **marked_policy(request))
