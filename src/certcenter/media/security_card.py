"""The security card (보안카드): a printed card of 30 or 35 numbered slots of 4 random digits.

    cards = SecurityCardService(uow_factory, keys, CARD_DIGEST_LABEL, providers, guard, clock,
                                policy, audit)
    issued = cards.issue("C001", actor)                  # the bank prints and hands it over
    question = cards.start_registration(customer_id, serial)   # the customer registers it
    cards.complete_registration(customer_id, question.id, "4721")
    question = cards.challenge(customer_id)              # later: "slot 7 first two + slot 22
    cards.verify(customer_id, question.id, "1893")       #  last two", with lockout
    question = cards.start_cancel(customer_id)           # 해지: the card once more …
    cards.cancel(customer_id, question.id, "5120", device_id=session.device_id, pin="135790")

A challenge names two distinct random slots A and B; the answer is the first two digits of slot
A followed by the last two digits of slot B. A challenge is valid for
``policy.security_card_challenge_ttl_seconds``, bound to its customer (and, for a transfer, to
its subject), and single use: it is consumed with an atomic conditional update before its answer
is compared, so a second use — even with the right answer — is refused
(``SECURITY_CARD_CHALLENGE_INVALID``). Wrong answers are counted by :class:`FactorGuard` under
the factor ``security_card``; ``policy.security_card_max_failures`` of them lock the card.

**Cancelling (해지).** The customer answers one more question on the card (its own challenge
factor, counted towards the card's lock like every answer) and types the PIN of the app the
session runs on, as the mobile OTP's cancel asks it (:mod:`certcenter.media.app_pin`). Both are
counted before they are compared and answered with one refusal whichever was wrong. The card
becomes ``cancelled`` (``revoked_at`` is when): it answers nothing any more
(``SECURITY_CARD_CANCELLED``) and cannot be registered again; the bank issues a new one.

**What the center stores.** The digits never: the printed card goes to its holder through the
card provider (:class:`~certcenter.identity.providers.CardDelivery`) and the center keeps, for
each slot, one digest per half — ``"7a"`` for slot 7's first two digits, ``"7b"`` for its last
two — as ``HMAC-SHA256(key, f"{card_id}:{slot}:{half}:{digits}")`` computed by the key backend
under a secret label (``CARD_DIGEST_LABEL``). A challenge stores only its slot numbers.

**Why a keyed MAC and not argon2 per half.** Each half has only 100 possible values. No unkeyed
hash, however slow or salted, protects that: whoever reads the database tries all 100 values of
a half in well under a second even at argon2's cost, and reads the whole card back. What protects
the digests is the key, which never leaves the key backend (a secret file sealed under the
key-store passphrase today, an HSM tomorrow: the backend only answers ``mac(label, data)``).
Without that key a digest tells nothing; with a stolen database alone the card cannot be
rebuilt. The card id and slot number inside the MAC input make every digest unique, so equal
halves in two slots or two cards do not show as equal digests. Digests are compared with
:func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from certcenter.audit.trail import AuditTrail
from certcenter.authn.factors import PIN, SECURITY_CARD, FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock, as_utc
from certcenter.config import Policy
from certcenter.entities import Actor, FactorChallenge, SecurityCard, SecurityCardStatus, new_id
from certcenter.errors import CertCenterError
from certcenter.identity.providers import Providers
from certcenter.keys import Secrets
from certcenter.lifecycle.service import ActorRef
from certcenter.media.app_pin import check_pin, keep_fresh, session_app
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "CANCELLATION",
    "REGISTRATION",
    "CardChallenge",
    "CardView",
    "IssuedCard",
    "SecurityCardService",
    "answer_for",
    "mask_serial",
]

REGISTRATION = "security_card_registration"  # the challenge factor of a card's registration
CANCELLATION = "security_card_cancel"  # the challenge factor of a card's cancellation
SERIAL_DIGITS = 10

ISSUED = SecurityCardStatus.ISSUED.value
ACTIVE = SecurityCardStatus.ACTIVE.value
REVOKED = SecurityCardStatus.REVOKED.value
CANCELLED = SecurityCardStatus.CANCELLED.value

_ANSWER = re.compile(r"[0-9]{4}")
_SERIAL = re.compile(r"[0-9]{1,20}")
_MAX_ID = 64
_MAX_SUBJECT = 36  # factor_challenges.subject


@dataclass(frozen=True)
class CardChallenge:
    """The question to the customer: first two digits of ``slot_a``, last two of ``slot_b``."""

    id: str
    slot_a: int
    slot_b: int
    expires_at: datetime


@dataclass(frozen=True)
class IssuedCard:
    """What the bank may show about a card it has just issued: never its digits."""

    id: str
    serial: str
    customer_number: str
    slots: int
    issued_at: datetime
    lock_released: bool


@dataclass(frozen=True)
class CardView:
    serial: str
    status: str
    slots: int
    issued_at: datetime
    registered_at: datetime | None
    revoked_at: datetime | None

    @property
    def masked_serial(self) -> str:
        return mask_serial(self.serial)


def mask_serial(serial: str) -> str:
    """Every character but the last four hidden: ``******7890``."""
    return "*" * max(len(serial) - 4, 0) + serial[-4:]


def answer_for(slots: Sequence[str], slot_a: int, slot_b: int) -> str:
    """The answer a holder of the printed card (``slots``, slot 1 first) gives."""
    return slots[slot_a - 1][:2] + slots[slot_b - 1][2:]


def _view(card: SecurityCard) -> CardView:
    return CardView(
        serial=card.serial,
        status=card.status,
        slots=card.slots,
        issued_at=card.issued_at,
        registered_at=card.registered_at,
        revoked_at=card.revoked_at,
    )


class SecurityCardService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        keys: Secrets,
        digest_label: str,
        providers: Providers,
        guard: FactorGuard,
        clock: Clock,
        policy: Policy,
        audit: AuditTrail,
        hasher: SecretHasher,
    ) -> None:
        self.uow_factory = uow_factory
        self.keys = keys
        self.digest_label = digest_label
        self.providers = providers
        self.guard = guard
        self.clock = clock
        self.policy = policy
        self.audit = audit
        self.hasher = hasher

    # ------------------------------------------------------------------ issuance (the bank)

    def issue(self, customer_number: str, actor: ActorRef) -> IssuedCard:
        """Print a new card for the customer: serial and random slots; store the keyed digests
        (status ``issued``), commit, then hand the printed card to the holder. The customer
        registers it before it can be used; a lock of the factor is released (the bank has
        seen the customer). ``CUSTOMER_UNKNOWN`` if there is no such customer."""
        number = customer_number.strip().upper()
        slots = self.policy.security_card_slots
        digits = [f"{secrets.randbelow(10_000):04d}" for _ in range(slots)]
        card_id = new_id()
        digests = self._digests(card_id, digits)
        for attempt in range(3):
            now = self.clock.now()
            with self.uow_factory() as uow:
                customer = uow.customers.by_number(number) if len(number) <= 20 else None
                if customer is None:
                    raise CertCenterError("CUSTOMER_UNKNOWN", customer=customer_number[:20])
                card = SecurityCard(
                    id=card_id,
                    customer_id=customer.id,
                    serial=self._new_serial(uow),
                    slots=slots,
                    slot_digests=dict(digests),
                    status=ISSUED,
                    issued_at=now,
                )
                uow.security_cards.add(card)
                released = self.guard.is_locked(uow, customer.id, SECURITY_CARD)
                if released:
                    self.guard.release(uow, customer.id, SECURITY_CARD)
                self.audit.record(
                    uow,
                    actor_kind=actor.kind,
                    actor=actor.id,
                    action="security_card.issue",
                    subject_kind="security_card",
                    subject=card.serial,
                    source_ip=actor.source_ip,
                    details={
                        "customer": customer.customer_number,
                        "slots": slots,
                        "lock_released": released,
                    },
                )
                issued = IssuedCard(
                    id=card.id,
                    serial=card.serial,
                    customer_number=customer.customer_number,
                    slots=slots,
                    issued_at=now,
                    lock_released=released,
                )
                holder_ci = customer.ci
                try:
                    uow.commit()
                except ConstraintViolationError:
                    if attempt == 2:
                        raise
                    continue  # two printers drew the same serial: draw again
            self.providers.cards.deliver(holder_ci=holder_ci, serial=issued.serial, slots=digits)
            return issued
        raise AssertionError("unreachable")  # pragma: no cover

    def cards(self, customer_id: str) -> list[CardView]:
        """The customer's cards, oldest first."""
        with self.uow_factory() as uow:
            return [_view(card) for card in uow.security_cards.for_customer(customer_id)]

    # ------------------------------------------------------------------ registration

    def start_registration(self, customer_id: str, serial: str) -> CardChallenge:
        """The customer types the serial of the card the bank gave them: a challenge on it.
        ``SECURITY_CARD_UNKNOWN`` for a serial that is not theirs (or revoked)."""
        wanted = "".join(ch for ch in serial if ch not in " -")
        with self.uow_factory() as uow:
            card = uow.security_cards.by_serial(wanted) if _SERIAL.fullmatch(wanted) else None
            if card is None or card.customer_id != customer_id or card.status == REVOKED:
                raise CertCenterError("SECURITY_CARD_UNKNOWN")
            if card.status == CANCELLED:
                raise CertCenterError("SECURITY_CARD_CANCELLED")
            self._refuse_if_locked(uow, customer_id)
            made = self._new_challenge(uow, customer_id, card, REGISTRATION, None)
            uow.commit()
        return made

    def complete_registration(
        self,
        customer_id: str,
        challenge_id: str,
        answer: str,
        *,
        source_ip: str | None = None,
    ) -> CardView:
        """Answer the registration challenge: the card becomes the customer's one ``active``
        card, and a previously active card is revoked. Wrong answers count (and lock) like
        any use of the card."""
        self._reserve(customer_id)
        try:
            ok, serial = self._answer(
                customer_id, challenge_id, answer, factor=REGISTRATION, subject=None
            )
        except CertCenterError:
            self._give_back(customer_id)
            raise
        with self.uow_factory() as uow:
            refusal = self.guard.settle(uow, customer_id, {SECURITY_CARD: ok})
            if refusal is not None:
                uow.commit()
                raise refusal
            now = self.clock.now()
            card = uow.security_cards.by_serial(serial)
            customer = uow.customers.get(customer_id)
            if (
                card is None
                or customer is None
                or card.customer_id != customer_id
                or card.status in (REVOKED, CANCELLED)
            ):
                uow.commit()
                raise CertCenterError("SECURITY_CARD_UNKNOWN")
            changes: list[tuple[str, str]] = []
            if card.status != ACTIVE:
                previous = uow.security_cards.active_for_customer(customer_id)
                if previous is not None:
                    previous.status = REVOKED
                    previous.revoked_at = now
                    uow.flush()  # before the new card is active: one active card per customer
                    changes.append(("security_card.revoke", previous.serial))
                card.status = ACTIVE
                card.registered_at = now
                changes.append(("security_card.register", card.serial))
            for action, serial_changed in changes:
                self.audit.record(
                    uow,
                    actor_kind=Actor.CUSTOMER,
                    actor=customer.customer_number,
                    action=action,
                    subject_kind="security_card",
                    subject=serial_changed,
                    source_ip=source_ip,
                    details={"customer": customer.customer_number},
                )
            view = _view(card)
            try:
                uow.commit()
            except ConstraintViolationError:  # another card registered at the same moment
                raise self._invalid() from None
        return view

    # ------------------------------------------------------------------ use

    def challenge(self, customer_id: str, *, subject: str | None = None) -> CardChallenge:
        """A new question on the customer's active card (``SECURITY_CARD_NOT_REGISTERED`` if
        there is none, ``SECURITY_CARD_LOCKED`` if the card is locked), optionally bound to
        ``subject`` (a transfer id)."""
        if subject is not None and not 0 < len(subject) <= _MAX_SUBJECT:
            raise ValueError(f"subject must be 1 to {_MAX_SUBJECT} characters")
        with self.uow_factory() as uow:
            card = uow.security_cards.active_for_customer(customer_id)
            if card is None:
                raise CertCenterError("SECURITY_CARD_NOT_REGISTERED")
            self._refuse_if_locked(uow, customer_id)
            made = self._new_challenge(uow, customer_id, card, SECURITY_CARD, subject)
            uow.commit()
        return made

    def check(
        self, customer_id: str, challenge_id: str, answer: str, *, subject: str | None = None
    ) -> bool:
        """Consume the challenge (committed) and say whether ``answer`` is right; False for a
        wrong or malformed answer. ``SECURITY_CARD_CHALLENGE_INVALID`` for a challenge that is
        unknown, used, expired, another customer's or for another subject. Failures are not
        counted here: the caller's :class:`FactorGuard` does that."""
        ok, _serial = self._answer(
            customer_id, challenge_id, answer, factor=SECURITY_CARD, subject=subject
        )
        return ok

    def verify(self, customer_id: str, challenge_id: str, answer: str) -> None:
        """Answer a standalone challenge, with lockout: the try is reserved (committed) first,
        then the answer is checked, then the outcome is booked and committed; a refusal
        (``AUTH_FAILED``, ``AUTH_LAST_TRY``, ``SECURITY_CARD_LOCKED``) is raised after."""
        self._reserve(customer_id)
        try:
            ok = self.check(customer_id, challenge_id, answer)
        except CertCenterError:
            self._give_back(customer_id)
            raise
        with self.uow_factory() as uow:
            refusal = self.guard.settle(uow, customer_id, {SECURITY_CARD: ok})
            uow.commit()
        if refusal is not None:
            raise refusal

    # ------------------------------------------------------------------ cancel (해지)

    def start_cancel(self, customer_id: str) -> CardChallenge:
        """The question that proves the card once more before it is cancelled
        (``SECURITY_CARD_NOT_REGISTERED`` without an active card, ``SECURITY_CARD_LOCKED``)."""
        with self.uow_factory() as uow:
            card = uow.security_cards.active_for_customer(customer_id)
            if card is None:
                raise CertCenterError("SECURITY_CARD_NOT_REGISTERED")
            self._refuse_if_locked(uow, customer_id)
            made = self._new_challenge(uow, customer_id, card, CANCELLATION, None)
            uow.commit()
        return made

    def cancel(
        self,
        customer_id: str,
        challenge_id: str,
        answer: str,
        *,
        device_id: str,
        pin: str,
        source_ip: str | None = None,
    ) -> CardView:
        """Cancel (해지) the customer's active card: the answer to the cancel question and the
        PIN of the app the session runs on, both counted before they are compared (one
        refusal whichever was wrong: ``AUTH_FAILED``, ``AUTH_LAST_TRY``, or the lock of the
        factor that reached its limit). ``DEVICE_NOT_REGISTERED`` in a session that is not on
        the customer's app; ``SECURITY_CARD_CHALLENGE_INVALID`` for a used or expired
        question. The card becomes ``cancelled`` and a new one can be registered."""
        with self.uow_factory() as uow:
            if uow.customers.get(customer_id) is None:
                raise CertCenterError("SESSION_INVALID")
            if uow.security_cards.active_for_customer(customer_id) is None:
                raise CertCenterError("SECURITY_CARD_NOT_REGISTERED")
            device = session_app(uow, customer_id, device_id)
            attempts = self.guard.reserve(uow, customer_id, [SECURITY_CARD, PIN])
            uow.commit()
        try:
            ok, serial = self._answer(
                customer_id, challenge_id, answer, factor=CANCELLATION, subject=None
            )
        except CertCenterError:
            self._give_back(customer_id, PIN)
            raise
        pin_answer = check_pin(self.hasher, device, pin)
        with self.uow_factory() as uow:
            refusal = self.guard.settle(
                uow, customer_id, {SECURITY_CARD: ok, PIN: pin_answer.ok}, attempts=attempts
            )
            if refusal is not None:
                uow.commit()
                raise refusal
            keep_fresh(uow, device, pin_answer)
            card = uow.security_cards.by_serial(serial)
            customer = uow.customers.get(customer_id)
            if card is None or customer is None or card.status != ACTIVE:
                uow.commit()
                raise CertCenterError("SECURITY_CARD_NOT_REGISTERED")  # cancelled meanwhile
            card.status = CANCELLED
            card.revoked_at = self.clock.now()
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="security_card.cancel",
                subject_kind="security_card",
                subject=card.serial,
                source_ip=source_ip,
                details={"customer": customer.customer_number},
            )
            view = _view(card)
            uow.commit()
        return view

    # ------------------------------------------------------------------ inside

    def _digest(self, card_id: str, slot: int, half: str, digits: str) -> str:
        data = f"{card_id}:{slot}:{half}:{digits}".encode()
        return self.keys.mac(self.digest_label, data).hex()

    def _digests(self, card_id: str, digits: Sequence[str]) -> dict[str, str]:
        digests: dict[str, str] = {}
        for slot, value in enumerate(digits, start=1):
            digests[f"{slot}a"] = self._digest(card_id, slot, "a", value[:2])
            digests[f"{slot}b"] = self._digest(card_id, slot, "b", value[2:])
        return digests

    def _new_serial(self, uow: UnitOfWork) -> str:
        # Never a leading zero: a serial must not look like a phone number ("010…") anywhere.
        low = 10 ** (SERIAL_DIGITS - 1)
        while True:
            serial = str(low + secrets.randbelow(9 * low))
            if uow.security_cards.by_serial(serial) is None:
                return serial

    def _new_challenge(
        self,
        uow: UnitOfWork,
        customer_id: str,
        card: SecurityCard,
        factor: str,
        subject: str | None,
    ) -> CardChallenge:
        now = self.clock.now()
        slot_a = 1 + secrets.randbelow(card.slots)
        slot_b = 1 + secrets.randbelow(card.slots - 1)
        if slot_b >= slot_a:
            slot_b += 1  # two distinct slots, each pair equally likely
        expires_at = now + timedelta(seconds=self.policy.security_card_challenge_ttl_seconds)
        data: dict[str, Any] = {
            "card_id": card.id,
            "serial": card.serial,
            "slot_a": slot_a,
            "slot_b": slot_b,
        }
        challenge = FactorChallenge(
            id=new_id(),
            customer_id=customer_id,
            factor=factor,
            created_at=now,
            expires_at=expires_at,
            data=data,
            subject=subject,
        )
        uow.factor_challenges.add(challenge)
        return CardChallenge(id=challenge.id, slot_a=slot_a, slot_b=slot_b, expires_at=expires_at)

    def _answer(
        self,
        customer_id: str,
        challenge_id: str,
        answer: str,
        *,
        factor: str,
        subject: str | None,
    ) -> tuple[bool, str]:
        """Consume the challenge and compare the answer; (right?, the card's serial)."""
        usable = (ISSUED, ACTIVE) if factor == REGISTRATION else (ACTIVE,)
        with self.uow_factory() as uow:
            now = self.clock.now()
            found = (
                uow.factor_challenges.get(challenge_id)
                if isinstance(challenge_id, str) and 0 < len(challenge_id) <= _MAX_ID
                else None
            )
            card = None
            if (
                found is not None
                and found.customer_id == customer_id
                and found.factor == factor
                and found.subject == subject
                and found.used_at is None
                and as_utc(found.expires_at) > now
            ):
                card = uow.security_cards.by_serial(str(found.data.get("serial", "")))
            if (
                card is not None
                and found is not None
                and card.id == found.data.get("card_id")
                and card.customer_id == customer_id
                and card.status == CANCELLED
            ):
                raise CertCenterError("SECURITY_CARD_CANCELLED")
            if (
                found is None
                or card is None
                or card.id != found.data.get("card_id")
                or card.customer_id != customer_id
                or card.status not in usable
                or not uow.factor_challenges.consume(found.id, now)
            ):
                raise self._invalid()
            ok = self._matches(
                card.id,
                dict(card.slot_digests),
                int(found.data["slot_a"]),
                int(found.data["slot_b"]),
                answer,
            )
            serial = card.serial
            uow.commit()
        return ok, serial

    def _matches(
        self, card_id: str, digests: dict[str, str], slot_a: int, slot_b: int, answer: str
    ) -> bool:
        if not isinstance(answer, str) or _ANSWER.fullmatch(answer) is None:
            return False
        first = self._digest(card_id, slot_a, "a", answer[:2])
        last = self._digest(card_id, slot_b, "b", answer[2:])
        first_ok = hmac.compare_digest(first, digests.get(f"{slot_a}a", ""))
        last_ok = hmac.compare_digest(last, digests.get(f"{slot_b}b", ""))
        return first_ok and last_ok

    def _refuse_if_locked(self, uow: UnitOfWork, customer_id: str) -> None:
        if self.guard.is_locked(uow, customer_id, SECURITY_CARD):
            raise self.guard.locked_error(SECURITY_CARD)

    def _reserve(self, customer_id: str) -> None:
        with self.uow_factory() as uow:
            self.guard.reserve(uow, customer_id, [SECURITY_CARD])
            uow.commit()

    def _give_back(self, customer_id: str, *also: str) -> None:
        """A try reserved for a challenge that turned out invalid compared nothing."""
        with self.uow_factory() as uow:
            for factor in (SECURITY_CARD, *also):
                uow.factors.release_attempt(customer_id, factor, self.clock.now())
            uow.commit()

    def _invalid(self) -> CertCenterError:
        return CertCenterError(
            "SECURITY_CARD_CHALLENGE_INVALID",
            seconds=self.policy.security_card_challenge_ttl_seconds,
        )
