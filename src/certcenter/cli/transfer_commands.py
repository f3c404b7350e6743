"""``certcenter transfers``: the operator's view of transfers waiting for their bank answer,
and their reconciliation against the bank's record.

certcenter transfers processing        # each with what the bank says about its reference
certcenter transfers reconcile         # settle those waiting longer than the policy allows
certcenter transfers reconcile --all   # every one processing (no server sending one now)
"""

from __future__ import annotations

import click

from certcenter.cli.common import handle_errors, local_center, send_notices


@click.group()
def transfers() -> None:
    """Transfers waiting for their bank answer (processing), and their reconciliation."""


@transfers.command("processing")
@handle_errors
def transfers_processing() -> None:
    """Transfers processing now, oldest first, with the bank's answer for each reference."""
    center = local_center()
    try:
        views = center.transfer_reconciliation.stuck()
    finally:
        center.close()
    if not views:
        click.echo("no transfer is waiting for the bank")
        return
    for view in views:
        transfer = view.transfer
        bank = view.bank
        said = "bank not reachable" if bank is None else f"bank: {bank.status}"
        if bank is not None and bank.bank_reference:
            said += f" {bank.bank_reference}"
        if bank is not None and bank.refusal:
            said += f" ({bank.refusal})"
        click.echo(
            f"{transfer.id}  {transfer.amount:,} KRW  {transfer.from_bank}-{transfer.from_account}"
            f" → {transfer.to_bank}-{transfer.to_account}  waiting {view.waiting_seconds}s  {said}"
        )


@transfers.command("reconcile")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Every transfer processing now, however recent (only when no server is sending one).",
)
@handle_errors
def transfers_reconcile(everything: bool) -> None:
    """Settle transfers against the bank: completed there → completed; not executed →
    refused and their amount given back to the day's headroom."""
    center = local_center()
    try:
        report = center.transfer_reconciliation.run(everything=everything)
        send_notices(center)
    finally:
        center.close()
    click.echo(
        f"completed {len(report.completed)}, not executed {len(report.failed)}, "
        f"errors {len(report.errors)}"
    )
    for transfer_id in report.completed:
        click.echo(f"{transfer_id}: completed")
    for transfer_id in report.failed:
        click.echo(f"{transfer_id}: not executed, headroom given back")
    for error in report.errors:
        click.secho(error, fg="red", err=True)
