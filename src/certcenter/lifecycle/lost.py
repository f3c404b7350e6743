"""분실 신고: a customer who lost their phone suspends its certificate, without the phone.

The line's details (carrier, name, the first 7 resident-number digits, the number) are what
anyone who knows the customer can type, so they only *start* a report; the answer is the same
whether they name a customer, someone else's line, a customer without a certificate, or no one.
The report is confirmed by a medium the customer holds and the phone does not give: the
withdrawal account's password, the mobile OTP or the security card (:mod:`certcenter.authn.
held_media`, the financial issuance's additional step). Only then are the mobile certificates
suspended. A report that named no customer can never be confirmed: it fails like a wrong
answer.

Every wrong try — details the carrier does not confirm, a wrong answer — is written to the
failure log under the claimed identity, the number (keyed digests) and the client address,
and each of them is blocked for 24 hours *(policy)* when its window is full
(:class:`~certcenter.risk.rules.RiskRules`). A medium's tries are counted before they are
compared (:class:`~certcenter.authn.factors.FactorGuard`).

On suspension the customer is told on every channel at once (the lifecycle's notice through
the outbox), and a single-use undo code goes straight to the phone's SMS and the registered
e-mail *(policy: lost_report_undo_channels)*; only its keyed digest is kept. The code lifts
the suspension at once (:meth:`LostPhoneReports.undo`); so does the found phone (device
signature + PIN) or an operator.

    started = reports.start(carrier="SKT", name="김민준", rrn_front="900315-1",
                            phone="01020000001", source_ip="127.0.0.1")
    outcomes = reports.confirm(started.report_id, "account",
                               MediumAnswer(account_number="12340100000001",
                                            account_password="2580"), source_ip="127.0.0.1")
    reports.undo(started.report_id, "12345678", source_ip="127.0.0.1")   # from the SMS/mail
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from certcenter.authn.factors import FactorGuard, unknown_subject
from certcenter.authn.hashing import SecretHasher
from certcenter.authn.held_media import FACTOR_OF, HeldMedia, MediumAnswer, medium_inputs
from certcenter.clock import Clock, today
from certcenter.config import Settings
from certcenter.entities import (
    Actor,
    CertificateStatus,
    Customer,
    LostPhoneReport,
    LostReportState,
    OutboxMessage,
    new_id,
)
from certcenter.errors import CertCenterError
from certcenter.identity.documents import subscriber_name
from certcenter.identity.phone_numbers import Carrier, normalise_mobile
from certcenter.identity.providers import TelcoVerifier
from certcenter.identity.rrn import parse_rrn_front
from certcenter.lifecycle.service import ActorRef, AuditRecorder, LifecycleService, Outcome
from certcenter.notifications.channels import Channel
from certcenter.notifications.messages import compose
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import RiskRules, client_address

__all__ = ["CONFIRM_MEDIA", "CardQuestionShown", "LostPhoneReports", "ReportStarted"]

log = logging.getLogger(__name__)

# the media that confirm a report: what the customer holds besides the lost phone
CONFIRM_MEDIA = ("account", "otp", "security_card")
SUBJECT_KIND = "lost_phone_report"
REPORTER = "reporter"  # the audit's actor until the report is confirmed
UNDO_DIGITS = 8
# the carrier could not answer: not a verdict on the details, so not a failure of theirs
_NOT_A_VERDICT = frozenset({"SERVICE_UNAVAILABLE", "INTERNAL_ERROR"})
_MAX_ID = 36


@dataclass(frozen=True)
class ReportStarted:
    """The one answer to a report's start, whoever the details name."""

    report_id: str
    expires_at: datetime
    media: tuple[str, ...] = CONFIRM_MEDIA


@dataclass(frozen=True)
class CardQuestionShown:
    """The two security-card slots to answer (for a report that can never be confirmed,
    slots of no card, indistinguishable)."""

    challenge_id: str
    slot_a: int
    slot_b: int
    expires_at: datetime


class LostPhoneReports:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        telco: TelcoVerifier,
        media: HeldMedia,
        guard: FactorGuard,
        hasher: SecretHasher,
        digest: Callable[[bytes], bytes],
        lifecycle: LifecycleService,
        audit: AuditRecorder,
        code_channels: Mapping[str, Channel],
        settings: Settings,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.telco = telco
        self.media = media
        self.guard = guard
        self.hasher = hasher
        self._digest = digest
        self.lifecycle = lifecycle
        self.audit = audit
        self.code_channels = dict(code_channels)
        self.settings = settings
        self.policy = settings.policy
        self.clock = clock
        self.risk = RiskRules(settings.policy, clock)

    # ------------------------------------------------------------------ 1. the details

    def start(
        self, *, carrier: str, name: str, rrn_front: str, phone: str, source_ip: str | None
    ) -> ReportStarted:
        """분실 신고 접수: the same answer whatever the details name; a pending report."""
        try:
            chosen = Carrier(carrier)
        except ValueError:
            raise CertCenterError("INVALID_REQUEST", detail="unknown carrier") from None
        front = parse_rrn_front(rrn_front, today=today(self.clock))
        number = normalise_mobile(phone)
        claimed = subscriber_name(name)
        person_key = self._key("person", claimed, front.digits)
        phone_key = self._key("phone", number)
        marks = _marks(person_key, phone_key, source_ip)
        holder = self._reserve(marks)
        verdict: str | None = None
        ci: str | None = None
        try:
            ci = self.telco.verify_subscriber(
                carrier=chosen, name=claimed, rrn_front=front, phone=number
            ).ci
        except CertCenterError as refusal:
            if refusal.code in _NOT_A_VERDICT:
                self._give_back(holder)
                raise
            verdict = refusal.code
        except Exception:
            self._give_back(holder)
            raise
        now = self.clock.now()
        report = LostPhoneReport(
            id=new_id(),
            state=LostReportState.PENDING.value,
            person_key=person_key,
            phone_key=phone_key,
            client_ip=(source_ip or "-")[:45],
            created_at=now,
            expires_at=now + timedelta(minutes=self.policy.lost_report_ttl_minutes),
        )
        with self.uow_factory() as uow:
            customer = uow.customers.by_ci(ci) if ci is not None else None
            report.customer_id = customer.id if customer is not None else None
            uow.lost_reports.add(report)
            self.risk.release(uow, holder)
            if verdict is not None:
                self._failed(uow, "start", verdict, source_ip, marks)
            self._audit(
                uow,
                "start",
                report,
                source_ip,
                outcome="ok" if verdict is None else "not_confirmed",
                details={
                    "customer": customer.customer_number if customer else None,
                    "carrier_verdict": verdict,
                },
            )
            uow.commit()
        return ReportStarted(report.id, report.expires_at)

    # ------------------------------------------------------------------ 2. the second factor

    def card_question(self, report_id: str, *, source_ip: str | None) -> CardQuestionShown:
        """The security card's two slots for confirming the report (the same shape whether
        the report names a customer with a card or not)."""
        with self.uow_factory() as uow:
            report = self._pending(uow, report_id)
            marks = _marks(report.person_key, report.phone_key, source_ip)
            self.risk.check_blocks(uow, customer_id=None, device_id=None, marks=marks)
            customer = self._customer(uow, report)
            held = customer is not None and self.media.held(uow, customer, "security_card")
        if customer is not None and held:
            try:
                asked = self.media.cards.challenge(customer.id, subject=report.id)
                return CardQuestionShown(asked.id, asked.slot_a, asked.slot_b, asked.expires_at)
            except CertCenterError:
                pass  # a locked card: answered like no card; the answer will fail
        slots = self.policy.security_card_slots
        slot_a = secrets.randbelow(slots) + 1
        slot_b = (slot_a + secrets.randbelow(slots - 1)) % slots + 1
        ttl = timedelta(seconds=self.policy.security_card_challenge_ttl_seconds)
        return CardQuestionShown(new_id(), slot_a, slot_b, self.clock.now() + ttl)

    def confirm(
        self, report_id: str, medium: str, answer: MediumAnswer, *, source_ip: str | None
    ) -> list[Outcome]:
        """추가 인증: the medium's answer. Right → the mobile certificates are suspended, the
        customer is notified everywhere and sent the undo code. Wrong (or a report that named
        no customer) → ``AUTH_FAILED`` / ``AUTH_LAST_TRY`` / the medium's lock, counted."""
        if medium not in CONFIRM_MEDIA:
            raise CertCenterError("INVALID_REQUEST", detail=f"medium: {', '.join(CONFIRM_MEDIA)}")
        inputs = medium_inputs(medium, answer)
        factor = FACTOR_OF[medium]
        with self.uow_factory() as uow:
            report = self._pending(uow, report_id, lock=True)
            report.tries += 1  # counted before the answer is compared: one report, few tries
            marks = _marks(report.person_key, report.phone_key, source_ip)
            customer = self._customer(uow, report)
            subject = (
                customer.id if customer else unknown_subject("lost-report:" + report.person_key)
            )
            holder = new_id()
            # the try counts under the report's subjects and the medium before it is compared
            self.risk.reserve(uow, marks=marks, holder=holder)
            attempts = self.guard.reserve(uow, subject, [factor])
            uow.commit()
        try:
            ok = self._compare(customer, report.id, medium, inputs)
        except Exception:
            with self.uow_factory() as uow:  # nothing was decided: both tries are given back
                self.risk.release(uow, holder)
                uow.factors.release_attempt(subject, factor, self.clock.now())
                uow.commit()
            raise
        undo_code = _undo_code()
        with self.uow_factory() as uow:
            locked = uow.lost_reports.get(report.id, for_update=True)
            if locked is None:  # pragma: no cover - reports are never deleted
                raise CertCenterError("LOST_REPORT_NOT_FOUND")
            self.risk.release(uow, holder)
            refusal = self.guard.settle(uow, subject, {factor: ok}, attempts=attempts)
            if refusal is None and locked.state != LostReportState.PENDING.value:
                uow.commit()  # another right answer confirmed it a moment ago
                raise CertCenterError("LOST_REPORT_CLOSED", state=locked.state)
            if refusal is not None:
                if locked.tries >= self.policy.lost_report_max_tries:
                    locked.state = LostReportState.FAILED.value
                self._failed(uow, "confirm", refusal.code, source_ip, marks)
                self._audit(
                    uow,
                    "confirm",
                    locked,
                    source_ip,
                    outcome=refusal.code,
                    details={"medium": medium, "tries": locked.tries},
                )
                uow.commit()
                raise refusal
            if customer is None:  # pragma: no cover - ok is never True without a customer
                raise CertCenterError("INTERNAL_ERROR")
            now = self.clock.now()
            serials = [
                c.serial
                for c in uow.certificates.for_customer(
                    customer.id, family="mobile", statuses=[CertificateStatus.ACTIVE.value]
                )
            ]
            locked.state = LostReportState.SUSPENDED.value
            locked.confirmed_at = now
            locked.medium = medium
            locked.serials = serials
            if serials:
                locked.undo_digest = self._undo_digest(locked.id, undo_code)
                locked.undo_expires_at = now + timedelta(hours=self.policy.lost_report_undo_hours)
            self._audit(
                uow,
                "confirm",
                locked,
                source_ip,
                actor=customer.customer_number,
                details={"medium": medium, "certificates": serials},
            )
            uow.commit()
            until = locked.undo_expires_at
        actor = ActorRef.customer(customer.customer_number, source_ip)
        outcomes = [self.lifecycle.suspend(serial, actor, why="lost_phone") for serial in serials]
        if serials and until is not None:
            self._send_undo(customer, report.id, undo_code, until)
        return outcomes

    # ------------------------------------------------------------------ 3. undo

    def undo(self, report_id: str, code: str, *, source_ip: str | None) -> list[Outcome]:
        """신고 취소: the single-use code sent at suspension lifts it at once. A wrong, used or
        unknown code is ``LOST_REPORT_UNDO_FAILED`` and counted under the client address."""
        marks = _marks(None, None, source_ip)
        clean = str(code).replace("-", "").replace(" ", "").strip()
        holder = new_id()
        with self.uow_factory() as uow:
            # under the address's row lock: undo tries from one address are counted one by one
            self.risk.reserve(uow, marks=marks, holder=holder)
            self.risk.release(uow, holder)
            report = uow.lost_reports.get(str(report_id)[:_MAX_ID], for_update=True)
            now = self.clock.now()
            if report is None or report.undo_digest is None or report.customer_id is None:
                self._failed(uow, "undo", "LOST_REPORT_UNDO_FAILED", source_ip, marks)
                uow.commit()
                raise CertCenterError("LOST_REPORT_UNDO_FAILED", tries_left=0)
            if report.undo_expires_at is not None and now >= report.undo_expires_at:
                raise CertCenterError(
                    "LOST_REPORT_UNDO_EXPIRED", hours=self.policy.lost_report_undo_hours
                )
            report.undo_tries += 1
            right = (
                len(clean) <= 2 * UNDO_DIGITS
                and clean.isascii()
                and hmac.compare_digest(report.undo_digest, self._undo_digest(report.id, clean))
            )
            if not right:
                left = max(self.policy.lost_report_undo_max_tries - report.undo_tries, 0)
                if left == 0:
                    report.undo_digest = None  # the code is dead: the app or an operator
                self._failed(uow, "undo", "LOST_REPORT_UNDO_FAILED", source_ip, marks)
                self._audit(
                    uow, "undo", report, source_ip, outcome="LOST_REPORT_UNDO_FAILED", details={}
                )
                uow.commit()
                raise CertCenterError("LOST_REPORT_UNDO_FAILED", tries_left=left)
            customer = uow.customers.get(report.customer_id)
            if customer is None:  # pragma: no cover - customers are never deleted
                raise CertCenterError("LOST_REPORT_NOT_FOUND")
            report.undo_digest = None  # single use
            report.undone_at = now
            report.state = LostReportState.UNDONE.value
            serials = list(report.serials)
            self._audit(
                uow,
                "undo",
                report,
                source_ip,
                actor=customer.customer_number,
                details={"certificates": serials},
            )
            uow.commit()
        actor = ActorRef.customer(customer.customer_number, source_ip)
        outcomes: list[Outcome] = []
        for serial in serials:
            try:
                outcomes.append(self.lifecycle.release(serial, actor))
            except CertCenterError as err:  # revoked or released meanwhile: nothing to lift
                log.info("lost report %s: %s not released (%s)", report_id, serial, err.code)
        return outcomes

    # ------------------------------------------------------------------ machinery

    def _reserve(self, marks: list[tuple[str, str]]) -> str:
        holder = new_id()
        with self.uow_factory() as uow:
            self.risk.reserve(uow, marks=marks, holder=holder)
            uow.commit()
        return holder

    def _give_back(self, holder: str) -> None:
        with self.uow_factory() as uow:
            self.risk.release(uow, holder)
            uow.commit()

    def _key(self, label: str, *parts: str) -> str:
        """A keyed digest (the pepper's HMAC): a subject for counting, never a value."""
        data = f"certcenter/lost-report/{label}\x00" + "\x00".join(parts)
        return self._digest(data.encode("utf-8", "surrogatepass")).hex()[:64]

    def _undo_digest(self, report_id: str, code: str) -> str:
        return self._key("undo", report_id, code)

    def _pending(self, uow: UnitOfWork, report_id: str, *, lock: bool = False) -> LostPhoneReport:
        report = uow.lost_reports.get(str(report_id)[:_MAX_ID], for_update=lock)
        if report is None:
            raise CertCenterError("LOST_REPORT_NOT_FOUND")
        if report.state != LostReportState.PENDING.value:
            raise CertCenterError("LOST_REPORT_CLOSED", state=report.state)
        if report.tries >= self.policy.lost_report_max_tries:  # its last tries are in flight
            raise CertCenterError("LOST_REPORT_CLOSED", state=LostReportState.FAILED.value)
        if self.clock.now() >= report.expires_at:
            minutes = self.policy.lost_report_ttl_minutes
            raise CertCenterError("LOST_REPORT_EXPIRED", minutes=minutes)
        return report

    def _customer(self, uow: UnitOfWork, report: LostPhoneReport) -> Customer | None:
        return uow.customers.get(report.customer_id) if report.customer_id else None

    def _compare(
        self, customer: Customer | None, report_id: str, medium: str, inputs: dict[str, str]
    ) -> bool:
        """Is the answer right? False, after as much work, for a report without a customer,
        a medium the customer does not hold, or an answer that could not be compared."""
        if customer is not None:
            accounts = self.media.accounts(customer) if medium == "account" else []
            with self.uow_factory() as uow:
                held = self.media.held(uow, customer, medium, accounts)
            if held:
                try:
                    return self.media.check(customer, medium, inputs, subject=report_id)
                except CertCenterError:
                    return False  # not the customer's account, a spent card question
        self.hasher.dummy_verify(next(iter(inputs.values())))
        return False

    def _failed(
        self,
        uow: UnitOfWork,
        step: str,
        code: str,
        source_ip: str | None,
        marks: list[tuple[str, str]],
    ) -> None:
        """A failure under the report's subjects — never under the customer it names: the
        details are what an attacker types, so they must not earn the customer's own block."""
        self.risk.record_failure(
            uow,
            step=f"lost_report.{step}",
            code=code,
            customer_id=None,
            enrollment_id=None,
            device_id=None,
            client_ip=source_ip,
            marks=marks,
        )

    def _audit(
        self,
        uow: UnitOfWork,
        step: str,
        report: LostPhoneReport,
        source_ip: str | None,
        *,
        outcome: str = "ok",
        actor: str = REPORTER,
        details: dict[str, Any],
    ) -> None:
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER.value,
            actor=actor,
            action=f"lost_report.{step}",
            subject_kind=SUBJECT_KIND,
            subject=report.id,
            outcome=outcome,
            source_ip=source_ip,
            details=details,
        )

    def _send_undo(self, customer: Customer, report_id: str, code: str, until: datetime) -> None:
        """The undo code, straight to the phone and the mailbox (never through the outbox,
        which keeps its messages)."""
        rendered = compose(
            "lost_phone_undo",
            {
                "bank": self.settings.bank_name,
                "time": self.clock.now(),
                "report": report_id,
                "code": f"{code[:4]}-{code[4:]}",
                "until": until,
            },
        )
        targets = {"sms": customer.phone, "email": customer.email}
        for channel in self.policy.lost_report_undo_channels:
            sender, recipient = self.code_channels.get(channel), targets.get(channel)
            if sender is None or not recipient:
                continue
            body = rendered.text_ko
            if channel == "email":
                body += "\n\n" + rendered.text_en
            now = self.clock.now()
            message = OutboxMessage(
                id=new_id(),
                created_at=now,
                event="lost_phone_undo",
                channel=channel,
                recipient=recipient,
                subject=rendered.subject if channel == "email" else "",
                body=body,
                next_attempt_at=now,
                customer_id=customer.id,
            )
            try:
                sender.send(message)
            except Exception:  # noqa: BLE001 - the suspension stands; the app can still release
                log.warning("lost report %s: the undo code was not sent by %s", report_id, channel)


def _marks(
    person_key: str | None, phone_key: str | None, source_ip: str | None
) -> list[tuple[str, str]]:
    """The subjects a report's failures count under: the claimed identity, the number, the
    client address."""
    marks = [("lost_person", person_key), ("lost_phone", phone_key)]
    marks.append(client_address(source_ip))
    return [(kind, subject) for kind, subject in marks if subject]


def _undo_code() -> str:
    return f"{secrets.randbelow(10**UNDO_DIGITS):0{UNDO_DIGITS}d}"
