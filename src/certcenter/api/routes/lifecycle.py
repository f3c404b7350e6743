"""Customer lifecycle actions from the app: revoke, renew, release, deregister the device
(authorised by a device-signed challenge and the PIN), and the lost-phone report (started
with the line's details, confirmed with a medium the customer holds, undone with the code
sent to the customer)."""

from __future__ import annotations

from fastapi import APIRouter

from certcenter.api.contract import (
    CERTIFICATE_CHANGE,
    CERTIFICATE_STATE,
    DEVICE_PROOF,
    FLOW_STATE,
    ISSUANCE,
    MEDIUM_ANSWER,
    raises,
)
from certcenter.api.deps import CenterDep, ClientIp
from certcenter.api.schemas import (
    ChallengeIn,
    ChallengeOut,
    CustomerRevokeIn,
    DeviceProofIn,
    LostPhoneIn,
    LostReportCardOut,
    LostReportConfirmIn,
    LostReportOut,
    LostReportUndoIn,
    OutcomeOut,
    ProofIn,
    medium_answer,
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
@raises(
    *CERTIFICATE_STATE,
    "CERTIFICATE_ALREADY_REVOKED",
    "DEVICE_NOT_REGISTERED",
    "INACTIVE_CERTIFICATE_REVOKED",
)
def challenge(device_id: str, body: ChallengeIn, center: CenterDep) -> ChallengeOut:
    """A single-use challenge for the registered device to sign before an action."""
    issued = center.customer_actions.challenge(device_id, body.purpose)
    return ChallengeOut(
        challenge=issued.challenge,
        sign=challenge_message(body.purpose, issued.challenge).decode(),
        expires_at=issued.expires_at,
    )


@router.post("/v1/certificates/{serial}/revoke", response_model=OutcomeOut)
@raises(
    *DEVICE_PROOF,
    "CERTIFICATE_ALREADY_REVOKED",
    "CERTIFICATE_NOT_FOUND",
    "REVOCATION_REASON_INVALID",
)
def revoke(serial: str, body: CustomerRevokeIn, center: CenterDep, ip: ClientIp) -> OutcomeOut:
    """인증서 폐기 by the customer (idempotent)."""
    return _out(
        center.customer_actions.revoke(serial, _proof(body, body.device_id), body.reason, ip)
    )


@router.post("/v1/certificates/{serial}/renew", response_model=OutcomeOut)
@raises(*ISSUANCE, *DEVICE_PROOF, "CERTIFICATE_ALREADY_REVOKED", "METHOD_NOT_ALLOWED")
def renew(serial: str, body: DeviceProofIn, center: CenterDep, ip: ClientIp) -> OutcomeOut:
    """갱신: same key, new validity; the answer names the new certificate."""
    return _out(center.customer_actions.renew(serial, _proof(body, body.device_id), ip))


@router.post("/v1/certificates/{serial}/release", response_model=OutcomeOut)
@raises(*DEVICE_PROOF, "CERTIFICATE_ALREADY_REVOKED", "CERTIFICATE_NOT_FOUND")
def release(serial: str, body: DeviceProofIn, center: CenterDep, ip: ClientIp) -> OutcomeOut:
    """정지 해제 from the found phone."""
    return _out(center.customer_actions.release(serial, _proof(body, body.device_id), ip))


@router.post("/v1/devices/{device_id}/deregister", response_model=list[OutcomeOut])
@raises(*DEVICE_PROOF, "CERTIFICATE_ALREADY_REVOKED", "REVOCATION_REASON_INVALID")
def deregister(device_id: str, body: ProofIn, center: CenterDep, ip: ClientIp) -> list[OutcomeOut]:
    """기기등록 해지: the device's certificate is revoked; a new phone can be enrolled."""
    return [_out(o) for o in center.customer_actions.deregister(_proof(body, device_id), ip)]


@router.post("/v1/lost-phone-reports", response_model=LostReportOut, status_code=202)
@raises(*FLOW_STATE, "NAME_INVALID", "PHONE_NUMBER_INVALID", "RRN_INVALID")
def lost_phone(body: LostPhoneIn, center: CenterDep, ip: ClientIp) -> LostReportOut:
    """분실 신고 접수 (no phone needed): the same answer whatever the details name; nothing is
    suspended until the report is confirmed with a medium the customer holds."""
    started = center.lost_reports.start(
        carrier=body.carrier,
        name=body.name,
        rrn_front=body.rrn_front,
        phone=body.phone,
        source_ip=ip,
    )
    return LostReportOut(
        report_id=started.report_id, expires_at=started.expires_at, media=list(started.media)
    )


@router.post("/v1/lost-phone-reports/{report_id}/security-card", response_model=LostReportCardOut)
@raises("LOST_REPORT_CLOSED", "LOST_REPORT_EXPIRED", "LOST_REPORT_NOT_FOUND", "TOO_MANY_ATTEMPTS")
def lost_phone_card(report_id: str, center: CenterDep, ip: ClientIp) -> LostReportCardOut:
    """The security card's two slots, to confirm the report with the card."""
    asked = center.lost_reports.card_question(report_id, source_ip=ip)
    return LostReportCardOut(
        challenge_id=asked.challenge_id,
        slot_a=asked.slot_a,
        slot_b=asked.slot_b,
        expires_at=asked.expires_at,
    )


@router.post("/v1/lost-phone-reports/{report_id}/confirm", response_model=list[OutcomeOut])
@raises(
    *FLOW_STATE,
    *MEDIUM_ANSWER,
    "ACCOUNT_DORMANT",
    "ACCOUNT_SUSPENDED",
    "ACCOUNT_TRANSFER_RESTRICTED",
    "CERTIFICATE_NOT_FOUND",
    "CUSTOMER_UNKNOWN",
    "LOST_REPORT_CLOSED",
    "LOST_REPORT_EXPIRED",
    "LOST_REPORT_NOT_FOUND",
)
def lost_phone_confirm(
    report_id: str, body: LostReportConfirmIn, center: CenterDep, ip: ClientIp
) -> list[OutcomeOut]:
    """추가 인증: the withdrawal account and its password, the OTP or the security card; then
    the phone's certificate is suspended and the customer is told everywhere, with an undo
    code."""
    answer = medium_answer(body)
    outcomes = center.lost_reports.confirm(report_id, body.medium, answer, source_ip=ip)
    return [_out(o) for o in outcomes]


@router.post("/v1/lost-phone-reports/{report_id}/undo", response_model=list[OutcomeOut])
@raises(
    *CERTIFICATE_CHANGE,
    *FLOW_STATE,
    "CERTIFICATE_ALREADY_REVOKED",
    "LOST_REPORT_NOT_FOUND",
    "LOST_REPORT_UNDO_EXPIRED",
    "LOST_REPORT_UNDO_FAILED",
)
def lost_phone_undo(
    report_id: str, body: LostReportUndoIn, center: CenterDep, ip: ClientIp
) -> list[OutcomeOut]:
    """신고 취소: the single-use code from the SMS or e-mail lifts the suspension at once."""
    return [_out(o) for o in center.lost_reports.undo(report_id, body.code, source_ip=ip)]
