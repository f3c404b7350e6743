"""Which step may run in which state, and what comes next (발급 단계).

>>> allowed("phone_verify")
frozenset({<EnrollmentState.PHONE_CODE_SENT: 'phone_code_sent'>})
>>> next_step(EnrollmentState.PHONE_VERIFIED)
'account'

The account and ID steps run when the policy's checks for the flow (``real_name_checks``)
ask for them; :func:`skipping` gives the rules of a flow that leaves some out:

>>> allowed_now, next_now = skipping(frozenset({"account"}))
>>> next_now(EnrollmentState.PHONE_VERIFIED), sorted(s.value for s in allowed_now("id"))
('id', ['account_verified', 'phone_verified'])
>>> allowed_now("account")
frozenset()
"""

from __future__ import annotations

from collections.abc import Callable

from certcenter.entities import EnrollmentState as S

_ALLOWED: dict[str, frozenset[S]] = {
    "terms": frozenset({S.STARTED}),
    "phone": frozenset({S.TERMS_ACCEPTED, S.PHONE_CODE_SENT}),
    "phone_resend": frozenset({S.PHONE_CODE_SENT}),
    "phone_verify": frozenset({S.PHONE_CODE_SENT}),
    "account": frozenset({S.PHONE_VERIFIED, S.ACCOUNT_CODE_SENT}),
    "account_verify": frozenset({S.ACCOUNT_CODE_SENT}),
    "id": frozenset({S.ACCOUNT_VERIFIED}),
    "id_photo": frozenset({S.ACCOUNT_VERIFIED}),
    "credentials": frozenset({S.ID_VERIFIED}),
    # SIGNING: a CSR step that was cut off (crash, lost response) may be sent again.
    "csr": frozenset({S.CREDENTIALS_SET, S.SIGNING}),
}

_NEXT: dict[S, str | None] = {
    S.STARTED: "terms",
    S.TERMS_ACCEPTED: "phone",
    S.PHONE_CODE_SENT: "phone_verify",
    S.PHONE_VERIFIED: "account",
    S.ACCOUNT_CODE_SENT: "account_verify",
    S.ACCOUNT_VERIFIED: "id",
    S.ID_VERIFIED: "credentials",
    S.CREDENTIALS_SET: "csr",
    S.SIGNING: "csr",
    S.COMPLETED: None,
    S.FAILED: None,
}

STEPS = tuple(_ALLOWED)


def allowed(step: str) -> frozenset[S]:
    return _ALLOWED[step]


def next_step(state: S) -> str | None:
    return _NEXT[state]


#: The steps the policy may leave out, each with the steps that belong to it and the state
#: it ends in; the step after it may then run where it would have begun.
SKIPPABLE: dict[str, tuple[tuple[str, ...], S]] = {
    "account": (("account", "account_verify"), S.ACCOUNT_VERIFIED),
    "id": (("id", "id_photo"), S.ID_VERIFIED),
}


def skipping(
    skipped: frozenset[str],
) -> tuple[Callable[[str], frozenset[S]], Callable[[S], str | None]]:
    """``allowed`` and ``next_step`` of a flow without the ``skipped`` steps (of
    :data:`SKIPPABLE`): their steps never run, and the step after them (with the ID photo
    when that is the ID step) may run where they would have begun."""
    unknown = skipped - set(SKIPPABLE)
    if unknown:
        raise ValueError(f"the mobile flow cannot leave out {', '.join(sorted(unknown))}")
    allowed_map = dict(_ALLOWED)
    next_map = dict(_NEXT)
    for name in ("account", "id"):  # in the flow's order
        if name not in skipped:
            continue
        steps, end = SKIPPABLE[name]
        following = next_map[end]
        begins = frozenset(state for state, step in next_map.items() if step == name)
        for step in steps:
            allowed_map[step] = frozenset()
        for step in (following, *(("id_photo",) if following == "id" else ())):
            if step is not None:
                allowed_map[step] = allowed_map[step] | begins
        for state in begins:
            next_map[state] = following
    return allowed_map.__getitem__, next_map.__getitem__
