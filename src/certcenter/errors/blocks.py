"""Which refusals count towards the 24-hour block (24시간 차단), and the refusal of a block.

    >>> "PIN_WEAK" in UNCOUNTED, "CODE_INVALID" in UNCOUNTED
    (True, False)
    >>> from datetime import UTC
    >>> too_many_attempts(datetime(2026, 12, 5, 5, 30, tzinfo=UTC),
    ...                   window_minutes=10, max_failures=5).cause("ko")[-35:]
    '제한 해제 시각: 2026년 12월 5일 14:30 (KST).'

Only failures that show an attack are counted: wrong codes, a wrong identity, wrong factors.
What the form can check by itself (a name in Latin letters, a PIN too easy to guess, a
resident number with a wrong check digit) is a typing slip: it is kept for the diagnosis
but blocks nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from certcenter.errors import CertCenterError, Term, term

KST = timezone(timedelta(hours=9), "KST")  # the clock's; errors sit beside the clock

# Refusals that do not count towards a block: they are the block itself or a limit of their
# own (the SMS budget), or they say nothing about the person (a lost session, a step done twice
# by a double tap).
NOT_COUNTED = frozenset(
    {
        "TOO_MANY_ATTEMPTS",
        "SMS_RESEND_TOO_SOON",
        "SMS_LIMIT_REACHED",
        "ENROLLMENT_STEP_OUT_OF_ORDER",
        "ENROLLMENT_NOT_FOUND",
        "ENROLLMENT_EXPIRED",
        "ENROLLMENT_CLOSED",
        "INTERNAL_ERROR",
        "SERVICE_UNAVAILABLE",
        "ISSUANCE_IN_PROGRESS",  # another flow of the same customer is signing
    }
)

# Refusals of input the form itself can check — a malformed name, number or pattern, a PIN too
# easy to guess or typed differently twice, a resident number whose check digit is wrong, a
# document field in the wrong shape: a typing slip, never a sign of an attack. They are kept
# (the diagnosis shows them) but count towards no block; wrong codes, a wrong identity and
# wrong factors do.
FORM_CHECKED = frozenset(
    {
        "INVALID_REQUEST",
        "NAME_INVALID",
        "PHONE_NUMBER_INVALID",
        "RRN_INVALID",
        "ID_DETAILS_INVALID",
        "TERMS_NOT_ACCEPTED",
        "BANK_UNKNOWN",
        "PIN_FORMAT",
        "PIN_WEAK",
        "PIN_CONFIRMATION_MISMATCH",
        "PATTERN_INVALID",
        "BIOMETRIC_KEY_INVALID",
    }
)

#: Every refusal that is recorded but never counted towards a block.
UNCOUNTED = NOT_COUNTED | FORM_CHECKED


def released_at(until: datetime) -> Term:
    """When a block ends, in Korean time as the customer reads it ("2026년 12월 5일 14:30
    (KST)"; in English "2026-12-5 14:30 (KST)")."""
    local = until.astimezone(KST)
    return term(
        "time.kst",
        year=local.year,
        month=local.month,
        day=local.day,
        time=local.strftime("%H:%M"),
    )


def too_many_attempts(
    until: datetime, *, window_minutes: int, max_failures: int
) -> CertCenterError:
    """The refusal of a blocked subject: ``until`` for programs (ISO 8601), ``released`` for
    the customer (Korean time)."""
    return CertCenterError(
        "TOO_MANY_ATTEMPTS",
        until=until.isoformat(timespec="minutes"),
        released=released_at(until),
        window_minutes=window_minutes,
        max_failures=max_failures,
    )
