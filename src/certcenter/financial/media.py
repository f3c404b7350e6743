"""The additional medium (추가 인증 수단) a customer proves besides their phone: the withdrawal
account and its password, the security card, the OTP, or the mobile certificate approved in
the app. The financial certificate's issuance asks for one, and so does verifying the
customer again to register a browser or reset the PIN (:mod:`.reverification`).

    media = AdditionalMedia(providers=..., approvals=..., otp=..., cards=..., clock=clock)
    accounts, card = media.question(uow_factory, customer, "security_card", subject=flow.id)
    detail, approval_id = media.open_in(uow, customer, "security_card", accounts, card,
                                        purpose=FINANCIAL_DEVICE, source_ip=ip)
    inputs = medium_inputs("security_card", MediumAnswer(card_challenge_id=..., card_answer=...))
    ok = media.check(customer, flow.id, "security_card", inputs)   # no transaction open

The typed media (account, OTP, security card) are asked and compared by
:class:`~certcenter.authn.held_media.HeldMedia`, which the lost-phone report uses too; this
adds the mobile certificate approved in the app. The try is counted before
:meth:`AdditionalMedia.check` compares anything (the medium's own lockout,
:class:`~certcenter.authn.factors.FactorGuard`), and settled after; a flow's steps do all of
it through :meth:`AdditionalMedia.choose`, :meth:`AdditionalMedia.verify` and
:meth:`AdditionalMedia.take_approval`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar

from certcenter.audit.redaction import mask_account
from certcenter.authn.factors import FactorGuard
from certcenter.authn.held_media import (
    FACTOR_OF,
    CardChecker,
    HeldMedia,
    MediumAnswer,
    OtpChecker,
    medium_inputs,
)
from certcenter.clock import Clock
from certcenter.entities import CertificateStatus, Customer, WebApproval
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import term
from certcenter.flows import FlowEngine, FlowRef, StepResult
from certcenter.flows.engine import FlowRow
from certcenter.identity.providers import Providers
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.usage.approvals import ApprovalService

__all__ = [
    "FACTOR_OF",
    "MEDIA",
    "MEDIUM_NAMES",
    "AdditionalMedia",
    "MediumAnswer",
    "check_medium_name",
    "medium_inputs",
]

MEDIA = ("account", "security_card", "otp", "mobile_certificate")
MEDIUM_NAMES = {medium: term(f"medium.{medium}") for medium in MEDIA}  # in each language


def check_medium_name(medium: str) -> str:
    if medium not in MEDIA:
        raise CertCenterError("INVALID_REQUEST", detail=f"medium: {', '.join(MEDIA)}")
    return medium


class MediumRow(FlowRow, Protocol):
    """A flow's row that asks for an additional medium."""

    medium: str | None
    data: dict[str, Any]


Row = TypeVar("Row", bound=MediumRow)


class AdditionalMedia:
    """Asks and checks the additional medium; the flows keep their own state."""

    def __init__(
        self,
        *,
        providers: Providers,
        approvals: ApprovalService,
        otp: OtpChecker,
        cards: CardChecker,
        clock: Clock,
    ) -> None:
        self.typed = HeldMedia(providers, otp=otp, cards=cards)
        self.approvals = approvals
        self.cards = cards
        self.clock = clock

    def own_accounts(self, customer: Customer) -> list[tuple[str, str]]:
        """The customer's usable accounts at this bank (the bank is asked)."""
        return self.typed.accounts(customer)

    def held(
        self, uow: UnitOfWork, customer: Customer, medium: str, accounts: list[tuple[str, str]]
    ) -> None:
        """``MEDIUM_NOT_REGISTERED`` unless the customer holds the medium (for the account:
        ``accounts``, the usable ones at this bank)."""
        if medium == "mobile_certificate":
            device = uow.devices.active_for_customer(customer.id)
            active = uow.certificates.for_customer(
                customer.id, family="mobile", statuses=[CertificateStatus.ACTIVE.value]
            )
            held = device is not None and any(
                c.device_id == device.device_id and c.der is not None for c in active
            )
        else:
            held = self.typed.held(uow, customer, medium, accounts)
        if not held:
            raise CertCenterError("MEDIUM_NOT_REGISTERED", medium=MEDIUM_NAMES[medium])

    def held_by(self, uow_factory: UnitOfWorkFactory, customer: Customer) -> list[str]:
        """The media the customer can choose now (the bank is asked for the accounts)."""
        accounts = self.own_accounts(customer)
        found = []
        with uow_factory() as uow:
            for medium in MEDIA:
                try:
                    self.held(uow, customer, medium, accounts)
                except CertCenterError:
                    continue
                found.append(medium)
        return found

    def question(
        self, uow_factory: UnitOfWorkFactory, customer: Customer, medium: str, *, subject: str
    ) -> tuple[list[tuple[str, str]], dict[str, Any]]:
        """Before the step's transaction (the bank and the card service are asked): the
        customer's usable accounts for ``account``, the card's two slots for
        ``security_card``; ``MEDIUM_NOT_REGISTERED`` for a medium they do not hold."""
        accounts = self.own_accounts(customer) if medium == "account" else []
        if medium == "account" and not accounts:
            raise self.typed.account_refusal(customer)
        with uow_factory() as uow:
            self.held(uow, customer, medium, accounts)
        if medium != "security_card":
            return accounts, {}
        asked = self.cards.challenge(customer.id, subject=subject)
        return accounts, {
            "challenge_id": asked.id,
            "slot_a": asked.slot_a,
            "slot_b": asked.slot_b,
            "expires_at": asked.expires_at.isoformat(),
        }

    def open_in(
        self,
        uow: UnitOfWork,
        customer: Customer,
        medium: str,
        accounts: list[tuple[str, str]],
        card: dict[str, Any],
        *,
        purpose: str,
        source_ip: str | None,
    ) -> tuple[dict[str, Any], str | None]:
        """Inside the step: what the screen shows for the medium (the masked accounts, the
        card's slots, the code to approve in the app) and, for the app, the approval's id
        to keep with the flow."""
        self.held(uow, customer, medium, accounts)
        detail: dict[str, Any] = {"medium": medium}
        approval_id: str | None = None
        if medium == "account":
            detail["accounts"] = [
                {"bank_code": bank, "account_number": mask_account(number)}
                for bank, number in accounts
            ]
        elif medium == "security_card":
            detail["security_card"] = card
        elif medium == "mobile_certificate":
            made = self.approvals.start_in(
                uow, purpose, expected_customer_id=customer.id, source_ip=source_ip
            )
            approval_id = made.id
            detail["approval_code"] = made.code
            detail["approval_expires_at"] = made.expires_at.isoformat()
        return detail, approval_id

    def choose(
        self,
        engine: FlowEngine[Row, Any],
        ref: FlowRef,
        medium: str,
        *,
        purpose: str,
        pending: str,
    ) -> StepResult:
        """A flow's "medium" step: the customer's accounts or the card's slots are asked for
        before the step's transaction, the question is opened in it (the app's approval kept
        in the row's data), and the row waits in ``pending`` for the answer."""
        check_medium_name(medium)

        def question(
            row: Row, customer: Customer | None
        ) -> tuple[list[tuple[str, str]], dict[str, Any]]:
            holder = engine.known(row, customer)
            return self.question(engine.uow_factory, holder, medium, subject=row.id)

        accounts, card = engine.ask(ref, "medium", question)

        def act(uow: UnitOfWork, row: Row) -> Mapping[str, Any]:
            customer = engine.customer(uow, row)
            detail, approval_id = self.open_in(
                uow, customer, medium, accounts, card, purpose=purpose, source_ip=ref.client_ip
            )
            data = {k: v for k, v in row.data.items() if k != "approval_id"}
            if approval_id is not None:
                data["approval_id"] = approval_id
            row.data = data
            row.medium = medium
            row.state = pending
            return detail

        return engine.step(ref, "medium", act)

    def check(self, customer: Customer, flow_id: str, medium: str, inputs: dict[str, str]) -> bool:
        """Compare a typed medium's answer (no transaction of ours is open). Raises when
        nothing could be compared (an account that is not the customer's, a spent card
        challenge)."""
        return self.typed.check(customer, medium, inputs, subject=flow_id)

    def approved(
        self, uow: UnitOfWork, approval_id: str, *, purpose: str, customer_id: str
    ) -> WebApproval | None:
        """The app's approval of the flow's code, consumed in ``uow``; None while pending."""
        return self.approvals.take(uow, approval_id, purpose=purpose, customer_id=customer_id)

    def verify(
        self,
        engine: FlowEngine[Row, Any],
        ref: FlowRef,
        peeked: Row,
        inputs: dict[str, str],
        *,
        guard: FactorGuard,
        done: Callable[[UnitOfWork, Row], Mapping[str, Any]],
    ) -> StepResult:
        """A flow's "medium_verify" step for a typed medium (``inputs``, the answer to the
        medium the flow ``peeked`` at chose): the try is counted (the medium's lockout) in
        a step of its own, compared with no transaction open (given back when nothing could
        be compared) and settled; a refusal is recorded as the step's. Right, ``done`` moves
        the flow on, if it still waits for that medium."""
        medium = peeked.medium or ""
        chosen = FACTOR_OF[medium]

        def reserve(
            uow: UnitOfWork, row: Row
        ) -> tuple[Mapping[str, Any], tuple[Customer, dict[str, int]]]:
            _require_medium(row, medium)
            customer = engine.customer(uow, row)
            return {}, (customer, guard.reserve(uow, customer.id, [chosen]))

        _, (customer, attempts) = engine.step_with(ref, "medium_verify", reserve, audit=False)

        def refused(err: CertCenterError) -> None:
            engine.record_failure(
                "medium_verify",
                err,
                flow_id=peeked.id,
                customer_id=customer.id,
                client_ip=ref.client_ip,
                marks=engine.kind.marks(peeked),
            )

        try:
            ok = self.check(customer, peeked.id, medium, inputs)
        except CertCenterError as err:  # nothing was compared: the try is given back
            with engine.uow_factory() as uow:
                uow.factors.release_attempt(customer.id, chosen, engine.clock.now())
                uow.commit()
            refused(err)
            raise
        with engine.uow_factory() as uow:
            refusal = guard.settle(uow, customer.id, {chosen: ok}, attempts=attempts)
            uow.commit()
        if refusal is not None:
            refused(refusal)
            raise refusal

        def finish(uow: UnitOfWork, row: Row) -> Mapping[str, Any]:
            _require_medium(row, medium)
            return done(uow, row)

        return engine.step(ref, "medium_verify", finish)

    def take_approval(
        self, engine: FlowEngine[Row, Any], uow: UnitOfWork, row: Row, *, purpose: str
    ) -> bool:
        """The mobile certificate's answer in a flow's "medium_verify" step: the app's
        approval of the flow's code, taken in ``uow`` and kept in the row's data
        (``approved_by``: the device and its certificate); False while it is pending."""
        _require_medium(row, "mobile_certificate")
        customer = engine.customer(uow, row)
        approval = self.approved(
            uow, str(row.data.get("approval_id", "")), purpose=purpose, customer_id=customer.id
        )
        if approval is None:
            return False
        row.data = {
            **row.data,
            "approved_by": {
                "device": approval.device_id,
                "certificate": approval.certificate_serial,
            },
        }
        return True


def _require_medium(row: MediumRow, medium: str) -> None:
    """Out of order unless the flow waits for the answer to ``medium``."""
    if row.medium != medium:
        raise CertCenterError("ENROLLMENT_STEP_OUT_OF_ORDER", state=row.state, step="medium_verify")
