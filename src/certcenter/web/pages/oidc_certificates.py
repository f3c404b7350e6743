"""``/oidc/authorize``: logging in to another site with a certificate proven in the browser —
the financial certificate (금융인증서: the browser's device key and the 6-digit PIN) or the
joint certificate (공동인증서: its .pfx opened in the browser, a challenge signed).

    POST /oidc/authorize/financial        the browser's device public key (``data-device-known``,
                                          as at /login/financial): a registered key → the PIN
    GET  /oidc/authorize/pin              the PIN; the browser signs the login activation
    POST /oidc/authorize/pin              the device's signature and the PIN → the consent
    POST /oidc/authorize/joint/challenge  a single-use challenge (JSON, for joint-login.js)
    POST /oidc/authorize/joint            the challenge, the signature, the certificate →
                                          the consent

The checks are the web center's logins' own — :meth:`FinancialLogin.authenticate` and
:meth:`JointLogin.authenticate`, the cores /login/pin and /login/joint call — so a wrong PIN
counts against the same lockout and a joint refusal by the same risk rules. No session of
the web center is opened: the person, the certificate, how and when
(:meth:`OidcProvider.certificate_login`: the certificate's status checked again, ``acr`` and
``amr`` of the method) wait in the OpenID login's own place in the web session for the consent.
Every POST answers 303; a refusal is kept for the GET that shows it (the PIN page for a PIN
to try again, else the login page ``/oidc/login``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.joint.login import JointLoginAttempt
from certcenter.usage.login import FINANCIAL_METHOD, JOINT_METHOD
from certcenter.web.context import center_of
from certcenter.web.financial_forms import Stash, device_public_key
from certcenter.web.pages.login import RETRY_ON_PIN_PAGE, device_for_key, pin_activation
from certcenter.web.pages.login_joint import (
    MAX_CERTIFICATE_TEXT,
    certificate_bytes,
    challenge_answer,
)
from certcenter.web.pages.oidc import (
    REFUSAL,
    STASH,
    logged_in,
    login_page,
    pending_of,
    refused,
)
from certcenter.web.rendering import render
from certcenter.web.routing import page_router
from certcenter.web.step_flow import take_refusal

router = page_router(prefix="/oidc/authorize")

PIN_PAGE = "/oidc/authorize/pin"


# ---------------------------------------------------------------- the financial certificate


@router.post("/financial")
def financial(
    request: Request,
    device_public_key_b64: Annotated[str, Form(alias="device_public_key", max_length=800)] = "",
) -> Response:
    """The browser says which key it holds; only a registered one goes on to the PIN."""
    pending_of(request)
    try:
        device = device_for_key(center_of(request), device_public_key(device_public_key_b64))
    except CertCenterError:  # no key in this browser
        device = None
    if device is None:
        return refused(request, CertCenterError("FINANCIAL_DEVICE_NOT_REGISTERED"))
    Stash(request, STASH).put(device=device.id, label=device.label)
    return RedirectResponse(PIN_PAGE, status_code=303)


@router.get("/pin")
def pin_form(request: Request) -> HTMLResponse:
    pending = pending_of(request)
    stash = Stash(request, STASH)
    error = take_refusal(request, REFUSAL)
    device_id = stash.text("device")
    if not device_id:
        return login_page(request, pending, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        activation = pin_activation(request, device_id, error)
    except CertCenterError as exc:  # the device removed, the certificate no longer usable
        stash.put(device=None)
        return login_page(request, pending, error=exc)
    context = {
        **activation,
        "client_name": pending.client_name,
        "device_label": stash.text("label"),
        "pin_action": PIN_PAGE,
    }
    return render(request, "oidc/pin.html", context, error=error)


@router.post("/pin")
def pin(
    request: Request,
    activation_id: Annotated[str, Form(max_length=36)] = "",
    device_signature: Annotated[str, Form(max_length=400)] = "",
    pin: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    pending = pending_of(request)
    center = center_of(request)
    stash = Stash(request, STASH)
    if not stash.text("device"):
        return refused(request, CertCenterError("WEB_LOGIN_NOT_STARTED"))
    if not device_signature:  # no key here (or no script): nothing is counted
        return refused(request, CertCenterError("WEB_DEVICE_KEY_MISSING"), PIN_PAGE)
    ip = client_ip(request)
    try:
        proof = center.financial_login.authenticate(
            activation_id, device_signature, pin, source_ip=ip
        )
        who = center.oidc.certificate_login(
            pending,
            FINANCIAL_METHOD,
            proof.customer.id,
            proof.certificate_serial,
            proof.at,
            source_ip=ip,
        )
    except CertCenterError as exc:
        if exc.code in RETRY_ON_PIN_PAGE:
            return refused(request, exc, PIN_PAGE)
        stash.put(device=None)
        return refused(request, exc)
    return logged_in(request, who)


# ---------------------------------------------------------------- the joint certificate


@router.post("/joint/challenge", response_class=JSONResponse)
def joint_challenge(request: Request) -> JSONResponse:
    pending_of(request)
    return challenge_answer(request)


@router.post("/joint")
def joint(
    request: Request,
    challenge: Annotated[str, Form(max_length=128)] = "",
    signature: Annotated[str, Form(max_length=700)] = "",
    certificate: Annotated[str, Form(max_length=MAX_CERTIFICATE_TEXT)] = "",
) -> Response:
    pending = pending_of(request)
    if not challenge or not signature or not certificate:
        return refused(request, CertCenterError("WEB_JOINT_BROWSER_UNSUPPORTED"))
    center = center_of(request)
    ip = client_ip(request)
    try:
        proof = center.joint_login.authenticate(
            JointLoginAttempt(
                challenge=challenge,
                signature=signature,
                certificate_der=certificate_bytes(certificate),
                source_ip=ip,
            )
        )
        who = center.oidc.certificate_login(
            pending,
            JOINT_METHOD,
            proof.customer.id,
            proof.certificate_serial,
            proof.at,
            source_ip=ip,
        )
    except CertCenterError as exc:
        return refused(request, exc)
    return logged_in(request, who)
