"""``/login/pin-reset``: releasing a locked (or forgotten) financial-certificate PIN by
verifying the customer again (비밀번호 재설정, :mod:`certcenter.financial.pin`).

    GET  /login/pin-reset          name, phone, birth date → POST: the SMS code goes out
    GET  /login/pin-reset/code     the SMS code and a new PIN twice (or none: the old PIN
                                   is accepted again) → POST: the lock is released

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
from certcenter.web.financial_forms import Stash, birth_date, digits, sims_phone
from certcenter.web.pages.login import login_stash
from certcenter.web.rendering import flash, render, translator
from certcenter.web.routing import page_router

router = page_router(prefix="/login/pin-reset")

RESET = "fin_pin_reset"  # the release under way: id, bearer token, masked and typed phone
_Pin = Annotated[str, Form(max_length=12)]


def _steps(request: Request, current: int) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {
        "step_labels": [t("login.step.details"), t("login.reset.step_new")],
        "step_index": current,
    }


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
    reset = Stash(request, RESET)
    if not reset.text("id"):
        return _start_page(request, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED"))
    context = {
        **_steps(request, 1),
        "masked_phone": reset.text("masked"),
        "demo_phone": sims_phone(request, reset.text("phone")),
        "code_seconds": center_of(request).settings.policy.sms_code_ttl_seconds,
    }
    return render(request, "login/pin_reset_code.html", context, error=error)


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
    Stash(request, RESET).start(
        id=started.reset_id, token=started.token, masked=started.phone, phone=typed["phone"]
    )
    return RedirectResponse("/login/pin-reset/code", status_code=303)


@router.get("/code")
def code_form(request: Request) -> HTMLResponse:
    return _code_page(request)


@router.post("/code")
def complete(
    request: Request,
    code: Annotated[str, Form(max_length=12)] = "",
    new_pin: _Pin = "",
    new_pin_confirmation: _Pin = "",
) -> Response:
    reset = Stash(request, RESET)
    if not reset.text("id"):
        return _start_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))
    try:
        center_of(request).financial_pin.complete(
            reset.text("id"),
            reset.text("token"),
            digits(code),
            new_pin=new_pin or None,
            new_pin_confirmation=new_pin_confirmation if new_pin else None,
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        if exc.code in ("FINANCIAL_RESET_INVALID", "FINANCIAL_RESET_EXPIRED"):
            reset.clear()
            return _start_page(request, error=exc)
        return _code_page(request, error=exc)
    reset.clear()
    flash(request, "login.reset.done", kind="success")
    target = "/login/pin" if login_stash(request).text("device") else "/login"
    return RedirectResponse(target, status_code=303)
