"""Changing the financial certificate's PIN (금융인증서 비밀번호 변경) while the customer knows it.

The old PIN is proven exactly as for a remote signature (:mod:`.signing`): an activation bound
to a statement of the change, signed by a registered device's key, authorized with the PIN —
counted before it is compared and locked after ``policy.financial_pin_max_failures``, the same
counter as every other use of the PIN. The new PIN is checked first (six digits, typed twice,
not guessable, not the old one): a mistake there counts nothing. Then the activation is spent,
the new PIN's hash replaces the old one, and the customer is told on every channel:

    change = FinancialPinChange(signer=remote_signer, ...)
    started = remote_signer.begin(device_id, "document", pin_change_statement(...),
                                  customer_id=customer_id)
    change.change(started.activation_id, device_signature, old_pin="480213",
                  new_pin="730516", new_pin_confirmation="730516", customer_id=customer_id)

A locked PIN is not changed here: the reset after verifying the customer again
(:mod:`.pin`) releases it.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from certcenter.authn.credential_policy import check_new_pin
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import Actor
from certcenter.errors import CertCenterError
from certcenter.financial import notices
from certcenter.financial.access import (
    FINANCIAL_PIN,
    PIN_PURPOSE,
    FinancialPinGuard,
    holding,
    token_digest,
)
from certcenter.financial.signing import RemoteSigner
from certcenter.lifecycle.service import AuditRecorder
from certcenter.notifications.outbox import Outbox
from certcenter.ports import UnitOfWorkFactory

__all__ = ["FinancialPinChange", "pin_change_statement"]


def pin_change_statement(serial: str, customer_number: str, at: datetime) -> bytes:
    """What the device signs to change the PIN: the act, the certificate, the time."""
    return (
        "certcenter 금융인증서 비밀번호 변경 / financial certificate PIN change v1\n"
        f"serial: {serial}\ncustomer: {customer_number}\nat: {at.isoformat()}\n"
    ).encode()


class FinancialPinChange:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        signer: RemoteSigner,
        hasher: SecretHasher,
        guard: FinancialPinGuard,
        audit: AuditRecorder,
        notifier: Outbox,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.signer = signer
        self.hasher = hasher
        self.guard = guard
        self.audit = audit
        self.notifier = notifier
        self.settings = settings
        self.clock = clock

    def change(
        self,
        activation_id: str,
        device_signature: str,
        *,
        old_pin: str,
        new_pin: str,
        new_pin_confirmation: str,
        customer_id: str,
        source_ip: str | None = None,
    ) -> None:
        """The new PIN checked (nothing counted), then the device signature and the old PIN
        (counted, locked after the policy's failures); right, the new PIN replaces it."""
        with self.uow_factory(read_only=True) as uow:
            customer = uow.customers.get(customer_id)
            if customer is None:
                raise CertCenterError("FINANCIAL_CERTIFICATE_NOT_FOUND")
            holding(uow, customer_id)
            if self.guard.is_locked(uow, customer_id, FINANCIAL_PIN):
                raise self.guard.locked_error(FINANCIAL_PIN)
        check_new_pin(new_pin, new_pin_confirmation, birth_date=customer.birth_date)
        if isinstance(old_pin, str) and hmac.compare_digest(
            old_pin.encode("utf-8", "surrogatepass"), new_pin.encode("utf-8")
        ):
            raise CertCenterError("PIN_UNCHANGED")
        new_hash = self.hasher.hash(new_pin, purpose=PIN_PURPOSE)  # outside transactions
        grant = self.signer.authorize(activation_id, device_signature, old_pin, source_ip=source_ip)
        with self.uow_factory() as uow:
            now = self.clock.now()
            activation = uow.activations.by_grant_hash(token_digest(grant.token))
            if activation is None or activation.customer_id != customer_id:
                raise CertCenterError("FINANCIAL_ACTIVATION_INVALID")
            if not uow.activations.consume(activation.id, now):
                raise CertCenterError("FINANCIAL_ACTIVATION_USED")
            account, _ = holding(uow, customer_id)
            stored = uow.cloud_accounts.get(account.id)
            if stored is None:
                raise CertCenterError("FINANCIAL_CERTIFICATE_NOT_FOUND")
            stored.pin_hash = new_hash
            self.guard.release(uow, customer_id, FINANCIAL_PIN)
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="financial_pin_change",
                subject_kind="cloud_account",
                subject=account.id,
                source_ip=source_ip,
                details={"device": activation.device_id},
            )
            self.notifier.notify(
                uow,
                customer=customer,
                **notices.pin_changed(self.settings.bank_name, now, source_ip=source_ip),
            )
            uow.commit()
