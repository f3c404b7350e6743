"""``/v1/joint/registrations``: registering for a joint certificate (공동인증서 등록).

One endpoint per step, with the registration's bearer token (``Authorization: Bearer
<token>`` from the start). The last step answers the reference number (참조번호) and the
authorization code (인가코드), this once; the customer's certificate software takes them to
the CMP server. See ``docs/joint-certificate.md`` and ``docs/api.md``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, status
from pydantic import BaseModel, ConfigDict, Field

from certcenter.api.contract import (
    CUSTOMER_STEP,
    FLOW_READ,
    FLOW_STEP,
    KEY_BACKEND,
    MEDIUM_ANSWER,
    ONE_TIME_CODE,
    REVERIFICATION,
    raises,
)
from certcenter.api.deps import CenterDep, ClientIp, flow_ticket
from certcenter.flows import StepResult
from certcenter.joint import RegistrationRef
from certcenter.joint.registration import MediumAnswer

router = APIRouter(prefix="/v1/joint/registrations", tags=["joint certificate (공동인증서)"])


async def registration_ref(
    registration_id: str,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> RegistrationRef:
    return flow_ticket(registration_id, ip, authorization)


RefDep = Annotated[RegistrationRef, Depends(registration_ref)]


class JointStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: str = Field(
        max_length=20, description="banking (은행·신용카드·보험용, free) or general (범용)."
    )
    accepted: list[str] = Field(max_length=20, description="The terms the customer accepted.")


class JointStepOut(BaseModel):
    registration_id: str
    state: str
    next_step: str | None
    choices: list[str] = Field(description="Every step that may run now, the usual one first.")
    expires_at: datetime
    detail: dict[str, Any] = {}


class JointStartOut(JointStepOut):
    token: str


class TermsOut(BaseModel):
    required: list[str]
    kinds: list[str]
    general_fee_krw: int


class IdentifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(max_length=60, description="The internet-banking user ID.")
    rrn: str = Field(max_length=20, description="The resident registration number (13 digits).")


class MediumIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    medium: Literal["security_card", "otp"]


class MediumVerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    otp_code: str | None = Field(None, max_length=10)
    card_challenge_id: str | None = Field(None, max_length=64)
    card_answer: str | None = Field(None, max_length=10)


class CodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=10)


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    bank_code: str | None = Field(None, max_length=3, description="범용: the fee's account.")
    account_number: str | None = Field(None, max_length=20)


def _out(result: StepResult) -> JointStepOut:
    return JointStepOut(
        registration_id=result.enrollment_id,
        state=result.state,
        next_step=result.next_step,
        choices=list(result.choices),
        expires_at=result.expires_at,
        detail=result.detail,
    )


@router.get("/terms", response_model=TermsOut)
def terms(center: CenterDep) -> TermsOut:
    """The terms to accept, the kinds, and the 범용 fee."""
    policy = center.settings.policy
    return TermsOut(
        required=list(policy.joint_required_terms),
        kinds=["banking", "general"],
        general_fee_krw=policy.joint_general_fee_krw,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=JointStartOut)
@raises(*FLOW_STEP, "JOINT_KIND_INVALID", "TERMS_NOT_ACCEPTED")
def start(body: JointStartIn, center: CenterDep, ip: ClientIp) -> JointStartOut:
    """The kind and the terms: starts the registration and hands out its bearer token."""
    started = center.joint_registrations.start(body.kind, body.accepted, client_ip=ip)
    return JointStartOut(**_out(started).model_dump(), token=started.token)


@router.get("/{registration_id}", response_model=JointStepOut)
@raises(*FLOW_READ)
def show(ref: RefDep, center: CenterDep) -> JointStepOut:
    return _out(center.joint_registrations.status(ref))


@router.post("/{registration_id}/identify", response_model=JointStepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    *KEY_BACKEND,
    "CERTIFICATE_COPY_CODE_INVALID",
    "CERTIFICATE_COPY_PAYLOAD_INVALID",
    "RRN_INVALID",
    "JOINT_IDENTITY_NOT_CONFIRMED",
    "JOINT_IDENTITY_LOCKED",
    "JOINT_INTERNET_BANKING_REQUIRED",
)
def identify(body: IdentifyIn, ref: RefDep, center: CenterDep) -> JointStepOut:
    """사용자 ID와 주민등록번호: together they must name the customer (tries counted)."""
    return _out(center.joint_registrations.identify(ref, user_id=body.user_id, rrn=body.rrn))


@router.post("/{registration_id}/medium", response_model=JointStepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    "CHECK_NOT_OFFERED",
    "JOINT_MEDIUM_NOT_ALLOWED",
    "MEDIUM_NOT_REGISTERED",
)
def medium(body: MediumIn, ref: RefDep, center: CenterDep) -> JointStepOut:
    """보안매체: the security card's slots are in ``detail``."""
    return _out(center.joint_registrations.choose_medium(ref, body.medium))


@router.post("/{registration_id}/medium/verify", response_model=JointStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, *MEDIUM_ANSWER)
def medium_verify(body: MediumVerifyIn, ref: RefDep, center: CenterDep) -> JointStepOut:
    answer = MediumAnswer(
        otp_code=body.otp_code,
        card_challenge_id=body.card_challenge_id,
        card_answer=body.card_answer,
    )
    return _out(center.joint_registrations.verify_medium(ref, answer))


@router.post("/{registration_id}/code", response_model=JointStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, *REVERIFICATION, "CHECK_NOT_OFFERED")
def code(ref: RefDep, center: CenterDep) -> JointStepOut:
    """An SMS code to the phone on record (again when asked again)."""
    return _out(center.joint_registrations.send_code(ref))


@router.post("/{registration_id}/code/verify", response_model=JointStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, *ONE_TIME_CODE, *REVERIFICATION)
def code_verify(body: CodeIn, ref: RefDep, center: CenterDep) -> JointStepOut:
    return _out(center.joint_registrations.verify_code(ref, body.code))


@router.post("/{registration_id}/ars", response_model=JointStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "CHECK_NOT_OFFERED", "JOINT_ARS_CALL_LIMIT")
def ars(ref: RefDep, center: CenterDep) -> JointStepOut:
    """ARS 인증 instead of the SMS code: the center calls the phone on record;
    ``detail.ars_code`` is the number to show, which the customer keys in on the call."""
    return _out(center.joint_registrations.request_ars(ref))


@router.post("/{registration_id}/ars/confirm", response_model=JointStepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "ARS_CALL_EXPIRED", "JOINT_ARS_FAILED")
def ars_confirm(ref: RefDep, center: CenterDep) -> JointStepOut:
    """After the call: ``detail.ars`` is ``ringing`` (ask again) or ``confirmed``; digits
    other than the number shown are ``JOINT_ARS_FAILED`` (recorded; a new call may follow)."""
    return _out(center.joint_registrations.confirm_ars(ref))


@router.post(
    "/{registration_id}/register", status_code=status.HTTP_201_CREATED, response_model=JointStepOut
)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    "CERTIFICATE_COPY_CODE_INVALID",
    "CERTIFICATE_COPY_PAYLOAD_INVALID",
    "JOINT_FEE_ACCOUNT_REQUIRED",
    "KEY_NOT_FOUND",
    "KEY_PASSPHRASE_MISSING",
    "KEY_PASSPHRASE_WRONG",
)
def register(body: RegisterIn, ref: RefDep, center: CenterDep) -> JointStepOut:
    """범용: the fee from the named account; then ``detail.reference`` and
    ``detail.authorization_code``, shown this once."""
    return _out(
        center.joint_registrations.register(
            ref, bank_code=body.bank_code, account_number=body.account_number
        )
    )
