"""``/login``: logging in with the financial certificate, registering this browser, logout.

    GET  /login                    two ways: the financial certificate, or the mobile
                                   certificate by a code approved in the app (/login/mobile);
                                   when logged in: who, and the way out (POST /logout)
    POST /login/financial          the browser's device public key, if it holds one
                                   (``data-device-known``): a registered key → /login/pin,
                                   otherwise → /login/register
    GET  /login/register           name, phone, birth date and this browser's new key
                                   (``data-device-key``) → SMS code (POST /login/register)
    GET  /login/register/code      the SMS code (POST; /login/register/resend) → registered
    GET  /login/pin                the PIN; the browser signs the login activation
                                   (``data-device-sign``) → POST → logged in (``sign_in``)
    POST /logout                   ends the session (API and web)

The device is found by the SHA-256 of the key the browser sends, never by an id the browser
chose. A wrong PIN keeps the customer on the PIN page with a fresh activation; a locked PIN
points to the PIN release (``/login/pin-reset``, :mod:`.login_pin_reset`). The registration's
bearer token and the chosen device id live in the web session; the SMS code only in the form.
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
from certcenter.usage.login import FINANCIAL_METHOD
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import (
    Stash,
    birth_date,
    device_public_key,
    digits,
    sims_phone,
)
from certcenter.web.pages.language import local_path
from certcenter.web.rendering import flash, render, translator
from certcenter.web.routing import page_router
from certcenter.web.sessions import current_customer, sign_in, sign_out

router = page_router()

LOGIN = "fin_login"  # device id chosen by key, where to go afterwards
REGISTRATION = "fin_registration"  # the registration under way: id, bearer token, phone
RETRY_ON_PIN_PAGE = frozenset(
    {
        "FINANCIAL_AUTH_FAILED",
        "AUTH_LAST_TRY",
        "FINANCIAL_PIN_LOCKED",
        "FINANCIAL_ACTIVATION_EXPIRED",
        "FINANCIAL_ACTIVATION_USED",
        "FINANCIAL_ACTIVATION_INVALID",
        "WEB_DEVICE_KEY_MISSING",
        "INVALID_REQUEST",
    }
)
_Text = Annotated[str, Form(max_length=200)]


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


def _steps(request: Request, current: int) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {
        "step_labels": [t("login.step.details"), t("login.step.code"), t("login.step.pin")],
        "step_index": current,
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
            "expires_at": session.expires_at,
        }
    return render(request, "login/index.html", {"who": who}, error=error)


@router.get("/login")
def login_page(
    request: Request, next_path: Annotated[str | None, Query(alias="next", max_length=300)] = None
) -> HTMLResponse:
    if next_path:
        login_stash(request).put(next=local_path(next_path))
    return index_page(request)


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
        started = center_of(request).financial_login.begin(device_id)
    except CertCenterError as exc:
        stash.put(device=None)
        return index_page(request, error=exc)
    context = {
        **_steps(request, 2),
        "progress": bool(stash.get("registered_now")),
        "device_label": stash.text("label"),
        "activation_id": started.activation_id,
        "sign_b64": base64.b64encode(started.message).decode("ascii"),
        "expires_at": started.expires_at,
        "locked": error is not None and error.code == "FINANCIAL_PIN_LOCKED",
    }
    return render(request, "login/pin.html", context, error=error)


@router.get("/login/pin")
def pin_form(request: Request) -> HTMLResponse:
    return pin_page(request)


@router.post("/login/pin")
def pin_login(
    request: Request,
    activation_id: Annotated[str, Form(max_length=36)] = "",
    device_signature: Annotated[str, Form(max_length=400)] = "",
    pin: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    center = center_of(request)
    if not login_stash(request).text("device"):
        return index_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    if not device_signature:  # no key here (or no script): nothing is counted
        return pin_page(request, error=CertCenterError("WEB_DEVICE_KEY_MISSING"))
    try:
        result = center.financial_login.login(
            activation_id, device_signature, pin, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        if exc.code in RETRY_ON_PIN_PAGE:
            return pin_page(request, error=exc)
        login_stash(request).put(device=None)
        return index_page(request, error=exc)
    target = after_login(request)
    sign_in(request, result.opened)
    flash(request, "login.welcome", kind="success", name=result.customer.name)
    if result.renewed:
        flash(request, "login.renewed", kind="success")
    return RedirectResponse(target, status_code=303)


# ---------------------------------------------------------------- registering this browser


def _register_page(
    request: Request, *, error: CertCenterError | None = None, form: dict[str, str] | None = None
) -> HTMLResponse:
    context = {
        **_steps(request, 0),
        "form": form or {},
        "max_devices": center_of(request).settings.policy.financial_max_devices,
    }
    return render(request, "login/register.html", context, error=error)


@router.get("/login/register")
def register_form(request: Request) -> HTMLResponse:
    return _register_page(request)


@router.post("/login/register")
def register(
    request: Request,
    name: _Text = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    birth: Annotated[str, Form(max_length=12)] = "",
    device_public_key_b64: Annotated[str, Form(alias="device_public_key", max_length=800)] = "",
    device_label: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Who the customer is and this browser's new key; the SMS code goes to their phone."""
    center = center_of(request)
    typed = {"name": name.strip()[:40], "phone": digits(phone)[:11], "birth": birth.strip()[:10]}
    try:
        spki = device_public_key(device_public_key_b64)
        started = center.financial_devices.start_registration(
            name=name,
            phone=digits(phone),
            birth_date=birth_date(birth),
            public_key=spki,
            label=" ".join(device_label.split())[:60] or None,
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        if exc.code == "FINANCIAL_DEVICE_ALREADY_REGISTERED":
            known = device_for_key(center, device_public_key(device_public_key_b64))
            if known is not None:  # this browser is registered already: straight to the PIN
                login_stash(request).put(device=known.id, label=known.label)
                flash(request, "login.register.already")
                return RedirectResponse("/login/pin", status_code=303)
        return _register_page(request, error=exc, form=typed)
    Stash(request, REGISTRATION).start(
        id=started.registration_id, token=started.token, masked=started.phone, phone=typed["phone"]
    )
    return RedirectResponse("/login/register/code", status_code=303)


def _code_page(request: Request, *, error: CertCenterError | None = None) -> HTMLResponse:
    registration = Stash(request, REGISTRATION)
    if not registration.text("id"):
        return _register_page(request, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED"))
    context = {
        **_steps(request, 1),
        "masked_phone": registration.text("masked"),
        "demo_phone": sims_phone(request, registration.text("phone")),
        "code_seconds": center_of(request).settings.policy.sms_code_ttl_seconds,
    }
    return render(request, "login/register_code.html", context, error=error)


@router.get("/login/register/code")
def register_code_form(request: Request) -> HTMLResponse:
    return _code_page(request)


@router.post("/login/register/code")
def register_code(request: Request, code: Annotated[str, Form(max_length=12)] = "") -> Response:
    registration = Stash(request, REGISTRATION)
    if not registration.text("id"):
        return _register_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        device = center_of(request).financial_devices.complete_registration(
            registration.text("id"),
            registration.text("token"),
            digits(code),
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        if exc.code in ("FINANCIAL_REGISTRATION_INVALID", "FINANCIAL_REGISTRATION_EXPIRED"):
            registration.clear()
            return _register_page(request, error=exc)
        return _code_page(request, error=exc)
    registration.clear()
    login_stash(request).put(device=device.id, label=device.label, registered_now=True)
    flash(request, "login.register.done", kind="success", label=device.label)
    return RedirectResponse("/login/pin", status_code=303)


@router.post("/login/register/resend")
def register_resend(request: Request) -> Response:
    registration = Stash(request, REGISTRATION)
    if not registration.text("id"):
        return _register_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        center_of(request).financial_devices.resend_code(
            registration.text("id"), registration.text("token"), source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return _code_page(request, error=exc)
    flash(request, "login.register.resent", kind="success")
    return RedirectResponse("/login/register/code", status_code=303)


# ---------------------------------------------------------------- logout


@router.post("/logout")
def logout(request: Request) -> Response:
    sign_out(request)
    flash(request, "login.logged_out", kind="success")
    return RedirectResponse("/", status_code=303)
