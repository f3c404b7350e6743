"""The data directory is 0700 and the databases with their WAL and shared-memory files 0600,
on a fresh start and after a start that had left them readable to others."""

from __future__ import annotations

import stat
from pathlib import Path

from certcenter.bootstrap import build_center, initialise
from certcenter.clock import FrozenClock
from certcenter.config import load_settings
from tests.conftest import START


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _start(data: Path, pki_dir: Path) -> None:
    settings = load_settings(
        environ={},
        data_dir=data,
        key_dir=pki_dir / "keys",
        ca_dir=pki_dir / "ca",
        key_passphrase="test-passphrase",
        environment="demo",
    )
    initialise(settings, FrozenClock(START))
    center = build_center(settings, FrozenClock(START))
    try:
        with center.uow_factory() as uow:  # a write: the WAL and the shared memory exist now
            uow.customers.list(limit=1)
            uow.commit()
        _check(data)
    finally:
        center.close()


def _check(data: Path) -> None:
    assert _mode(data) == 0o700
    found = sorted(p.name for p in data.iterdir() if p.name.endswith((".db", "-wal", "-shm")))
    assert {"certcenter.db", "certcenter.db-wal", "certcenter.db-shm", "simulators.db"} <= set(
        found
    )
    for name in found:
        assert _mode(data / name) == 0o600, name


def test_a_fresh_data_directory_is_private(tmp_path: Path, pki_dir: Path) -> None:
    _start(tmp_path / "var", pki_dir)


def test_files_left_readable_are_made_private_at_start(tmp_path: Path, pki_dir: Path) -> None:
    data = tmp_path / "var"
    _start(data, pki_dir)
    data.chmod(0o755)
    for path in data.iterdir():
        if path.is_file():
            path.chmod(0o644)
    _start(data, pki_dir)
