"""``/v1/financial/enrollments``: issuing the financial certificate (금융인증서 발급/재발급).

One endpoint per step, with the flow's bearer token (``Authorization: Bearer <token>`` from
the start). Every answer names the ``state``, the ``next_step`` and every step that may run
now (``choices``); see ``docs/api.md``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Any, Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from certcenter.api.contract import (
    APP_APPROVAL,
    CUSTOMER_STEP,
    FLOW_READ,
    FLOW_STEP,
    ID_PHOTO,
    KEY_BACKEND,
    MEDIUM_ANSWER,
    ONE_TIME_CODE,
    REVERIFICATION,
    raises,
)
from certcenter.api.deps import CenterDep, ClientIp, RefDep
from certcenter.api.schemas import BASE64, IdIn, IdPhotoIn, medium_answer
from certcenter.errors import CertCenterError
from certcenter.financial.issuance import StepResult
from certcenter.identity.banks import OWN_BANK_CODE

router = APIRouter(prefix="/v1/financial/enrollments", tags=["financial certificate (금융인증서)"])


class FinancialStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accepted: list[str] = Field(max_length=20, description="The terms the customer accepted.")


class FinancialStepOut(BaseModel):
    enrollment_id: str
    state: str
    next_step: str | None
    choices: list[str] = Field(description="Every step that may run now, the usual one first.")
    expires_at: datetime
    detail: dict[str, Any] = {}


class FinancialStartOut(FinancialStepOut):
    token: str


class TermsOut(BaseModel):
    required: list[str]


class IdentifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(max_length=60, description="The internet-banking user ID.")
    rrn: str = Field(max_length=20, description="The resident registration number (13 digits).")


class MediumIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    medium: Literal["account", "security_card", "otp", "mobile_certificate", "id_document"]


class MediumVerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bank_code: str = Field(OWN_BANK_CODE, max_length=3)
    account_number: str | None = Field(None, max_length=30)
    account_password: str | None = Field(None, max_length=20)
    otp_code: str | None = Field(None, max_length=10)
    card_challenge_id: str | None = Field(None, max_length=64)
    card_answer: str | None = Field(None, max_length=10)
    id_document: IdIn | None = Field(
        None,
        description="The ID document (신분증 확인): typed, or as read by POST …/medium/photo "
        "and confirmed (source: photo, with the names of the fields corrected).",
    )


class DetailsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=80)
    phone: str = Field(max_length=20)
    birth_date: date
    device_public_key: str = Field(
        max_length=1024,
        pattern=BASE64,
        json_schema_extra={"contentEncoding": "base64"},
        description="The browser's WebCrypto ECDSA P-256 public key: SPKI DER in base64.",
    )
    device_label: str | None = Field(None, max_length=120)


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=10)


class PinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: str = Field(max_length=20)
    pin_confirmation: str = Field(max_length=20)


def _out(result: StepResult) -> FinancialStepOut:
    return FinancialStepOut(
        enrollment_id=result.enrollment_id,
        state=result.state,
        next_step=result.next_step,
        choices=list(result.choices),
        expires_at=result.expires_at,
        detail=result.detail,
    )


@router.get("/terms", response_model=TermsOut)
def terms(center: CenterDep) -> TermsOut:
    """The terms to accept before the flow starts."""
    return TermsOut(required=center.financial_issuance.required_terms)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FinancialStartOut)
@raises(*FLOW_STEP, "TERMS_NOT_ACCEPTED")
def start(body: FinancialStartIn, center: CenterDep, ip: ClientIp) -> FinancialStartOut:
    """약관 동의: starts the flow and hands out its bearer token."""
    started = center.financial_issuance.start(body.accepted, client_ip=ip)
    return FinancialStartOut(**_out(started).model_dump(), token=started.token)


@router.get("/{enrollment_id}", response_model=FinancialStepOut)
@raises(*FLOW_READ)
def show(ref: RefDep, center: CenterDep) -> FinancialStepOut:
    return _out(center.financial_issuance.status(ref))


@router.post("/{enrollment_id}/identify", response_model=FinancialStepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    *KEY_BACKEND,
    "FINANCIAL_IDENTITY_LOCKED",
    "FINANCIAL_IDENTITY_NOT_CONFIRMED",
    "FINANCIAL_INTERNET_BANKING_REQUIRED",
    "RRN_INVALID",
)
def identify(body: IdentifyIn, ref: RefDep, center: CenterDep) -> FinancialStepOut:
    """사용자 ID와 주민등록번호: together they must name the customer (tries counted)."""
    return _out(center.financial_issuance.identify(ref, user_id=body.user_id, rrn=body.rrn))


@router.post("/{enrollment_id}/ars", response_model=FinancialStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "CHECK_NOT_OFFERED", "FINANCIAL_ARS_CALL_LIMIT")
def ars(ref: RefDep, center: CenterDep) -> FinancialStepOut:
    """ARS 인증: calls the phone on record; ``detail.ars_code`` is shown on screen."""
    return _out(center.financial_issuance.request_ars(ref))


@router.post("/{enrollment_id}/ars/confirm", response_model=FinancialStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "ARS_CALL_EXPIRED", "FINANCIAL_ARS_FAILED")
def ars_confirm(ref: RefDep, center: CenterDep) -> FinancialStepOut:
    """After the call (``detail.ars == "ringing"`` while it still rings)."""
    return _out(center.financial_issuance.confirm_ars(ref))


@router.post("/{enrollment_id}/departure", response_model=FinancialStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "CHECK_NOT_OFFERED", "FINANCIAL_NOT_ABROAD")
def departure(ref: RefDep, center: CenterDep) -> FinancialStepOut:
    """해외출국확인: instead of ARS, for a customer abroad now."""
    return _out(center.financial_issuance.check_departure(ref))


@router.post("/{enrollment_id}/medium", response_model=FinancialStepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    "CHECK_NOT_OFFERED",
    "MEDIUM_ACCOUNT_NOT_HERE",
    "MEDIUM_NOT_REGISTERED",
)
def medium(body: MediumIn, ref: RefDep, center: CenterDep) -> FinancialStepOut:
    """추가 인증 수단: the security card's slots or the app-approval code are in ``detail``;
    for the ID document (``id_document``) the kinds it may be (``detail.documents``), whose
    details follow, typed or read from a photo (``…/medium/photo``)."""
    return _out(center.financial_issuance.choose_medium(ref, body.medium))


@router.post("/{enrollment_id}/medium/photo", response_model=FinancialStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, *ID_PHOTO)
def medium_photo(body: IdPhotoIn, ref: RefDep, center: CenterDep) -> FinancialStepOut:
    """신분증 촬영, with the ID document chosen as the medium: the photo is checked (glare,
    blur, darkness, framing) and read in memory, never kept; the answer is what was read
    (``detail.display`` masked for the screen, ``detail.fields`` to send back in
    ``…/medium/verify``'s ``id_document`` with ``source: photo`` once the customer confirmed
    or corrected them)."""
    return _out(center.financial_issuance.read_id_photo(ref, body.data()))


@router.post("/{enrollment_id}/medium/verify", response_model=FinancialStepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    *MEDIUM_ANSWER,
    *APP_APPROVAL,
    "ID_CARD_REISSUED",
    "ID_DETAILS_INVALID",
    "ID_EXPIRED",
    "ID_NAME_MISMATCH",
    "ID_NOT_VERIFIED",
    "RRN_INVALID",
)
def medium_verify(body: MediumVerifyIn, ref: RefDep, center: CenterDep) -> FinancialStepOut:
    """The medium's answer (account + password, OTP code, card answer; nothing for the
    mobile certificate: ``detail.approval`` is ``pending`` until the app approves; the ID
    document's details in ``id_document``, which the ID registry decides and which must be
    the customer's own)."""
    if body.id_document is not None:
        fields = {k: v for k, v in body.id_document.model_dump().items() if v is not None}
        return _out(center.financial_issuance.verify_id_document(ref, fields))
    return _out(center.financial_issuance.verify_medium(ref, medium_answer(body)))


@router.post("/{enrollment_id}/details", response_model=FinancialStepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    *REVERIFICATION,
    "FINANCIAL_DETAILS_MISMATCH",
    "FINANCIAL_DEVICE_KEY_INVALID",
    "PHONE_NUMBER_INVALID",
    "RRN_INVALID",
)
def details(body: DetailsIn, ref: RefDep, center: CenterDep) -> FinancialStepOut:
    """이름, 휴대폰 번호, 생년월일 and the browser's device key; sends the SMS code."""
    try:
        spki = base64.b64decode(body.device_public_key, validate=True)
    except (binascii.Error, ValueError):
        raise CertCenterError(
            "INVALID_REQUEST", detail="device_public_key: base64 of the SPKI DER"
        ) from None
    return _out(
        center.financial_issuance.submit_details(
            ref,
            name=body.name,
            phone=body.phone,
            birth_date=body.birth_date,
            device_public_key=spki,
            device_label=body.device_label,
        )
    )


@router.post("/{enrollment_id}/code/resend", response_model=FinancialStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, *REVERIFICATION)
def code_resend(ref: RefDep, center: CenterDep) -> FinancialStepOut:
    return _out(center.financial_issuance.resend_code(ref))


@router.post("/{enrollment_id}/code/verify", response_model=FinancialStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, *ONE_TIME_CODE, *REVERIFICATION)
def code_verify(body: CodeIn, ref: RefDep, center: CenterDep) -> FinancialStepOut:
    return _out(center.financial_issuance.verify_code(ref, body.code))


@router.post(
    "/{enrollment_id}/pin", status_code=status.HTTP_201_CREATED, response_model=FinancialStepOut
)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "PIN_CONFIRMATION_MISMATCH", "PIN_FORMAT", "PIN_WEAK")
def pin(body: PinIn, ref: RefDep, center: CenterDep) -> FinancialStepOut:
    """The PIN twice; the certificate is made and this browser registered
    (``detail.serial``, ``detail.device_id``)."""
    return _out(center.financial_issuance.set_pin(ref, body.pin, body.pin_confirmation))
