"""Customer lifecycle actions from the app: revoke, renew, release, deregister the device
(authorised by a device-signed challenge and the PIN), and the lost-phone report."""

from __future__ import annotations

from fastapi import APIRouter

from certcenter.api.deps import CenterDep, ClientIp
from certcenter.api.schemas import (
    ChallengeIn,
    ChallengeOut,
    CustomerRevokeIn,
    DeviceProofIn,
    LostPhoneIn,
    OutcomeOut,
    ProofIn,
)
from certcenter.authn.device_auth import challenge_message
from certcenter.lifecycle.customer_actions import DeviceProof
from certcenter.lifecycle.service import Outcome

router = APIRouter(tags=["lifecycle (폐기·정지·갱신)"])


def _proof(body: ProofIn, device_id: str) -> DeviceProof:
    return DeviceProof(
        device_id=device_id, challenge=body.challenge, signature=body.signature, pin=body.pin
    )


def _out(outcome: Outcome) -> OutcomeOut:
    return OutcomeOut(
        serial=outcome.serial,
        status=outcome.status,
        changed=outcome.changed,
        replaced_by=outcome.replaced_by,
    )


@router.post("/v1/devices/{device_id}/challenges", response_model=ChallengeOut, status_code=201)
def challenge(device_id: str, body: ChallengeIn, center: CenterDep) -> ChallengeOut:
    """A single-use challenge for the registered device to sign before an action."""
    issued = center.customer_actions.challenge(device_id, body.purpose)
    return ChallengeOut(
        challenge=issued.challenge,
        sign=challenge_message(body.purpose, issued.challenge).decode(),
        expires_at=issued.expires_at,
    )


@router.post("/v1/certificates/{serial}/revoke", response_model=OutcomeOut)
def revoke(serial: str, body: CustomerRevokeIn, center: CenterDep, ip: ClientIp) -> OutcomeOut:
    """인증서 폐기 by the customer (idempotent)."""
    return _out(
        center.customer_actions.revoke(serial, _proof(body, body.device_id), body.reason, ip)
    )


@router.post("/v1/certificates/{serial}/renew", response_model=OutcomeOut)
def renew(serial: str, body: DeviceProofIn, center: CenterDep, ip: ClientIp) -> OutcomeOut:
    """갱신: same key, new validity; the answer names the new certificate."""
    return _out(center.customer_actions.renew(serial, _proof(body, body.device_id), ip))


@router.post("/v1/certificates/{serial}/release", response_model=OutcomeOut)
def release(serial: str, body: DeviceProofIn, center: CenterDep, ip: ClientIp) -> OutcomeOut:
    """정지 해제 from the found phone."""
    return _out(center.customer_actions.release(serial, _proof(body, body.device_id), ip))


@router.post("/v1/devices/{device_id}/deregister", response_model=list[OutcomeOut])
def deregister(device_id: str, body: ProofIn, center: CenterDep, ip: ClientIp) -> list[OutcomeOut]:
    """기기등록 해지: the device's certificate is revoked; a new phone can be enrolled."""
    return [_out(o) for o in center.customer_actions.deregister(_proof(body, device_id), ip)]


@router.post("/v1/lost-phone-reports", response_model=list[OutcomeOut])
def lost_phone(body: LostPhoneIn, center: CenterDep, ip: ClientIp) -> list[OutcomeOut]:
    """분실 신고: the carrier confirms the line is the customer's; the certificate is suspended
    at once."""
    return [
        _out(o)
        for o in center.lost_reports.report(
            carrier=body.carrier,
            name=body.name,
            rrn_front=body.rrn_front,
            phone=body.phone,
            source_ip=ip,
        )
    ]
