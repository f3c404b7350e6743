"""The operator's desk (운영자 업무): find a customer, see their certificates, devices,
failures, blocks and notifications, act on certificates, unlock a PIN, publish CRLs — every
action, reads included, recorded in the audit trail under the operator's name.

    desk.customer("C001", ActorRef.operator("kim", ip))   # a view; audited as view_customer
    desk.unlock_pin("C001", ActorRef.operator("kim", ip))  # after verifying the customer
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from certcenter.authn.factors import FACTORS
from certcenter.authn.factors import PIN as PIN_FACTOR
from certcenter.clock import Clock
from certcenter.entities import (
    Block,
    CertificateRecord,
    Customer,
    Device,
    FailureRecord,
    OutboxMessage,
)
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef, AuditRecorder
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import DEVICE_AT_ADDRESS, devices_at_addresses


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    certificates: list[CertificateRecord]
    devices: list[Device]
    failures: list[FailureRecord]
    blocks: list[Block]
    notifications: list[OutboxMessage]
    pin_failures: int
    pin_locked: bool
    factors: dict[str, FactorState]


@dataclass(frozen=True)
class FactorState:
    """One factor's lockout counter as the operator sees it."""

    failures: int
    locked: bool


class AuditVerifier(Protocol):
    """Verifies the audit trail against its signed checkpoints, and signs one on demand
    (:class:`certcenter.audit.AuditCheckpoints`)."""

    def verify(self, uow: UnitOfWork) -> Any: ...
    def checkpoint(self) -> Any: ...


def verification_error(outcome: dict[str, Any]) -> CertCenterError | None:
    """The catalog's words for a failed :meth:`OperatorDesk.verify_audit` (None when ok):
    ``AUDIT_CHAIN_BROKEN``, ``AUDIT_CHECKPOINT_MISMATCH`` or ``AUDIT_CHECKPOINT_INVALID``."""
    if outcome["ok"]:
        return None
    return CertCenterError(
        outcome["code"] or "AUDIT_CHAIN_BROKEN",
        entry=outcome["first_broken_seq"] if outcome["first_broken_seq"] is not None else "-",
        checkpoint=outcome["checkpoint"] if outcome["checkpoint"] is not None else "-",
        detail=outcome["reason"] or "-",
    )


class CrlPublishing(Protocol):
    def publish(self, family: str, shard: int) -> Any: ...


class OperatorDesk:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        audit: AuditRecorder,
        clock: Clock,
        *,
        verifier: AuditVerifier,
        crls: CrlPublishing,
        crl_shards: int,
    ) -> None:
        self.uow_factory = uow_factory
        self.audit = audit
        self.clock = clock
        self.verifier = verifier
        self.crls = crls
        self.crl_shards = crl_shards

    def publish_crls(self, family: str, actor: ActorRef) -> dict[str, Any]:
        """Publish every partition of a family's CRL now."""
        numbers = {}
        for shard in range(self.crl_shards):
            record = self.crls.publish(family, shard)
            numbers[str(shard)] = int(record.number)
        with self.uow_factory() as uow:
            self._record(uow, actor, "publish_crl", "crl", family, {"numbers": numbers})
            uow.commit()
        return {"family": family, "crl_numbers": numbers}

    def verify_audit(self, actor: ActorRef) -> dict[str, Any]:
        """Walk the chain against the signed checkpoints (the verification itself is then
        recorded, after the walk). ``code`` names the failure's catalog entry."""
        with self.uow_factory() as uow:
            result = self.verifier.verify(uow)
        outcome: dict[str, Any] = {
            "ok": bool(result.ok),
            "checked": int(result.checked),
            "checkpoints": int(result.checkpoints),
            "first_broken_seq": result.first_broken_seq,
            "checkpoint": result.checkpoint,
            "code": result.code,
            "reason": result.reason,
            "last_seq": int(result.last_seq),
            "last_hash": str(result.last_hash),
            "unsealed": int(result.unsealed),
        }
        with self.uow_factory() as uow:
            self._record(
                uow,
                actor,
                "verify_audit",
                "audit",
                "chain",
                {
                    "ok": outcome["ok"],
                    "checked": outcome["checked"],
                    "checkpoints": outcome["checkpoints"],
                    "first_broken_seq": outcome["first_broken_seq"],
                    "failure": outcome["code"],
                    "unsealed": outcome["unsealed"],
                },
            )
            uow.commit()
        return outcome

    def checkpoint_audit(self, actor: ActorRef) -> dict[str, Any] | None:
        """Seal what has committed under a signed, published checkpoint now; the latest
        checkpoint (None while nothing was ever sealed). The request is then recorded, so the
        next checkpoint covers it."""
        made = self.verifier.checkpoint()
        if made is None:
            return None
        outcome = {
            "seq": int(made.seq),
            "head_hash": str(made.head_hash),
            "count": int(made.count),
            "at": made.at.isoformat(),
            "key_id": str(made.key_id),
            "root_hash": made.root_hash,
            "previous_hash": made.previous_hash,
        }
        with self.uow_factory() as uow:
            self._record(uow, actor, "checkpoint_audit", "audit", "chain", {"seq": made.seq})
            uow.commit()
        return outcome

    def audit_for(self, subject_kind: str, subject: str, actor: ActorRef) -> list[dict[str, Any]]:
        with self.uow_factory() as uow:
            entries = [
                {
                    "seq": e.seq,
                    "at": e.at.isoformat(),
                    "actor_kind": e.actor_kind,
                    "actor": e.actor,
                    "action": e.action,
                    "outcome": e.outcome,
                    "source_ip": e.source_ip,
                    "details": e.details,
                    "entry_hash": e.entry_hash,
                    "content_hash": e.content_hash,
                }
                for e in uow.audit.for_subject(subject_kind, subject)
            ]
            self._record(uow, actor, "read_audit", subject_kind, subject)
            uow.commit()
        return entries

    def _record(
        self,
        uow: UnitOfWork,
        actor: ActorRef,
        action: str,
        subject_kind: str,
        subject: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.audit.record(
            uow,
            actor_kind=actor.kind,
            actor=actor.id,
            action=action,
            subject_kind=subject_kind,
            subject=subject,
            source_ip=actor.source_ip,
            details=details or {},
        )

    def search(self, text: str, actor: ActorRef) -> list[Customer]:
        with self.uow_factory() as uow:
            found = list(uow.customers.search(text.strip()))
            self._record(
                uow,
                actor,
                "search_customers",
                "query",
                "-",
                {"results": [c.customer_number for c in found]},
            )
            uow.commit()
        return found

    def customer(self, number: str, actor: ActorRef) -> CustomerView:
        now = self.clock.now()
        with self.uow_factory() as uow:
            customer = uow.customers.by_number(number.upper())
            if customer is None:
                raise CertCenterError("CUSTOMER_UNKNOWN", customer=number[:20])
            blocks = [b for b in (uow.blocks.active("customer", customer.id, now),) if b]
            devices = list(uow.devices.for_customer(customer.id))
            failures = list(uow.failures.recent(customer_id=customer.id, limit=50))
            for kind, subject in [("device", d.device_id) for d in devices] + [
                (DEVICE_AT_ADDRESS, s) for s in devices_at_addresses(failures)
            ]:
                block = uow.blocks.active(kind, subject, now)
                if block is not None:
                    blocks.append(block)
            counter = uow.factors.get(customer.id, PIN_FACTOR)
            factors = {
                c.factor: FactorState(failures=c.failures, locked=c.locked_at is not None)
                for c in uow.factors.for_customer(customer.id)
            }
            view = CustomerView(
                customer=customer,
                certificates=list(uow.certificates.for_customer(customer.id)),
                devices=devices,
                failures=failures,
                blocks=blocks,
                notifications=list(uow.outbox.for_customer(customer.id, limit=20)),
                pin_failures=counter.failures if counter else 0,
                pin_locked=bool(counter and counter.locked_at),
                factors=factors,
            )
            self._record(uow, actor, "view_customer", "customer", customer.customer_number)
            uow.commit()
        return view

    def unlock_pin(self, number: str, actor: ActorRef) -> None:
        """Release a locked PIN after the operator has verified the customer (SPEC §6)."""
        self.unlock_factor(number, PIN_FACTOR, actor)

    def unlock_factor(self, number: str, factor: str, actor: ActorRef) -> None:
        """Release a locked factor (PIN, pattern, OTP, security card, account password) after
        the operator has verified the customer."""
        if factor not in FACTORS:
            raise CertCenterError("INVALID_REQUEST", detail=f"factor: {', '.join(FACTORS)}")
        now = self.clock.now()
        with self.uow_factory() as uow:
            customer = uow.customers.by_number(number.upper())
            if customer is None:
                raise CertCenterError("CUSTOMER_UNKNOWN", customer=number[:20])
            uow.factors.reset(customer.id, factor, now)
            action = "unlock_pin" if factor == PIN_FACTOR else "unlock_factor"
            details = None if factor == PIN_FACTOR else {"factor": factor}
            self._record(uow, actor, action, "customer", customer.customer_number, details)
            uow.commit()

    def lift_blocks(self, number: str, actor: ActorRef) -> int:
        """End a customer's 24-hour block (and their devices') early."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            customer = uow.customers.by_number(number.upper())
            if customer is None:
                raise CertCenterError("CUSTOMER_UNKNOWN", customer=number[:20])
            lifted = uow.blocks.lift("customer", customer.id, now)
            for device in uow.devices.for_customer(customer.id):
                lifted += uow.blocks.lift("device", device.device_id, now)
            recent = uow.failures.recent(customer_id=customer.id, limit=50)
            for scoped in devices_at_addresses(recent):  # devices not registered yet
                lifted += uow.blocks.lift(DEVICE_AT_ADDRESS, scoped, now)
            self._record(
                uow, actor, "lift_blocks", "customer", customer.customer_number, {"lifted": lifted}
            )
            uow.commit()
        return lifted
