"""``/login``: logging in with the financial certificate, registering this browser, logout.

    GET  /login                    two ways: the financial certificate, or the mobile
                                   certificate by a code approved in the app (/login/mobile);
                                   when logged in: who, and the way out (POST /logout)
    POST /login/financial          the browser's device public key, if it holds one
                                   (``data-device-known``): a registered key → /login/pin,
                                   otherwise → /login/register
    GET  /login/register           registering this browser (:mod:`.login_register`)
    GET  /login/pin                the PIN; the browser signs the login activation
                                   (``data-device-sign``) → POST → logged in (``sign_in``)
    POST /logout                   ends the session (API and web)

The device is found by the SHA-256 of the key the browser sends, never by an id the browser
chose. A wrong PIN keeps the customer on the PIN page with a fresh activation; a locked PIN
points to the PIN release (``/login/pin-reset``, :mod:`.login_pin_reset`). The chosen device
id lives in the web session.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.bootstrap import Center
from certcenter.entities import BrowserDevice
from certcenter.errors import CertCenterError
from certcenter.financial.proof import device_key, key_digest
from certcenter.http_common.request_facts import client_ip
from certcenter.usage.login import FINANCIAL_METHOD, JOINT_METHOD
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import Stash, device_public_key
from certcenter.web.pages.language import local_path
from certcenter.web.rendering import flash, render, translator
from certcenter.web.routing import page_router
from certcenter.web.sessions import current_customer, sign_in, sign_out
from certcenter.web.step_flow import keep_refusal, take_refusal

router = page_router()

LOGIN = "fin_login"  # device id chosen by key, where to go afterwards
_PIN_REFUSAL = "fin_login_pin"  # a refused PIN, kept for the GET after the redirect
RETRY_ON_PIN_PAGE = frozenset(
    {
        "FINANCIAL_AUTH_FAILED",
        "FINANCIAL_PIN_LAST_TRY",
        "AUTH_LAST_TRY",
        "FINANCIAL_PIN_LOCKED",
        "FINANCIAL_ACTIVATION_EXPIRED",
        "FINANCIAL_ACTIVATION_USED",
        "FINANCIAL_ACTIVATION_INVALID",
        "WEB_DEVICE_KEY_MISSING",
        "INVALID_REQUEST",
    }
)


def login_stash(request: Request) -> Stash:
    return Stash(request, LOGIN)


def after_login(request: Request) -> str:
    """Where a fresh login goes: the page that asked for it, else the login page."""
    return local_path(login_stash(request).text("next") or "/login")


def device_for_key(center: Center, spki: bytes) -> BrowserDevice | None:
    """The active registered device holding this public key (by its SHA-256), if any."""
    try:
        digest = key_digest(device_key(spki))
    except CertCenterError:
        return None
    with center.uow_factory() as uow:
        return uow.browser_devices.active_by_key(digest)


STEPS = ("details", "code", "medium", "pin")  # registering a browser, then the PIN


def steps(request: Request, current: str) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {
        "step_labels": [t(f"login.step.{step}") for step in STEPS],
        "step_index": STEPS.index(current),
    }


# ---------------------------------------------------------------- the choice


def index_page(request: Request, *, error: CertCenterError | None = None) -> HTMLResponse:
    center = center_of(request)
    session = current_customer(request)
    who: dict[str, Any] | None = None
    if session is not None:
        with center.uow_factory() as uow:
            customer = uow.customers.get(session.customer_id)
        who = {
            "name": customer.name if customer else "",
            "financial": session.method == FINANCIAL_METHOD,
            "joint": session.method == JOINT_METHOD,
            "expires_at": session.expires_at,
        }
    return render(request, "login/index.html", {"who": who}, error=error)


@router.get("/login")
def login_page(
    request: Request, next_path: Annotated[str | None, Query(alias="next", max_length=300)] = None
) -> HTMLResponse:
    if next_path:
        login_stash(request).put(next=local_path(next_path))
    return index_page(request, error=take_refusal(request, _PIN_REFUSAL))


@router.post("/login/financial")
def financial_login(
    request: Request,
    device_public_key_b64: Annotated[str, Form(alias="device_public_key", max_length=800)] = "",
) -> Response:
    """The browser says which key it holds (none: it was never registered here)."""
    stash = login_stash(request)
    try:
        device = device_for_key(center_of(request), device_public_key(device_public_key_b64))
    except CertCenterError:  # no key in this browser
        device = None
    if device is None:
        stash.put(device=None)
        flash(request, "login.register.needed")
        return RedirectResponse("/login/register", status_code=303)
    stash.put(device=device.id, label=device.label, registered_now=False)
    return RedirectResponse("/login/pin", status_code=303)


# ---------------------------------------------------------------- the PIN


def pin_page(request: Request, *, error: CertCenterError | None = None) -> HTMLResponse:
    """A fresh login activation for the chosen device: the browser signs it with the PIN."""
    stash = login_stash(request)
    device_id = stash.text("device")
    if not device_id:
        return index_page(request, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        activation = pin_activation(request, device_id, error)
    except CertCenterError as exc:
        stash.put(device=None)
        return index_page(request, error=exc)
    context = {
        **steps(request, "pin"),
        **activation,
        "progress": bool(stash.get("registered_now")),
        "device_label": stash.text("label"),
        "pin_action": "/login/pin",
    }
    return render(request, "login/pin.html", context, error=error)


def pin_activation(
    request: Request, device_id: str, error: CertCenterError | None
) -> dict[str, Any]:
    """A fresh login activation for the device, as ``login/pin_form.html`` shows it (the
    web center's login and the OpenID login both). Raises the refusal of a device or
    certificate that cannot log in."""
    started = center_of(request).financial_login.begin(device_id)
    return {
        "activation_id": started.activation_id,
        "sign_b64": base64.b64encode(started.message).decode("ascii"),
        "expires_at": started.expires_at,
        "locked": error is not None and error.code == "FINANCIAL_PIN_LOCKED",
    }


@router.get("/login/pin")
def pin_form(request: Request) -> HTMLResponse:
    return pin_page(request, error=take_refusal(request, _PIN_REFUSAL))


def _refused(request: Request, error: CertCenterError, to: str) -> RedirectResponse:
    """A refused PIN: kept for the GET of ``to`` (Post/Redirect/Get: Back and reload send
    no PIN again)."""
    keep_refusal(request, _PIN_REFUSAL, error)
    return RedirectResponse(to, status_code=303)


@router.post("/login/pin")
def pin_login(
    request: Request,
    activation_id: Annotated[str, Form(max_length=36)] = "",
    device_signature: Annotated[str, Form(max_length=400)] = "",
    pin: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    center = center_of(request)
    if not login_stash(request).text("device"):
        return _refused(request, CertCenterError("WEB_LOGIN_NOT_STARTED"), "/login")
    if not device_signature:  # no key here (or no script): nothing is counted
        return _refused(request, CertCenterError("WEB_DEVICE_KEY_MISSING"), "/login/pin")
    try:
        result = center.financial_login.login(
            activation_id, device_signature, pin, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        if exc.code in RETRY_ON_PIN_PAGE:
            return _refused(request, exc, "/login/pin")
        login_stash(request).put(device=None)
        return _refused(request, exc, "/login")
    target = after_login(request)
    sign_in(request, result.opened)
    flash(request, "login.welcome", kind="success", name=result.customer.name)
    if result.renewed:
        flash(request, "login.renewed", kind="success")
    return RedirectResponse(target, status_code=303)


# ---------------------------------------------------------------- logout


@router.post("/logout")
def logout(request: Request) -> Response:
    sign_out(request)
    flash(request, "login.logged_out", kind="success")
    return RedirectResponse("/", status_code=303)
