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
only in the forms (the shared steps: :mod:`certcenter.web.reverification_pages`). Every POST
answers 303 (Post/Redirect/Get); the card's slots and the approval code wait for the GETs of
the medium page (the code sealed), so a reload shows the same question.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.entities import BrowserDevice
from certcenter.errors import CertCenterError
from certcenter.financial.media import MediumAnswer
from certcenter.financial.reverification import DEVICE_PURPOSE
from certcenter.http_common.request_facts import client_ip
from certcenter.web.context import center_of
from certcenter.web.financial_forms import (
    MediumForm,
    birth_date,
    device_public_key,
    digits,
    json_refusal,
)
from certcenter.web.pages.login import device_for_key, login_stash, steps
from certcenter.web.rendering import flash
from certcenter.web.reverification_pages import ReverificationPages, Started
from certcenter.web.routing import page_router

_STEPS = ("details", "code", "medium")
_Secret = Annotated[str, Form(max_length=20)]


def _details_context(request: Request) -> dict[str, Any]:
    return {"max_devices": center_of(request).settings.policy.financial_max_devices}


pages = ReverificationPages(
    prefix="/login/register",
    stash_key="fin_registration",  # the registration under way: id, bearer token, phone
    ended=frozenset({"FINANCIAL_REGISTRATION_INVALID", "FINANCIAL_REGISTRATION_EXPIRED"}),
    templates=("login/register.html", "login/register_code.html", "login/register_medium.html"),
    service=lambda center: center.financial_devices,
    steps=lambda request, index: steps(request, _STEPS[index]),
    details_context=_details_context,
    code_purpose=DEVICE_PURPOSE.code_purpose,
)
router = page_router(prefix=pages.prefix, dependencies=[Depends(pages.steps_flow.same_tab)])
pages.add_routes(router)


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
    if (under_way := pages.already_started(request, typed)) is not None:
        return under_way  # the same details sent again: no second code
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
        return pages.details_refused(request, exc, typed)
    return pages.begin(
        request, typed, Started(started.registration_id, started.token, started.phone)
    )


@router.post("/medium/verify")
def verify_medium(
    request: Request,
    answer: MediumForm,
) -> Response:
    if (page := pages.not_started(request)) is not None:
        return page
    try:
        device = center_of(request).financial_devices.complete_registration(
            *pages.ids(request), answer, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return pages.after_refusal(request, exc)
    if device is None:  # the app has not approved yet: the same page, the same code
        return pages.refused_to(request, CertCenterError("APPROVAL_PENDING"), "medium")
    return _registered(request, device)


@router.post("/medium/status", response_class=JSONResponse)
def medium_status(request: Request) -> Response:
    """For static/js/financial.js (session cookie + CSRF header): has the app approved the
    code? Then the browser is registered and the answer names the PIN page."""
    if not pages.flow(request).text("id"):
        return json_refusal(request, CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        device = center_of(request).financial_devices.complete_registration(
            *pages.ids(request), MediumAnswer(), source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return json_refusal(request, exc)
    if device is None:
        return JSONResponse({"state": "pending"})
    _registered(request, device)
    return JSONResponse({"state": "approved", "next": "/login/pin"})


def _registered(request: Request, device: BrowserDevice) -> Response:
    login_stash(request).put(device=device.id, label=device.label, registered_now=True)
    flash(request, "login.register.done", kind="success", label=device.label)
    return pages.finish(request, "/login/pin")
