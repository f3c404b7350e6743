"""``/login/pin-reset``: releasing a locked (or forgotten) financial-certificate PIN by
verifying the customer again (비밀번호 재설정, :mod:`certcenter.financial.pin`).

    GET  /login/pin-reset          name, phone, birth date → POST: "if the details match, a
                                   code was sent" (the same page whoever they name)
    GET  /login/pin-reset/code     the SMS code (POST; /login/pin-reset/resend)
    GET  /login/pin-reset/medium   추가 인증 (account + password, security card, OTP, or the
                                   mobile certificate approved in the app) and a new PIN twice
                                   (or none: the old PIN is accepted again) → POST
                                   /login/pin-reset/medium/verify: the lock is released

The flow's bearer token is kept in the web session. Afterwards the browser goes back to the
PIN page if it had chosen its device, else to the login page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import (
    Stash,
    birth_date,
    digits,
    media_choices,
    medium_answer,
    medium_context,
    shown_code,
    sims_phone,
)
from certcenter.web.pages.login import login_stash
from certcenter.web.rendering import flash, render, translator
from certcenter.web.routing import page_router

router = page_router(prefix="/login/pin-reset")

RESET = "fin_pin_reset"  # the release under way: id, bearer token, masked and typed phone
FLOW_ENDED = frozenset({"FINANCIAL_RESET_INVALID", "FINANCIAL_RESET_EXPIRED"})
STEPS = ("login.step.details", "login.step.code", "login.reset.step_new")
_Pin = Annotated[str, Form(max_length=12)]
_Secret = Annotated[str, Form(max_length=20)]


def _steps(request: Request, current: int) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {"step_labels": [t(key) for key in STEPS], "step_index": current}


def _flow(request: Request) -> Stash:
    return Stash(request, RESET)


def _ids(request: Request) -> tuple[str, str]:
    flow = _flow(request)
    return flow.text("id"), flow.text("token")


def _start_page(
    request: Request, *, error: CertCenterError | None = None, form: dict[str, str] | None = None
) -> HTMLResponse:
    return render(
        request,
        "login/pin_reset.html",
        {**_steps(request, 0), "form": form or {}},
        error=error,
    )


def _code_page(request: Request, *, error: CertCenterError | None = None) -> HTMLResponse:
    reset = _flow(request)
    if not reset.text("id"):
        return _start_page(request, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED"))
    context = {
        **_steps(request, 1),
        "masked_phone": reset.text("masked"),
        "demo_phone": sims_phone(request, reset.text("phone")),
        "code_seconds": center_of(request).settings.policy.sms_code_ttl_seconds,
    }
    return render(request, "login/pin_reset_code.html", context, error=error)


def _medium_page(
    request: Request, *, error: CertCenterError | None = None, **extra: Any
) -> HTMLResponse:
    if not _flow(request).text("id"):
        return _start_page(request, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED"))
    context: dict[str, Any] = {
        **_steps(request, 2),
        "medium": None,
        "media": media_choices(request),
        "accounts": [],
        "card": None,
        "approval_code": None,
        "approval_seconds": center_of(request).settings.policy.approval_ttl_seconds,
        **extra,
    }
    return render(request, "login/pin_reset_medium.html", context, error=error)


def _ended(request: Request, error: CertCenterError) -> HTMLResponse | None:
    if error.code not in FLOW_ENDED:
        return None
    _flow(request).clear()
    return _start_page(request, error=error)


@router.get("")
def reset_form(request: Request) -> HTMLResponse:
    return _start_page(request)


@router.post("")
def start(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    birth: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    typed = {"name": name.strip()[:40], "phone": digits(phone)[:11], "birth": birth.strip()[:10]}
    try:
        started = center_of(request).financial_pin.start(
            name=name,
            phone=digits(phone),
            birth_date=birth_date(birth),
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        return _start_page(request, error=exc, form=typed)
    _flow(request).start(
        id=started.reset_id, token=started.token, masked=started.phone, phone=typed["phone"]
    )
    return RedirectResponse("/login/pin-reset/code", status_code=303)


@router.get("/code")
def code_form(request: Request) -> HTMLResponse:
    return _code_page(request)


@router.post("/code")
def verify_code(request: Request, code: Annotated[str, Form(max_length=12)] = "") -> Response:
    if not _flow(request).text("id"):
        return _start_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        center_of(request).financial_pin.verify_code(
            *_ids(request), digits(code), source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return _ended(request, exc) or _code_page(request, error=exc)
    return RedirectResponse("/login/pin-reset/medium", status_code=303)


@router.post("/resend")
def resend(request: Request) -> Response:
    if not _flow(request).text("id"):
        return _start_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        center_of(request).financial_pin.resend_code(*_ids(request), source_ip=client_ip(request))
    except CertCenterError as exc:
        return _ended(request, exc) or _code_page(request, error=exc)
    flash(request, "login.register.resent", kind="success")
    return RedirectResponse("/login/pin-reset/code", status_code=303)


@router.get("/medium")
def medium_form(request: Request) -> HTMLResponse:
    return _medium_page(request)


@router.post("/medium")
def choose_medium(request: Request, medium: Annotated[str, Form(max_length=40)] = "") -> Response:
    if not _flow(request).text("id"):
        return _start_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        result = center_of(request).financial_pin.choose_medium(
            *_ids(request), medium, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return _ended(request, exc) or _refused(request, exc)
    return _medium_page(request, **medium_context(result.detail))


@router.post("/medium/verify")
def complete(
    request: Request,
    account_number: Annotated[str, Form(max_length=30)] = "",
    account_password: _Secret = "",
    otp_code: _Secret = "",
    card_challenge_id: Annotated[str, Form(max_length=64)] = "",
    card_answer: _Secret = "",
    shown: Annotated[str, Form(alias="shown_code", max_length=10)] = "",
    new_pin: _Pin = "",
    new_pin_confirmation: _Pin = "",
) -> Response:
    if not _flow(request).text("id"):
        return _start_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    answer = medium_answer(
        account_number=account_number,
        account_password=account_password,
        otp_code=otp_code,
        card_challenge_id=card_challenge_id,
        card_answer=card_answer,
    )
    try:
        done = center_of(request).financial_pin.complete(
            *_ids(request),
            answer,
            new_pin=new_pin or None,
            new_pin_confirmation=new_pin_confirmation if new_pin else None,
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        return _ended(request, exc) or _again(request, exc)
    if not done:
        return _medium_page(
            request,
            error=CertCenterError("APPROVAL_PENDING"),
            medium="mobile_certificate",
            approval_code=shown_code(shown),
        )
    _flow(request).clear()
    flash(request, "login.reset.done", kind="success")
    target = "/login/pin" if login_stash(request).text("device") else "/login"
    return RedirectResponse(target, status_code=303)


def _refused(request: Request, error: CertCenterError) -> HTMLResponse:
    if error.code == "FINANCIAL_CODE_REQUIRED":
        return _code_page(request, error=error)
    return _medium_page(request, error=error)


def _again(request: Request, error: CertCenterError) -> HTMLResponse:
    """After a wrong answer (or a weak PIN): the same medium's question again (a security
    card gets new slots), with the refusal on top."""
    pin = center_of(request).financial_pin
    try:
        status = pin.status(*_ids(request), source_ip=client_ip(request))
        medium = str(status.detail.get("medium") or "")
        if status.state == "medium_pending" and medium in ("account", "security_card", "otp"):
            again = pin.choose_medium(*_ids(request), medium, source_ip=client_ip(request))
            return _medium_page(request, error=error, **medium_context(again.detail))
        if status.state == "medium_pending" and medium == "mobile_certificate":
            return _medium_page(request, error=error)
    except CertCenterError:
        pass
    return _refused(request, error)
