"""``/joint/other``: 타기관 인증서 등록 — registering a joint certificate another institution's
CA issued, so it logs in here (logged-in customers only).

    GET  /joint/other                the registered certificates (each with 해지) and the form:
                                     the .pfx and its password (fields without a name: neither
                                     is ever sent) and the resident number
    POST /joint/other/challenge      a single-use registration challenge (JSON, for the script)
    POST /joint/other                (CSRF) the challenge, the signature, the certificate, the
                                     VID random value R from the key file and the resident
                                     number → registered
    POST /joint/other/deregister     (CSRF) ``registration``: 해지

``static/js/joint-login.js`` opens the file in the browser as for ``/login/joint`` and also
posts R (``random_num``) when the form has the field. The checks are
:class:`certcenter.joint.other.OtherJointCertificates`'. Every POST answers 303
(Post/Redirect/Get); a refusal waits for the GET that shows it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Form
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.authn.device_auth import challenge_message
from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.joint.other import PURPOSE, OtherRegistration
from certcenter.web.context import center_of
from certcenter.web.pages.login_joint import MAX_CERTIFICATE_TEXT, certificate_bytes
from certcenter.web.rendering import flash, render
from certcenter.web.routing import page_router
from certcenter.web.sessions import require_customer
from certcenter.web.step_flow import StepFlow

router = page_router(prefix="/joint/other")
PAGE = "terms"  # StepFlow's first page: /joint/other itself
STEPS = StepFlow("joint_other", "/joint/other", {}, "WEB_JOINT_BROWSER_UNSUPPORTED")


@router.get("")
def other_page(request: Request) -> HTMLResponse:
    session = require_customer(request)
    center = center_of(request)
    error = STEPS.take_refusal(request)
    return render(
        request,
        "joint/other.html",
        {
            "registered": center.other_joint.registered(session.customer_id),
            "joint_action": "/joint/other",
            "joint_challenge": "/joint/other/challenge",
            "joint_identity": True,
            "joint_submit": "joint_other.submit",
        },
        error=error,
    )


@router.post("/challenge", response_class=JSONResponse)
def other_challenge(request: Request) -> JSONResponse:
    """For the script: a challenge and the exact text its key signs."""
    require_customer(request)
    issued = center_of(request).other_joint.challenge()
    sign = challenge_message(PURPOSE, issued.challenge).decode()
    return JSONResponse({"challenge": issued.challenge, "sign": sign})


def _random_num(value: str) -> bytes:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CertCenterError("INVALID_REQUEST", detail="random_num: base64") from None


@router.post("")
def other_register(
    request: Request,
    challenge: Annotated[str, Form(max_length=128)] = "",
    signature: Annotated[str, Form(max_length=700)] = "",
    certificate: Annotated[str, Form(max_length=MAX_CERTIFICATE_TEXT)] = "",
    random_num: Annotated[str, Form(max_length=200)] = "",
    rrn_front: Annotated[str, Form(max_length=6)] = "",
    rrn_back: Annotated[str, Form(max_length=7)] = "",
) -> Response:
    session = require_customer(request)
    if not challenge or not signature or not certificate:
        return STEPS.refused(request, CertCenterError("WEB_JOINT_BROWSER_UNSUPPORTED"), PAGE)
    try:
        center_of(request).other_joint.register(
            session.customer_id,
            OtherRegistration(
                challenge=challenge,
                signature=signature,
                certificate_der=certificate_bytes(certificate),
                rrn=f"{rrn_front}-{rrn_back}",
                random_num=_random_num(random_num),
                source_ip=client_ip(request),
            ),
        )
    except CertCenterError as exc:  # kept for the GET (Post/Redirect/Get)
        return STEPS.refused(request, exc, PAGE)
    flash(request, "joint_other.registered", kind="success")
    return RedirectResponse("/joint/other", status_code=303)


@router.post("/deregister")
def other_deregister(
    request: Request, registration: Annotated[str, Form(max_length=36)] = ""
) -> Response:
    session = require_customer(request)
    try:
        center_of(request).other_joint.deregister(
            session.customer_id, registration, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return STEPS.refused(request, exc, PAGE)
    flash(request, "joint_other.deregistered", kind="success")
    return RedirectResponse("/joint/other", status_code=303)
