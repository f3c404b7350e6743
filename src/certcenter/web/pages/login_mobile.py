"""``/login/mobile``: logging in with the mobile certificate by a code approved in the app.

    GET  /login/mobile             what happens, or the 8-digit code to approve in the app
                                   (logged in with its mobile certificate: ``certcenter app
                                   approve CODE``) once POST /login/mobile asked for one
    POST /login/mobile/status      for static/js/financial.js (session cookie + CSRF header):
                                   ``{"state": "pending"}`` until the app approved; then the
                                   browser is logged in and the answer names the next page
    POST /login/mobile/complete    the same without scripts ("I approved it")

The approval's poll token is kept in the web session, the code sealed beside it
(:class:`certcenter.web.step_flow.StepFlow`) for the GETs of the page: every POST answers 303
(Post/Redirect/Get), a reload shows the same code, and the same POST sent again while the code
is open asks for no second one ("new code" does). The session opened this way has the method
``app-approval``: the certificate's key stays on the phone, so transfers are signed in the app
(see /transfer).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.usage.approvals import WEB_LOGIN
from certcenter.web.context import center_of
from certcenter.web.financial_forms import Stash, json_refusal
from certcenter.web.pages.login import after_login
from certcenter.web.rendering import flash, render
from certcenter.web.routing import page_router
from certcenter.web.sessions import sign_in
from certcenter.web.step_flow import StepFlow

router = page_router(prefix="/login/mobile")

APPROVAL = "app_login"  # the approval's poll token, and its code sealed
STEPS = StepFlow(APPROVAL, "/login/mobile", {}, "WEB_LOGIN_NOT_STARTED")
PAGE = "terms"  # StepFlow's first page: /login/mobile itself


def _page(
    request: Request, *, code: str | None = None, error: CertCenterError | None = None
) -> HTMLResponse:
    policy = center_of(request).settings.policy
    return render(
        request,
        "login/mobile.html",
        {
            "approval_code": code,
            "approval_seconds": policy.approval_ttl_seconds,
            "approval_expires_at": approval_expiry(request, Stash(request, APPROVAL).text("token"))
            if code
            else None,
        },
        error=error,
    )


def _open_code(request: Request) -> str | None:
    """The code this browser is waiting on (None when there is none)."""
    token = Stash(request, APPROVAL).text("token")
    return STEPS.unseal(request, "code", bound=token, keep=True) if token else None


def approval_expiry(request: Request, token: str) -> datetime | None:
    """When the approval the browser polls with ``token`` expires, as the center stored it
    (for the page's countdown); None when there is none."""
    if not token:
        return None
    try:
        return center_of(request).approvals.status(token).expires_at
    except CertCenterError:
        return None


@router.get("")
def mobile_page(request: Request) -> HTMLResponse:
    return _page(request, code=_open_code(request), error=STEPS.take_refusal(request))


@router.post("")
def start(request: Request, again: Annotated[str, Form(max_length=1)] = "") -> Response:
    """A code to approve in the app; "new code" (``again``) a new one (a code shown before is
    no longer polled)."""
    approvals = center_of(request).approvals
    if not again and _open_code(request) and _waiting(request):
        return RedirectResponse(STEPS.path(PAGE), status_code=303)  # sent again: the same code
    try:
        started = approvals.start(WEB_LOGIN, source_ip=client_ip(request))
    except CertCenterError as exc:
        return STEPS.refused(request, exc, PAGE)
    STEPS.begin(request, token=started.token)
    STEPS.seal(request, "code", started.code, bound=started.token)
    return RedirectResponse(STEPS.path(PAGE), status_code=303)


def _waiting(request: Request) -> bool:
    """Is the code this browser shows still waiting for the app?"""
    try:
        token = Stash(request, APPROVAL).text("token")
        return center_of(request).approvals.status(token).state == "pending"
    except CertCenterError:
        return False


def _finish(request: Request) -> str | None:
    """Log in if the app approved: the next page; None while it waits. Raises a refusal."""
    approvals = center_of(request).approvals
    token = Stash(request, APPROVAL).text("token")
    if not token:
        raise CertCenterError("WEB_LOGIN_NOT_STARTED")
    state = approvals.status(token).state
    if state == "pending":
        return None
    if state == "expired":
        Stash(request, APPROVAL).clear()
        raise CertCenterError(
            "APPROVAL_EXPIRED", seconds=center_of(request).settings.policy.approval_ttl_seconds
        )
    done = approvals.consume(token, source_ip=client_ip(request))
    Stash(request, APPROVAL).clear()  # used: the page shows no code any more
    if done.opened is None:  # not a web-login approval
        raise CertCenterError("APPROVAL_NOT_FOUND")
    target = after_login(request)
    sign_in(request, done.opened)
    flash(request, "login.welcome", kind="success", name=done.customer.name)
    return target


@router.post("/status", response_class=JSONResponse)
def status(request: Request) -> Response:
    try:
        target = _finish(request)
    except CertCenterError as exc:
        return json_refusal(request, exc)
    if target is None:
        return JSONResponse({"state": "pending"})
    return JSONResponse({"state": "approved", "next": target})


@router.post("/complete")
def complete(request: Request) -> Response:
    try:
        target = _finish(request)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, PAGE)
    if target is None:  # not approved yet: the same page, the same code
        return STEPS.refused(request, CertCenterError("APPROVAL_PENDING"), PAGE)
    return RedirectResponse(target, status_code=303)
