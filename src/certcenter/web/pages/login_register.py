"""``/login/register``: registering this browser for the financial certificate (이용 기기
등록, :meth:`certcenter.financial.devices.FinancialDevices.start_registration`).

    GET  /login/register           name, phone, birth date and this browser's new key
                                   (``data-device-key``) → POST: "if the details match, a code
                                   was sent" (the same page whoever they name)
    GET  /login/register/code      the SMS code (POST; /login/register/resend)
    GET  /login/register/medium    추가 인증: account + password, security card, OTP, or the
                                   mobile certificate approved in the app (POST
                                   /login/register/medium, /login/register/medium/verify; the
                                   page polls /login/register/medium/status) → registered → PIN

The registration's bearer token lives in the web session; the SMS code and the medium's answer
only in the forms. Values shown once (the card's slots, the approval code) are rendered into
the answer of the POST that made them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.entities import BrowserDevice
from certcenter.errors import CertCenterError
from certcenter.financial.media import MediumAnswer
from certcenter.http_common.request_facts import client_ip
from certcenter.web.context import center_of
from certcenter.web.financial_forms import (
    Stash,
    birth_date,
    device_public_key,
    digits,
    json_refusal,
    media_choices,
    medium_answer,
    medium_context,
    shown_code,
    sims_phone,
)
from certcenter.web.pages.login import device_for_key, login_stash, steps
from certcenter.web.rendering import flash, render
from certcenter.web.routing import page_router

router = page_router(prefix="/login/register")

REGISTRATION = "fin_registration"  # the registration under way: id, bearer token, phone
FLOW_ENDED = frozenset({"FINANCIAL_REGISTRATION_INVALID", "FINANCIAL_REGISTRATION_EXPIRED"})
_Secret = Annotated[str, Form(max_length=20)]


def _flow(request: Request) -> Stash:
    return Stash(request, REGISTRATION)


def _ids(request: Request) -> tuple[str, str]:
    flow = _flow(request)
    return flow.text("id"), flow.text("token")


# ---------------------------------------------------------------- 1. who, and this browser


def _details_page(
    request: Request, *, error: CertCenterError | None = None, form: dict[str, str] | None = None
) -> HTMLResponse:
    context = {
        **steps(request, "details"),
        "form": form or {},
        "max_devices": center_of(request).settings.policy.financial_max_devices,
    }
    return render(request, "login/register.html", context, error=error)


@router.get("")
def register_form(request: Request) -> HTMLResponse:
    return _details_page(request)


@router.post("")
def register(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    birth: Annotated[str, Form(max_length=12)] = "",
    device_public_key_b64: Annotated[str, Form(alias="device_public_key", max_length=800)] = "",
    device_label: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    """Who the customer says they are and this browser's new key; the answer is the code
    page whoever the details name."""
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
        return _details_page(request, error=exc, form=typed)
    _flow(request).start(
        id=started.registration_id, token=started.token, masked=started.phone, phone=typed["phone"]
    )
    return RedirectResponse("/login/register/code", status_code=303)


# ---------------------------------------------------------------- 2. the SMS code


def _code_page(request: Request, *, error: CertCenterError | None = None) -> HTMLResponse:
    flow = _flow(request)
    if not flow.text("id"):
        return _details_page(request, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED"))
    context = {
        **steps(request, "code"),
        "masked_phone": flow.text("masked"),
        "demo_phone": sims_phone(request, flow.text("phone")),
        "code_seconds": center_of(request).settings.policy.sms_code_ttl_seconds,
    }
    return render(request, "login/register_code.html", context, error=error)


def _ended(request: Request, error: CertCenterError) -> HTMLResponse | None:
    """The first page again when the refusal ended the flow."""
    if error.code not in FLOW_ENDED:
        return None
    _flow(request).clear()
    return _details_page(request, error=error)


@router.get("/code")
def register_code_form(request: Request) -> HTMLResponse:
    return _code_page(request)


@router.post("/code")
def register_code(request: Request, code: Annotated[str, Form(max_length=12)] = "") -> Response:
    if not _flow(request).text("id"):
        return _details_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        center_of(request).financial_devices.verify_code(
            *_ids(request), digits(code), source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return _ended(request, exc) or _code_page(request, error=exc)
    return RedirectResponse("/login/register/medium", status_code=303)


@router.post("/resend")
def register_resend(request: Request) -> Response:
    if not _flow(request).text("id"):
        return _details_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        center_of(request).financial_devices.resend_code(
            *_ids(request), source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return _ended(request, exc) or _code_page(request, error=exc)
    flash(request, "login.register.resent", kind="success")
    return RedirectResponse("/login/register/code", status_code=303)


# ---------------------------------------------------------------- 3. the additional medium


def _medium_page(
    request: Request, *, error: CertCenterError | None = None, **extra: Any
) -> HTMLResponse:
    if not _flow(request).text("id"):
        return _details_page(request, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED"))
    context: dict[str, Any] = {
        **steps(request, "medium"),
        "medium": None,
        "media": media_choices(request),
        "accounts": [],
        "card": None,
        "approval_code": None,
        "approval_seconds": center_of(request).settings.policy.approval_ttl_seconds,
        **extra,
    }
    return render(request, "login/register_medium.html", context, error=error)


@router.get("/medium")
def medium_form(request: Request) -> HTMLResponse:
    return _medium_page(request)


@router.post("/medium")
def choose_medium(request: Request, medium: Annotated[str, Form(max_length=40)] = "") -> Response:
    """The chosen medium's question: the masked accounts, the card's slots, the app's code."""
    if not _flow(request).text("id"):
        return _details_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        result = center_of(request).financial_devices.choose_medium(
            *_ids(request), medium, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return _ended(request, exc) or _refused(request, exc)
    return _medium_page(request, **medium_context(result.detail))


@router.post("/medium/verify")
def verify_medium(
    request: Request,
    account_number: Annotated[str, Form(max_length=30)] = "",
    account_password: _Secret = "",
    otp_code: _Secret = "",
    card_challenge_id: Annotated[str, Form(max_length=64)] = "",
    card_answer: _Secret = "",
    shown: Annotated[str, Form(alias="shown_code", max_length=10)] = "",
) -> Response:
    if not _flow(request).text("id"):
        return _details_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    answer = medium_answer(
        account_number=account_number,
        account_password=account_password,
        otp_code=otp_code,
        card_challenge_id=card_challenge_id,
        card_answer=card_answer,
    )
    try:
        device = center_of(request).financial_devices.complete_registration(
            *_ids(request), answer, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return _ended(request, exc) or _again(request, exc)
    if device is None:
        return _medium_page(
            request,
            error=CertCenterError("APPROVAL_PENDING"),
            medium="mobile_certificate",
            approval_code=shown_code(shown),
        )
    return _registered(request, device)


@router.post("/medium/status", response_class=JSONResponse)
def medium_status(request: Request) -> Response:
    """For static/js/financial.js (session cookie + CSRF header): has the app approved the
    code? Then the browser is registered and the answer names the PIN page."""
    if not _flow(request).text("id"):
        return json_refusal(request, CertCenterError("WEB_LOGIN_NOT_STARTED"))
    center = center_of(request)
    try:
        device = center.financial_devices.complete_registration(
            *_ids(request), MediumAnswer(), source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return json_refusal(request, exc)
    if device is None:
        return JSONResponse({"state": "pending"})
    _registered(request, device)
    return JSONResponse({"state": "approved", "next": "/login/pin"})


def _registered(request: Request, device: BrowserDevice) -> Response:
    _flow(request).clear()
    login_stash(request).put(device=device.id, label=device.label, registered_now=True)
    flash(request, "login.register.done", kind="success", label=device.label)
    return RedirectResponse("/login/pin", status_code=303)


def _refused(request: Request, error: CertCenterError) -> HTMLResponse:
    """A refusal before a medium was open: the code page when the code is still due."""
    if error.code == "FINANCIAL_CODE_REQUIRED":
        return _code_page(request, error=error)
    return _medium_page(request, error=error)


def _again(request: Request, error: CertCenterError) -> HTMLResponse:
    """After a wrong answer: the same medium's question again (a security card's challenge
    is spent, so it gets new slots), with the refusal on top."""
    devices = center_of(request).financial_devices
    try:
        status = devices.registration(*_ids(request), source_ip=client_ip(request))
        medium = str(status.detail.get("medium") or "")
        if status.state == "medium_pending" and medium in ("account", "security_card", "otp"):
            again = devices.choose_medium(*_ids(request), medium, source_ip=client_ip(request))
            return _medium_page(request, error=error, **medium_context(again.detail))
    except CertCenterError:
        pass
    return _refused(request, error)
