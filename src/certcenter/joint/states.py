"""The states of a joint-certificate registration (공동인증서 등록), which step may run in
which state, and what comes next.

>>> sorted(s.value for s in allowed("code_verify"))
['code_sent']
>>> choices(RegistrationState.IDENTIFIED)
('medium',)
>>> choices(RegistrationState.MEDIUM_VERIFIED)      # the phone: an SMS code or an ARS call
('code', 'ars')

The flow's own steps end at ``registered``: the reference number and authorization code are
handed out, and the flow is closed for the engine. What follows happens through the CMP
server (:class:`certcenter.joint.authority.JointAuthority`): ``issued`` once a certificate is
made with them (the reference is spent), then ``confirmed`` (the software took it) or
``rejected`` (it did not: the certificate is revoked). ``expired`` is a registered reference
that was never used in time (its 범용 fee is refunded).
"""

from __future__ import annotations

import enum


class RegistrationState(enum.StrEnum):
    STARTED = "started"  # kind chosen, terms accepted
    IDENTIFIED = "identified"  # user ID + resident number named one customer; VID made
    MEDIUM_PENDING = "medium_pending"  # security card or OTP asked
    MEDIUM_VERIFIED = "medium_verified"
    CODE_SENT = "code_sent"  # SMS code sent to the phone on record
    ARS_CALLING = "ars_calling"  # or: the ARS call rings; the screen shows its code
    CODE_VERIFIED = "code_verified"
    REGISTERED = "registered"  # reference + authorization code handed out (fee charged)
    ISSUED = "issued"  # a certificate made with them, waiting for the software's confirmation
    CONFIRMED = "confirmed"
    REJECTED = "rejected"  # the software rejected the certificate: revoked
    EXPIRED = "expired"  # never used in time
    FAILED = "failed"

    @property
    def closed(self) -> bool:
        """Closed for the registration's own steps (the flow engine)."""
        return self not in _OPEN


S = RegistrationState
_OPEN = frozenset(
    {
        S.STARTED,
        S.IDENTIFIED,
        S.MEDIUM_PENDING,
        S.MEDIUM_VERIFIED,
        S.CODE_SENT,
        S.ARS_CALLING,
        S.CODE_VERIFIED,
    }
)

_ALLOWED: dict[str, frozenset[S]] = {
    "identify": frozenset({S.STARTED}),
    "medium": frozenset({S.IDENTIFIED, S.MEDIUM_PENDING}),
    "medium_verify": frozenset({S.MEDIUM_PENDING}),
    "code": frozenset({S.MEDIUM_VERIFIED, S.CODE_SENT, S.ARS_CALLING}),
    "code_verify": frozenset({S.CODE_SENT}),
    "ars": frozenset({S.MEDIUM_VERIFIED, S.CODE_SENT, S.ARS_CALLING}),
    "ars_confirm": frozenset({S.ARS_CALLING}),
    "register": frozenset({S.CODE_VERIFIED}),
}

STEPS = tuple(_ALLOWED)


def allowed(step: str) -> frozenset[S]:
    return _ALLOWED[step]


def choices(state: S) -> tuple[str, ...]:
    """The steps that may run now, the usual next one first."""
    order = {
        S.STARTED: ("identify",),
        S.IDENTIFIED: ("medium",),
        S.MEDIUM_PENDING: ("medium_verify", "medium"),
        S.MEDIUM_VERIFIED: ("code", "ars"),
        S.CODE_SENT: ("code_verify", "code", "ars"),
        S.ARS_CALLING: ("ars_confirm", "ars", "code"),
        S.CODE_VERIFIED: ("register",),
    }
    return order.get(state, ())


def next_step(state: S) -> str | None:
    steps = choices(state)
    return steps[0] if steps else None
