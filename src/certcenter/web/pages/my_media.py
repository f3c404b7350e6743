"""``/my/media`` (보안매체): the logged-in customer's mobile OTP and security card.

    GET  /my/media                      both media: registered or not, and how to get one
    POST /my/media/otp/start            OTP 발급 1단계: an SMS code to the registered phone
    POST /my/media/otp/confirm          2단계: the SMS code, the own withdrawal account and
                                        its password; the OTP's secret is shown once
    POST /my/media/otp/check            a code from the OTP app, checked with the OTP's lockout
    POST /my/media/otp/cancel           해지: the app's PIN asked again, as the API asks it
    POST /my/media/card/start           보안카드 등록: the serial of the card from the branch
    POST /my/media/card/answer          the answer to the question on two of its slots
    POST /my/media/card/cancel/start    보안카드 해지 1: a question on two slots of the card in use
    POST /my/media/card/cancel          해지 2: its answer and the app's PIN, as the API asks them

Every form answers 303 (Post/Redirect/Get): a refusal waits in the session for the GET that
shows it (:func:`~certcenter.web.step_flow.keep_refusal`), and the OTP's secret waits only
sealed by the key backend, for one GET. The work is the media services' own
(:class:`~certcenter.media.otp.OtpService`, :class:`~certcenter.media.security_card.
SecurityCardService`), as the API's ``/v1/otp`` and ``/v1/security-cards`` call them.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request

from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.identity.banks import BANKS
from certcenter.media.otp import qr_png
from certcenter.web.context import center_of
from certcenter.web.rendering import flash, render
from certcenter.web.routing import page_router
from certcenter.web.sessions import require_customer
from certcenter.web.step_flow import StepFlow, keep_refusal

router = page_router(prefix="/my/media")

PAGE = "/my/media"
# The pending OTP registration and card question, the refusal, the sealed secret.
MEDIA = StepFlow("my_media", PAGE, {}, "OTP_REGISTRATION_INVALID")
# Refusals after which the OTP registration cannot go on: a new SMS code is needed.
_REGISTRATION_OVER = frozenset(
    {"OTP_REGISTRATION_INVALID", "OTP_REGISTRATION_TRIES_EXCEEDED", "OTP_ALREADY_REGISTERED"}
)
_Digits = Annotated[str, Form(max_length=12)]


def _back(anchor: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}#{anchor}", status_code=303)


def _refused(request: Request, error: CertCenterError, anchor: str) -> RedirectResponse:
    keep_refusal(request, MEDIA.key, error)
    return _back(anchor)


def _pending(request: Request, name: str) -> dict[str, Any] | None:
    found = MEDIA.stash(request).get(name)
    return dict(found) if isinstance(found, dict) else None


def _provisioning(request: Request, customer_id: str) -> dict[str, Any] | None:
    """The new OTP's secret, once: the GET right after the registration shows it."""
    opened = MEDIA.unseal(request, "otp", bound=customer_id, keep=False)
    if not opened:
        return None
    made = dict(json.loads(opened))
    png = qr_png(str(made["uri"]))
    made["qr_src"] = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return made


@router.get("")
def media_page(request: Request) -> HTMLResponse:
    session = require_customer(request)
    center = center_of(request)
    error = MEDIA.take_refusal(request)
    otp = center.otp.status(session.customer_id)
    cards = center.security_cards.cards(session.customer_id)
    with center.uow_factory(read_only=True) as uow:
        device = uow.devices.active_by_device_id(session.device_id)
    registration = _pending(request, "otp_registration")
    if registration and (otp.registered or _expired(center.clock.now(), registration)):
        registration = None
    question = _pending(request, "card_question")
    if question and _expired(center.clock.now(), question):
        question = None
    active_card = next((c for c in cards if c.status == "active"), None)
    cancel_question = _pending(request, "card_cancel_question")
    if cancel_question and (active_card is None or _expired(center.clock.now(), cancel_question)):
        cancel_question = None
    return render(
        request,
        "my/media.html",
        {
            "otp": otp,
            "cards": [c for c in cards if c.status in ("issued", "active")],
            "cancel_question": cancel_question,
            "active_card": active_card,
            "registration": registration,
            "question": question,
            "provisioning": _provisioning(request, session.customer_id),
            "on_app": device is not None and device.customer_id == session.customer_id,
            "banks": sorted(BANKS.items()),
            "code_seconds": center.settings.policy.sms_code_ttl_seconds,
            "card_seconds": center.settings.policy.security_card_challenge_ttl_seconds,
            "has_none": not otp.registered and active_card is None,
        },
        error=error,
    )


def _expired(now: datetime, pending: dict[str, Any]) -> bool:
    try:
        return now >= datetime.fromisoformat(str(pending["expires_at"]))
    except (KeyError, ValueError):
        return True


# ---------------------------------------------------------------- mobile OTP


@router.post("/otp/start")
def otp_start(request: Request) -> RedirectResponse:
    """발급 1단계 (and 인증번호 다시 받기): a new SMS code; an earlier one is not asked for."""
    session = require_customer(request)
    try:
        started = center_of(request).otp.start_registration(
            session.customer_id, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return _refused(request, exc, "otp")
    MEDIA.stash(request).put(
        otp_registration={
            "id": started.registration_id,
            "expires_at": started.expires_at.isoformat(),
            "phone": started.phone,
        }
    )
    flash(request, "media.otp.sent", kind="success", phone=started.phone)
    return _back("otp")


@router.post("/otp/confirm")
def otp_confirm(
    request: Request,
    sms_code: _Digits = "",
    bank_code: Annotated[str, Form(max_length=3)] = "",
    account_number: Annotated[str, Form(max_length=24)] = "",
    account_password: _Digits = "",
) -> RedirectResponse:
    """발급 2단계: the OTP is made and its secret kept sealed for the next GET only."""
    session = require_customer(request)
    center = center_of(request)
    registration = _pending(request, "otp_registration")
    if registration is None:
        return _refused(request, CertCenterError("OTP_REGISTRATION_INVALID"), "otp")
    try:
        made = center.otp.confirm_registration(
            session.customer_id,
            str(registration["id"]),
            sms_code=sms_code,
            bank_code=bank_code,
            account_number=account_number,
            account_password=account_password,
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        if exc.code in _REGISTRATION_OVER:
            MEDIA.stash(request).put(otp_registration=None)
        return _refused(request, exc, "otp")
    MEDIA.stash(request).put(otp_registration=None)
    shown = {"uri": made.uri, "secret": made.secret_base32, "digits": made.digits}
    MEDIA.seal(request, "otp", json.dumps(shown), bound=session.customer_id)
    flash(request, "media.otp.registered", kind="success")
    return _back("otp")


@router.post("/otp/check")
def otp_check(request: Request, code: _Digits = "") -> RedirectResponse:
    """A code from the app, checked as any use of the OTP is (each code once, with lockout)."""
    session = require_customer(request)
    try:
        center_of(request).otp.verify(session.customer_id, code)
    except CertCenterError as exc:
        return _refused(request, exc, "otp")
    flash(request, "media.otp.checked", kind="success")
    return _back("otp")


@router.post("/otp/cancel")
def otp_cancel(request: Request, pin: _Digits = "") -> RedirectResponse:
    """해지, after the PIN of the app the session runs on (what ``DELETE /v1/otp`` asks);
    a session that is not the app's (a financial certificate's login) is told to log in
    with the app."""
    session = require_customer(request)
    try:
        center_of(request).otp.cancel(
            session.customer_id, device_id=session.device_id, pin=pin, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        if exc.code == "DEVICE_NOT_REGISTERED":
            exc = CertCenterError("WEB_APP_LOGIN_REQUIRED")
        return _refused(request, exc, "otp")
    flash(request, "media.otp.cancelled", kind="success")
    return _back("otp")


# ---------------------------------------------------------------- security card


@router.post("/card/start")
def card_start(
    request: Request, serial: Annotated[str, Form(max_length=40)] = ""
) -> RedirectResponse:
    """보안카드 등록: the card's serial gets a question on two of its slots."""
    session = require_customer(request)
    try:
        asked = center_of(request).security_cards.start_registration(session.customer_id, serial)
    except CertCenterError as exc:
        return _refused(request, exc, "card")
    MEDIA.stash(request).put(
        card_question={
            "id": asked.id,
            "slot_a": asked.slot_a,
            "slot_b": asked.slot_b,
            "expires_at": asked.expires_at.isoformat(),
        }
    )
    return _back("card")


def _card_question_gone(request: Request) -> CertCenterError:
    return CertCenterError(
        "SECURITY_CARD_CHALLENGE_INVALID",
        seconds=center_of(request).settings.policy.security_card_challenge_ttl_seconds,
    )


@router.post("/card/answer")
def card_answer(
    request: Request, answer: Annotated[str, Form(max_length=16)] = ""
) -> RedirectResponse:
    """The answer: the card becomes the one in use (a card used before is revoked)."""
    session = require_customer(request)
    question = _pending(request, "card_question")
    if question is None:
        return _refused(request, _card_question_gone(request), "card")
    MEDIA.stash(request).put(card_question=None)  # single use, right or wrong
    try:
        view = center_of(request).security_cards.complete_registration(
            session.customer_id, str(question["id"]), answer, source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return _refused(request, exc, "card")
    flash(request, "media.card.registered", kind="success", serial=view.masked_serial)
    return _back("card")


@router.post("/card/cancel/start")
def card_cancel_start(request: Request) -> RedirectResponse:
    """해지 1: a question on two slots of the card in use (``POST /v1/security-cards/
    cancellations``)."""
    session = require_customer(request)
    try:
        asked = center_of(request).security_cards.start_cancel(session.customer_id)
    except CertCenterError as exc:
        return _refused(request, exc, "card-cancel")
    MEDIA.stash(request).put(
        card_cancel_question={
            "id": asked.id,
            "slot_a": asked.slot_a,
            "slot_b": asked.slot_b,
            "expires_at": asked.expires_at.isoformat(),
        }
    )
    return _back("card-cancel")


@router.post("/card/cancel")
def card_cancel(
    request: Request, answer: Annotated[str, Form(max_length=16)] = "", pin: _Digits = ""
) -> RedirectResponse:
    """해지 2: the answer and the PIN of the app the session runs on, as the OTP's cancel asks
    it; a session that is not the app's is told to log in with the app."""
    session = require_customer(request)
    question = _pending(request, "card_cancel_question")
    if question is None:
        return _refused(request, _card_question_gone(request), "card-cancel")
    MEDIA.stash(request).put(card_cancel_question=None)  # single use, right or wrong
    try:
        view = center_of(request).security_cards.cancel(
            session.customer_id,
            str(question["id"]),
            answer,
            device_id=session.device_id,
            pin=pin,
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        if exc.code == "DEVICE_NOT_REGISTERED":
            exc = CertCenterError("WEB_APP_LOGIN_REQUIRED")
        return _refused(request, exc, "card-cancel")
    flash(request, "media.card.cancelled", kind="success", serial=view.masked_serial)
    return _back("card")
