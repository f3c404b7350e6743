"""해외 IP 차단 해제 from the app: allow access from abroad for a number of days, or block it
again, each confirmed by a challenge signed with the registered device's key and the PIN
(the challenge from ``POST /v1/devices/{device_id}/challenges`` with purpose
``overseas_access``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictInt

from certcenter.api.contract import DEVICE_PROOF, raises
from certcenter.api.deps import CenterDep, ClientIp
from certcenter.api.schemas import ProofIn
from certcenter.lifecycle.customer_actions import DeviceProof
from certcenter.usage.overseas_access import OverseasAccessState

router = APIRouter(tags=["overseas access (해외 IP 차단 해제)"])


class OverseasAccessIn(ProofIn):
    days: StrictInt = Field(
        description="How long access from abroad stays allowed, from now "
        "(1 to the policy's overseas_access_max_days)."
    )


class OverseasAccessOut(BaseModel):
    allowed: bool
    until: datetime | None = Field(
        description="When the allowance ends by itself (UTC); null when access from abroad is "
        "blocked."
    )


def _proof(body: ProofIn, device_id: str) -> DeviceProof:
    return DeviceProof(
        device_id=device_id, challenge=body.challenge, signature=body.signature, pin=body.pin
    )


def _out(state: OverseasAccessState) -> OverseasAccessOut:
    return OverseasAccessOut(allowed=state.allowed, until=state.until)


@router.post("/v1/devices/{device_id}/overseas-access", response_model=OverseasAccessOut)
@raises(
    *DEVICE_PROOF,
    "CERTIFICATE_NOT_FOUND",
    "CUSTOMER_NOT_FOUND",
    "OVERSEAS_ACCESS_DAYS_INVALID",
)
def allow(
    device_id: str, body: OverseasAccessIn, center: CenterDep, ip: ClientIp
) -> OverseasAccessOut:
    """해외 IP 차단 해제: access from abroad allowed for ``days`` (audited, the customer told)."""
    proof = _proof(body, device_id)
    return _out(center.overseas_access.allow(proof, days=body.days, source_ip=ip))


@router.post("/v1/devices/{device_id}/overseas-access/end", response_model=OverseasAccessOut)
@raises(*DEVICE_PROOF, "CERTIFICATE_NOT_FOUND", "CUSTOMER_NOT_FOUND")
def end(device_id: str, body: ProofIn, center: CenterDep, ip: ClientIp) -> OverseasAccessOut:
    """해외 IP 차단: access from abroad refused again from now."""
    return _out(center.overseas_access.end(_proof(body, device_id), source_ip=ip))
