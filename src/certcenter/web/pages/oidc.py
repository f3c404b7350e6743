"""``/oidc/authorize``: another site asks who its visitor is (OpenID Connect); the visitor logs
in here with a certificate and says what the site may know (동의).

    GET  /oidc/authorize             the site's request, checked (a wrong redirect URI is
                                     shown here, never followed); the ways to log in: the
                                     financial certificate, approval in the app, the joint
                                     certificate (the first and the last in the browser:
                                     :mod:`.oidc_certificates`)
    GET  /oidc/login                 the same page again, with a refusal a POST kept
    POST /oidc/authorize/app         approve in the app: an 8-digit code to approve with
                                     ``certcenter app approve CODE``, shown by GET /oidc/login
    POST /oidc/authorize/status      for static/js/financial.js: pending, or approved (next:
                                     the consent page); the certificate's status is checked
    POST /oidc/authorize/complete    the same without scripts ("I approved it")
    GET  /oidc/consent               which site asks for what (name, phone, birth date, CI)
    POST /oidc/consent               allow or refuse → 303 to GET /oidc/back: the page that
                                     sends the browser back to the site
    GET  /oidc/logout                RP-initiated logout (id_token_hint, post_logout_redirect_uri)

The request, and later who logged in, are kept in the signed web session under ``oidc``; the
center keeps no login of its own between sites: every authorization asks for the certificate.
The login's POSTs answer 303 (Post/Redirect/Get): a refusal waits for GET /oidc/login, and so
does the code to approve in the app, sealed (:class:`certcenter.web.step_flow.StepFlow`); the
same POST sent again while the code is open asks for no second one ("new code" does).
The way back to the site is a page with a link (and a script that follows it), since the
pages' Content-Security-Policy lets forms post only to the center itself.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.oidc.authlib_glue import HttpAnswer, HttpRequest
from certcenter.oidc.provider import Authentication, OidcRefusalError, PendingAuthorization
from certcenter.web.context import center_of
from certcenter.web.financial_forms import Stash, json_refusal
from certcenter.web.pages.login_mobile import approval_expiry
from certcenter.web.rendering import render
from certcenter.web.routing import page_router
from certcenter.web.step_flow import StepFlow, keep_refusal, take_refusal

router = page_router(prefix="/oidc")

STASH = "oidc"
REFUSAL = "oidc_login"  # a refused login, kept for the GET after the redirect
LOGIN_PAGE = "/oidc/login"
BACK_PAGE = "/oidc/back"
STEPS = StepFlow(STASH, "/oidc", {}, "OIDC_LOGIN_NOT_STARTED")  # the app's code, sealed
CLAIM_ORDER = ("name", "phone", "birthdate", "ci")


def _http(request: Request) -> HttpRequest:
    center = center_of(request)
    return HttpRequest(
        method="GET",
        uri=center.oidc.issuer + request.url.path,
        headers={},
        params=dict(request.query_params),
        source_ip=client_ip(request),
    )


def pending_of(request: Request) -> PendingAuthorization:
    params = Stash(request, STASH).get("params")
    if not isinstance(params, dict):
        raise CertCenterError("OIDC_LOGIN_NOT_STARTED")
    try:
        return center_of(request).oidc.check({str(k): str(v) for k, v in params.items()})
    except OidcRefusalError as refused:
        raise refused.error from None


def _back(request: Request, answer: HttpAnswer) -> Response:
    """The page that sends the browser back to the site (link + script)."""
    target = answer.location
    Stash(request, STASH).clear()
    if not target:
        raise CertCenterError("OIDC_REQUEST_INVALID")
    return render(request, "oidc/back.html", {"target": target, "logged_out": False})


def _sent_back(request: Request, answer: HttpAnswer) -> RedirectResponse:
    """After the consent's POST: the way back (with the authorization code in it) waits
    sealed for GET /oidc/back (303)."""
    if not answer.location:
        raise CertCenterError("OIDC_REQUEST_INVALID")
    nonce = secrets.token_urlsafe(12)
    Stash(request, STASH).start(back=nonce)
    STEPS.seal(request, "back", answer.location, bound=nonce)
    return RedirectResponse(BACK_PAGE, status_code=303)


@router.get("/back")
def back_page(request: Request) -> HTMLResponse:
    """The way back to the site the consent answered (again on a reload: the answer, with its
    one-time code, was made once)."""
    nonce = Stash(request, STASH).text("back")
    target = STEPS.unseal(request, "back", bound=nonce, keep=True) if nonce else None
    if not target:
        raise CertCenterError("OIDC_LOGIN_NOT_STARTED")
    return render(request, "oidc/back.html", {"target": target, "logged_out": False})


def login_page(
    request: Request,
    pending: PendingAuthorization,
    *,
    code: str | None = None,
    error: CertCenterError | None = None,
) -> HTMLResponse:
    policy = center_of(request).settings.policy
    return render(
        request,
        "oidc/login.html",
        {
            "client_name": pending.client_name,
            "claims": [c for c in CLAIM_ORDER if c in pending.claims],
            "approval_code": code,
            "approval_seconds": policy.approval_ttl_seconds,
            "approval_expires_at": approval_expiry(request, Stash(request, STASH).text("approval"))
            if code
            else None,
            "joint_action": "/oidc/authorize/joint",
            "joint_challenge": "/oidc/authorize/joint/challenge",
        },
        error=error,
    )


@router.get("/authorize", response_model=None)
def authorize(request: Request) -> Response:
    center = center_of(request)
    if not request.query_params:  # opened by hand, not sent by a site
        raise CertCenterError("OIDC_LOGIN_NOT_STARTED")
    try:
        pending = center.oidc.begin(_http(request))
    except OidcRefusalError as refused:
        if refused.answer is not None and refused.answer.location:
            return RedirectResponse(refused.answer.location, status_code=302)
        raise refused.error from None
    Stash(request, STASH).start(params=pending.params)
    return login_page(request, pending)


def _open_code(request: Request) -> str | None:
    """The code to approve in the app this login waits on (None when there is none)."""
    token = Stash(request, STASH).text("approval")
    return STEPS.unseal(request, "code", bound=token, keep=True) if token else None


@router.get("/login")
def login_again(request: Request) -> HTMLResponse:
    pending = pending_of(request)
    error = take_refusal(request, REFUSAL)
    return login_page(request, pending, code=_open_code(request), error=error)


def refused(request: Request, error: CertCenterError, to: str = LOGIN_PAGE) -> RedirectResponse:
    """A refused login: kept for the GET of ``to`` (Post/Redirect/Get)."""
    keep_refusal(request, REFUSAL, error)
    return RedirectResponse(to, status_code=303)


def logged_in(request: Request, who: Authentication) -> Response:
    """The certificate was proven: on to the consent."""
    Stash(request, STASH).put(approval="", device=None, who=who.as_dict())
    return RedirectResponse("/oidc/consent", status_code=303)


def _waiting(request: Request) -> bool:
    try:
        token = Stash(request, STASH).text("approval")
        return center_of(request).approvals.status(token).state == "pending"
    except CertCenterError:
        return False


@router.post("/authorize/app")
def start_app(request: Request, again: Annotated[str, Form(max_length=1)] = "") -> Response:
    pending_of(request)
    if not again and _open_code(request) and _waiting(request):
        return RedirectResponse(LOGIN_PAGE, status_code=303)  # sent again: the same code
    try:
        started = center_of(request).oidc.start_app_approval(client_ip(request))
    except CertCenterError as exc:
        return refused(request, exc)
    Stash(request, STASH).put(approval=started.token, who=None)
    STEPS.seal(request, "code", started.code, bound=started.token)
    return RedirectResponse(LOGIN_PAGE, status_code=303)


def _finish(request: Request) -> str | None:
    """The consent page once the app approved; None while it waits. Raises a refusal."""
    center = center_of(request)
    stash = Stash(request, STASH)
    pending_of(request)
    token = stash.text("approval")
    if not token:
        raise CertCenterError("OIDC_LOGIN_NOT_STARTED")
    state = center.approvals.status(token).state
    if state == "pending":
        return None
    if state == "expired":
        stash.put(approval="")
        raise CertCenterError(
            "APPROVAL_EXPIRED", seconds=center.settings.policy.approval_ttl_seconds
        )
    who = center.oidc.finish_app_approval(token, source_ip=client_ip(request))
    stash.put(approval="", who=who.as_dict())
    return "/oidc/consent"


@router.post("/authorize/status", response_class=JSONResponse)
def status(request: Request) -> Response:
    try:
        target = _finish(request)
    except CertCenterError as exc:
        return json_refusal(request, exc)
    if target is None:
        return JSONResponse({"state": "pending"})
    return JSONResponse({"state": "approved", "next": target})


@router.post("/authorize/complete")
def complete(request: Request) -> Response:
    pending_of(request)
    try:
        target = _finish(request)
    except CertCenterError as exc:
        return refused(request, exc)
    if target is None:  # not approved yet: the same page, the same code
        return refused(request, CertCenterError("APPROVAL_PENDING"))
    return RedirectResponse(target, status_code=303)


def _who(request: Request) -> Authentication:
    who = Stash(request, STASH).get("who")
    if not isinstance(who, dict):
        raise CertCenterError("OIDC_LOGIN_NOT_STARTED")
    return Authentication.from_dict(who)


@router.get("/consent", response_model=None)
def consent_page(request: Request) -> Response:
    pending = pending_of(request)
    who = _who(request)
    center = center_of(request)
    if center.oidc.consented(who.customer_id, pending):
        answer = center.oidc.authorize(
            pending, who, consented=pending.claims, source_ip=client_ip(request)
        )
        return _back(request, answer)
    return render(
        request,
        "oidc/consent.html",
        {
            "client_name": pending.client_name,
            "customer_name": who.customer_name,
            "claims": [c for c in CLAIM_ORDER if c in pending.claims],
        },
    )


@router.post("/consent")
def consent(
    request: Request,
    decision: Annotated[str, Form(max_length=10)] = "",
    claims: Annotated[list[str] | None, Form(max_length=10)] = None,
) -> Response:
    if Stash(request, STASH).text("back"):  # answered already: the form sent again
        return RedirectResponse(BACK_PAGE, status_code=303)
    pending = pending_of(request)
    who = _who(request)
    center = center_of(request)
    if decision != "allow":
        return _sent_back(request, center.oidc.deny(pending))
    chosen = [c for c in (claims or []) if c in pending.claims]
    answer = center.oidc.authorize(pending, who, consented=chosen, source_ip=client_ip(request))
    return _sent_back(request, answer)


@router.get("/logout", response_model=None)
def logout(request: Request) -> Response:
    answer = center_of(request).oidc.logout(_http(request))
    Stash(request, STASH).clear()
    if answer is not None and answer.location:
        return render(request, "oidc/back.html", {"target": answer.location, "logged_out": True})
    return render(request, "oidc/logged_out.html")
