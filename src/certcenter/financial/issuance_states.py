"""The states of the financial-certificate issuance flow, which step may run in which state,
and what may come next (금융인증서 발급 단계).

>>> sorted(s.value for s in allowed("ars_confirm"))
['ars_calling']
>>> choices(IssuanceState.IDENTIFIED)
('ars', 'departure')
"""

from __future__ import annotations

import enum


class IssuanceState(enum.StrEnum):
    STARTED = "started"  # terms accepted
    IDENTIFIED = "identified"  # user ID + resident number matched a customer
    ARS_CALLING = "ars_calling"  # the call rings; the screen shows its code
    IDENTITY_PROVEN = "identity_proven"  # by ARS, or by the departure check
    MEDIUM_PENDING = "medium_pending"  # an additional medium chosen, its question shown
    MEDIUM_VERIFIED = "medium_verified"
    CODE_SENT = "code_sent"  # name, phone, birth date matched; SMS code sent
    CODE_VERIFIED = "code_verified"
    ISSUING = "issuing"  # PIN set; the certificate is being made
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def closed(self) -> bool:
        return self in (IssuanceState.COMPLETED, IssuanceState.FAILED)


S = IssuanceState

_ALLOWED: dict[str, frozenset[S]] = {
    "identify": frozenset({S.STARTED}),
    "ars": frozenset({S.IDENTIFIED, S.ARS_CALLING}),
    "ars_confirm": frozenset({S.ARS_CALLING}),
    "departure": frozenset({S.IDENTIFIED, S.ARS_CALLING}),
    "medium": frozenset({S.IDENTITY_PROVEN, S.MEDIUM_PENDING}),
    "medium_verify": frozenset({S.MEDIUM_PENDING}),
    "medium_photo": frozenset({S.MEDIUM_PENDING}),  # the ID document's photo, read
    "details": frozenset({S.MEDIUM_VERIFIED, S.CODE_SENT}),
    "code_resend": frozenset({S.CODE_SENT}),
    "code_verify": frozenset({S.CODE_SENT}),
    "pin": frozenset({S.CODE_VERIFIED}),
}

STEPS = tuple(_ALLOWED)


def allowed(step: str) -> frozenset[S]:
    return _ALLOWED[step]


def choices(state: S) -> tuple[str, ...]:
    """The steps that may run now, the usual next one first (a page for each)."""
    order = {
        S.STARTED: ("identify",),
        S.IDENTIFIED: ("ars", "departure"),
        S.ARS_CALLING: ("ars_confirm", "ars", "departure"),
        S.IDENTITY_PROVEN: ("medium",),
        S.MEDIUM_PENDING: ("medium_verify", "medium"),
        S.MEDIUM_VERIFIED: ("details",),
        S.CODE_SENT: ("code_verify", "code_resend", "details"),
        S.CODE_VERIFIED: ("pin",),
    }
    return order.get(state, ())


def next_step(state: S) -> str | None:
    steps = choices(state)
    return steps[0] if steps else None
