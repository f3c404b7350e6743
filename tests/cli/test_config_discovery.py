"""Operator commands find the installation they act on, wherever they run: the file ``init``
writes into the data folder, found through ``CERTCENTER_CONFIG``, ``CERTCENTER_DATA_DIR`` or
the current folder — and a folder where nothing was set up is refused, not filled."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from certcenter.cli.main import cli
from certcenter.config import find_config_file, load_settings

BANK_CUSTOMERS = 17  # lines of `customers list` on the demo world


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo installation, set up by `certcenter init` in <folder>/var."""
    folder = tmp_path_factory.mktemp("installed")
    made = CliRunner().invoke(
        cli,
        ["init"],
        env={"CERTCENTER_DATA_DIR": str(folder / "var"), "CERTCENTER_CONFIG": None},
    )
    assert made.exit_code == 0, made.output
    assert f"configuration written to {folder / 'var' / 'certcenter.toml'}" in made.output
    return folder / "var"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An unrelated current folder, and no CERTCENTER_* variables (restored afterwards)."""
    for name in {*os.environ, "CERTCENTER_CONFIG", "CERTCENTER_DATA_DIR"}:
        if name.startswith("CERTCENTER_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CERTCENTER_LANG", "en")
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def _customers(env: dict[str, str | None] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["customers", "list"], env=env)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_init_writes_the_installations_file(installation: Path) -> None:
    written = installation / "certcenter.toml"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    values = tomllib.loads(written.read_text("utf-8"))
    assert values["data_dir"] == str(installation.resolve())
    assert "key_passphrase" not in values
    # The file loads as the installation's settings, and a second init leaves it as it is.
    assert load_settings(config_file=written).data_dir == installation.resolve()
    before = written.read_text("utf-8")
    again = CliRunner().invoke(
        cli, ["init"], env={"CERTCENTER_DATA_DIR": str(installation), "CERTCENTER_CONFIG": None}
    )
    assert again.exit_code == 0 and "configuration written" not in again.output
    assert written.read_text("utf-8") == before


def test_an_operator_command_elsewhere_is_refused_and_creates_nothing(elsewhere: Path) -> None:
    code, output = _customers()
    assert code == 1
    assert "[INSTALLATION_NOT_FOUND]" in output and "KEY_NOT_FOUND" not in output
    assert "CERTCENTER_CONFIG" in output and "certcenter init" in output  # the remedy
    assert list(elsewhere.iterdir()) == []  # no empty var/ left behind
    for command in (["crl", "publish"], ["jobs", "run"], ["audit", "verify"], ["db", "upgrade"]):
        refused = CliRunner().invoke(cli, command)
        assert refused.exit_code == 1, command
        assert "[INSTALLATION_NOT_FOUND]" in refused.output, command
    assert list(elsewhere.iterdir()) == []


def test_the_installation_is_found_by_its_file_or_its_folder(
    installation: Path, elsewhere: Path
) -> None:
    config = str(installation / "certcenter.toml")
    for env in ({"CERTCENTER_CONFIG": config}, {"CERTCENTER_DATA_DIR": str(installation)}):
        code, output = _customers(env)
        assert code == 0, (env, output)
        assert output.count("\n") == BANK_CUSTOMERS
    assert list(elsewhere.iterdir()) == []
    by_option = CliRunner().invoke(cli, ["--config", config, "customers", "list"])
    assert by_option.exit_code == 0 and by_option.output.count("\n") == BANK_CUSTOMERS


def test_the_installation_is_found_from_its_own_folder(
    installation: Path, elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(installation.parent)  # the folder `make run` ran in: ./var
    code, output = _customers()
    assert code == 0, output
    assert output.count("\n") == BANK_CUSTOMERS
    assert find_config_file() == Path.cwd() / "var" / "certcenter.toml"


def test_a_named_file_that_is_missing_is_refused(elsewhere: Path) -> None:
    missing = str(elsewhere / "nope.toml")
    code, output = _customers({"CERTCENTER_CONFIG": missing})
    assert code == 1
    assert "[CONFIG_FILE_NOT_FOUND]" in output and missing in output
    assert list(elsewhere.iterdir()) == []


def test_an_installation_from_before_the_file_is_still_found(
    installation: Path, elsewhere: Path, tmp_path: Path
) -> None:
    """A data folder set up before init wrote its file: the CA there marks it installed."""
    moved = tmp_path / "config-aside.toml"
    (installation / "certcenter.toml").rename(moved)
    try:
        code, output = _customers({"CERTCENTER_DATA_DIR": str(installation)})
        assert code == 0, output
    finally:
        moved.rename(installation / "certcenter.toml")


def test_find_config_file_looks_in_order(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    assert find_config_file({}, tmp_path) is None
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "certcenter.toml").write_text("")
    assert find_config_file({}, tmp_path) == tmp_path / "var" / "certcenter.toml"
    (tmp_path / "certcenter.toml").write_text("")
    assert find_config_file({}, tmp_path) == tmp_path / "certcenter.toml"
    # a data folder named: only its file counts
    assert find_config_file({"CERTCENTER_DATA_DIR": str(data)}, tmp_path) is None
    (data / "certcenter.toml").write_text("")
    assert find_config_file({"CERTCENTER_DATA_DIR": "data"}, tmp_path) == (
        tmp_path / "data" / "certcenter.toml"
    )
    # a file named wins, even one that is not there (the caller refuses it)
    named = {"CERTCENTER_CONFIG": "/nowhere/x.toml", "CERTCENTER_DATA_DIR": str(data)}
    assert find_config_file(named, tmp_path) == Path("/nowhere/x.toml")
