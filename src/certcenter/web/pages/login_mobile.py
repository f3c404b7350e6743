"""``/login/mobile``: logging in with the mobile certificate by a code approved in the app.

    GET  /login/mobile             what happens; POST /login/mobile shows an 8-digit code
    (the app, logged in with its mobile certificate, approves it: ``certcenter app approve
    CODE``)
    POST /login/mobile/status      for static/js/financial.js (session cookie + CSRF header):
                                   ``{"state": "pending"}`` until the app approved; then the
                                   browser is logged in and the answer names the next page
    POST /login/mobile/complete    the same without scripts ("I approved it")

The approval's poll token is kept in the web session; the code is rendered into the page that
shows it and nowhere else. The session opened this way has the method ``app-approval``: the
certificate's key stays on the phone, so transfers are signed in the app (see /transfer).
"""

from __future__ import annotations

import re
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

router = page_router(prefix="/login/mobile")

APPROVAL = "app_login"  # the approval's poll token
_SHOWN = re.compile(r"[0-9]{6,10}")


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
    return _page(request)


@router.post("")
def start(request: Request) -> HTMLResponse:
    """A new code to approve in the app (a code shown before is no longer polled)."""
    try:
        started = center_of(request).approvals.start(WEB_LOGIN, source_ip=client_ip(request))
    except CertCenterError as exc:
        return _page(request, error=exc)
    Stash(request, APPROVAL).start(token=started.token)
    return _page(request, code=started.code)


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
def complete(request: Request, shown_code: Annotated[str, Form(max_length=10)] = "") -> Response:
    try:
        target = _finish(request)
    except CertCenterError as exc:
        return _page(request, error=exc)
    if target is None:
        code = shown_code if _SHOWN.fullmatch(shown_code) else None
        return _page(request, code=code, error=CertCenterError("APPROVAL_PENDING"))
    return RedirectResponse(target, status_code=303)
