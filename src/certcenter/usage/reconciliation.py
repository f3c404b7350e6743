"""Reconciliation of transfers against the bank (거래 결과 대사): a transfer left
``processing`` — the server stopped between claiming the day's headroom and recording the
bank's answer — is settled from the bank's own record of the center's reference.

    reconciliation = TransferReconciliation(transfers=..., banking=..., uow_factory=...,
                                            audit=..., clock=clock, policy=policy)
    reconciliation.stuck()          # the operator's view: each with what the bank says now
    reconciliation.run()            # the job: settle those processing for longer than the policy

A transfer processing for longer than ``transfer_reconcile_after_seconds`` *(policy)* is asked
about at the bank with :meth:`~certcenter.identity.providers.CoreBanking.settle_reference`:

- ``completed`` → the transfer is completed with the bank's reference (its evidence was kept
  when it was claimed), audited and the customer told, as if the answer had come;
- ``refused`` or ``cancelled`` (the bank never saw it: the inquiry cancels the reference, so it
  can never move money later) → the transfer is refused (``TRANSFER_NOT_EXECUTED``, or the
  bank's refusal), its amount is given back to the day's headroom and the customer is told
  that it was not carried out (the notice ``transfer_not_executed``).

Every change is one transaction that moves the transfer out of ``processing`` first, so the
answer arriving late and the job (or two jobs) cannot both settle it; the headroom is given
back only by whoever ended it. A bank that cannot be reached leaves the transfer for the next
pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from certcenter.audit.trail import AuditTrail
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import Actor, Transfer, TransferStatus
from certcenter.identity.providers import CoreBanking, TransferInquiry
from certcenter.ports import UnitOfWorkFactory
from certcenter.usage.transfers import NOT_EXECUTED, PROCESSING, TransferService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StuckTransfer:
    """A transfer waiting for its bank answer, and what the bank says about it now."""

    transfer: Transfer
    waiting_seconds: int
    bank: TransferInquiry | None  # None: the bank could not be asked


@dataclass
class ReconciliationReport:
    completed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class TransferReconciliation:
    def __init__(
        self,
        *,
        transfers: TransferService,
        banking: CoreBanking,
        uow_factory: UnitOfWorkFactory,
        audit: AuditTrail,
        clock: Clock,
        policy: Policy,
    ) -> None:
        self.transfers = transfers
        self.banking = banking
        self.uow_factory = uow_factory
        self.audit = audit
        self.clock = clock
        self.policy = policy

    def stuck(self, *, limit: int = 100) -> list[StuckTransfer]:
        """Every transfer processing now (oldest first), with the bank's inquiry (read only)."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            found = list(uow.transfers.processing(limit=limit))
        views = []
        for transfer in found:
            since = transfer.claimed_at or transfer.created_at
            try:
                bank: TransferInquiry | None = self.banking.inquire_reference(
                    reference=transfer.id,
                    from_bank=transfer.from_bank,
                    from_account=transfer.from_account,
                )
            except Exception:  # the view still shows the transfer
                log.exception("bank inquiry for transfer %s failed", transfer.id)
                bank = None
            views.append(StuckTransfer(transfer, int((now - since).total_seconds()), bank))
        return views

    def run(self, *, batch: int = 100, everything: bool = False) -> ReconciliationReport:
        """Settle the transfers processing longer than the policy allows (``everything``:
        all processing now — for an operator who knows no server is sending one)."""
        report = ReconciliationReport()
        now = self.clock.now()
        cutoff: datetime | None = None
        if not everything:
            cutoff = now - timedelta(seconds=self.policy.transfer_reconcile_after_seconds)
        with self.uow_factory() as uow:
            due = list(uow.transfers.processing(claimed_before=cutoff, limit=batch))
        for transfer in due:
            try:
                self._settle(transfer, report)
            except Exception as exc:  # the next pass tries again
                log.exception("reconciling transfer %s failed", transfer.id)
                report.errors.append(f"{transfer.id}: {type(exc).__name__}")
        if report.completed or report.failed:
            log.info(
                "transfers reconciled: %d completed, %d failed",
                len(report.completed),
                len(report.failed),
            )
        return report

    def _settle(self, transfer: Transfer, report: ReconciliationReport) -> None:
        answer = self.banking.settle_reference(
            reference=transfer.id, from_bank=transfer.from_bank, from_account=transfer.from_account
        )
        with self.uow_factory() as uow:
            if answer.status == "completed" and answer.bank_reference:
                done = self.transfers.finish(
                    uow,
                    transfer.id,
                    answer.bank_reference,
                    actor=(Actor.SYSTEM, "reconciliation"),
                    reconciled=True,
                )
                uow.commit()
                if done is not None and done.status == TransferStatus.COMPLETED:
                    report.completed.append(transfer.id)
                return
            code = answer.refusal if answer.status == "refused" and answer.refusal else None
            code = code or NOT_EXECUTED
            if not uow.transfers.claim(transfer.id, PROCESSING, TransferStatus.REFUSED):
                return  # the answer came meanwhile
            stored = uow.transfers.get(transfer.id)
            if stored is not None:
                stored.failure_code = code
            uow.transfers.release_daily(transfer.customer_id, transfer.day, transfer.amount)
            self.transfers.tell_not_executed(uow, stored or transfer)
            self.audit.record(
                uow,
                actor_kind=Actor.SYSTEM,
                actor="reconciliation",
                action="transfer_not_executed",
                subject_kind="transfer",
                subject=transfer.id,
                details={"amount": transfer.amount, "bank": answer.status, "code": code},
            )
            uow.commit()
            report.failed.append(transfer.id)
