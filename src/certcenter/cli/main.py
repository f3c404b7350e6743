"""``certcenter``: set up, serve, run the demo, read the demo world, operate, and be the app.

certcenter serve                 # first start: creates the CA and seeds the demo world
certcenter demo                  # the scripted issuance against the running center
certcenter app enroll            # the bank app's issuance flow, with prompts
certcenter sim sms 01020000001   # the demo phone's inbox

The group names every command and the module that defines it; a command's module is imported
only when that command runs (or a ``--help`` lists it), so each command starts without
loading the others (:class:`certcenter.cli.lazy.LazyGroup`).
"""

from __future__ import annotations

from pathlib import Path

import click

from certcenter.cli.lazy import LazyGroup


@click.group(
    cls=LazyGroup,
    lazy_subcommands={
        # the operator, on this machine's center
        "init": "certcenter.cli.operator_commands:init",
        "serve": "certcenter.cli.operator_commands:serve",
        "customers": "certcenter.cli.operator_commands:customers",
        "certificates": "certcenter.cli.operator_commands:certificates",
        "crl": "certcenter.cli.operator_commands:crl",
        "audit": "certcenter.cli.operator_commands:audit",
        "jobs": "certcenter.cli.operator_commands:jobs",
        "operators": "certcenter.cli.operator_commands:operators",
        "db": "certcenter.cli.operator_commands:db",
        "errors": "certcenter.cli.operator_commands:errors_command",
        "ocsp": "certcenter.cli.ocsp_commands:ocsp",
        "keys": "certcenter.cli.key_commands:keys",
        "oidc": "certcenter.cli.oidc_commands:oidc",
        "transfers": "certcenter.cli.transfer_commands:transfers",
        # the demo world
        "sim": "certcenter.cli.sim_commands:sim",
        "demo": "certcenter.cli.sim_commands:demo",
        # the app
        "app": "certcenter.cli.app_commands:app",
    },
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML configuration file (else CERTCENTER_CONFIG).",
)
@click.option(
    "--lang",
    type=click.Choice(["ko", "en"]),
    default=None,
    help="Language of messages (else CERTCENTER_LANG, default ko).",
)
@click.version_option(package_name="certcenter")
def cli(config: Path | None, lang: str | None) -> None:
    """인증센터 — certificate center."""


def main() -> None:
    cli(prog_name="certcenter")
