"""`certcenter serve`: how many server processes it starts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

from certcenter.cli.main import cli


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What `serve` hands uvicorn, without setting up a center or listening."""
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(
        "certcenter.bootstrap.initialise",
        lambda settings: SimpleNamespace(created_passphrase=False),
    )
    monkeypatch.setattr("uvicorn.run", lambda app, **options: runs.append(options))
    monkeypatch.setattr("certcenter.config.os.cpu_count", lambda: 12)
    return runs


def _serve(tmp_path: Path, *args: str, **env: str) -> Any:
    environ = {"CERTCENTER_DATA_DIR": str(tmp_path / "var"), "CERTCENTER_LANG": "en", **env}
    return CliRunner().invoke(cli, ["serve", *args], env=environ)


def test_serve_starts_one_worker_per_core_unless_told(
    tmp_path: Path, started: list[dict[str, Any]]
) -> None:
    postgres = "postgresql+psycopg://certcenter@db:5432/certcenter"
    assert _serve(tmp_path, CERTCENTER_DATABASE_URL=postgres).exit_code == 0
    assert _serve(tmp_path).exit_code == 0  # SQLite: at most 4
    assert _serve(tmp_path, CERTCENTER_WORKERS="2").exit_code == 0
    assert _serve(tmp_path, "--workers", "3", CERTCENTER_WORKERS="2").exit_code == 0
    assert [run["workers"] for run in started] == [12, 4, 2, 3]


def test_serve_refuses_a_worker_count_out_of_range(
    tmp_path: Path, started: list[dict[str, Any]]
) -> None:
    for wrong in ("0", "65", "many"):
        result = _serve(tmp_path, "--workers", wrong)
        assert result.exit_code == 2, result.output
        assert "--workers" in result.output
    assert started == []
