"""``/v1/operator``: the bank's operators — search, inspect, revoke, suspend, release, unlock,
publish CRLs, run the jobs, verify the audit trail. Bearer token with a role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query

from certcenter.api.contract import CERTIFICATE_CHANGE, ISSUANCE, KEY_BACKEND, authenticates, raises
from certcenter.api.deps import CenterDep, ClientIp
from certcenter.api.schemas import OperatorRevokeIn, OutcomeOut
from certcenter.authn.operators import require_role
from certcenter.errors import CertCenterError
from certcenter.lifecycle.operator_desk import CustomerView, verification_error
from certcenter.lifecycle.service import ActorRef, Outcome

router = APIRouter(prefix="/v1/operator", tags=["operator (운영자)"])


def _as(role: str) -> Callable[..., ActorRef]:
    @raises("OPERATOR_TOKEN_INVALID", "OPERATOR_FORBIDDEN")
    @authenticates(f"{role}Token")
    def dependency(
        center: CenterDep, ip: ClientIp, authorization: Annotated[str | None, Header()] = None
    ) -> ActorRef:
        token = (
            authorization[7:].strip()
            if authorization and authorization.lower().startswith("bearer ")
            else None
        )
        operator = center.operators.authenticate(token)
        require_role(operator, role)
        return ActorRef.operator(operator.name, ip)

    return dependency


# what the audit trail's subjects are made of (audit/trail.py refuses anything else)
AUDIT_NAME = r"^[A-Za-z0-9_.:-]+$"

OperatorActor = Annotated[ActorRef, Depends(_as("operator"))]
AuditorActor = Annotated[ActorRef, Depends(_as("auditor"))]


def _out(outcome: Outcome) -> OutcomeOut:
    return OutcomeOut(
        serial=outcome.serial,
        status=outcome.status,
        changed=outcome.changed,
        replaced_by=outcome.replaced_by,
    )


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _view(view: CustomerView) -> dict[str, Any]:
    c = view.customer
    return {
        "customer": {
            "number": c.customer_number,
            "name": c.name,
            "phone": c.phone,
            "internet_banking": c.internet_banking,
            "overseas_access": c.overseas_access,
        },
        "certificates": [
            {
                "serial": r.serial,
                "status": r.status,
                "profile": r.profile,
                "device_id": r.device_id,
                "not_after": _time(r.not_after),
                "revoked_at": _time(r.revoked_at),
                "revocation_reason": r.revocation_reason,
                "last_used_at": _time(r.last_used_at),
                "replaced_by": r.replaced_by,
            }
            for r in view.certificates
        ],
        "devices": [
            {
                "device_id": d.device_id,
                "status": d.status,
                "platform": d.platform,
                "model": d.model,
                "registered_at": _time(d.registered_at),
                "deregistered_at": _time(d.deregistered_at),
            }
            for d in view.devices
        ],
        "failures": [{"at": _time(f.at), "step": f.step, "code": f.code} for f in view.failures],
        "blocks": [
            {"kind": b.subject_kind, "until": _time(b.blocked_until), "reason": b.reason}
            for b in view.blocks
        ],
        "notifications": [
            {
                "event": m.event,
                "channel": m.channel,
                "status": m.status,
                "created_at": _time(m.created_at),
            }
            for m in view.notifications
        ],
        "pin": {"failures": view.pin_failures, "locked": view.pin_locked},
        "factors": {
            name: {"failures": state.failures, "locked": state.locked}
            for name, state in view.factors.items()
        },
    }


@router.get("/customers")
def search(
    center: CenterDep, actor: OperatorActor, q: Annotated[str, Query(min_length=1, max_length=40)]
) -> list[dict[str, str]]:
    """Customers by number or phone, or by part of the name."""
    return [
        {"number": c.customer_number, "name": c.name, "phone": c.phone}
        for c in center.operator_desk.search(q, actor)
    ]


@router.get("/customers/{number}")
@raises("CUSTOMER_UNKNOWN")
def customer(number: str, center: CenterDep, actor: OperatorActor) -> dict[str, Any]:
    """A customer's certificates, devices, recent failures, blocks and notifications."""
    return _view(center.operator_desk.customer(number, actor))


@router.post("/customers/{number}/unlock-pin", status_code=204)
@raises(*KEY_BACKEND, "CUSTOMER_UNKNOWN")
def unlock_pin(number: str, center: CenterDep, actor: OperatorActor) -> None:
    center.operator_desk.unlock_pin(number, actor)


@router.post("/customers/{number}/unlock/{factor}", status_code=204)
@raises(*KEY_BACKEND, "CUSTOMER_UNKNOWN")
def unlock_factor(number: str, factor: str, center: CenterDep, actor: OperatorActor) -> None:
    """Release a locked factor (pin, pattern, otp, security_card, account_password) after
    verifying the customer."""
    center.operator_desk.unlock_factor(number, factor, actor)


@router.post("/customers/{number}/lift-blocks")
@raises("CUSTOMER_UNKNOWN")
def lift_blocks(number: str, center: CenterDep, actor: OperatorActor) -> dict[str, int]:
    return {"lifted": center.operator_desk.lift_blocks(number, actor)}


@router.post("/certificates/{serial}/revoke", response_model=OutcomeOut)
@raises(*CERTIFICATE_CHANGE, "REVOCATION_REASON_INVALID")
def revoke(
    serial: str, body: OperatorRevokeIn, center: CenterDep, actor: OperatorActor
) -> OutcomeOut:
    return _out(center.lifecycle.revoke(serial, body.reason, actor))


@router.post("/certificates/{serial}/suspend", response_model=OutcomeOut)
@raises(*CERTIFICATE_CHANGE)
def suspend(serial: str, center: CenterDep, actor: OperatorActor) -> OutcomeOut:
    return _out(center.lifecycle.suspend(serial, actor, why="operator"))


@router.post("/certificates/{serial}/release", response_model=OutcomeOut)
@raises(*CERTIFICATE_CHANGE)
def release(serial: str, center: CenterDep, actor: OperatorActor) -> OutcomeOut:
    return _out(center.lifecycle.release(serial, actor))


@router.post("/crls/{family}/publish")
@raises("NOT_FOUND")
def publish_crl(family: str, center: CenterDep, actor: OperatorActor) -> dict[str, Any]:
    """Publish every partition of the family's CRL now."""
    if family not in center.hierarchy().families:
        raise CertCenterError("NOT_FOUND")
    return center.operator_desk.publish_crls(family, actor)


@router.post("/jobs/run")
@raises(*ISSUANCE, "METHOD_NOT_ALLOWED", "REVOCATION_REASON_INVALID")
def run_jobs(center: CenterDep, actor: OperatorActor) -> dict[str, Any]:
    """One pass of the job runner now (expiry, inactivity, renewal, status refresh)."""
    report = center.jobs.run_once()
    return {
        "expired": report.expired,
        "revoked_inactive": report.revoked_inactive,
        "renewed": report.renewed,
        "status": report.status,
        "errors": report.errors,
        "by": actor.id,
    }


@router.get("/audit/verify")
def verify_audit(center: CenterDep, actor: AuditorActor) -> dict[str, Any]:
    """Walk the hash chain against every signed checkpoint (published and stored); the first
    broken entry or disagreeing checkpoint, if any, with the catalog's words in ``error``;
    ``unsealed`` counts the entries the sealer has not linked yet (never broken)."""
    outcome = center.operator_desk.verify_audit(actor)
    error = verification_error(outcome)
    if error is not None:
        outcome["error"] = {
            "code": error.code,
            "message": {"ko": error.message("ko"), "en": error.message("en")},
            "cause": {"ko": error.cause("ko"), "en": error.cause("en")},
            "remedy": {"ko": error.remedy("ko"), "en": error.remedy("en")},
        }
    return outcome


@router.post("/audit/checkpoints")
def checkpoint_audit(center: CenterDep, actor: AuditorActor) -> dict[str, Any]:
    """Seal the committed audit entries now under a signed, published checkpoint; the latest
    checkpoint (``null`` while nothing was ever sealed)."""
    return {"checkpoint": center.operator_desk.checkpoint_audit(actor)}


@router.get("/audit")
def audit_entries(
    center: CenterDep,
    actor: AuditorActor,
    subject_kind: Annotated[str, Query(min_length=1, max_length=30, pattern=AUDIT_NAME)],
    subject: Annotated[str, Query(min_length=1, max_length=80, pattern=AUDIT_NAME)],
) -> list[dict[str, Any]]:
    return center.operator_desk.audit_for(subject_kind, subject, actor)
