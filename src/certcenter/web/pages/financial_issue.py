"""``/issue``: issuing (or re-issuing) the financial certificate in the browser, in steps.

    GET  /issue                   1 약관 동의 (terms); POST /issue/start starts the flow
    GET  /issue/identify          2 본인 확인: internet-banking user ID + resident number
    GET  /issue/verify            3 ARS (POST /issue/ars: the code to key in on the call;
                                    POST /issue/ars/confirm) or 해외출국확인 (POST /issue/departure)
    GET  /issue/medium            4 추가 인증: account + password, security card, OTP, or the
                                    mobile certificate approved in the app (POST /issue/medium,
                                    /issue/medium/verify; the page polls /issue/medium/status)
                                  or the ID document (신분증 확인): typed (POST /issue/medium/id),
                                  or photographed / uploaded (POST /issue/medium/photo, multipart),
                                  then what was read confirmed or corrected (POST /issue/medium/id)
    GET  /issue/details           5 고객 정보: name, phone, birth date and this browser's key
    GET  /issue/code              6 SMS 확인 (POST /issue/code, /issue/code/resend)
    GET  /issue/pin               7 비밀번호 설정: the PIN twice
    GET  /issue/done              8 완료

Each step calls :class:`certcenter.financial.issuance.FinancialIssuance`. The flow's bearer
token lives in the web session (signed cookie), never in a URL or a page. Every POST answers
303 (Post/Redirect/Get, :mod:`certcenter.web.step_flow`): to the page of the step the flow is
at, or after a refusal to that page with the catalog's box. A GET of a step the flow is not at
sends the browser to the step it is at. The ARS code and the approval code wait for the GETs
of their page sealed by the key backend, so a reload shows the same code and places no new
call; the security card's slots and the masked accounts (nothing secret) wait in the session.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.errors import CertCenterError
from certcenter.financial.issuance import (
    CODE_PURPOSE,
    ID_DOCUMENT,
    IssuanceRef,
    MediumAnswer,
    StepResult,
)
from certcenter.http_common.request_facts import client_ip
from certcenter.identity.documents.confirmation import KINDS, corrections, masked_fields
from certcenter.web import terms
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import (
    MediumForm,
    birth_date,
    code_expiry,
    device_public_key,
    digits,
    json_refusal,
    media_choices,
    medium_context,
    sims_phone,
)
from certcenter.web.rendering import flash, render, translator
from certcenter.web.routing import page_router
from certcenter.web.step_flow import StepFlow

PAGES = ("terms", "identify", "verify", "medium", "details", "code", "pin", "done")
PAGE_OF_STATE = {
    "started": "identify",
    "identified": "verify",
    "ars_calling": "verify",
    "identity_proven": "medium",
    "medium_pending": "medium",
    "medium_verified": "details",
    "code_sent": "code",
    "code_verified": "pin",
    "issuing": "pin",
    "completed": "done",
}
STEPS = StepFlow("fin_issue", "/issue", PAGE_OF_STATE, "WEB_ISSUE_NOT_STARTED")
router = page_router(prefix="/issue", dependencies=[Depends(STEPS.same_tab)])

_FieldText = Annotated[str, Form(max_length=200)]
_Secret = Annotated[str, Form(max_length=20)]


def _ref(request: Request) -> IssuanceRef | None:
    flow = STEPS.stash(request)
    if not flow.text("id") or not flow.text("token"):
        return None
    return IssuanceRef(flow.text("id"), flow.text("token"), client_ip(request))


def _require_ref(request: Request) -> IssuanceRef:
    ref = _ref(request)
    if ref is None:
        raise CertCenterError("WEB_ISSUE_NOT_STARTED")
    return ref


def _terms(request: Request) -> list[dict[str, Any]]:
    """The terms to accept, each with its full text to open below it: the same text
    /help/terms shows."""
    names = center_of(request).financial_issuance.required_terms
    return terms.to_accept(names, translator(locale_of(request)), "issue.terms")


def _customer_phone(request: Request, ref: IssuanceRef) -> str | None:
    """The phone on record of the flow's customer, for the demo pages' links (simulators on)."""
    center = center_of(request)
    if not center.settings.sims_enabled:
        return None
    with center.uow_factory() as uow:
        enrollment = uow.financial_enrollments.get(ref.enrollment_id)
        customer_id = enrollment.customer_id if enrollment is not None else None
        customer = uow.customers.get(customer_id) if customer_id else None
    return sims_phone(request, customer.phone if customer else None)


def _start_page(
    request: Request, *, error: CertCenterError | None = None, resume: str | None = None
) -> HTMLResponse:
    return render(
        request,
        "financial/issue_terms.html",
        {"terms": _terms(request), "resume": resume, **_progress(request, "terms")},
        error=error,
    )


def _progress(request: Request, page: str) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {
        "step_labels": [t(f"issue.step.{p}") for p in PAGES],
        "step_index": PAGES.index(page),
    }


def _render(
    request: Request,
    ref: IssuanceRef,
    status: StepResult,
    page: str,
    error: CertCenterError | None,
) -> HTMLResponse:
    flow = STEPS.stash(request)
    pending = status.detail.get("medium") if status.state == "medium_pending" else None
    question = flow.get("question") or {}
    context: dict[str, Any] = {
        **_progress(request, page),
        "flow_tag": STEPS.tag(request),
        "reissue": bool(flow.get("reissue")),
        "masked_phone": flow.text("phone"),
        "demo_phone": None,
        "ars_code": None,
        "ars_expires_at": None,
        "calling": status.state == "ars_calling",
        "medium": pending,
        "media": media_choices(request),
        "accounts": [],
        "card": None,
        "approval_code": None,
        "approval_expires_at": None,
        "form": flow.get("form") or {},
        "serial": status.detail.get("certificate_serial"),
        "proofing": status.detail.get("proofing"),
        "code_seconds": center_of(request).settings.policy.sms_code_ttl_seconds,
        "code_expires_at": (
            code_expiry(request, ref.enrollment_id, CODE_PURPOSE) if page == "code" else None
        ),
        "approval_seconds": center_of(request).settings.policy.approval_ttl_seconds,
    }
    if page in ("verify", "code"):
        context["demo_phone"] = _customer_phone(request, ref)
    if status.state == "ars_calling":
        context["ars_code"] = STEPS.unseal(request, "ars", bound=ref.enrollment_id, keep=True)
        context["ars_expires_at"] = status.detail.get("ars_expires_at")  # as the center stored it
    if page == "medium":
        held = center_of(request).financial_issuance.held_media(ref)
        context["media"] = media_choices(request, held)
        if not held and error is None:
            minutes = center_of(request).settings.policy.financial_enrollment_ttl_minutes
            error = CertCenterError("MEDIUM_NONE_HELD", minutes=minutes)
    if pending == ID_DOCUMENT:
        context.update(_id_document_context(request, ref))
    if pending and isinstance(question, dict) and question.get("medium") == pending:
        context.update(question)
        if pending == "mobile_certificate":
            context["approval_code"] = STEPS.unseal(
                request, "approval", bound=ref.enrollment_id, keep=True
            )
    return render(request, f"financial/issue_{page}.html", context, error=error)


def _show(request: Request, wanted: str) -> Response:
    """The GET of a step: the page of the step the flow is at, with the refusal a POST left
    for it; a GET of another step is sent there. Without a flow, or with one that ended, the
    start page says why."""
    ref = _ref(request)
    if ref is None:
        error = STEPS.take_refusal(request) or CertCenterError("WEB_ISSUE_NOT_STARTED")
        return _start_page(request, error=error)
    center = center_of(request)
    try:
        status = center.financial_issuance.status(ref)
    except CertCenterError as exc:
        STEPS.stash(request).clear()
        return _start_page(request, error=exc)
    page = PAGE_OF_STATE.get(status.state)
    if page is None:  # failed: expired, or stopped
        STEPS.stash(request).clear()
        code = str(status.detail.get("failure_code") or "ENROLLMENT_EXPIRED")
        minutes = center.settings.policy.financial_enrollment_ttl_minutes
        error = STEPS.take_refusal(request) or CertCenterError(code, minutes=minutes)
        return _start_page(request, error=error)
    if wanted != page:
        return RedirectResponse(STEPS.path(page), status_code=303)
    return _render(request, ref, status, page, STEPS.take_refusal(request))


# ---------------------------------------------------------------- 1. terms


@router.get("")
def terms_page(request: Request) -> HTMLResponse:
    """The start: the terms to accept. A flow under way in this browser can be resumed."""
    resume = None
    ref = _ref(request)
    if ref is not None:
        try:
            state = center_of(request).financial_issuance.status(ref).state
            page = PAGE_OF_STATE.get(state)
            resume = f"/issue/{page}" if page not in (None, "done") else None
        except CertCenterError:
            STEPS.stash(request).clear()
    return _start_page(request, error=STEPS.take_refusal(request), resume=resume)


@router.post("/start")
def start(
    request: Request, accepted: Annotated[list[str] | None, Form(max_length=20)] = None
) -> Response:
    center = center_of(request)
    try:
        started = center.financial_issuance.start(
            [a[:60] for a in accepted or []], client_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "terms")
    STEPS.begin(request, id=started.enrollment_id, token=started.token)
    return RedirectResponse("/issue/identify", status_code=303)


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
        result = center_of(request).financial_issuance.identify(
            ref, user_id=user_id.strip(), rrn=f"{digits(rrn_front)}-{digits(rrn_back)}"
        )
    except CertCenterError as exc:  # the resident number is never rendered back
        return STEPS.refused(request, exc, "identify", form={"user_id": user_id.strip()[:40]})
    STEPS.stash(request).put(
        reissue=bool(result.detail.get("reissue")),
        phone=str(result.detail.get("phone", "")),
        form={},
    )
    return STEPS.go(result.state)


# ---------------------------------------------------------------- 3. ARS or departure check


@router.get("/verify")
def verify_page(request: Request) -> Response:
    return _show(request, "verify")


@router.post("/ars")
def request_ars(request: Request, again: Annotated[str, Form(max_length=1)] = "") -> Response:
    """The center calls the phone on record; the verify page then shows the code to key in
    (on every GET while the call is open). The same POST sent again while a call is open
    places no second call; "전화 다시 요청" (``again``) does."""
    try:
        ref = _require_ref(request)
        issuance = center_of(request).financial_issuance
        open_call = STEPS.unseal(request, "ars", bound=ref.enrollment_id, keep=True)
        if open_call and not again and issuance.status(ref).state == "ars_calling":
            return RedirectResponse("/issue/verify", status_code=303)
        result = issuance.request_ars(ref)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "verify")
    STEPS.seal(request, "ars", str(result.detail.get("ars_code", "")), bound=ref.enrollment_id)
    return STEPS.go(result.state)


@router.post("/ars/confirm")
def confirm_ars(request: Request) -> Response:
    try:
        ref = _require_ref(request)
        result = center_of(request).financial_issuance.confirm_ars(ref)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "verify")
    if result.detail.get("ars") == "ringing":
        flash(request, "issue.verify.still_ringing")
    else:
        STEPS.forget(request, "ars")
    return STEPS.go(result.state)


@router.post("/departure")
def departure(request: Request) -> Response:
    try:
        result = center_of(request).financial_issuance.check_departure(_require_ref(request))
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "verify")
    STEPS.forget(request, "ars")
    return STEPS.go(result.state)


# ---------------------------------------------------------------- 4. additional medium


@router.get("/medium")
def medium_page(request: Request) -> Response:
    return _show(request, "medium")


def _keep_question(request: Request, ref: IssuanceRef, detail: dict[str, Any]) -> None:
    """The chosen medium's question, for the GETs of the medium page: the masked accounts
    and the card's slots as they are, the approval code sealed."""
    question = medium_context(detail)
    code = question.pop("approval_code", None)
    STEPS.stash(request).put(question=question)
    if code:
        STEPS.seal(request, "approval", str(code), bound=ref.enrollment_id)


@router.post("/medium")
def choose_medium(request: Request, medium: Annotated[str, Form(max_length=40)] = "") -> Response:
    """The question of the chosen medium: the masked accounts, the card's two slots, or the
    code to approve in the app."""
    try:
        ref = _require_ref(request)
        result = center_of(request).financial_issuance.choose_medium(ref, medium)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "medium", question={})
    STEPS.forget(request, _ID_READ)
    _keep_question(request, ref, dict(result.detail))
    return STEPS.go(result.state)


@router.post("/medium/verify")
def verify_medium(request: Request, answer: MediumForm) -> Response:
    try:
        ref = _require_ref(request)
        result = center_of(request).financial_issuance.verify_medium(ref, answer)
    except CertCenterError as exc:
        return _medium_again(request, exc)
    if result.detail.get("approval") == "pending":
        return STEPS.refused(request, CertCenterError("APPROVAL_PENDING"), "medium")
    STEPS.stash(request).put(question={})
    STEPS.forget(request, "approval")
    return STEPS.go(result.state)


def _medium_again(request: Request, error: CertCenterError) -> Response:
    """After a wrong answer: the same medium's question again (a security card's challenge
    is spent, so it gets new slots), with the refusal on top."""
    ref = _ref(request)
    if ref is None:
        return STEPS.refused(request, error, "medium")
    issuance = center_of(request).financial_issuance
    try:
        status = issuance.status(ref)
        medium = str(status.detail.get("medium") or "")
        if status.state == "medium_pending" and medium in ("account", "security_card", "otp"):
            again = issuance.choose_medium(ref, medium)
            _keep_question(request, ref, dict(again.detail))
            return STEPS.refused(request, error, "medium")
    except CertCenterError:
        pass
    return STEPS.refused(request, error, "medium", question={})


@router.post("/medium/status", response_class=JSONResponse)
def medium_status(request: Request) -> Response:
    """For static/js/approval-poll.js (session cookie + CSRF header): has the app approved
    the code? Then the flow moves on and the answer names the next page."""
    ref = _ref(request)
    if ref is None:
        return json_refusal(request, CertCenterError("WEB_ISSUE_NOT_STARTED"))
    issuance = center_of(request).financial_issuance
    try:
        status = issuance.status(ref)
        pending = (
            status.state == "medium_pending" and status.detail.get("medium") == "mobile_certificate"
        )
        if pending:
            status = issuance.verify_medium(ref, MediumAnswer())
    except CertCenterError as exc:
        return json_refusal(request, exc)
    if status.state == "medium_pending":
        return JSONResponse({"state": "pending"})
    STEPS.forget(request, "approval")
    page = PAGE_OF_STATE.get(status.state, "terms")
    return JSONResponse({"state": "approved", "next": STEPS.path(page)})


# ---------------------------------------------------------------- 4b. the ID document

_ID_READ = "id_read"  # what the photo gave, sealed, until the customer confirms it
_IdField = Annotated[str, Form(max_length=60)]


def _id_document_context(request: Request, ref: IssuanceRef) -> dict[str, Any]:
    """The ID document's page: the kinds for the typed form, and what a photo gave (the
    resident number's last six digits masked) for the customer to confirm or correct."""
    read = _reading(request, ref)
    t = translator(locale_of(request))
    names = [*KINDS, *sorted({name for fields in KINDS.values() for name in fields})]
    return {
        "id_labels": {name: t(f"issue.id.{name}") for name in names},
        "id_kinds": list(KINDS),
        "id_kind_fields": KINDS,
        "id_read": masked_fields(read["kind"], read) if read else None,
        "id_photo_max_mib": center_of(request).settings.policy.id_photo_max_bytes / 1024 / 1024,
    }


def _reading(request: Request, ref: IssuanceRef) -> dict[str, str] | None:
    sealed = STEPS.unseal(request, _ID_READ, bound=ref.enrollment_id, keep=True)
    if not sealed:
        return None
    try:
        read = json.loads(sealed)
    except ValueError:
        return None
    if not isinstance(read, dict) or read.get("kind") not in KINDS:
        return None
    return {str(k): str(v) for k, v in read.items()}


@router.post("/medium/photo")
def id_photo(request: Request, photo: Annotated[UploadFile | None, File()] = None) -> Response:
    """신분증 촬영/사진 올리기: the photo, read in this request's memory (never written
    anywhere, :func:`certcenter.web.setup.install` keeps uploads off the disk); what was read
    waits sealed for the confirmation. A photo that is too large, not an image, or refused for
    its quality (glare, blur, …) comes back on the page with the catalog's remedy."""
    center = center_of(request)
    try:
        ref = _require_ref(request)
        limit = center.settings.policy.id_photo_max_bytes
        data = photo.file.read(limit + 1) if photo is not None else b""
        result = center.financial_issuance.read_id_photo(ref, data)
    except CertCenterError as exc:
        STEPS.forget(request, _ID_READ)
        return STEPS.refused(request, exc, "medium")
    finally:
        if photo is not None:
            photo.file.close()
    fields = {str(k): str(v) for k, v in dict(result.detail.get("fields") or {}).items()}
    STEPS.seal(request, _ID_READ, json.dumps(fields, ensure_ascii=False), bound=ref.enrollment_id)
    return STEPS.go(result.state)


@router.post("/medium/id")
def id_document(
    request: Request,
    source: Annotated[str, Form(max_length=10)] = "typed",
    kind: Annotated[str, Form(max_length=20)] = "",
    name: _IdField = "",
    rrn: _IdField = "",
    issue_date: _IdField = "",
    birth_date: _IdField = "",
    number: _IdField = "",
    serial: _IdField = "",
    expiry: _IdField = "",
) -> Response:
    """The ID document's details: typed, or a photo's reading as the customer confirmed or
    corrected it. A resident number left as shown (masked) is the one the photo gave; a
    changed field is recorded as corrected (by name) and the registry still decides."""
    typed = {
        "name": name,
        "rrn": rrn,
        "issue_date": issue_date,
        "birth_date": birth_date,
        "number": number,
        "serial": serial,
        "expiry": expiry,
    }
    center = center_of(request)
    try:
        ref = _require_ref(request)
        read = _reading(request, ref) if source == "photo" else None
        if read is not None:
            fields: dict[str, Any] = {k: typed[k].strip() for k in KINDS[read["kind"]]}
            if "rrn" in fields and (not fields["rrn"] or "*" in fields["rrn"]):
                fields["rrn"] = read["rrn"]
            fields.update(kind=read["kind"], source="photo", corrected=corrections(read, fields))
        else:
            chosen = kind if kind in KINDS else ""
            fields = {k: typed[k].strip() for k in KINDS.get(chosen, ())}
            fields.update(kind=chosen, source="typed")
        result = center.financial_issuance.verify_id_document(ref, fields)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "medium")
    STEPS.forget(request, _ID_READ)
    STEPS.stash(request).put(question={})
    return STEPS.go(result.state)


@router.post("/medium/id/again")
def id_photo_again(request: Request) -> Response:
    """The reading set aside: another photo, or the details typed instead."""
    STEPS.forget(request, _ID_READ)
    return RedirectResponse("/issue/medium", status_code=303)


# ---------------------------------------------------------------- 5. details + this browser


@router.get("/details")
def details_page(request: Request) -> Response:
    return _show(request, "details")


@router.post("/details")
def details(
    request: Request,
    name: _FieldText = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    birth: Annotated[str, Form(max_length=12)] = "",
    device_public_key_b64: Annotated[str, Form(alias="device_public_key", max_length=800)] = "",
    device_label: Annotated[str, Form(max_length=120)] = "",
) -> Response:
    typed = {"name": name.strip()[:40], "phone": digits(phone)[:11], "birth": birth.strip()[:10]}
    try:
        result = center_of(request).financial_issuance.submit_details(
            _require_ref(request),
            name=name,
            phone=digits(phone),
            birth_date=birth_date(birth),
            device_public_key=device_public_key(device_public_key_b64),
            device_label=device_label or None,
        )
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "details", form=typed)
    STEPS.stash(request).put(phone=str(result.detail.get("phone", "")), form={})
    return STEPS.go(result.state)


# ---------------------------------------------------------------- 6. SMS code


@router.get("/code")
def code_page(request: Request) -> Response:
    return _show(request, "code")


@router.post("/code")
def verify_code(request: Request, code: Annotated[str, Form(max_length=12)] = "") -> Response:
    try:
        result = center_of(request).financial_issuance.verify_code(
            _require_ref(request), digits(code)
        )
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "code")
    return STEPS.go(result.state)


@router.post("/code/resend")
def resend_code(request: Request) -> Response:
    try:
        center_of(request).financial_issuance.resend_code(_require_ref(request))
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "code")
    flash(request, "issue.code.resent", kind="success")
    return RedirectResponse("/issue/code", status_code=303)


# ---------------------------------------------------------------- 7. PIN → 8. done


@router.get("/pin")
def pin_page(request: Request) -> Response:
    return _show(request, "pin")


@router.post("/pin")
def set_pin(request: Request, pin: _Secret = "", pin_confirmation: _Secret = "") -> Response:
    try:
        result = center_of(request).financial_issuance.set_pin(
            _require_ref(request), pin, pin_confirmation
        )
    except CertCenterError as exc:
        return STEPS.refused(request, exc, "pin")
    return STEPS.go(result.state)


@router.get("/done")
def done_page(request: Request) -> Response:
    return _show(request, "done")
