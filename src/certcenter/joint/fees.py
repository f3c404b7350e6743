"""The 범용 joint certificate's yearly fee (수수료): paid through the bank, given back when the
registration is never used or its certificate could not be made.

    desk = FeeDesk(uow_factory=..., banking=providers.banking, accounts=providers.accounts, ...)
    bank_ref = desk.charge(customer, registration.id, 4400, bank_code="004", account="1234…")
    desk.refund(registration.id, why="expired")      # once; the job runner retries a failure
    desk.refund_expired(limit=100)                   # the job: expired, unused, still charged

The fee moves from the customer's own account (checked with the bank: the holder's CI) to the
bank's fee account (``settings.joint_fee_bank_code`` / ``joint_fee_account``) as a transfer,
so it is on the customer's statement ("공동인증서 수수료"), and back the same way ("공동인증서
수수료 환불"). A refund is claimed in the database first (``fee_state`` ``refunding``,
committed), the bank is asked with no transaction open, then the outcome is written: a refund
that fails goes back to ``charged`` and the job runner tries again; one never runs twice.
"""

from __future__ import annotations

import logging

from certcenter.clock import Clock, as_utc
from certcenter.config import Settings
from certcenter.entities import Customer
from certcenter.errors import CertCenterError
from certcenter.identity.providers import AccountVerifier, CoreBanking
from certcenter.joint.authority import FeeRefunds
from certcenter.joint.states import RegistrationState as S
from certcenter.lifecycle.service import AuditRecorder
from certcenter.ports import UnitOfWorkFactory

__all__ = ["FeeDesk"]

log = logging.getLogger(__name__)
CHARGE_TEXT = "공동인증서 수수료"
REFUND_TEXT = "공동인증서 수수료 환불"


class FeeDesk(FeeRefunds):
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        banking: CoreBanking,
        accounts: AccountVerifier,
        audit: AuditRecorder,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.banking = banking
        self.accounts = accounts
        self.audit = audit
        self.settings = settings
        self.clock = clock

    @property
    def house(self) -> tuple[str, str]:
        return self.settings.joint_fee_bank_code, self.settings.joint_fee_account

    def charge(
        self, customer: Customer, registration_id: str, amount: int, *, bank_code: str, account: str
    ) -> str:
        """Take ``amount`` from the customer's own account; the bank's reference. The bank's
        refusals come through (``ACCOUNT_NOT_OWN``, ``INSUFFICIENT_FUNDS``, …)."""
        if not (0 < len(bank_code) <= 3 and 0 < len(account) <= 20):
            raise CertCenterError("INVALID_REQUEST", detail="bank_code, account_number")
        self.accounts.check_account(
            bank_code=bank_code, account_number=account, holder_ci=customer.ci
        )
        house_bank, house_account = self.house
        return self.banking.transfer(
            from_bank=bank_code,
            from_account=account,
            to_bank=house_bank,
            to_account=house_account,
            amount=amount,
            sender_text=f"{customer.name} {CHARGE_TEXT}",
            payee_text=CHARGE_TEXT,
            reference=registration_id,
        )

    def give_back(self, registration_id: str, *, bank_code: str, account: str) -> None:
        """A fee charged for a step that then failed (nothing recorded it): back at once."""
        with self.uow_factory(read_only=True) as uow:
            row = uow.joint_registrations.get(registration_id)
            amount = row.fee_krw if row is not None else 0
            recorded = row is not None and row.fee_state != "none"
        if amount <= 0 or recorded:
            return
        try:
            self._pay_back(registration_id, amount, bank_code, account)
        except Exception:
            log.exception("joint registration %s: fee not given back", registration_id)

    def refund(self, registration_id: str, *, why: str) -> None:
        """Give a charged fee back once (a failure is logged and left to the job runner)."""
        with self.uow_factory() as uow:
            row = uow.joint_registrations.get(registration_id, for_update=True)
            if row is None or row.fee_state != "charged":
                return
            row.fee_state = "refunding"
            row.updated_at = self.clock.now()
            uow.commit()
            amount, bank, account = row.fee_krw, row.fee_bank_code or "", row.fee_account or ""
        try:
            bank_ref = self._pay_back(registration_id, amount, bank, account)
        except Exception:
            log.exception("joint registration %s: refund failed, retried later", registration_id)
            with self.uow_factory() as uow:
                row = uow.joint_registrations.get(registration_id, for_update=True)
                if row is not None and row.fee_state == "refunding":
                    row.fee_state = "charged"
                    uow.commit()
            return
        with self.uow_factory() as uow:
            row = uow.joint_registrations.get(registration_id, for_update=True)
            if row is None:  # pragma: no cover - rows are never deleted
                return
            row.fee_state = "refunded"
            row.data = {**row.data, "refund_reference": bank_ref, "refund_why": why}
            row.updated_at = self.clock.now()
            customer = uow.customers.get(row.customer_id) if row.customer_id else None
            self.audit.record(
                uow,
                actor_kind="system",
                actor="joint-fee",
                action="joint.fee_refund",
                subject_kind="joint_registration",
                subject=registration_id,
                details={
                    "amount": amount,
                    "why": why,
                    "customer": getattr(customer, "customer_number", None),
                },
            )
            uow.commit()
        log.info("joint registration %s: fee refunded (%s)", registration_id, why)

    def refund_expired(self, limit: int = 100) -> int:
        """Expire registered references past their time and refund their fees, and retry
        the refunds of failed or rejected ones; how many were refunded."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            due = list(uow.joint_registrations.charged_before(now, limit))
            for registration_id in due:
                row = uow.joint_registrations.get(registration_id, for_update=True)
                if (
                    row is not None
                    and row.state == S.REGISTERED.value
                    and as_utc(row.expires_at) <= now
                ):
                    row.state = S.EXPIRED.value
                    row.vid_random_sealed = None
                    row.updated_at = now
            uow.commit()
        done = 0
        for registration_id in due:
            with self.uow_factory(read_only=True) as uow:
                row = uow.joint_registrations.get(registration_id)
                refundable = row is not None and row.state in (
                    S.EXPIRED.value,
                    S.FAILED.value,
                    S.REJECTED.value,
                )
            if refundable:
                self.refund(registration_id, why="expired")
                done += 1
        return done

    def _pay_back(self, registration_id: str, amount: int, bank: str, account: str) -> str:
        house_bank, house_account = self.house
        return self.banking.transfer(
            from_bank=house_bank,
            from_account=house_account,
            to_bank=bank,
            to_account=account,
            amount=amount,
            sender_text=REFUND_TEXT,
            payee_text=REFUND_TEXT,
            reference=registration_id,
        )
