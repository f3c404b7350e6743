"""A click group whose subcommands are imported when they are used, so that a command loads
only its own module (and what that imports), never every command's.

    @click.group(cls=LazyGroup, lazy_subcommands={"otp": "certcenter.cli.otp_commands:app_otp"})
    def app() -> None:
        ...

Each entry names the command, as the user types it, and where it is defined
("module:attribute"). Listing the names (``--help``, completion) imports nothing; showing a
command's short help in a ``--help`` list imports its module. This is click's "Lazily Loading
Subcommands" pattern.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_subcommands:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        module_name, attribute = self.lazy_subcommands[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command) or command.name != cmd_name:
            raise TypeError(f"{self.lazy_subcommands[cmd_name]} is not the command {cmd_name!r}")
        return command
