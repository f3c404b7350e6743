"""``/banking/join`` (인터넷뱅킹 가입): a customer of the bank without internet banking gets a
user ID and password here, then goes on to issue a certificate
(:class:`~certcenter.banking.join.InternetBankingJoin`).

    GET  /banking/join             name, phone, birth date → POST: "if the details match, a
                                   code was sent" (the same page whoever they name)
    GET  /banking/join/code        the SMS code (POST; /banking/join/resend)
    GET  /banking/join/medium      추가 인증 (account + password, security card, OTP, or the
                                   mobile certificate approved in the app), the user ID, the
                                   password twice and the terms → POST /banking/join/medium/verify
    GET  /banking/join/done        the user ID chosen, and the certificates to issue next

The flow's bearer token lives in the web session (the shared steps:
:mod:`certcenter.web.reverification_pages`); the password only in the form that sends it.
Every POST answers 303 (Post/Redirect/Get): Back and reload send nothing again, and the last
form sent again goes where the first went (the done page) without joining twice.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.banking import JOIN_PURPOSE, JoinChoice
from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import MediumForm
from certcenter.web.rendering import render, translator
from certcenter.web.reverification_pages import Details, ReverificationPages, Started
from certcenter.web.routing import page_router

STEPS = ("banking.step.details", "banking.step.code", "banking.step.choose")
_JOINED = "banking_joined"  # the user ID just chosen, for the done page's GETs
_Password = Annotated[str, Form(max_length=40)]


def _steps(request: Request, current: int) -> dict[str, Any]:
    t = translator(locale_of(request))
    center = center_of(request)
    return {
        "step_labels": [t(key) for key in STEPS],
        "step_index": current,
        "required_terms": [
            (name, t(f"terms.{name}")) for name in center.banking_join.required_terms
        ],
        "password_min": center.settings.policy.banking_password_min_length,
    }


def _start(center: Center, details: Details) -> Started:
    started = center.banking_join.start(**details)
    return Started(started.flow_id, started.token, started.phone)


pages = ReverificationPages(
    prefix="/banking/join",
    stash_key="banking_join",  # the sign-up under way: id, bearer token, masked and typed phone
    ended=frozenset({"BANKING_JOIN_INVALID", "BANKING_JOIN_EXPIRED", "BANKING_ALREADY_JOINED"}),
    templates=("banking/join.html", "banking/join_code.html", "banking/join_medium.html"),
    service=lambda center: center.banking_join,
    steps=_steps,
    code_purpose=JOIN_PURPOSE.code_purpose,
    start=_start,
)
router = page_router(prefix=pages.prefix, dependencies=[Depends(pages.steps_flow.same_tab)])
pages.add_routes(router)


@router.post("/medium/verify")
def complete(
    request: Request,
    answer: MediumForm,
    user_id: Annotated[str, Form(max_length=40)] = "",
    password: _Password = "",
    password_confirmation: _Password = "",
    terms: Annotated[list[str] | None, Form(max_length=40)] = None,
) -> Response:
    if (page := pages.not_started(request)) is not None:
        return page
    choice = JoinChoice(user_id, password, password_confirmation, tuple(terms or ()))
    try:
        joined = center_of(request).banking_join.complete(
            *pages.ids(request), answer, choice, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        pages.flow(request).put(user_id=user_id.strip()[:20])
        return pages.after_refusal(request, exc)
    if joined is None:  # the app has not approved yet: the same page, the same code
        return pages.refused_to(request, CertCenterError("APPROVAL_PENDING"), "medium")
    request.session[_JOINED] = joined
    return pages.finish(request, "/banking/join/done")


@router.get("/done")
def done(request: Request) -> Response:
    """The user ID chosen and what to do next; without a sign-up in this browser, the start."""
    joined = request.session.get(_JOINED)
    if not isinstance(joined, str) or not joined:
        return RedirectResponse(pages.prefix, status_code=303)
    return _done_page(request, joined)


def _done_page(request: Request, joined: str) -> HTMLResponse:
    return render(request, "banking/join_done.html", {"joined_user_id": joined})
