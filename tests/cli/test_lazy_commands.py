"""The ``certcenter`` group names its commands and imports each one's module only when it is
used: every name leads to its command, and a command loads no other command's module."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from certcenter.cli.lazy import LazyGroup
from certcenter.cli.main import cli


def _walk(group: click.Group, path: str) -> list[str]:
    ctx = click.Context(group)
    names = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)  # raises if an entry names the wrong command
        assert command is not None, f"{path} {name}"
        names.append(f"{path} {name}")
        if isinstance(command, click.Group):
            names += _walk(command, f"{path} {name}")
    return names


def test_every_named_command_loads() -> None:
    names = _walk(cli, "certcenter")
    for expected in (
        "certcenter errors",
        "certcenter app joint copy send",
        "certcenter keys ceremony rotate kek",
        "certcenter sim departures",
        "certcenter customers diagnose",
    ):
        assert expected in names


def test_a_lazy_entry_must_name_its_command() -> None:
    group = LazyGroup(lazy_subcommands={"wrong": "certcenter.cli.operator_commands:init"})
    with pytest.raises(TypeError, match="'wrong'"):
        group.get_command(click.Context(group), "wrong")


def _modules_after(args: list[str]) -> set[str]:
    script = (
        "import sys\n"
        "from certcenter.cli.main import cli\n"
        f"cli({args!r}, prog_name='certcenter', standalone_mode=False)\n"
        "print(' '.join(sorted(sys.modules)), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(done.stderr.split())


def test_a_command_loads_only_its_own_module() -> None:
    loaded = _modules_after(["--version"])
    assert not {m for m in loaded if m.endswith("_commands")}, loaded
    assert "httpx" not in loaded and "certcenter.cli.client" not in loaded

    loaded = _modules_after(["errors"])
    assert {m for m in loaded if m.endswith("_commands")} == {"certcenter.cli.operator_commands"}
    assert "httpx" not in loaded
