"""Using the certificate from the app: login (challenge–response), session, transfers with
signed evidence, document signing and the relying parties' signature check."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from certcenter.api.contract import (
    CERTIFICATE_STATE,
    FACTOR_CHECK,
    KEY_BACKEND,
    raises,
)
from certcenter.api.deps import CenterDep, ClientIp, SessionDep
from certcenter.api.routes.operator import AuditorActor, OperatorActor
from certcenter.api.schemas import (
    BASE64,
    IS_BASE64,
    ChallengeOut,
    DeviceId,
    EcdsaSignature,
)
from certcenter.authn.credential_policy import pattern_to_text
from certcenter.authn.device_auth import challenge_message
from certcenter.bootstrap import Center
from certcenter.entities import Transfer
from certcenter.errors import CertCenterError
from certcenter.financial.login import FinancialLoginResult
from certcenter.joint.login import JointLoginResult
from certcenter.usage.documents import SignRequest, decode_b64
from certcenter.usage.login import PURPOSE, LoginAttempt, LoginResult
from certcenter.usage.transfer_requests import request_key
from certcenter.usage.transfers import Confirmation, TransferRequest, not_executed_notice

router = APIRouter(tags=["using the certificate (로그인·이체·전자서명)"])

# What confirming a prepared transfer refuses with, whoever signs it (the app's device key,
# or the financial certificate's cloud key: /v1/financial/transfers/{id}/confirm): the
# signature and the factors the amount needs, the certificate's state, the accounts, the
# limits and the interbank network.
TRANSFER_CONFIRM = (
    *CERTIFICATE_STATE,
    *FACTOR_CHECK,
    "ACCOUNT_DORMANT",
    "ACCOUNT_NOT_FOUND",
    "ACCOUNT_SUSPENDED",
    "ACCOUNT_TRANSFER_RESTRICTED",
    "ARS_NOT_CONFIRMED",
    "BIOMETRIC_AUTH_FAILED",
    "CERTIFICATE_NOT_FOUND",
    "DEVICE_NOT_REGISTERED",
    "INSUFFICIENT_FUNDS",
    "PAYEE_ACCOUNT_NOT_FOUND",
    "SIGNATURE_INVALID",
    "TRANSFER_ALREADY_PROCESSED",
    "TRANSFER_DAILY_LIMIT_EXCEEDED",
    "TRANSFER_EXPIRED",
    "TRANSFER_MEDIUM_DAILY_LIMIT_EXCEEDED",
    "TRANSFER_NOT_EXECUTED",
    "TRANSFER_NOT_FOUND",
    "TRANSFER_OWN_LIMIT_EXCEEDED",
    "TRANSFER_SIGNATURE_MISMATCH",
)

Signature = EcdsaSignature
# the app's ECDSA signature or the joint certificate's RSA one (up to RSA-4096)
JointSignature = Annotated[
    str, StringConstraints(min_length=8, max_length=700, pattern=BASE64), IS_BASE64
]
Digits = Annotated[str, StringConstraints(max_length=12)]
BankCode = Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9._:-]{8,80}$",
        description="Sent again with the same request, the same answer (the money moves once); "
        "with another request, TRANSFER_IDEMPOTENCY_KEY_REUSED. A UUID per request.",
    ),
]
AccountNo = Annotated[str, StringConstraints(pattern=r"^\d{6,20}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------- login


class LoginChallengeIn(_Body):
    device_id: DeviceId


class LoginIn(_Body):
    device_id: DeviceId
    challenge: Annotated[str, StringConstraints(min_length=16, max_length=128)]
    signature: Signature = Field(
        description="base64 DER ECDSA-SHA256 over the challenge's `sign` text: by the "
        "certificate key (pin, pattern) or by the biometric-bound key (biometric)."
    )
    method: Literal["pin", "pattern", "biometric"]
    pin: Digits | None = None
    pattern: list[Annotated[int, Field(ge=0, le=8)]] | None = Field(None, max_length=9)


class SessionOut(BaseModel):
    token: str | None = None
    customer_number: str
    name: str | None = None
    certificate_serial: str
    device_id: str
    method: str
    idle_timeout_seconds: int
    expires_at: datetime


def session_fields(
    center: Center, result: LoginResult | FinancialLoginResult | JointLoginResult
) -> dict[str, Any]:
    """The session a login opened (the app's, the financial or the joint certificate's), as
    every login's answer shows it: the token, the customer, the certificate, the device and
    method, the idle timeout and the expiry."""
    session = result.opened.session
    return {
        "token": result.token,
        "customer_number": result.customer.customer_number,
        "name": result.customer.name,
        "certificate_serial": result.certificate_serial,
        "device_id": session.device_id,
        "method": session.method,
        "idle_timeout_seconds": center.settings.policy.session_idle_minutes * 60,
        "expires_at": session.expires_at,
    }


@router.post("/v1/login/challenges", response_model=ChallengeOut, status_code=201)
def login_challenge(body: LoginChallengeIn, center: CenterDep) -> ChallengeOut:
    """A single-use login challenge for the device to sign after the PIN, pattern or biometrics."""
    issued = center.login.challenge(body.device_id)
    return ChallengeOut(
        challenge=issued.challenge,
        sign=challenge_message(PURPOSE, issued.challenge).decode(),
        expires_at=issued.expires_at,
    )


@router.post("/v1/login", response_model=SessionOut)
@raises(
    *FACTOR_CHECK,
    *CERTIFICATE_STATE,
    "BIOMETRIC_AUTH_FAILED",
    "BIOMETRIC_NOT_REGISTERED",
    "CHALLENGE_INVALID",
    "DEVICE_AUTH_FAILED",
    "DEVICE_NOT_REGISTERED",
    "FINANCIAL_PIN_LOCKED",
    "INACTIVE_CERTIFICATE_REVOKED",
    "PATTERN_INVALID",
)
def login(body: LoginIn, center: CenterDep, ip: ClientIp) -> SessionOut:
    """인증서 로그인: the signed challenge and the PIN (or pattern), or the biometric key's
    signature; answers with a session token (idle timeout from the policy)."""
    secret = body.pin
    if body.method == "pattern":
        secret = pattern_to_text(body.pattern) if body.pattern else None
    result = center.login.login(
        LoginAttempt(
            device_id=body.device_id,
            challenge=body.challenge,
            signature=body.signature,
            method=body.method,
            secret=secret,
            source_ip=ip,
        )
    )
    return SessionOut(**session_fields(center, result))


@router.get("/v1/session", response_model=SessionOut)
def session_info(session: SessionDep, center: CenterDep) -> SessionOut:
    with center.uow_factory(read_only=True) as uow:
        customer = uow.customers.get(session.customer_id)
    return SessionOut(
        customer_number=customer.customer_number if customer else "",
        name=customer.name if customer else None,
        certificate_serial=session.certificate_serial,
        device_id=session.device_id,
        method=session.method,
        idle_timeout_seconds=center.settings.policy.session_idle_minutes * 60,
        expires_at=session.expires_at,
    )


@router.post("/v1/logout", status_code=204)
@raises(*KEY_BACKEND)
def logout(session: SessionDep, center: CenterDep) -> None:
    center.sessions.end(session.id)


# ---------------------------------------------------------------------------------- transfers


class TransferIn(_Body):
    from_bank: BankCode
    from_account: AccountNo
    to_bank: BankCode
    to_account: AccountNo
    amount: StrictInt = Field(gt=0, le=10**12, description="KRW (a number, not text)")
    memo: Annotated[str, StringConstraints(max_length=20, strip_whitespace=True)] = ""
    medium: Literal["certificate", "otp", "security_card"] = "certificate"


class CardQuestionOut(BaseModel):
    challenge_id: str
    slot_a: int
    slot_b: int
    expires_at: datetime


class NoticeOut(BaseModel):
    ko: str
    en: str


class TransferOut(BaseModel):
    id: str
    status: str = Field(
        description="pending | processing (the bank asked, its answer awaited) | completed | "
        "refused (not carried out: see `notice`) | expired"
    )
    from_bank: str
    from_account: str
    to_bank: str
    to_account: str
    payee_name: str
    amount: int
    memo: str
    medium: str
    factors: list[str] = Field(
        description="What the confirmation must carry besides the signature."
    )
    document: str = Field(description="The transaction document to show and sign (UTF-8).")
    document_b64: str
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None = None
    bank_reference: str | None = None
    failure_code: str | None = None
    notice: NoticeOut | None = Field(
        None,
        description="For a transfer not carried out (`refused`, also when it was settled from "
        "the bank's record after its answer was lost): in plain words that no money moved, "
        "why and what to do; show it to the customer.",
    )
    ars_code: str | None = Field(
        None, description="Show on screen; the customer keys it in on the ARS call."
    )
    security_card: CardQuestionOut | None = None
    evidence_url: str | None = None


class ConfirmIn(_Body):
    signature: JointSignature = Field(
        description="base64 over the document by the certificate key: ECDSA-SHA256 (the app) "
        "or RSA PKCS#1 v1.5 SHA-256 (the joint certificate's software)"
    )
    document_b64: (
        Annotated[str, StringConstraints(max_length=8000, pattern=BASE64), IS_BASE64] | None
    ) = None
    pin: Digits | None = None
    biometric_signature: Signature | None = None
    account_password: Annotated[str, StringConstraints(max_length=12)] | None = None
    otp_code: Annotated[str, StringConstraints(max_length=10)] | None = None
    card_challenge_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    card_answer: Annotated[str, StringConstraints(max_length=10)] | None = None


class LimitsIn(_Body):
    per_transfer: int | None = Field(None, gt=0)
    daily: int | None = Field(None, gt=0)


def _transfer_out(transfer: Transfer, **extra: object) -> TransferOut:
    done = transfer.status == "completed" and transfer.evidence is not None
    return TransferOut(
        id=transfer.id,
        status=transfer.status,
        from_bank=transfer.from_bank,
        from_account=transfer.from_account,
        to_bank=transfer.to_bank,
        to_account=transfer.to_account,
        payee_name=transfer.payee_name,
        amount=transfer.amount,
        memo=transfer.memo,
        medium=transfer.medium,
        factors=list(transfer.factors),
        document=transfer.document.decode("utf-8"),
        document_b64=base64.b64encode(transfer.document).decode(),
        created_at=transfer.created_at,
        expires_at=transfer.expires_at,
        completed_at=transfer.completed_at,
        bank_reference=transfer.bank_reference,
        failure_code=transfer.failure_code,
        notice=NoticeOut(**words) if (words := not_executed_notice(transfer)) else None,
        evidence_url=f"/v1/transfers/{transfer.id}/evidence" if done else None,
        **extra,
    )


@router.post("/v1/transfers", response_model=TransferOut, status_code=201)
@raises(
    *CERTIFICATE_STATE,
    "ACCOUNT_DORMANT",
    "ACCOUNT_NOT_FOUND",
    "ACCOUNT_NOT_OWN",
    "ACCOUNT_SUSPENDED",
    "ACCOUNT_TRANSFER_RESTRICTED",
    "BANK_UNKNOWN",
    "MEDIUM_NOT_REGISTERED",
    "PAYEE_ACCOUNT_NOT_FOUND",
    "SESSION_INVALID",
    "TEXT_CONTROL_CHARACTER",
    "TRANSFER_AMOUNT_OVER_TIERS",
    "TRANSFER_DAILY_LIMIT_EXCEEDED",
    "TRANSFER_IDEMPOTENCY_KEY_REUSED",
    "TRANSFER_IN_PROGRESS",
    "TRANSFER_LIMIT_EXCEEDED",
    "TRANSFER_MEDIUM_DAILY_LIMIT_EXCEEDED",
    "TRANSFER_NOT_EXECUTED",
    "TRANSFER_OWN_LIMIT_EXCEEDED",
    "TRANSFER_SAME_ACCOUNT",
)
def prepare_transfer(
    body: TransferIn,
    session: SessionDep,
    center: CenterDep,
    ip: ClientIp,
    idempotency_key: IdempotencyKey = None,
) -> TransferOut:
    """이체 준비: the server makes the document to sign and says which factors it needs."""
    prepared = center.transfers.prepare(
        session,
        TransferRequest(**body.model_dump(), source_ip=ip),
        idempotency_key=request_key(idempotency_key),
    )
    card = prepared.card_question
    return _transfer_out(
        prepared.transfer,
        ars_code=prepared.ars_code,
        security_card=CardQuestionOut(
            challenge_id=card.id, slot_a=card.slot_a, slot_b=card.slot_b, expires_at=card.expires_at
        )
        if card
        else None,
    )


@router.post("/v1/transfers/{transfer_id}/confirm", response_model=TransferOut)
@raises(*TRANSFER_CONFIRM, "TRANSFER_IDEMPOTENCY_KEY_REUSED", "TRANSFER_IN_PROGRESS")
def confirm_transfer(
    transfer_id: str,
    body: ConfirmIn,
    session: SessionDep,
    center: CenterDep,
    ip: ClientIp,
    idempotency_key: IdempotencyKey = None,
) -> TransferOut:
    """이체 승인: the device's signature over the document and the factors the amount needs."""
    document = decode_b64(body.document_b64, "document_b64") if body.document_b64 else None
    done = center.transfers.confirm(
        session,
        transfer_id,
        Confirmation(
            signature=body.signature,
            document=document,
            pin=body.pin,
            biometric_signature=body.biometric_signature,
            account_password=body.account_password,
            otp_code=body.otp_code,
            card_challenge_id=body.card_challenge_id,
            card_answer=body.card_answer,
            source_ip=ip,
        ),
        idempotency_key=request_key(idempotency_key),
    )
    return _transfer_out(done.transfer)


@router.get("/v1/transfers", response_model=list[TransferOut])
def list_transfers(session: SessionDep, center: CenterDep) -> list[TransferOut]:
    return [_transfer_out(t) for t in center.transfers.history(session)]


@router.get("/v1/transfers/{transfer_id}", response_model=TransferOut)
@raises("TRANSFER_NOT_FOUND")
def get_transfer(transfer_id: str, session: SessionDep, center: CenterDep) -> TransferOut:
    return _transfer_out(center.transfers.get(session, transfer_id))


_P7M = {"Content-Type": "application/pkcs7-mime; smime-type=signed-data"}


@router.get("/v1/transfers/{transfer_id}/evidence", response_class=Response)
@raises("TRANSFER_NOT_FOUND")
def transfer_evidence(transfer_id: str, session: SessionDep, center: CenterDep) -> Response:
    """The signed transfer as CMS SignedData (DER): `openssl cms -verify -inform DER`."""
    transfer = center.transfers.get(session, transfer_id)
    if transfer.evidence is None:
        raise CertCenterError("TRANSFER_NOT_FOUND")
    return Response(
        transfer.evidence,
        headers={
            **_P7M,
            "Content-Disposition": f'attachment; filename="transfer-{transfer.id}.p7m"',
        },
    )


@router.get("/v1/operator/transfers/{transfer_id}/evidence", response_class=Response)
@raises("TRANSFER_NOT_FOUND")
def operator_transfer_evidence(
    transfer_id: str, center: CenterDep, actor: AuditorActor
) -> Response:
    """For auditors: a transfer's signed evidence (the read is audited)."""
    transfer = center.transfers.evidence(transfer_id, actor)
    return Response(
        transfer.evidence or b"",
        headers={
            **_P7M,
            "Content-Disposition": f'attachment; filename="transfer-{transfer.id}.p7m"',
        },
    )


class BankInquiryOut(BaseModel):
    status: str = Field(description="completed | refused | cancelled | unknown")
    bank_reference: str | None = None
    refusal: str | None = None


class StuckTransferOut(BaseModel):
    id: str
    customer_id: str
    amount: int
    from_bank: str
    from_account: str
    to_bank: str
    to_account: str
    day: str
    claimed_at: datetime | None
    waiting_seconds: int
    bank: BankInquiryOut | None = Field(None, description="null: the bank could not be asked")


class ReconciledOut(BaseModel):
    completed: list[str]
    failed: list[str]
    errors: list[str]


@router.get("/v1/operator/transfers/processing", response_model=list[StuckTransferOut])
@raises("SERVICE_UNAVAILABLE")
def stuck_transfers(center: CenterDep, actor: OperatorActor) -> list[StuckTransferOut]:
    """Transfers waiting for their bank answer, oldest first, each with the bank's inquiry."""
    return [
        StuckTransferOut(
            id=view.transfer.id,
            customer_id=view.transfer.customer_id,
            amount=view.transfer.amount,
            from_bank=view.transfer.from_bank,
            from_account=view.transfer.from_account,
            to_bank=view.transfer.to_bank,
            to_account=view.transfer.to_account,
            day=view.transfer.day,
            claimed_at=view.transfer.claimed_at,
            waiting_seconds=view.waiting_seconds,
            bank=BankInquiryOut(**vars(view.bank)) if view.bank else None,
        )
        for view in center.transfer_reconciliation.stuck()
    ]


@router.post("/v1/operator/transfers/reconcile", response_model=ReconciledOut)
@raises("SERVICE_UNAVAILABLE")
def reconcile_transfers(
    center: CenterDep,
    actor: OperatorActor,
    everything: Annotated[bool, Query(alias="all")] = False,
) -> ReconciledOut:
    """Settle the transfers waiting longer than the policy allows against the bank's record
    (``all=true``: every one processing now — only when no server is sending one)."""
    report = center.transfer_reconciliation.run(everything=everything)
    return ReconciledOut(completed=report.completed, failed=report.failed, errors=report.errors)


@router.put("/v1/me/transfer-limits")
@raises("SESSION_INVALID", "TRANSFER_LIMIT_ABOVE_POLICY")
def set_limits(body: LimitsIn, session: SessionDep, center: CenterDep) -> dict[str, int | None]:
    """The customer's own lower limits (per transfer, per day); null: the bank's."""
    per_transfer, daily = center.transfers.set_limits(session, body.per_transfer, body.daily)
    return {"per_transfer": per_transfer, "daily": daily}


# ---------------------------------------------------------------------------------- documents


class SignIn(_Body):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    document_b64: Annotated[
        str, StringConstraints(min_length=4, max_length=44000, pattern=BASE64), IS_BASE64
    ]
    signature: JointSignature = Field(
        description="base64 over the document's bytes: ECDSA-SHA256 by the app, or RSA "
        "PKCS#1 v1.5 SHA-256 by the joint certificate's software"
    )
    pin: Digits | None = Field(None, description="the app's PIN (none with the joint certificate)")


class SignedOut(BaseModel):
    id: str
    sha256: str
    certificate_serial: str
    cms_b64: str = Field(description="Detached CMS SignedData (DER), base64")
    created_at: datetime


class VerifyIn(_Body):
    cms_b64: Annotated[
        str, StringConstraints(min_length=8, max_length=44000, pattern=BASE64), IS_BASE64
    ]
    document_b64: (
        Annotated[str, StringConstraints(max_length=44000, pattern=BASE64), IS_BASE64] | None
    ) = None


class VerifyOut(BaseModel):
    valid: bool = Field(description="The signature verifies over the document")
    trustworthy: bool = Field(description="…and was made with an active certificate of this center")
    signer: str
    serial: str
    certificate_status: str
    issued_by_this_center: bool
    sha256: str
    signing_time: datetime | None


@router.post("/v1/documents/sign", response_model=SignedOut, status_code=201)
@raises(
    *FACTOR_CHECK,
    "CERTIFICATE_NOT_USABLE",
    "SESSION_INVALID",
    "SIGNATURE_INVALID",
    "TEXT_CONTROL_CHARACTER",
)
def sign_document(body: SignIn, session: SessionDep, center: CenterDep, ip: ClientIp) -> SignedOut:
    """전자서명: the device's signature over a document, after the PIN, as a detached CMS."""
    document = center.documents.sign(
        session,
        SignRequest(
            name=body.name,
            content=decode_b64(body.document_b64, "document_b64"),
            signature=body.signature,
            pin=body.pin or "",
            source_ip=ip,
        ),
    )
    return SignedOut(
        id=document.id,
        sha256=document.sha256,
        certificate_serial=document.certificate_serial,
        cms_b64=base64.b64encode(document.cms).decode(),
        created_at=document.created_at,
    )


@router.post("/v1/documents/verify", response_model=VerifyOut)
@raises("SIGNATURE_INVALID")
def verify_document(body: VerifyIn, center: CenterDep) -> VerifyOut:
    """For relying parties: does this CMS signature verify, who signed, and is the signer's
    certificate (issued here) still good?"""
    content = decode_b64(body.document_b64, "document_b64") if body.document_b64 else None
    checked = center.documents.verify(decode_b64(body.cms_b64, "cms_b64"), content)
    return VerifyOut(
        valid=True,
        trustworthy=checked.trustworthy,
        signer=checked.signer_subject,
        serial=checked.serial,
        certificate_status=checked.certificate_status,
        issued_by_this_center=checked.issued_by_us,
        sha256=checked.sha256,
        signing_time=checked.signing_time,
    )
