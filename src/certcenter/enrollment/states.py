"""Which step may run in which state, and what comes next (발급 단계).

>>> allowed("phone_verify")
frozenset({<EnrollmentState.PHONE_CODE_SENT: 'phone_code_sent'>})
>>> next_step(EnrollmentState.PHONE_VERIFIED)
'account'
"""

from __future__ import annotations

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
