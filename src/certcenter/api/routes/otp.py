"""``/v1/otp``: the mobile OTP (모바일 OTP) of the logged-in customer.

Registration is two steps: an SMS code to the registered phone, then that code with the
customer's own withdrawal account and its password. The confirmation's answer carries the
OTP's secret (as an ``otpauth://`` URI, in base32 and as a QR code): the only time the center
ever hands it out.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from certcenter.api.contract import FACTOR_CHECK, MEDIUM_ANSWER, raises
from certcenter.api.deps import CenterDep, ClientIp, SessionDep
from certcenter.media.otp import OtpStatus

router = APIRouter(prefix="/v1/otp", tags=["mobile OTP (모바일 OTP)"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistrationOut(BaseModel):
    registration_id: str
    expires_at: datetime
    phone: str = Field(description="The registered phone the SMS code went to (masked).")
    customer_number: str


class ConfirmIn(_Body):
    sms_code: Annotated[str, StringConstraints(min_length=1, max_length=12)] = Field(
        description="The 6-digit code sent by SMS."
    )
    bank_code: Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
    account_number: Annotated[str, StringConstraints(min_length=6, max_length=24)] = Field(
        description="The customer's own withdrawal account (출금계좌)."
    )
    account_password: Annotated[str, StringConstraints(min_length=1, max_length=12)]


class ProvisioningOut(BaseModel):
    token_id: str
    otpauth_uri: str = Field(description="Key URI for an authenticator app: shown this once.")
    secret: str = Field(description="The secret in base32, for typing it in: shown this once.")
    qr_png_base64: str = Field(description="The otpauth URI as a QR code, PNG, base64.")
    issuer: str
    account_name: str
    algorithm: str
    digits: int
    period: int
    activated_at: datetime


class StatusOut(BaseModel):
    registered: bool
    status: str = Field(description="active, revoked, or none (never registered).")
    token_id: str | None = None
    issuer: str | None = None
    algorithm: str | None = None
    digits: int | None = None
    period: int | None = None
    activated_at: datetime | None = None
    revoked_at: datetime | None = None
    locked: bool = False


class CodeIn(_Body):
    code: Annotated[str, StringConstraints(min_length=1, max_length=12)]


class VerifiedOut(BaseModel):
    ok: bool


def _status(found: OtpStatus) -> StatusOut:
    return StatusOut(
        registered=found.registered,
        status=found.status,
        token_id=found.token_id,
        issuer=found.issuer,
        algorithm=found.algorithm,
        digits=found.digits,
        period=found.period,
        activated_at=found.activated_at,
        revoked_at=found.revoked_at,
        locked=found.locked,
    )


@router.post("/registrations", status_code=status.HTTP_201_CREATED, response_model=RegistrationOut)
@raises(
    "OTP_ALREADY_REGISTERED",
    "SESSION_INVALID",
    "SMS_LIMIT_REACHED",
    "SMS_RESEND_TOO_SOON",
    "TOO_MANY_ATTEMPTS",
)
def start_registration(session: SessionDep, center: CenterDep, ip: ClientIp) -> RegistrationOut:
    """발급 1단계: an SMS code to the customer's registered phone."""
    started = center.otp.start_registration(session.customer_id, source_ip=ip)
    return RegistrationOut(
        registration_id=started.registration_id,
        expires_at=started.expires_at,
        phone=started.phone,
        customer_number=started.customer_number,
    )


@router.post(
    "/registrations/{registration_id}/confirm",
    status_code=status.HTTP_201_CREATED,
    response_model=ProvisioningOut,
)
@raises(
    *MEDIUM_ANSWER,
    "ACCOUNT_DORMANT",
    "ACCOUNT_SUSPENDED",
    "ACCOUNT_TRANSFER_RESTRICTED",
    "OTP_ALREADY_REGISTERED",
    "OTP_REGISTRATION_INVALID",
    "OTP_REGISTRATION_TRIES_EXCEEDED",
    "SESSION_INVALID",
)
def confirm_registration(
    registration_id: str, body: ConfirmIn, session: SessionDep, center: CenterDep, ip: ClientIp
) -> ProvisioningOut:
    """발급 2단계: the SMS code, the customer's own account and its password. A wrong code and
    a wrong password get the same answer. The secret is in this answer and nowhere else."""
    made = center.otp.confirm_registration(
        session.customer_id,
        registration_id,
        sms_code=body.sms_code,
        bank_code=body.bank_code,
        account_number=body.account_number,
        account_password=body.account_password,
        source_ip=ip,
    )
    return ProvisioningOut(
        token_id=made.token_id,
        otpauth_uri=made.uri,
        secret=made.secret_base32,
        qr_png_base64=base64.b64encode(made.qr_png).decode("ascii"),
        issuer=made.issuer,
        account_name=made.account_name,
        algorithm=made.algorithm,
        digits=made.digits,
        period=made.period,
        activated_at=made.activated_at,
    )


@router.get("", response_model=StatusOut)
def otp_status(session: SessionDep, center: CenterDep) -> StatusOut:
    """The customer's mobile OTP: whether it is registered, usable or locked (no secret)."""
    return _status(center.otp.status(session.customer_id))


class CancelIn(_Body):
    pin: Annotated[str, StringConstraints(min_length=1, max_length=12)] = Field(
        description="The app's PIN (간편비밀번호), asked again to cancel."
    )


@router.delete("", response_model=StatusOut)
@raises(*FACTOR_CHECK, "DEVICE_NOT_REGISTERED", "OTP_NOT_REGISTERED", "SESSION_INVALID")
def cancel(body: CancelIn, session: SessionDep, center: CenterDep, ip: ClientIp) -> StatusOut:
    """해지: the mobile OTP can no longer be used; a new one can be registered. The app's
    PIN is asked again (a lost or borrowed session alone cannot cancel it)."""
    return _status(
        center.otp.cancel(
            session.customer_id, device_id=session.device_id, pin=body.pin, source_ip=ip
        )
    )


@router.post("/verify", response_model=VerifiedOut)
@raises(*FACTOR_CHECK, "OTP_NOT_REGISTERED")
def verify(body: CodeIn, session: SessionDep, center: CenterDep) -> VerifiedOut:
    """Check a code from the OTP (each code once), with the OTP's lockout."""
    center.otp.verify(session.customer_id, body.code)
    return VerifiedOut(ok=True)
