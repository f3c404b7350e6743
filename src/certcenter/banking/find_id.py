"""Finding one's internet-banking user ID (아이디 찾기): name, resident number and mobile
number, then the SMS code sent to that number; the ID is answered partly masked.

    finder = UserIdFinder(...)
    started = finder.start(name="김민준", rrn="900315-1512541", phone="01020000001",
                           source_ip="211.36.1.1")
    finder.verify_code(started.flow_id, started.token, "123456")    # "c00****r"

The resident number derives the birth date and the CI (연계정보) the customer must have, and is
then dropped: never stored, logged or audited (``RRN_INVALID`` for a malformed one, which tells
about nobody). Everything else is the re-verification flow
(:mod:`certcenter.financial.reverification`): the start answers alike whoever the details
name, the SMS code goes only to the customer's phone on record, every refusal is counted
towards the 24-hour block under the phone typed, the person and the address. The code alone is
enough here — the answer tells the phone's holder only part of an ID they could read in the
app — and the flow is done with it. A customer without internet banking is told so
(``USER_ID_NONE``, the way to join named), again only after the code.
"""

from __future__ import annotations

from certcenter.authn.factors import FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.banking.credentials import mask_user_id
from certcenter.clock import Clock, today
from certcenter.config import Settings
from certcenter.entities import Actor, Customer, FinancialReverification
from certcenter.errors import CertCenterError
from certcenter.financial.media import AdditionalMedia
from certcenter.financial.reverification import (
    Purpose,
    Reverification,
    ReverificationRef,
    ReverificationStarted,
)
from certcenter.identity.providers import Providers
from certcenter.identity.rrn import parse_rrn
from certcenter.lifecycle.service import AuditRecorder
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["FIND_ID_PURPOSE", "UserIdFinder"]

FIND_ID_PURPOSE = Purpose(
    name="find_user_id",
    code_purpose="find-user-id",
    sms="find_user_id",
    approval="find-user-id",
    audit_prefix="find_user_id.",
    failure_prefix="find_user_id.",
    invalid="USER_ID_FIND_INVALID",
    expired="USER_ID_FIND_EXPIRED",
)


class UserIdFinder:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        hasher: SecretHasher,
        providers: Providers,
        media: AdditionalMedia,
        guard: FactorGuard,
        audit: AuditRecorder,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.providers = providers
        self.audit = audit
        self.clock = clock
        self.flow = Reverification(
            FIND_ID_PURPOSE,
            uow_factory=uow_factory,
            hasher=hasher,
            media=media,
            guard=guard,
            providers=providers,
            audit=audit,
            settings=settings,
            clock=clock,
        )

    def start(
        self, *, name: str, rrn: str, phone: str, source_ip: str | None = None
    ) -> ReverificationStarted:
        """Name, resident number and mobile number: the same answer whoever they name; the
        SMS code goes only to the phone of the customer they all name."""
        number = parse_rrn(rrn, today=today(self.clock))
        ci = self.providers.identity.ci_for(number)
        return self.flow.start(
            name=name,
            phone=phone,
            birth_date=number.birth_date,
            client_ip=source_ip or "-",
            ci=ci,
        )

    def resend_code(
        self, flow_id: str, token: str, *, source_ip: str | None = None
    ) -> ReverificationStarted:
        return self.flow.resend_code(ReverificationRef(flow_id, token, source_ip or "-"))

    def verify_code(
        self, flow_id: str, token: str, code: str, *, source_ip: str | None = None
    ) -> str:
        """The SMS code; right, the customer's user ID partly masked (the flow is done)."""
        ref = ReverificationRef(flow_id, token, source_ip or "-")
        result = self.flow.verify_code(ref, code, self._has_id, self._found)
        return str(result.detail["user_id"])

    def status(self, flow_id: str, token: str, *, source_ip: str | None = None) -> object:
        return self.flow.status(ReverificationRef(flow_id, token, source_ip or "-"))

    @staticmethod
    def _has_id(uow: UnitOfWork, row: FinancialReverification, customer: Customer) -> None:
        if customer.user_id is None:
            raise CertCenterError("USER_ID_NONE")

    def _found(
        self, uow: UnitOfWork, row: FinancialReverification, customer: Customer
    ) -> dict[str, str]:
        shown = mask_user_id(customer.user_id or "")
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER,
            actor=customer.customer_number,
            action="user_id_found",
            subject_kind="customer",
            subject=customer.id,
            source_ip=row.client_ip,
            details={"shown": shown},
        )
        return {"user_id": shown}
