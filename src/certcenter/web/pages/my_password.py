"""``/my/password`` (비밀번호 변경): changing the secret of each certificate the customer holds.

    GET  /my/password            the financial certificate's PIN change (a fresh activation
                                 on every GET, as the confirmation of /my), and where the
                                 mobile certificate's PIN and the joint certificate's password
                                 are changed
    POST /my/password/financial  (CSRF) the old PIN with this browser's device signature, the
                                 new PIN twice → 303 to /my/password with the outcome

Every POST answers 303 (Post/Redirect/Get, :class:`~certcenter.web.step_flow.StepFlow`):
a refusal waits for the GET that shows it; the same form sent again finds its activation used
up (``WEB_CONFIRMATION_INVALID``) and changes nothing twice. The work is
:class:`~certcenter.financial.pin_change.FinancialPinChange`: the new PIN checked first
(nothing counted), then the old one counted like every use of the PIN and locked after the
policy's failures.

The other secrets are not the center's to change: the mobile certificate's PIN is the app's
(its 재발급 sets a new PIN and pattern with the current PIN), and the joint certificate's
password protects the customer's own file, which the center never sees.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.errors import CertCenterError
from certcenter.financial.pin_change import pin_change_statement
from certcenter.http_common.request_facts import client_ip
from certcenter.usage.login import FINANCIAL_METHOD
from certcenter.web.context import center_of
from certcenter.web.rendering import flash, render
from certcenter.web.routing import page_router
from certcenter.web.sessions import require_customer
from certcenter.web.step_flow import StepFlow

router = page_router(prefix="/my/password")
PAGE = "/my/password"
STEPS = StepFlow("my_password", PAGE, {}, "WEB_CONFIRMATION_INVALID")
_PENDING = "my_password_activation"  # the activation the page's form answers
_Pin = Annotated[str, Form(max_length=12)]


def _financial_form(request: Request, customer_id: str, device_id: str) -> dict[str, Any]:
    """The financial certificate's part of the page: a fresh activation for the change, or
    why there is none (no certificate, locked)."""
    center = center_of(request)
    try:
        overview = center.cloud_certificates.overview(customer_id)
    except CertCenterError:
        return {"financial": None}
    if overview.pin_locked:
        return {"financial": overview, "pin_locked": True}
    with center.uow_factory(read_only=True) as uow:
        customer = uow.customers.get(customer_id)
    number = customer.customer_number if customer else customer_id
    data = pin_change_statement(overview.serial, number, center.clock.now())
    started = center.remote_signer.begin(device_id, "document", data, customer_id=customer_id)
    request.session[_PENDING] = started.activation_id
    return {
        "financial": overview,
        "activation_id": started.activation_id,
        "sign_b64": base64.b64encode(started.message).decode("ascii"),
        "expires_at": started.expires_at,
    }


@router.get("")
def password_page(request: Request) -> HTMLResponse:
    session = require_customer(request)
    center = center_of(request)
    error = STEPS.take_refusal(request)
    context: dict[str, Any] = {"financial": None, "pin_locked": False, "activation_id": None}
    financial_login = session.method == FINANCIAL_METHOD
    if financial_login:
        try:
            context |= _financial_form(request, session.customer_id, session.device_id or "")
        except CertCenterError as exc:  # the browser was removed, the certificate revoked …
            error = error or exc
    else:
        try:
            context["financial"] = center.cloud_certificates.overview(session.customer_id)
        except CertCenterError:
            context["financial"] = None
    with center.uow_factory(read_only=True) as uow:
        records = list(uow.certificates.for_customer(session.customer_id))
    current = [r.family for r in records if r.status in ("active", "suspended")]
    return render(
        request,
        "my/password.html",
        context
        | {
            "financial_login": financial_login,
            "has_mobile": any(f not in ("financial", "joint") for f in current),
            "has_joint": "joint" in current,
            "max_failures": center.settings.policy.financial_pin_max_failures,
        },
        error=error,
    )


@router.post("/financial")
def change_financial_pin(
    request: Request,
    activation_id: Annotated[str, Form(max_length=36)] = "",
    device_signature: Annotated[str, Form(max_length=400)] = "",
    pin: _Pin = "",
    new_pin: _Pin = "",
    new_pin_confirmation: _Pin = "",
) -> Response:
    """The old PIN with the device's signature, the new one twice; 303 either way."""
    session = require_customer(request)
    pending = request.session.pop(_PENDING, None)
    if not activation_id or pending != activation_id:  # sent again, or from an older page
        return STEPS.refused(request, CertCenterError("WEB_CONFIRMATION_INVALID"), "terms")
    if session.method != FINANCIAL_METHOD:
        return STEPS.refused(request, CertCenterError("WEB_FINANCIAL_LOGIN_REQUIRED"), "terms")
    if not device_signature:  # no key in this browser (or no script): nothing is counted
        return STEPS.refused(request, CertCenterError("WEB_DEVICE_KEY_MISSING"), "terms")
    try:
        center_of(request).financial_pin_change.change(
            activation_id,
            device_signature,
            old_pin=pin,
            new_pin=new_pin,
            new_pin_confirmation=new_pin_confirmation,
            customer_id=session.customer_id,
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "terms")
    flash(request, "my.password.changed", kind="success")
    return RedirectResponse(PAGE, status_code=303)
