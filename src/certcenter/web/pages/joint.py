"""``/joint``: registering for a joint certificate (공동인증서) in the browser, in steps.

    GET  /joint                1 종류·약관: 은행·신용카드·보험용 (free) or 범용 (the fee), terms
                                 (POST /joint/start)
    GET  /joint/identify       2 본인 확인: internet-banking user ID + resident number
    GET  /joint/medium         3 보안매체: security card or mobile OTP (POST /joint/medium
                                 asks, POST /joint/medium/verify answers; the SMS is sent then)
    GET  /joint/code           4 SMS 확인 (POST /joint/code, /joint/code/resend) or the ARS
                                 call instead (POST /joint/ars: the code to key in on the call,
                                 shown on the code page; POST /joint/ars/confirm)
    GET  /joint/register       5 등록: for 범용 the account the fee is paid from
    GET  /joint/done           6 참조번호 + 인가코드 (the code this once) and the form that issues
                                 in this browser, filled in with them (also at ``/joint/issue``,
                                 :mod:`certcenter.web.pages.joint_issue`)

Each step calls :class:`certcenter.joint.registration.JointRegistrations`, the core the API
uses; every POST answers with a redirect (Post/Redirect/Get, :mod:`certcenter.web.step_flow`,
shared with ``/issue``) to the page of the step the flow is at, after a refusal to that page
with the catalog's box. The flow's bearer token
lives in the web session (signed cookie), never in a URL or a page. The security card's
question (its slot numbers and challenge id, nothing secret) waits in the session for the
GET that shows it. The authorization code is kept there between the POST that made it and
the one GET that shows it only sealed by the key backend (AES-256-GCM, bound to the
registration): the signed cookie never holds it readable, and the first GET takes it out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.identity.banks import BANKS
from certcenter.joint import RegistrationRef
from certcenter.joint.kinds import KINDS
from certcenter.joint.registration import CODE_PURPOSE as JOINT_CODE_PURPOSE
from certcenter.web import terms
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import MediumForm, code_expiry, digits, sims_phone
from certcenter.web.pages.joint_issue import issue_form_context
from certcenter.web.rendering import flash, render, translator
from certcenter.web.routing import page_router
from certcenter.web.step_flow import StepFlow

PAGES = ("terms", "identify", "medium", "code", "register", "done")
PAGE_OF_STATE = {
    "started": "identify",
    "identified": "medium",
    "medium_pending": "medium",
    "medium_verified": "code",
    "code_sent": "code",
    "ars_calling": "code",
    "code_verified": "register",
    "registered": "done",
    "issued": "done",
    "confirmed": "done",
}
STEPS = StepFlow("joint_reg", "/joint", PAGE_OF_STATE, "WEB_JOINT_NOT_STARTED")
router = page_router(prefix="/joint", dependencies=[Depends(STEPS.same_tab)])
_FieldText = Annotated[str, Form(max_length=200)]


def _ref(request: Request) -> RegistrationRef | None:
    flow = STEPS.stash(request)
    if not flow.text("id") or not flow.text("token"):
        return None
    return RegistrationRef(flow.text("id"), flow.text("token"), client_ip(request))


def _require_ref(request: Request) -> RegistrationRef:
    ref = _ref(request)
    if ref is None:
        raise CertCenterError("WEB_JOINT_NOT_STARTED")
    return ref


def _progress(request: Request, page: str) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {
        "step_labels": [t(f"joint_web.step.{p}") for p in PAGES],
        "step_index": PAGES.index(page),
    }


def _terms(request: Request) -> list[dict[str, Any]]:
    """The terms to accept, each with its full text to open below it."""
    names = center_of(request).settings.policy.joint_required_terms
    return terms.to_accept(names, translator(locale_of(request)), "joint_web.terms")


def _kinds(request: Request) -> list[dict[str, str]]:
    t = translator(locale_of(request))
    fee = center_of(request).settings.policy.joint_general_fee_krw
    return [
        {
            "name": kind,
            "label": t(f"joint_web.kind.{kind}"),
            "hint": t(f"joint_web.kind.{kind}_hint", fee=f"{fee:,}"),
        }
        for kind in KINDS
    ]


def _media(request: Request) -> list[dict[str, str]]:
    t = translator(locale_of(request))
    return [
        {"name": m, "label": t(f"issue.medium.{m}"), "hint": t(f"issue.medium.{m}_hint")}
        for m in center_of(request).joint_registrations.offered("medium")
    ]


def _start_page(
    request: Request, *, error: CertCenterError | None = None, resume: str | None = None
) -> HTMLResponse:
    return render(
        request,
        "joint/terms.html",
        {
            "terms": _terms(request),
            "kinds": _kinds(request),
            "resume": resume,
            **_progress(request, "terms"),
        },
        error=error,
    )


def _customer_phone(request: Request, ref: RegistrationRef) -> str | None:
    """The phone on record of the flow's customer, for the demo inbox link (simulators on)."""
    center = center_of(request)
    if not center.settings.sims_enabled:
        return None
    with center.uow_factory() as uow:
        row = uow.joint_registrations.get(ref.enrollment_id)
        customer = uow.customers.get(row.customer_id) if row and row.customer_id else None
    return sims_phone(request, customer.phone if customer else None)


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _render(
    request: Request,
    ref: RegistrationRef,
    state: str,
    detail: dict[str, Any],
    page: str,
    error: CertCenterError | None,
) -> HTMLResponse:
    center = center_of(request)
    policy = center.settings.policy
    flow = STEPS.stash(request)
    context: dict[str, Any] = {
        **_progress(request, page),
        "flow_tag": STEPS.tag(request),
        "kind": flow.text("kind"),
        "fee_krw": int(detail.get("fee_krw") or 0),
        "masked_phone": flow.text("phone"),
        "demo_phone": None,
        "medium": flow.text("medium") or None,
        "media": _media(request),
        "card": flow.get("card") if state == "medium_pending" else None,
        "code_sent": state == "code_sent",
        "ars_calling": state == "ars_calling",
        "ars_code": (
            STEPS.unseal(request, "ars", bound=ref.enrollment_id, keep=True)
            if state == "ars_calling"
            else None
        ),
        "ars_expires_at": detail.get("ars_expires_at") if state == "ars_calling" else None,
        "code_seconds": policy.sms_code_ttl_seconds,
        "code_expires_at": (
            code_expiry(request, ref.enrollment_id, JOINT_CODE_PURPOSE)
            if state == "code_sent"
            else None
        ),
        "banks": sorted(BANKS.items()),
        "form": flow.get("form") or {},
        "authorization_code": None,
        "valid_days": policy.joint_registration_ttl_days,
        "expires_at": _when(detail.get("reference_expires_at")),
        "certificate_serial": detail.get("certificate_serial"),
        "registration_state": state,
    }
    if page == "code":
        context["demo_phone"] = _customer_phone(request, ref)
    if page == "done":
        code = STEPS.unseal(request, "authorization", bound=ref.enrollment_id, keep=False)
        context.update(issue_form_context(request, prefill_code=code), authorization_code=code)
    return render(request, f"joint/{page}.html", context, error=error)


def _show(request: Request, wanted: str) -> Response:
    """The GET of a step: the page of the step the flow is at, with the refusal a POST left
    for it; a GET of another step is sent there. Without a flow, or with one that ended, the
    start page says why."""
    ref = _ref(request)
    if ref is None:
        error = STEPS.take_refusal(request) or CertCenterError("WEB_JOINT_NOT_STARTED")
        return _start_page(request, error=error)
    center = center_of(request)
    try:
        status = center.joint_registrations.status(ref)
    except CertCenterError as exc:
        STEPS.stash(request).clear()
        return _start_page(request, error=exc)
    page = PAGE_OF_STATE.get(status.state)
    if page is None:  # failed, expired, rejected
        STEPS.stash(request).clear()
        code = str(status.detail.get("failure_code") or "ENROLLMENT_EXPIRED")
        minutes = center.settings.policy.joint_registration_flow_ttl_minutes
        error = STEPS.take_refusal(request) or CertCenterError(code, minutes=minutes)
        return _start_page(request, error=error)
    if wanted != page:
        return RedirectResponse(STEPS.path(page), status_code=303)
    refusal = STEPS.take_refusal(request)
    return _render(request, ref, status.state, dict(status.detail), page, refusal)


# ---------------------------------------------------------------- 1. kind + terms


@router.get("")
def terms_page(request: Request) -> HTMLResponse:
    """The start: the kind and the terms. A registration under way can be resumed."""
    resume = None
    ref = _ref(request)
    if ref is not None:
        try:
            state = center_of(request).joint_registrations.status(ref).state
            page = PAGE_OF_STATE.get(state)
            resume = f"/joint/{page}" if page is not None else None
        except CertCenterError:
            STEPS.stash(request).clear()
    return _start_page(request, error=STEPS.take_refusal(request), resume=resume)


@router.post("/start")
def start(
    request: Request,
    kind: Annotated[str, Form(max_length=20)] = "",
    accepted: Annotated[list[str] | None, Form(max_length=20)] = None,
) -> Response:
    center = center_of(request)
    try:
        started = center.joint_registrations.start(
            kind, [a[:60] for a in accepted or []], client_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "terms")
    STEPS.begin(request, id=started.enrollment_id, token=started.token, kind=kind)
    return RedirectResponse("/joint/identify", status_code=303)


# ---------------------------------------------------------------- 2. user ID + resident number


@router.get("/identify")
def identify_page(request: Request) -> Response:
    return _show(request, "identify")


@router.post("/identify")
def identify(
    request: Request,
    user_id: _FieldText = "",
    rrn_front: Annotated[str, Form(max_length=8)] = "",
    rrn_back: Annotated[str, Form(max_length=9)] = "",
) -> Response:
    try:
        ref = _require_ref(request)
        result = center_of(request).joint_registrations.identify(
            ref, user_id=user_id.strip(), rrn=f"{digits(rrn_front)}-{digits(rrn_back)}"
        )
    except CertCenterError as exc:  # the resident number is never rendered back
        return STEPS.refused(request, exc, "identify", form={"user_id": user_id.strip()[:40]})
    STEPS.stash(request).put(phone=str(result.detail.get("phone", "")), form={})
    return STEPS.go(result.state)


# ---------------------------------------------------------------- 3. security medium


@router.get("/medium")
def medium_page(request: Request) -> Response:
    return _show(request, "medium")


@router.post("/medium")
def choose_medium(request: Request, medium: Annotated[str, Form(max_length=40)] = "") -> Response:
    """The chosen medium's question: the security card's two slots (kept for the GET), or
    the OTP's code field."""
    try:
        result = center_of(request).joint_registrations.choose_medium(_require_ref(request), medium)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "medium", medium="", card=None)
    card = result.detail.get("security_card")
    STEPS.stash(request).put(medium=medium, card=dict(card) if card else None)
    return STEPS.go(result.state)


@router.post("/medium/verify")
def verify_medium(
    request: Request, answer: MediumForm, check: Annotated[str, Form(max_length=10)] = "sms"
) -> Response:
    """The medium's answer; once it is right the phone check the customer chose: the SMS
    code sent to the phone on record, or the ARS call to it (the code to key in shown)."""
    registrations = center_of(request).joint_registrations
    try:
        ref = _require_ref(request)
        registrations.verify_medium(ref, answer)
    except CertCenterError as exc:
        return _medium_again(request, exc)
    STEPS.stash(request).put(card=None)
    if check == "ars":
        return request_ars(request)
    try:
        result = registrations.send_code(ref)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "code")
    return STEPS.go(result.state)


def _medium_again(request: Request, error: CertCenterError) -> Response:
    """After a wrong answer: the same medium's question again (a security card's question
    is spent, so it gets new slots), with the refusal on top."""
    registrations = center_of(request).joint_registrations
    medium = STEPS.stash(request).text("medium")
    ref = _ref(request)
    if ref is None:
        return STEPS.refused(request, error, "medium")
    try:
        status = registrations.status(ref)
        if status.state == "medium_pending" and medium in registrations.offered("medium"):
            again = registrations.choose_medium(ref, medium)
            card = again.detail.get("security_card")
            return STEPS.refused(request, error, "medium", card=dict(card) if card else None)
    except CertCenterError:
        pass
    return STEPS.refused(request, error, "medium", card=None)


# ---------------------------------------------------------------- 4. SMS code


@router.get("/code")
def code_page(request: Request) -> Response:
    return _show(request, "code")


@router.post("/code")
def verify_code(request: Request, code: Annotated[str, Form(max_length=12)] = "") -> Response:
    try:
        result = center_of(request).joint_registrations.verify_code(
            _require_ref(request), digits(code)
        )
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "code")
    return STEPS.go(result.state)


@router.post("/code/resend")
def resend_code(request: Request) -> Response:
    """The SMS code (again): also the way on when the code could not be sent the first time."""
    try:
        result = center_of(request).joint_registrations.send_code(_require_ref(request))
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "code")
    flash(request, "issue.code.resent", kind="success")
    return STEPS.go(result.state)


# ---------------------------------------------------------------- 4'. or the ARS call


@router.post("/ars")
def request_ars(request: Request, again: Annotated[str, Form(max_length=1)] = "") -> Response:
    """The center calls the phone on record; the code page then shows the code to key in (on
    every GET while the call is open). The same POST sent again while a call is open places
    no second call; "전화 다시 요청" (``again``) does."""
    try:
        ref = _require_ref(request)
        registrations = center_of(request).joint_registrations
        open_call = STEPS.unseal(request, "ars", bound=ref.enrollment_id, keep=True)
        if open_call and not again and registrations.status(ref).state == "ars_calling":
            return RedirectResponse(STEPS.path("code"), status_code=303)
        result = registrations.request_ars(ref)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "code")
    STEPS.seal(request, "ars", str(result.detail.get("ars_code", "")), bound=ref.enrollment_id)
    return STEPS.go(result.state)


@router.post("/ars/confirm")
def confirm_ars(request: Request) -> Response:
    """After the call: on to the register step, or (still ringing) the same code again."""
    try:
        ref = _require_ref(request)
        result = center_of(request).joint_registrations.confirm_ars(ref)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "code")
    if result.detail.get("ars") == "ringing":
        flash(request, "issue.verify.still_ringing")
    else:
        STEPS.forget(request, "ars")
    return STEPS.go(result.state)


# ---------------------------------------------------------------- 5. fee → reference + code


@router.get("/register")
def register_page(request: Request) -> Response:
    return _show(request, "register")


@router.post("/register")
def register(
    request: Request,
    bank_code: Annotated[str, Form(max_length=3)] = "",
    account_number: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    """For 범용 the fee is paid from the named account; then the reference number and the
    authorization code, kept sealed in the session for the one GET that shows them."""
    account = digits(account_number)
    try:
        ref = _require_ref(request)
        result = center_of(request).joint_registrations.register(
            ref, bank_code=bank_code or None, account_number=account or None
        )
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "register", form={"bank_code": bank_code[:3]})
    code = str(result.detail.get("authorization_code") or "")
    STEPS.stash(request).put(reference=str(result.detail.get("reference") or ""), form={})
    STEPS.seal(request, "authorization", code, bound=ref.enrollment_id)
    return STEPS.go(result.state)


@router.get("/done")
def done_page(request: Request) -> Response:
    return _show(request, "done")
