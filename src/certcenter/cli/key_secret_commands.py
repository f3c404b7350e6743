"""``certcenter keys``: rotating the center's secrets and moving them into an HSM (operator,
local). The work is done by :mod:`certcenter.custody`; these commands print what it did.

    $ certcenter keys ceremony rotate pepper > pepper-record.json
    $ certcenter keys pepper-status
    $ certcenter keys ceremony retire-peppers         # older ones no hash uses: destroyed
    $ certcenter keys ceremony rotate kek [--resume] > kek-record.json
    $ certcenter keys kek-status
    $ certcenter keys migrate --to pkcs11             # the plan: nothing is changed
    $ certcenter keys migrate --to pkcs11 --apply > migrate-record.json

The signed record (JSON) goes to standard output, so it can be kept and checked later with
``certcenter keys verify-record``; what is being done is told on standard error.
"""

from __future__ import annotations

import json
from typing import Any

import click

from certcenter.cli.common import handle_errors, local_center, operator_actor
from certcenter.cli.key_commands import echo_record

__all__ = [
    "keys_kek_status",
    "keys_migrate",
    "keys_pepper_status",
    "retire_peppers",
    "rotate_kek",
    "rotate_pepper",
]


def _say(line: str) -> None:
    click.echo(line, err=True)


def _uses(uses: list[Any], noun: str) -> list[str]:
    lines = []
    for use in uses:
        state = " (current)" if use.current else (" (destroyed)" if use.retired_at else "")
        lines.append(f"  generation {use.generation}  {use.label:<20} {use.count:>9} {noun}{state}")
    return lines


@click.command("pepper")
@handle_errors
def rotate_pepper() -> None:
    """A new generation of the PIN pepper; older hashes move to it as customers log in."""
    center = local_center()
    try:
        done = center.pepper_rotation.rotate(operator=operator_actor().id, progress=_say)
    finally:
        center.close()
    current = next(use for use in done.status if use.current)
    _say(
        f"pepper generation {current.generation} ({current.label}) is current: new PIN and "
        "pattern hashes are made under it, older ones are re-hashed at their next use"
    )
    for line in _uses(done.status, "hashes"):
        _say(line)
    echo_record(done.record)


@click.command("retire-peppers")
@handle_errors
def retire_peppers() -> None:
    """Destroy the older pepper generations no live hash uses any more (never generation 1)."""
    center = local_center()
    try:
        done = center.pepper_rotation.retire_unused(operator=operator_actor().id)
    finally:
        center.close()
    for label in done.destroyed:
        _say(f"pepper generation {label} destroyed: no live hash was made under it")
    for label, why in done.kept.items():
        _say(f"pepper generation {label} kept: {why}")
    for line in _uses(done.status, "hashes"):
        _say(line)
    echo_record(done.record)


@click.command("kek")
@click.option(
    "--resume",
    is_flag=True,
    help="Carry on with the current key-encryption key (after an interruption, or later to "
    "destroy the old one) instead of making a new one.",
)
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="Wrapped keys read at a time.",
)
@handle_errors
def rotate_kek(resume: bool, batch: int) -> None:
    """A new key-encryption key for the customer keys; every live key re-wrapped under it."""
    center = local_center()
    try:
        report = center.kek_rotation.rotate(
            operator=operator_actor().id, resume=resume, batch=batch, progress=_say
        )
    finally:
        center.close()
    count = report.count
    _say(
        f"{count.rewrapped} customer keys re-wrapped under {report.label}"
        f" ({count.skipped} deleted or re-issued meanwhile, {len(count.failed)} did not unwrap)"
    )
    for label in report.deleted:
        _say(f"old key-encryption key {label} destroyed: nothing used it")
    for label, why in report.kept.items():
        _say(f"old key-encryption key {label} kept: {why}")
    for line in _uses(report.status, "keys"):
        _say(line)
    echo_record(report.record)


@click.command("pepper-status")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@handle_errors
def keys_pepper_status(as_json: bool) -> None:
    """Live PIN and pattern hashes per pepper generation (an old one stays while used)."""
    center = local_center()
    try:
        uses = center.pepper_rotation.status()
    finally:
        center.close()
    if as_json:
        click.echo(json.dumps([use.document() for use in uses], indent=2))
        return
    click.echo("pepper generations (hashes of active devices, cloud accounts, enrollments):")
    for line in _uses(uses, "hashes"):
        click.echo(line)
    click.echo("generation 1 is kept for good: the keyed lookup digests are made under it")


@click.command("kek-status")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@handle_errors
def keys_kek_status(as_json: bool) -> None:
    """Live customer keys per key-encryption key generation."""
    center = local_center()
    try:
        uses = center.kek_rotation.status()
    finally:
        center.close()
    if as_json:
        click.echo(json.dumps([use.document() for use in uses], indent=2))
        return
    click.echo("key-encryption key generations (keys of active cloud accounts):")
    for line in _uses(uses, "keys"):
        click.echo(line)


@click.command("migrate")
@click.option(
    "--to",
    "target_name",
    required=True,
    metavar="BACKEND",
    help="The key backend to move into (pkcs11), configured by its settings (pkcs11_module, "
    "pkcs11_token_label, the PIN file).",
)
@click.option("--apply", "apply_", is_flag=True, help="Do it (without: only list what would move).")
@click.option(
    "--batch",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="Wrapped keys read at a time.",
)
@handle_errors
def keys_migrate(target_name: str, apply_: bool, batch: int) -> None:
    """Move the secrets and customer keys from the software backend into an HSM token.

    CA and OCSP signing keys are not moved: make new ones in the token with the key
    ceremony commands (a new CA, cross-signed by the old one). Run --apply with the center
    stopped, then set key_backend_secrets and key_backend_customer to the new backend."""
    from certcenter.errors import CertCenterError
    from certcenter.keys import make_backend

    center = local_center()
    try:
        try:
            target = make_backend(target_name, center.settings)
        except ValueError as exc:
            raise CertCenterError(
                "KEY_MIGRATION_TARGET", target=target_name, detail=str(exc)
            ) from None
        target.verify_passphrase()  # the module, the token and its PIN: refused now if wrong
        if not apply_:
            plan = center.key_migration.plan(target, target_name)
            for line in plan.lines():
                click.echo(line)
            click.echo("nothing changed: run again with --apply (the center stopped) to move")
            return
        report = center.key_migration.apply(
            target, operator=operator_actor().id, name=target_name, batch=batch, progress=_say
        )
    finally:
        center.close()
    for line in report.plan.lines():
        _say(line)
    _say(
        f"done: {report.count.rewrapped} customer keys re-wrapped, {report.wrapped_older} of "
        f"older accounts wrapped; now set key_backend_secrets and key_backend_customer to "
        f"{target_name!r} and start the center"
    )
    echo_record(report.record)
