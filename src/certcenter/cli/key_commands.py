"""``certcenter keys``: key ceremonies (키 생성·교체) and their signed records (operator, local).

    $ certcenter keys ceremony rotate …       # each ceremony prints its signed record
    $ certcenter keys verify-record record.json

Every ceremony ends by printing its record (JSON, signed by the audit checkpoint key, see
:mod:`certcenter.audit.ceremony`) and writing it to the audit trail.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from certcenter.cli.common import fail, handle_errors, local_center
from certcenter.cli.lazy import LazyGroup

__all__ = ["ceremony", "echo_record", "keys", "rotate"]


@click.group(
    cls=LazyGroup,
    lazy_subcommands={
        "pepper-status": "certcenter.cli.key_secret_commands:keys_pepper_status",
        "kek-status": "certcenter.cli.key_secret_commands:keys_kek_status",
        "migrate": "certcenter.cli.key_secret_commands:keys_migrate",
    },
)
def keys() -> None:
    """The center's keys: ceremonies and their records."""


@keys.group(
    cls=LazyGroup,
    lazy_subcommands={
        "init-root": "certcenter.cli.key_ceremony_commands:ceremony_init_root",
        "issue-ca": "certcenter.cli.key_ceremony_commands:ceremony_issue_ca",
        "rollover-ca": "certcenter.cli.key_ceremony_commands:ceremony_rollover_ca",
        "sign-root-crl": "certcenter.cli.key_ceremony_commands:ceremony_sign_root_crl",
        "retire-peppers": "certcenter.cli.key_secret_commands:retire_peppers",
    },
)
def ceremony() -> None:
    """Key ceremonies; each prints a signed record and writes it to the audit trail."""


@ceremony.group(
    cls=LazyGroup,
    lazy_subcommands={
        "ocsp-signer": "certcenter.cli.key_ceremony_commands:rotate_ocsp",
        "pepper": "certcenter.cli.key_secret_commands:rotate_pepper",
        "kek": "certcenter.cli.key_secret_commands:rotate_kek",
    },
)
def rotate() -> None:
    """Replace a key with a new one."""


def echo_record(record: object) -> None:
    """Print a ceremony record as the auditor keeps it."""
    click.echo(json.dumps(record.document(), ensure_ascii=False, indent=2))  # type: ignore[attr-defined]


@keys.command("verify-record")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@handle_errors
def keys_verify_record(path: Path) -> None:
    """Check a printed ceremony record against this center's audit checkpoint key."""
    from certcenter.audit.ceremony import record_problem

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: not a ceremony record ({exc})")
    center = local_center()
    try:
        problem = record_problem(document, center.ceremonies.public_key())
    finally:
        center.close()
    if problem is not None:
        fail(f"{path}: {problem}")
    click.echo(f"{path}: record of {document['ceremony']} at {document['at']} verifies")
