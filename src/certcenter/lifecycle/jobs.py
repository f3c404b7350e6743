"""The job runner: the lifecycle's policies over time, run in the background by the server
and on demand by an operator (``certcenter jobs run``).

    report = JobRunner(lifecycle, status_jobs, uow_factory, settings, clock).run_once()

Each pass marks expired certificates, revokes those unused for the policy's days
(cessationOfOperation), renews those used during their last year, runs the financial
certificate's own rules when given them (inactivity notice and deletion of cloud accounts,
renewal in the last month: :meth:`certcenter.financial.cloud.CloudCertificates.run_jobs`),
rejects the joint certificates whose CMP certConf never came (:mod:`certcenter.cmp`),
settles the transfers whose bank answer never came (:mod:`certcenter.usage.reconciliation`),
deletes the device challenges a day past their expiry,
refreshes what the status services publish (CRLs, cached OCSP responses), and seals the audit
trail's committed entries under a signed checkpoint (:mod:`certcenter.audit.checkpoints`; the
server also runs the sealer on its own, every ``audit_seal_interval_seconds``). Every
certificate is handled in its own transaction under a row lock, and every change re-checks
its condition under that lock, so several runners at once (several server processes) never
act twice: one renewal per certificate is also guaranteed by a unique index.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from certcenter.clock import Clock, as_utc
from certcenter.config import Settings
from certcenter.entities import CertificateStatus, EnrollmentState
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef, LifecycleService
from certcenter.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

# A device challenge (login, signing, …) lives minutes; once expired it can never be taken,
# so it is kept a day (for an operator looking into a refusal) and then deleted: a center
# that logs in millions of customers a day would otherwise keep millions of rows a day.
SPENT_CHALLENGES_KEPT = timedelta(days=1)


class StatusJobs(Protocol):
    """What the status services refresh on each pass (CRLs due, OCSP responses near expiry)."""

    def refresh(self) -> dict[str, int]: ...


class FinancialPass(Protocol):
    """What one pass of the financial certificate's rules did."""

    noticed: list[str]  # customers told their cloud account will be deleted
    deleted: list[str]  # customers whose cloud account was deleted for inactivity
    renewed: dict[str, str]
    errors: list[str]


class AuditSealing(Protocol):
    """Seals the audit trail's committed entries under a signed checkpoint (AuditCheckpoints);
    with ``wait=False`` a pass returns at once when another sealer is at work."""

    def seal(self, *, wait: bool = True) -> object | None: ...


class CmpPass(Protocol):
    """What one pass over the CMP transactions did."""

    rejected: list[str]  # transactionIDs whose certificate was never confirmed
    errors: list[str]


class CmpConfirmations(Protocol):
    """Rejects the certificates whose CMP certConf never came (cmp.ConfirmationTimeout)."""

    def reject_unconfirmed(self, *, batch: int = 500) -> CmpPass: ...


class JointFees(Protocol):
    """Refunds the fee of joint-certificate registrations that expired unused (FeeDesk)."""

    def refund_expired(self, limit: int = 100) -> int: ...


class RelayPurge(Protocol):
    """Deletes the certificate-copy relays past their time (CertificateCopies)."""

    def purge(self, *, batch: int = 500) -> int: ...


class TransferPass(Protocol):
    """What one reconciliation of transfers did."""

    completed: list[str]
    failed: list[str]
    errors: list[str]


class TransferSettling(Protocol):
    """Settles the transfers whose bank answer never came (TransferReconciliation)."""

    def run(self, *, batch: int = 100, everything: bool = False) -> TransferPass: ...


class FinancialRules(Protocol):
    """The financial certificate's rules over time (CloudCertificates)."""

    def run_jobs(self, *, batch: int = 500) -> FinancialPass: ...


@dataclass
class JobReport:
    expired: list[str] = field(default_factory=list)
    revoked_inactive: list[str] = field(default_factory=list)
    renewed: dict[str, str] = field(default_factory=dict)
    status: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    financial_noticed: list[str] = field(default_factory=list)
    financial_deleted: list[str] = field(default_factory=list)
    audit_checkpoint: bool = False  # entries were sealed under a signed checkpoint
    cmp_rejected: list[str] = field(default_factory=list)  # CMP certConf never came
    joint_refunded: int = 0  # fees of joint registrations that expired unused, given back
    copies_purged: int = 0  # certificate-copy relays deleted past their time
    challenges_purged: int = 0  # device challenges deleted a day past their expiry
    transfers_completed: list[str] = field(default_factory=list)  # settled from the bank
    transfers_failed: list[str] = field(default_factory=list)  # not executed: headroom back
    intents_abandoned: list[str] = field(default_factory=list)  # flows that can never finish

    def summary(self) -> str:
        financial = ""
        if self.financial_noticed or self.financial_deleted:
            financial = (
                f", financial notices {len(self.financial_noticed)}, "
                f"financial deleted {len(self.financial_deleted)}"
            )
        return (
            f"expired {len(self.expired)}, revoked for inactivity "
            f"{len(self.revoked_inactive)}, renewed {len(self.renewed)}{financial}, "
            f"status {self.status or {}}, errors {len(self.errors)}"
            + (", audit entries sealed" if self.audit_checkpoint else "")
            + (f", certificate copies deleted {self.copies_purged}" if self.copies_purged else "")
            + (
                f", spent device challenges deleted {self.challenges_purged}"
                if self.challenges_purged
                else ""
            )
            + (f", unconfirmed CMP {len(self.cmp_rejected)}" if self.cmp_rejected else "")
            + (
                f", transfers reconciled {len(self.transfers_completed)} completed "
                f"{len(self.transfers_failed)} not executed"
                if self.transfers_completed or self.transfers_failed
                else ""
            )
            + (f", intents abandoned {n}" if (n := len(self.intents_abandoned)) else "")
        )


class JobRunner:
    def __init__(
        self,
        lifecycle: LifecycleService,
        status: StatusJobs | None,
        uow_factory: UnitOfWorkFactory,
        settings: Settings,
        clock: Clock,
        financial: FinancialRules | None = None,
        audit: AuditSealing | None = None,
        cmp: CmpConfirmations | None = None,
        joint: JointFees | None = None,
        copies: RelayPurge | None = None,
        transfers: TransferSettling | None = None,
    ) -> None:
        self.lifecycle = lifecycle
        self.transfers = transfers
        self.cmp = cmp
        self.joint = joint
        self.copies = copies
        self.financial = financial
        self.audit = audit
        self.status = status
        self.uow_factory = uow_factory
        self.policy = settings.policy
        self.clock = clock

    def run_once(self, *, batch: int = 500) -> JobReport:
        report = JobReport()
        now = self.clock.now()
        with self.uow_factory() as uow:
            expired = [r.serial for r in uow.certificates.expired(now, limit=batch)]
            cutoff = now - timedelta(days=self.policy.mobile_inactivity_days)
            unused = [
                r.serial
                for r in uow.certificates.unused_since(cutoff, limit=batch)
                if r.family == "mobile"
            ]
            window = timedelta(days=self.policy.mobile_renewal_window_days)
            due = [
                r.serial
                for r in uow.certificates.renewal_due(now, window, limit=batch)
                if r.family == "mobile"
            ]
        for serial in expired:
            self._guarded(report, serial, lambda s: self._expire(s, report))
        try:
            self._abandon_stale_intents(report, batch)
        except Exception as exc:
            log.exception("abandoning stale issuance intents failed")
            report.errors.append(f"intents: {type(exc).__name__}")
        for serial in unused:
            self._guarded(report, serial, lambda s: self._inactive(s, report))
        for serial in due:
            if serial in report.revoked_inactive:
                continue
            self._guarded(report, serial, lambda s: self._renew(s, report))
        if self.financial is not None:
            try:
                done = self.financial.run_jobs(batch=batch)
                report.financial_noticed += done.noticed
                report.financial_deleted += done.deleted
                report.renewed.update(done.renewed)
                report.errors += done.errors
            except Exception as exc:
                log.exception("financial certificate rules failed")
                report.errors.append(f"financial: {type(exc).__name__}")
        if self.cmp is not None:
            try:
                confirmations = self.cmp.reject_unconfirmed(batch=batch)
                report.cmp_rejected += confirmations.rejected
                report.errors += confirmations.errors
            except Exception as exc:
                log.exception("CMP confirmation timeout failed")
                report.errors.append(f"cmp: {type(exc).__name__}")
        if self.joint is not None:
            try:
                report.joint_refunded = self.joint.refund_expired(batch)
            except Exception as exc:
                log.exception("joint fee refunds failed")
                report.errors.append(f"joint: {type(exc).__name__}")
        if self.status is not None:
            try:
                report.status = self.status.refresh()
            except Exception as exc:
                log.exception("status refresh failed")
                report.errors.append(f"status: {type(exc).__name__}")
        if self.audit is not None:
            try:
                report.audit_checkpoint = self.audit.seal(wait=False) is not None
            except Exception as exc:
                log.exception("audit sealing failed")
                report.errors.append(f"audit checkpoint: {type(exc).__name__}")
        if self.transfers is not None:
            try:
                settled = self.transfers.run(batch=batch)
                report.transfers_completed += settled.completed
                report.transfers_failed += settled.failed
                report.errors += settled.errors
            except Exception as exc:
                log.exception("transfer reconciliation failed")
                report.errors.append(f"transfers: {type(exc).__name__}")
        if self.copies is not None:
            try:
                report.copies_purged = self.copies.purge(batch=batch)
            except Exception as exc:
                log.exception("purging certificate copies failed")
                report.errors.append(f"certificate copies: {type(exc).__name__}")
        try:
            with self.uow_factory() as uow:
                report.challenges_purged = uow.challenges.purge_expired(
                    now - SPENT_CHALLENGES_KEPT, limit=batch
                )
                uow.commit()
        except Exception as exc:
            log.exception("deleting spent device challenges failed")
            report.errors.append(f"device challenges: {type(exc).__name__}")
        changes = (
            report.expired,
            report.revoked_inactive,
            report.renewed,
            report.errors,
            report.intents_abandoned,
        )
        financial = (report.financial_noticed, report.financial_deleted)
        money = (report.transfers_completed, report.transfers_failed)
        purged = (report.copies_purged, report.challenges_purged)
        if any((*changes, *financial, *money, *purged, report.cmp_rejected)):
            log.info("jobs: %s", report.summary())
        return report

    def _abandon_stale_intents(self, report: JobReport, batch: int) -> None:
        """Mark ``abandoned`` the mobile certificate's issuance intents whose flow can never
        finish: closed or past its expiry. A server killed while it signed leaves the intent
        pending and the flow in ``signing``; the customer's next CSR abandons it, but a
        customer who never comes back left it pending for ever. Never handed out, so nothing
        else changes (OCSP already answers ``unknown`` for it)."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            # whatever its age: an intent being signed now belongs to an open flow (kept),
            # and one whose flow ends while it is signed cannot be activated any more
            for record in uow.certificates.pending_before(now, limit=batch):
                if record.family != "mobile" or record.enrollment_id is None:
                    continue  # the financial certificate's flow cleans up its own (and its key)
                flow = uow.enrollments.get(record.enrollment_id)
                if (
                    flow is not None
                    and not EnrollmentState(flow.state).closed
                    and as_utc(flow.expires_at) > now
                ):
                    continue
                locked = uow.certificates.get(record.serial, for_update=True)
                if locked is not None and locked.status == CertificateStatus.PENDING.value:
                    locked.status = CertificateStatus.ABANDONED.value
                    report.intents_abandoned.append(record.serial)
            uow.commit()
        if report.intents_abandoned:
            log.info("issuance intents abandoned: %s", ", ".join(report.intents_abandoned))

    def _expire(self, serial: str, report: JobReport) -> None:
        if self.lifecycle.expire(serial).changed:
            report.expired.append(serial)

    def _inactive(self, serial: str, report: JobReport) -> None:
        if self.lifecycle.revoke_if_inactive(serial).changed:
            report.revoked_inactive.append(serial)

    def _renew(self, serial: str, report: JobReport) -> None:
        outcome = self.lifecycle.renew(serial, ActorRef.system("auto-renewal"))
        if outcome.changed and outcome.replaced_by:
            report.renewed[serial] = outcome.replaced_by

    def _guarded(self, report: JobReport, serial: str, work: Any) -> None:
        try:
            work(serial)
        except CertCenterError as err:
            # The certificate changed under us (revoked, renewed by another runner): skip it.
            log.info("jobs: %s skipped (%s)", serial, err.code)
        except Exception as exc:
            log.exception("jobs: %s failed", serial)
            report.errors.append(f"{serial}: {type(exc).__name__}")

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        """The server's background loop: a pass every ``interval`` seconds until stopped."""
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("job runner pass failed")
            stop.wait(interval)
