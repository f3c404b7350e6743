"""``/v1/approvals``: a code shown in the browser, approved in the app (앱으로 승인).

The browser starts a request (``web-login``) and shows its 8-digit code; the customer types it
in the phone app, logged in with the mobile certificate (``POST /v1/approvals/approve`` with the
app's session); the browser polls ``/status`` with its token and, once approved, ``/consume``
gives it a web session of that customer. The issuance of the financial certificate starts its
own requests (purpose ``financial-issuance``) inside its flow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from certcenter.api.contract import raises
from certcenter.api.deps import CenterDep, ClientIp, SessionDep
from certcenter.usage.approvals import ApprovalStatus

router = APIRouter(prefix="/v1/approvals", tags=["app approval (앱으로 승인)"])


class ApprovalStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    purpose: Literal["web-login"] = "web-login"


class ApprovalStartOut(BaseModel):
    id: str
    purpose: str
    code: str = Field(description="Show on screen; the customer types it in the app.")
    token: str = Field(description="The browser's secret to poll and consume with.")
    expires_at: datetime


class ApprovalTokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=200)


class ApprovalCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=20)


class ApprovalStatusOut(BaseModel):
    id: str
    purpose: str
    state: str = Field(description="pending | approved | consumed | expired")
    expires_at: datetime
    approved_at: datetime | None = None


class ApprovedSessionOut(BaseModel):
    purpose: str
    customer_number: str
    name: str
    token: str | None = Field(None, description="The web session (purpose web-login).")
    method: str | None = None
    certificate_serial: str | None = None
    idle_timeout_seconds: int | None = None
    expires_at: datetime | None = None


def _status(found: ApprovalStatus) -> ApprovalStatusOut:
    return ApprovalStatusOut(
        id=found.id,
        purpose=found.purpose,
        state=found.state,
        expires_at=found.expires_at,
        approved_at=found.approved_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApprovalStartOut)
@raises("SERVICE_UNAVAILABLE")
def start(body: ApprovalStartIn, center: CenterDep, ip: ClientIp) -> ApprovalStartOut:
    """A new request: show ``code``, keep ``token`` (valid for approval_ttl_seconds)."""
    made = center.approvals.start(body.purpose, source_ip=ip)
    return ApprovalStartOut(
        id=made.id,
        purpose=made.purpose,
        code=made.code,
        token=made.token,
        expires_at=made.expires_at,
    )


@router.post("/status", response_model=ApprovalStatusOut)
@raises("APPROVAL_NOT_FOUND")
def poll(body: ApprovalTokenIn, center: CenterDep) -> ApprovalStatusOut:
    """Where the request stands (the browser polls)."""
    return _status(center.approvals.status(body.token))


@router.post("/consume", response_model=ApprovedSessionOut)
@raises(
    "APPROVAL_EXPIRED",
    "APPROVAL_NOT_FOUND",
    "APPROVAL_PENDING",
    "APPROVAL_USED",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_NOT_FOUND",
    "CERTIFICATE_NOT_SUSPENDED",
    "CERTIFICATE_NOT_USABLE",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_SUSPENDED",
)
def consume(body: ApprovalTokenIn, center: CenterDep, ip: ClientIp) -> ApprovedSessionOut:
    """Use the approved request once: a web session of the customer who approved it."""
    done = center.approvals.consume(body.token, source_ip=ip)
    opened = done.opened
    return ApprovedSessionOut(
        purpose=done.approval.purpose,
        customer_number=done.customer.customer_number,
        name=done.customer.name,
        token=opened.token if opened else None,
        method=opened.session.method if opened else None,
        certificate_serial=opened.session.certificate_serial if opened else None,
        idle_timeout_seconds=center.settings.policy.session_idle_minutes * 60 if opened else None,
        expires_at=opened.session.expires_at if opened else None,
    )


@router.post("/approve", response_model=ApprovalStatusOut)
@raises(
    "APPROVAL_APP_LOGIN_REQUIRED",
    "APPROVAL_CODE_INVALID",
    "APPROVAL_CUSTOMER_MISMATCH",
    "APPROVAL_EXPIRED",
    "APPROVAL_LOCKED",
    "APPROVAL_USED",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_NOT_SUSPENDED",
    "CERTIFICATE_NOT_USABLE",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_SUSPENDED",
    "DEVICE_NOT_REGISTERED",
    "KEY_ALREADY_EXISTS",
    "KEY_NOT_FOUND",
    "KEY_PASSPHRASE_MISSING",
    "KEY_PASSPHRASE_WRONG",
)
def approve(
    body: ApprovalCodeIn, session: SessionDep, center: CenterDep, ip: ClientIp
) -> ApprovalStatusOut:
    """The app approves the code on the screen (``Authorization: Bearer <app session>`` of a
    mobile-certificate login). Wrong codes are counted and pause approving at the limit."""
    return _status(center.approvals.approve(session, body.code, source_ip=ip))
