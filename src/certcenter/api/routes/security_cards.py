"""The security card (보안카드): the bank issues it (operator), the logged-in customer registers
it, answers its challenges and cancels it (해지: one more question on the card and the app's
PIN, as ``DELETE /v1/otp`` asks it). The slots' digits never pass through this API: the
customer reads them from the printed card and sends only the 4-digit answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from certcenter.api.contract import FACTOR_CHECK, FACTOR_LOCKS, KEY_BACKEND, raises
from certcenter.api.deps import CenterDep, ClientIp, SessionDep
from certcenter.api.routes.operator import OperatorActor
from certcenter.media.security_card import CardChallenge, CardView

router = APIRouter(tags=["security card (보안카드)"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CardSerialIn(_Body):
    serial: Annotated[str, StringConstraints(min_length=1, max_length=40, strip_whitespace=True)]


class CardAnswerIn(_Body):
    answer: Annotated[str, StringConstraints(max_length=16)] = Field(
        description="First two digits of slot A, then the last two digits of slot B."
    )


class CardCancelIn(CardAnswerIn):
    pin: Annotated[str, StringConstraints(min_length=1, max_length=12)] = Field(
        description="The app's PIN (간편비밀번호), asked again to cancel."
    )


class CardChallengeOut(BaseModel):
    id: str
    slot_a: int = Field(description="Give the first two digits of this slot …")
    slot_b: int = Field(description="… followed by the last two digits of this slot.")
    expires_at: datetime


class CardOut(BaseModel):
    serial: str = Field(description="Masked: only the last four characters are shown.")
    status: str
    slots: int
    issued_at: datetime
    registered_at: datetime | None = None
    revoked_at: datetime | None = None


class VerifiedOut(BaseModel):
    verified: bool


class IssuedCardOut(BaseModel):
    serial: str
    customer: str
    status: str
    slots: int
    issued_at: datetime
    lock_released: bool


def _challenge(made: CardChallenge) -> CardChallengeOut:
    return CardChallengeOut(
        id=made.id, slot_a=made.slot_a, slot_b=made.slot_b, expires_at=made.expires_at
    )


def _card(view: CardView) -> CardOut:
    return CardOut(
        serial=view.masked_serial,
        status=view.status,
        slots=view.slots,
        issued_at=view.issued_at,
        registered_at=view.registered_at,
        revoked_at=view.revoked_at,
    )


@router.get("/v1/security-cards", response_model=list[CardOut])
def cards(center: CenterDep, session: SessionDep) -> list[CardOut]:
    """The logged-in customer's security cards (serials masked)."""
    return [_card(view) for view in center.security_cards.cards(session.customer_id)]


@router.post("/v1/security-cards/registrations", response_model=CardChallengeOut, status_code=201)
@raises(*FACTOR_LOCKS, "SECURITY_CARD_CANCELLED", "SECURITY_CARD_UNKNOWN")
def start_registration(
    body: CardSerialIn, center: CenterDep, session: SessionDep
) -> CardChallengeOut:
    """Register the card the bank gave you: its serial gets a question on two slots."""
    return _challenge(center.security_cards.start_registration(session.customer_id, body.serial))


@router.post("/v1/security-cards/registrations/{challenge_id}", response_model=CardOut)
@raises(
    *FACTOR_CHECK,
    "SECURITY_CARD_CANCELLED",
    "SECURITY_CARD_CHALLENGE_INVALID",
    "SECURITY_CARD_UNKNOWN",
)
def complete_registration(
    challenge_id: str, body: CardAnswerIn, center: CenterDep, session: SessionDep, ip: ClientIp
) -> CardOut:
    """Answer the registration question: the card becomes your card in use (a card used
    before is revoked)."""
    view = center.security_cards.complete_registration(
        session.customer_id, challenge_id, body.answer, source_ip=ip
    )
    return _card(view)


@router.post("/v1/security-cards/challenges", response_model=CardChallengeOut, status_code=201)
@raises(*FACTOR_LOCKS, "SECURITY_CARD_NOT_REGISTERED")
def challenge(center: CenterDep, session: SessionDep) -> CardChallengeOut:
    """A single-use question on your registered card."""
    return _challenge(center.security_cards.challenge(session.customer_id))


@router.post("/v1/security-cards/challenges/{challenge_id}/verify", response_model=VerifiedOut)
@raises(*FACTOR_CHECK, "SECURITY_CARD_CANCELLED", "SECURITY_CARD_CHALLENGE_INVALID")
def verify(
    challenge_id: str, body: CardAnswerIn, center: CenterDep, session: SessionDep
) -> VerifiedOut:
    """Answer the question; wrong answers count towards the card's lock."""
    center.security_cards.verify(session.customer_id, challenge_id, body.answer)
    return VerifiedOut(verified=True)


@router.post("/v1/security-cards/cancellations", response_model=CardChallengeOut, status_code=201)
@raises(*FACTOR_LOCKS, "SECURITY_CARD_NOT_REGISTERED")
def start_cancel(center: CenterDep, session: SessionDep) -> CardChallengeOut:
    """해지 1: a question on two slots of your card in use, to prove you hold it."""
    return _challenge(center.security_cards.start_cancel(session.customer_id))


@router.post("/v1/security-cards/cancellations/{challenge_id}", response_model=CardOut)
@raises(
    *FACTOR_CHECK,
    "DEVICE_NOT_REGISTERED",
    "SECURITY_CARD_CANCELLED",
    "SECURITY_CARD_CHALLENGE_INVALID",
    "SECURITY_CARD_NOT_REGISTERED",
    "SESSION_INVALID",
)
def cancel(
    challenge_id: str, body: CardCancelIn, center: CenterDep, session: SessionDep, ip: ClientIp
) -> CardOut:
    """해지 2: the answer and the app's PIN (a lost or borrowed session alone cannot cancel
    the card; wrong answers count towards the card's lock). The card is ``cancelled`` and a
    new card from the bank can be registered."""
    view = center.security_cards.cancel(
        session.customer_id,
        challenge_id,
        body.answer,
        device_id=session.device_id,
        pin=body.pin,
        source_ip=ip,
    )
    return _card(view)


@router.post(
    "/v1/operator/customers/{number}/security-cards",
    response_model=IssuedCardOut,
    status_code=201,
    tags=["operator (운영자)"],
)
@raises(*KEY_BACKEND, "CUSTOMER_UNKNOWN")
def issue(number: str, center: CenterDep, actor: OperatorActor) -> IssuedCardOut:
    """Issue a new security card to a customer; the printed card goes to the customer (never
    shown here), who registers it in the app."""
    issued = center.security_cards.issue(number, actor)
    return IssuedCardOut(
        serial=issued.serial,
        customer=issued.customer_number,
        status="issued",
        slots=issued.slots,
        issued_at=issued.issued_at,
        lock_released=issued.lock_released,
    )
