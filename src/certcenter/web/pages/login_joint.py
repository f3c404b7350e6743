"""``/login/joint``: logging in with the joint certificate (공동인증서 로그인) in the browser.

    GET  /login/joint             the .pfx to choose and its password (fields without a name:
                                  neither the file nor the password is ever sent)
    POST /login/joint/challenge   a single-use login challenge (JSON, for the script)
    POST /login/joint             the challenge, the signature and the certificate → logged in

``static/js/joint-login.js`` opens the PKCS#12 file with the password in the browser
(``joint-pfx.js``: the MAC checked, PBES2 undone with WebCrypto), signs the challenge's text
with the key (RSASSA-PKCS1-v1_5, SHA-256) and posts only the challenge, the signature and the
certificate. The check is :class:`certcenter.joint.login.JointLogin`'s, the core the API's
``/v1/joint/login`` calls: the certificate issued by this center's joint CA, its key's
signature over exactly the challenge, the certificate active; refusals counted by the risk
rules. Then the web session holds the session as every login page does (``sign_in``). The
POST answers 303 (Post/Redirect/Get): to ``/login`` once logged in, else back to this page
with the refusal kept for its GET (:class:`certcenter.web.step_flow.StepFlow`).
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
from certcenter.joint.login import PURPOSE, JointLoginAttempt
from certcenter.web.context import center_of
from certcenter.web.rendering import flash, render
from certcenter.web.routing import page_router
from certcenter.web.sessions import sign_in
from certcenter.web.step_flow import StepFlow

router = page_router(prefix="/login/joint")

MAX_CERTIFICATE_TEXT = 22_000  # base64 of 16 KiB
STEPS = StepFlow("joint_login", "/login/joint", {}, "WEB_JOINT_BROWSER_UNSUPPORTED")
PAGE = "terms"  # StepFlow's first page: /login/joint itself


def _page(request: Request, *, error: CertCenterError | None = None) -> HTMLResponse:
    return render(
        request,
        "login/joint.html",
        {"joint_action": "/login/joint", "joint_challenge": "/login/joint/challenge"},
        error=error,
    )


@router.get("")
def joint_login_page(request: Request) -> HTMLResponse:
    return _page(request, error=STEPS.take_refusal(request))


@router.post("/challenge", response_class=JSONResponse)
def joint_login_challenge(request: Request) -> JSONResponse:
    """For the script: a challenge and the exact text its key signs."""
    return challenge_answer(request)


def challenge_answer(request: Request) -> JSONResponse:
    """A single-use joint login challenge and the exact text its key signs (for
    ``joint-login.js``, here and at the OpenID login)."""
    issued = center_of(request).joint_login.challenge()
    return JSONResponse(
        {
            "challenge": issued.challenge,
            "sign": challenge_message(PURPOSE, issued.challenge).decode(),
        }
    )


def certificate_bytes(value: str) -> bytes:
    """The certificate the script posts (base64 DER)."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise CertCenterError("INVALID_REQUEST", detail="certificate: base64") from None


@router.post("")
def joint_login(
    request: Request,
    challenge: Annotated[str, Form(max_length=128)] = "",
    signature: Annotated[str, Form(max_length=700)] = "",
    certificate: Annotated[str, Form(max_length=MAX_CERTIFICATE_TEXT)] = "",
) -> Response:
    if not challenge or not signature or not certificate:
        return STEPS.refused(request, CertCenterError("WEB_JOINT_BROWSER_UNSUPPORTED"), PAGE)
    try:
        result = center_of(request).joint_login.login(
            JointLoginAttempt(
                challenge=challenge,
                signature=signature,
                certificate_der=certificate_bytes(certificate),
                source_ip=client_ip(request),
            )
        )
    except CertCenterError as exc:  # kept for the GET (Post/Redirect/Get)
        return STEPS.refused(request, exc, PAGE)
    sign_in(request, result.opened)
    flash(request, "login_joint.done", kind="success")
    return RedirectResponse("/login", status_code=303)
