"""Single-use, expiring verification codes (인증번호): the SMS code and the 1-won code.

The center makes the code, sends it through a provider, and keeps only its keyed digest
(HMAC-SHA256 under a key of the code's purpose from the key backend,
:meth:`~certcenter.authn.hashing.SecretHasher.code_digest`), compared in constant time: a code
that lives minutes and allows a few tries needs no argon2id, which stays for PINs and
patterns. A code stored as argon2id before this (``$argon2…``) still verifies until it
expires.
Each attempt is counted atomically *before* the code is compared, so a burst of concurrent
guesses cannot get more tries than the policy allows. Given the policy, a guess is also
reserved in its customer's failure window before it is compared, so concurrent flows of one
customer get no more guesses checked than the 24-hour block's limit. Every SMS code goes out
through :meth:`VerificationCodes.issue_sms`, which spends the SMS budget (per phone, person and
client address, per hour and per day, and a wait between codes to one phone: *policy*).

    codes = VerificationCodes(hasher, clock)
    prepared = codes.prepare("phone", digits=6)          # the code and its keyed digest
    plain = codes.issue(uow, enrollment_id=e.id, purpose="phone", target=phone,
                        prepared=prepared, ttl=timedelta(seconds=180), max_tries=5)
    ...
    codes.check(uow, enrollment_id=e.id, purpose="phone", submitted="123456")
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import VerificationCode, new_id
from certcenter.errors import CertCenterError
from certcenter.errors.blocks import UNCOUNTED, too_many_attempts
from certcenter.errors.catalog import text
from certcenter.ports import UnitOfWork


@dataclass(frozen=True)
class PreparedCode:
    plain: str
    code_hash: str

    def __repr__(self) -> str:  # never print the code
        return "PreparedCode(<hidden>)"


def random_digits(digits: int) -> str:
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def code_message(kind: str, *, bank: str, code: str, policy: Policy) -> str:
    """The SMS that carries a code (``errors/texts.toml`` ``[sms_code]``: ``mobile``,
    ``financial_issue``, ``financial_device``, ``financial_pin_reset``, ``otp``), in Korean,
    with the minutes it stays valid.

    >>> from certcenter.config import Policy
    >>> code_message("mobile", bank="KB국민은행", code="123456", policy=Policy())[:32]
    '[KB국민은행] 인증번호 [123456]를 입력해 주세요.'
    """
    minutes = max(policy.sms_code_ttl_seconds // 60, 1)
    return text(f"sms_code.{kind}", "ko", bank=bank, code=code, minutes=minutes)


def _describe(ttl: timedelta) -> str:
    seconds = int(ttl.total_seconds())
    return f"{seconds // 60}m" if seconds % 60 == 0 else f"{seconds}s"


def _seconds(delta: timedelta) -> int:
    """Whole seconds to wait, rounded up: waiting that long is always enough."""
    return max(math.ceil(delta.total_seconds()), 1)


def _minute_up(at: datetime) -> datetime:
    """The minute shown for a time: never before it."""
    whole = at.replace(second=0, microsecond=0)
    return whole if whole == at else whole + timedelta(minutes=1)


# How long a reserved guess counts while its outcome is not recorded (a crashed process).
GUESS_RESERVATION = timedelta(minutes=2)
# The SMS budget's windows (the numbers per window are policy).
SMS_HOUR = timedelta(hours=1)
SMS_DAY = timedelta(days=1)


class VerificationCodes:
    def __init__(self, hasher: SecretHasher, clock: Clock, policy: Policy | None = None) -> None:
        self.hasher = hasher
        self.clock = clock
        self.policy = policy  # with it, a guess is reserved in its customer's failure window

    def prepare(self, purpose: str, digits: int) -> PreparedCode:
        """A fresh code and its keyed digest (what is stored instead of the code)."""
        plain = random_digits(digits)
        return PreparedCode(
            plain=plain, code_hash=self.hasher.code_digest(plain, purpose=f"code:{purpose}")
        )

    def issue(
        self,
        uow: UnitOfWork,
        *,
        enrollment_id: str,
        purpose: str,
        target: str,
        prepared: PreparedCode,
        ttl: timedelta,
        max_tries: int,
        max_resends: int | None = None,
    ) -> str:
        """Store a prepared code (replacing any earlier one for the purpose); return it in
        clear for the provider to deliver. ``max_resends`` counts codes after the first."""
        previous = uow.codes.latest(enrollment_id, purpose)
        resends = 0
        if previous is not None:
            resends = previous.resends + 1
            if max_resends is not None and resends > max_resends:
                raise CertCenterError("CODE_RESEND_LIMIT", max_resends=max_resends)
        now = self.clock.now()
        uow.codes.add(
            VerificationCode(
                id=new_id(),
                enrollment_id=enrollment_id,
                purpose=purpose,
                target=target,
                code_hash=prepared.code_hash,
                created_at=now,
                expires_at=now + ttl,
                max_tries=max_tries,
                resends=resends,
            )
        )
        return prepared.plain

    def issue_sms(
        self,
        uow: UnitOfWork,
        *,
        flow_id: str,
        purpose: str,
        phone: str,
        target: str,
        prepared: PreparedCode,
        policy: Policy,
        person: str | None,
        client_ip: str | None,
        limit_resends: bool = True,
    ) -> str:
        """:meth:`issue` for an SMS code (휴대폰 인증번호) under the policy's lifetime, tries and
        resends; ``flow_id`` names the flow it belongs to (enrollment, registration, reset).

        Every SMS code of the center comes through here, so here it is budgeted (인증번호
        발송 한도, *policy*): ``TOO_MANY_ATTEMPTS`` while ``person`` (the customer's id) is
        blocked; ``SMS_LIMIT_REACHED`` when ``phone``, ``person`` or ``client_ip`` had their
        codes for the hour or the day; ``SMS_RESEND_TOO_SOON`` when the phone was sent one less
        than ``sms_resend_wait_seconds`` ago. The budget is counted under each subject's row
        lock, so concurrent requests never send more than it allows; a refusal rolls back with
        the step, so only codes that go out are counted."""
        plain = self.issue(
            uow,
            enrollment_id=flow_id,
            purpose=purpose,
            target=target,
            prepared=prepared,
            ttl=timedelta(seconds=policy.sms_code_ttl_seconds),
            max_tries=policy.sms_code_max_tries,
            max_resends=policy.sms_code_max_resends if limit_resends else None,
        )
        self.spend_sms(uow, phone=phone, person=person, client_ip=client_ip, policy=policy)
        return plain

    def spend_sms(
        self,
        uow: UnitOfWork,
        *,
        phone: str,
        person: str | None,
        client_ip: str | None,
        policy: Policy,
    ) -> None:
        """Count one code by SMS in the budget of the phone, the person and the client address,
        or refuse it (see :meth:`issue_sms`): for a code kept elsewhere than in ``codes`` (the
        OTP's registration code), in the transaction that stores it."""
        now = self.clock.now()
        if person is not None:
            block = uow.blocks.active("customer", person, now)
            if block is not None:
                raise too_many_attempts(
                    block.blocked_until,
                    window_minutes=policy.failure_window_minutes,
                    max_failures=policy.failure_max_in_window,
                )
        # Locked in this order (phone, person, address) by every request: no two wait on
        # each other. An unknown address counts under one shared subject: it fails closed.
        subjects = [
            ("phone", "".join(ch for ch in phone if ch.isdigit()) or phone),
            ("person", person),
            ("address", client_ip or "-"),
        ]
        limits = {
            "phone": (policy.sms_max_per_phone_hour, policy.sms_max_per_phone_day),
            "person": (policy.sms_max_per_person_hour, policy.sms_max_per_person_day),
            "address": (policy.sms_max_per_address_hour, policy.sms_max_per_address_day),
        }
        # (kind, digest, whether it keeps sends older than a day to forget)
        digests: list[tuple[str, str, bool]] = []
        free_at: datetime | None = None  # when every full window has room again
        last_to_phone: datetime | None = None
        forget_before = now - SMS_DAY
        for kind, value in subjects:
            if value is None:
                continue
            digest = self.hasher.digest(value, purpose=f"sms-{kind}")
            last = uow.sms_budget.lock(kind, digest, now)
            if kind == "phone":
                last_to_phone = last
            windows = (SMS_HOUR, SMS_DAY)
            asked = zip(windows, limits[kind], strict=True)
            counted = uow.sms_budget.latest_over(
                kind,
                digest,
                [(now - window, limit) for window, limit in asked],
                forget_before=forget_before,
            )
            digests.append((kind, digest, counted.forgettable))
            for window, oldest in zip(windows, counted.full, strict=True):
                if oldest is not None:
                    room = oldest + window  # the send that must age out
                    free_at = room if free_at is None else max(free_at, room)
        if free_at is not None:
            raise CertCenterError(
                "SMS_LIMIT_REACHED",
                until=_minute_up(free_at).isoformat(timespec="minutes"),
                seconds=_seconds(free_at - now),
            )
        wait = timedelta(seconds=policy.sms_resend_wait_seconds)
        if last_to_phone is not None and now < last_to_phone + wait:
            raise CertCenterError(
                "SMS_RESEND_TOO_SOON", seconds=_seconds(last_to_phone + wait - now)
            )
        for kind, digest, forgettable in digests:
            uow.sms_budget.record(
                kind, digest, now, forget_before=forget_before if forgettable else None
            )

    def check(
        self,
        uow: UnitOfWork,
        *,
        enrollment_id: str,
        purpose: str,
        submitted: str,
        counted_as: str | None = None,
    ) -> None:
        """Accept the code once, or refuse with CODE_INVALID / EXPIRED / USED / TRIES_EXCEEDED.

        A wrong try is committed before the refusal is raised, so it counts even though the
        step fails. ``counted_as`` names whose failure window the guess is reserved in when
        the flow is not a mobile enrollment (a financial flow's customer, or the claimed
        subject standing in for someone who is not one).
        """
        code = uow.codes.latest(enrollment_id, purpose)
        if code is None:
            raise CertCenterError("CODE_EXPIRED", valid_for="-")
        now = self.clock.now()
        if code.consumed_at is not None:
            raise CertCenterError("CODE_USED")
        if now >= code.expires_at:
            raise CertCenterError(
                "CODE_EXPIRED", valid_for=_describe(code.expires_at - code.created_at)
            )
        holder = self._reserve_guess(uow, enrollment_id, now, counted_as)
        attempt = uow.codes.count_attempt(code.id)
        if attempt > code.max_tries:
            uow.commit()
            raise CertCenterError("CODE_TRIES_EXCEEDED", max_tries=code.max_tries)
        clean = submitted.strip()
        if not (clean.isascii() and clean.isdigit()) or not self.hasher.code_matches(
            code.code_hash, clean, purpose=f"code:{purpose}"
        ):
            uow.commit()
            left = code.max_tries - attempt
            if left <= 0:
                raise CertCenterError("CODE_TRIES_EXCEEDED", max_tries=code.max_tries)
            raise CertCenterError("CODE_INVALID", tries_left=left)
        if not uow.codes.consume(code.id, now):
            raise CertCenterError("CODE_USED")
        if holder is not None:
            uow.failures.settle_guesses(enrollment_id)  # a right code is not a failure

    def _reserve_guess(
        self, uow: UnitOfWork, enrollment_id: str, now: datetime, counted_as: str | None = None
    ) -> str | None:
        """Count the guess in its customer's failure window before it is compared (the 24-hour
        block's window, ``failure_max_in_window`` *(policy)*), so concurrent flows of one
        customer never get more guesses checked than the block allows; ``TOO_MANY_ATTEMPTS``
        when the window is full. The customer whose guess it is, or None (not known yet)."""
        if self.policy is None:
            return None
        customer_id = counted_as
        if customer_id is None:
            enrollment = uow.enrollments.get(enrollment_id)
            customer_id = enrollment.customer_id if enrollment is not None else None
        if customer_id is None:
            return None
        window = timedelta(minutes=self.policy.failure_window_minutes)
        if not uow.failures.reserve_guess(
            customer_id=customer_id,
            enrollment_id=enrollment_id,
            since=now - window,
            live_since=now - GUESS_RESERVATION,
            limit=self.policy.failure_max_in_window,
            now=now,
            excluding=UNCOUNTED,
        ):
            raise too_many_attempts(
                now + timedelta(hours=self.policy.block_hours),
                window_minutes=self.policy.failure_window_minutes,
                max_failures=self.policy.failure_max_in_window,
            )
        return customer_id
