"""``/login/pin-reset``: releasing a locked (or forgotten) financial-certificate PIN by
verifying the customer again (비밀번호 재설정, :mod:`certcenter.financial.pin`).

    GET  /login/pin-reset          name, phone, birth date → POST: "if the details match, a
                                   code was sent" (the same page whoever they name)
    GET  /login/pin-reset/code     the SMS code (POST; /login/pin-reset/resend)
    GET  /login/pin-reset/medium   추가 인증 (account + password, security card, OTP, or the
                                   mobile certificate approved in the app) and a new PIN twice
                                   (or none: the old PIN is accepted again) → POST
                                   /login/pin-reset/medium/verify: the lock is released

The flow's bearer token is kept in the web session (the shared steps:
:mod:`certcenter.web.reverification_pages`). Every POST answers 303 (Post/Redirect/Get): Back
and reload send no PIN and no answer again, and the last form sent again goes where the first
went without releasing anything twice. Afterwards the browser goes back to the
PIN page if it had chosen its device, else to the login page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form
from starlette.requests import Request
from starlette.responses import Response

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.financial.reverification import PIN_RESET_PURPOSE
from certcenter.http_common.request_facts import client_ip
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import MediumForm
from certcenter.web.pages.login import login_stash
from certcenter.web.rendering import flash, translator
from certcenter.web.reverification_pages import Details, ReverificationPages, Started
from certcenter.web.routing import page_router

STEPS = ("login.step.details", "login.step.code", "login.reset.step_new")
_Pin = Annotated[str, Form(max_length=12)]
_Secret = Annotated[str, Form(max_length=20)]


def _steps(request: Request, current: int) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {"step_labels": [t(key) for key in STEPS], "step_index": current}


def _start(center: Center, details: Details) -> Started:
    started = center.financial_pin.start(**details)
    return Started(started.reset_id, started.token, started.phone)


pages = ReverificationPages(
    prefix="/login/pin-reset",
    stash_key="fin_pin_reset",  # the release under way: id, bearer token, masked and typed phone
    ended=frozenset({"FINANCIAL_RESET_INVALID", "FINANCIAL_RESET_EXPIRED"}),
    templates=("login/pin_reset.html", "login/pin_reset_code.html", "login/pin_reset_medium.html"),
    service=lambda center: center.financial_pin,
    steps=_steps,
    code_purpose=PIN_RESET_PURPOSE.code_purpose,
    start=_start,
)
router = page_router(prefix=pages.prefix, dependencies=[Depends(pages.steps_flow.same_tab)])
pages.add_routes(router)


@router.post("/medium/verify")
def complete(
    request: Request,
    answer: MediumForm,
    new_pin: _Pin = "",
    new_pin_confirmation: _Pin = "",
) -> Response:
    if (page := pages.not_started(request)) is not None:
        return page
    try:
        done = center_of(request).financial_pin.complete(
            *pages.ids(request),
            answer,
            new_pin=new_pin or None,
            new_pin_confirmation=new_pin_confirmation if new_pin else None,
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        return pages.after_refusal(request, exc)
    if not done:  # the app has not approved yet: the same page, the same code
        return pages.refused_to(request, CertCenterError("APPROVAL_PENDING"), "medium")
    flash(request, "login.reset.done", kind="success")
    target = "/login/pin" if login_stash(request).text("device") else "/login"
    return pages.finish(request, target)
