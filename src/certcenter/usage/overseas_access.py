"""해외 IP 차단 해제 — the customer allows access from abroad for a time, from the app.

    access = OverseasAccess(uow_factory=..., authenticator=..., audit=..., notifier=...,
                            settings=settings, clock=clock)
    challenge = access.challenge(device_id)                 # the app signs it
    state = access.allow(DeviceProof(device_id, challenge.challenge, signature, pin),
                         days=14, source_ip="211.36.1.1")
    state.allowed, state.until                              # True, 14 days from now
    access.end(proof, source_ip=...)                        # 해외 IP 차단 (again)

By default the center refuses issuance, re-issuance and the other proofing flows from an
address outside Korea (``FOREIGN_IP_BLOCKED``, :meth:`~certcenter.risk.rules.RiskRules.
check_customer_network`). A customer travelling abroad lifts that block for a number of days
(1 to ``overseas_access_max_days`` *(policy)*, as banks limit it): confirmed with their own
confirmation — a fresh challenge signed by the registered device's key and the PIN, so only
the holder of the mobile certificate and its PIN can do it, from wherever they are. The
change is audited (``overseas_access.allow`` / ``overseas_access.end``) and the customer is
told by their notification channels in the same transaction. The allowance ends by itself at
``until``; nothing needs to run for that.

A customer abroad without a mobile certificate cannot lift the block this way: the remedy of
``FOREIGN_IP_BLOCKED`` names what is left (the phone's roaming data, which reaches the center
from the home carrier's Korean address, or issuing before departure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from certcenter.authn.device_auth import Authenticated, DeviceAuthenticator
from certcenter.clock import Clock, as_utc
from certcenter.config import Settings
from certcenter.entities import Customer, DeviceChallenge
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import text
from certcenter.issuance.service import Notifier
from certcenter.lifecycle.customer_actions import DeviceProof
from certcenter.lifecycle.service import AuditRecorder
from certcenter.notifications.messages import format_value
from certcenter.ports import UnitOfWorkFactory

PURPOSE = "overseas_access"  # the device challenge's purpose


@dataclass(frozen=True)
class OverseasAccessState:
    """Whether access from abroad is allowed now, and until when (None: without an end)."""

    allowed: bool
    until: datetime | None


def state_of(customer: Customer, now: datetime) -> OverseasAccessState:
    """The customer's allowance as it stands at ``now``."""
    until = customer.overseas_access_until
    live = customer.overseas_access and (until is None or now < as_utc(until))
    return OverseasAccessState(allowed=live, until=as_utc(until) if live and until else None)


class OverseasAccess:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        authenticator: DeviceAuthenticator,
        audit: AuditRecorder,
        notifier: Notifier,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.authenticator = authenticator
        self.audit = audit
        self.notifier = notifier
        self.bank = settings.bank_name
        self.policy = settings.policy
        self.clock = clock

    def challenge(self, device_id: str) -> DeviceChallenge:
        """A single-use challenge for the registered device to sign (purpose
        ``overseas_access``)."""
        with self.uow_factory(read_only=True) as uow:  # nothing is stored until it is used
            return self.authenticator.issue_challenge(uow, device_id=device_id, purpose=PURPOSE)

    def allow(self, proof: DeviceProof, *, days: int, source_ip: str | None) -> OverseasAccessState:
        """해외 IP 차단 해제 for ``days`` (1 to ``overseas_access_max_days``) from now."""
        longest = self.policy.overseas_access_max_days
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= longest:
            raise CertCenterError("OVERSEAS_ACCESS_DAYS_INVALID", max_days=longest)
        return self._change(proof, source_ip, days=days)

    def end(self, proof: DeviceProof, *, source_ip: str | None) -> OverseasAccessState:
        """해외 IP 차단: access from abroad is refused again from now."""
        return self._change(proof, source_ip, days=None)

    def status(self, customer_id: str) -> OverseasAccessState:
        with self.uow_factory(read_only=True) as uow:
            customer = uow.customers.get(customer_id)
        if customer is None:
            raise CertCenterError("CUSTOMER_NOT_FOUND")
        return state_of(customer, self.clock.now())

    def _change(
        self, proof: DeviceProof, source_ip: str | None, *, days: int | None
    ) -> OverseasAccessState:
        with self.uow_factory() as uow:
            who: Authenticated = self.authenticator.verify(
                uow,
                device_id=proof.device_id,
                purpose=PURPOSE,
                challenge=proof.challenge,
                signature=proof.signature,
                pin=proof.pin,
                client_ip=source_ip,
            )
            customer = uow.customers.get(who.customer.id, for_update=True)
            if customer is None:  # the device's owner exists while the device is registered
                raise CertCenterError("CUSTOMER_NOT_FOUND")
            now = self.clock.now()
            until = now + timedelta(days=days) if days is not None else None
            customer.overseas_access = until is not None
            customer.overseas_access_until = until
            self.audit.record(
                uow,
                actor_kind="customer",
                actor=customer.customer_number,
                action="overseas_access.allow" if until else "overseas_access.end",
                subject_kind="customer",
                subject=customer.customer_number,
                source_ip=source_ip,
                details={"until": until.isoformat() if until else None, "device": proof.device_id},
            )
            event = "overseas_access_allowed" if until else "overseas_access_ended"
            values = {
                "bank": self.bank,
                "time": format_value(now),
                "until": format_value(until) if until else "",
                "sender": self.policy.sms_sender_number,
            }
            self.notifier.notify(
                uow,
                event=event,
                customer=customer,
                subject=text(f"notice.{event}.subject", "ko", **values),
                text_ko=text(f"notice.{event}.text", "ko", **values),
                text_en=text(f"notice.{event}.text", "en", **values),
                data={"until": until.isoformat() if until else None},
            )
            uow.commit()
            return state_of(customer, now)
