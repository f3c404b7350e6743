"""The financial certificate (금융인증서) over HTTP: registered browsers, one-time signature
activations and remote signing, login, transfers signed by the center, the PIN release.

Registering a browser and resetting the PIN verify the customer again, in four calls: the
details (the same answer whoever they name: a flow id, its bearer token, the masked number),
the SMS code, the additional medium, and its answer, which completes the flow.

The browser keeps an ECDSA P-256 WebCrypto key; every ``device_signature`` is base64 of that
key's signature (WebCrypto's raw ``r||s`` or DER) over the ``sign`` text the activation
gave. See ``docs/financial-certificate.md`` for the protocol.
"""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from cryptography import x509
from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from certcenter.api.contract import (
    APP_APPROVAL,
    CERTIFICATE_STATE,
    CUSTOMER_STEP,
    FACTOR_CHECK,
    FLOW_STEP,
    ISSUANCE,
    KEY_BACKEND,
    MEDIUM_ANSWER,
    ONE_TIME_CODE,
    raises,
)
from certcenter.api.deps import CenterDep, ClientIp, SessionDep, bearer_token
from certcenter.api.routes.financial_issuance import MediumIn, MediumVerifyIn
from certcenter.api.routes.usage import (
    TRANSFER_CONFIRM,
    TransferOut,
    _transfer_out,
    session_fields,
)
from certcenter.api.schemas import BASE64, IS_BASE64, base64_length, medium_answer
from certcenter.entities import BrowserDevice, Session
from certcenter.errors import CertCenterError
from certcenter.financial import ActivationRequest, RemoteSignature
from certcenter.flows import StepResult
from certcenter.lifecycle.service import ActorRef
from certcenter.pki.pem import certificate_pem
from certcenter.usage.documents import decode_b64
from certcenter.usage.login import FINANCIAL_METHOD
from certcenter.usage.transfers import Confirmation

router = APIRouter(tags=["financial certificate (금융인증서)"])

Name = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]
Phone = Annotated[str, StringConstraints(min_length=10, max_length=20)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
# WebCrypto's raw r||s or DER, in base64 or base64url, padded or not (financial/proof.py)
DeviceSignature = Annotated[
    str, StringConstraints(min_length=8, max_length=400, pattern=r"^[A-Za-z0-9+/_-]+={0,2}$")
]
PUBLIC_KEY_BYTES = 512  # an SPKI DER of a P-256 key is 91
DATA_BYTES = 64 * 1024  # what the center signs at most
Data = Annotated[
    str,
    StringConstraints(min_length=4, max_length=base64_length(DATA_BYTES), pattern=BASE64),
    IS_BASE64,
]
Pin = Annotated[str, StringConstraints(max_length=12)]
Code = Annotated[str, StringConstraints(max_length=12)]
Label = Annotated[str, StringConstraints(max_length=60)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------------- shapes


class RegistrationIn(_Body):
    name: Name
    phone: Phone
    birth_date: date
    public_key: Annotated[
        str,
        StringConstraints(
            min_length=40, max_length=base64_length(PUBLIC_KEY_BYTES), pattern=BASE64
        ),
        IS_BASE64,
    ] = Field(
        description="base64 DER SubjectPublicKeyInfo of the browser's ECDSA P-256 key "
        "(WebCrypto exportKey('spki'))"
    )
    label: Label | None = Field(None, description="What the customer calls this device")


class RegistrationOut(BaseModel):
    registration_id: str
    token: str = Field(description="Send as `Authorization: Bearer` to the next steps")
    phone: str = Field(description="The number typed, masked (the same whoever it names)")
    code_valid_seconds: int
    expires_at: datetime


class CodeIn(_Body):
    code: Code


class VerificationStepOut(BaseModel):
    """Where a registration or PIN reset stands after a step."""

    id: str
    state: str
    next_step: str | None
    expires_at: datetime
    detail: dict[str, Any] = Field(
        default_factory=dict,
        description="medium: the masked accounts, the security card's slots, or the code "
        "to approve in the app",
    )


class DeviceOut(BaseModel):
    id: str
    label: str
    registered_at: datetime
    last_used_at: datetime | None = None


class ActivationIn(_Body):
    device_id: Id
    purpose: Literal["document", "login"] = Field(
        description="Transfers get their activation from /v1/financial/transfers/{id}/activation"
    )
    data_b64: Data


class ActivationOut(BaseModel):
    activation_id: str
    purpose: str
    challenge: str
    sign: str = Field(description="The text the device signs (UTF-8)")
    sign_b64: str
    data_sha256: str
    expires_at: datetime


class AuthorizeIn(_Body):
    device_signature: DeviceSignature
    pin: Pin


class GrantOut(BaseModel):
    activation_id: str
    grant: str = Field(description="One-time: signs the activation's data once")
    expires_at: datetime


class SignIn(_Body):
    grant: Annotated[str, StringConstraints(min_length=16, max_length=200)]
    data_b64: Data
    detached: StrictBool = Field(False, description="CMS without the data inside")


class SignedOut(BaseModel):
    signature_b64: str = Field(description="DER ECDSA-SHA256 over the data, by the cloud key")
    certificate_serial: str
    certificate: str = Field(description="The signer's certificate, PEM")
    cms_b64: str = Field(description="CMS SignedData (DER), base64: `openssl cms -verify`")


class LoginActivationIn(_Body):
    device_id: Id


class LoginIn(_Body):
    activation_id: Id
    device_signature: DeviceSignature
    pin: Pin


class FinancialSessionOut(BaseModel):
    token: str
    customer_number: str
    name: str
    certificate_serial: str
    device_id: str
    method: str
    renewed: bool = Field(description="The certificate was renewed at this login")
    idle_timeout_seconds: int
    expires_at: datetime


class TransferConfirmIn(_Body):
    activation_id: Id
    device_signature: DeviceSignature
    pin: Pin
    document_b64: (
        Annotated[str, StringConstraints(max_length=8000, pattern=BASE64), IS_BASE64] | None
    ) = None
    account_password: Annotated[str, StringConstraints(max_length=12)] | None = None
    otp_code: Annotated[str, StringConstraints(max_length=10)] | None = None
    card_challenge_id: Annotated[str, StringConstraints(max_length=36)] | None = None
    card_answer: Annotated[str, StringConstraints(max_length=10)] | None = None


class PinResetIn(_Body):
    name: Name
    phone: Phone
    birth_date: date


class PinResetOut(BaseModel):
    reset_id: str
    token: str = Field(description="Send as `Authorization: Bearer` to complete")
    phone: str
    code_valid_seconds: int
    expires_at: datetime


class PinResetCompleteIn(MediumVerifyIn):
    new_pin: Pin | None = Field(None, description="Omit to keep the old PIN (lock released)")
    new_pin_confirmation: Pin | None = None


class CertificateOverviewOut(BaseModel):
    serial: str
    status: str
    subject: str
    not_before: datetime
    not_after: datetime
    last_used_at: datetime
    delete_after: datetime
    pin_locked: bool
    devices: list[DeviceOut]
    certificate: str


# ---------------------------------------------------------------------------------- helpers


_Out = TypeVar("_Out", bound=BaseModel)


def _fields_of(model: type[_Out], source: object) -> _Out:
    """``model`` with each field read from the attribute of the same name of ``source``."""
    return model(**{k: getattr(source, k) for k in model.model_fields})


def _device_out(device: BrowserDevice) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        label=device.label,
        registered_at=device.registered_at,
        last_used_at=device.last_used_at,
    )


def _activation_out(request: ActivationRequest) -> ActivationOut:
    return ActivationOut(
        activation_id=request.activation_id,
        purpose=request.purpose,
        challenge=request.challenge,
        sign=request.message.decode("ascii"),
        sign_b64=base64.b64encode(request.message).decode("ascii"),
        data_sha256=request.data_sha256,
        expires_at=request.expires_at,
    )


def _step_out(result: StepResult) -> VerificationStepOut:
    return VerificationStepOut(
        id=result.enrollment_id,
        state=result.state,
        next_step=result.next_step,
        expires_at=result.expires_at,
        detail={k: v for k, v in result.detail.items() if k != "device_id"},
    )


def _flow_token(authorization: str | None, code: str) -> str:
    token = bearer_token(authorization)
    if not token:
        raise CertCenterError(code)
    return token


def _actor(center: CenterDep, session: Session, ip: str) -> ActorRef:
    with center.uow_factory() as uow:
        customer = uow.customers.get(session.customer_id)
    return ActorRef.customer(customer.customer_number if customer else session.customer_id, ip)


def _financial_session(session: Session) -> Session:
    if session.method != FINANCIAL_METHOD:
        raise CertCenterError(
            "INVALID_REQUEST", detail="log in with the financial certificate for this"
        )
    return session


def _signed_out(
    center: CenterDep, signed: RemoteSignature, data: bytes, detached: bool
) -> SignedOut:
    cms = center.remote_signer.cms(signed, data, detached=detached)
    return SignedOut(
        signature_b64=base64.b64encode(signed.signature).decode("ascii"),
        certificate_serial=signed.certificate_serial,
        certificate=certificate_pem(x509.load_der_x509_certificate(signed.certificate_der)),
        cms_b64=base64.b64encode(cms).decode("ascii"),
    )


# What each step of a browser's registration and of a PIN reset refuses with, whichever of
# the two it is (both verify the customer again: financial/reverification.py); each route
# adds its own, the flow's unknown or spent token first among them.
_DETAILS_STEP = (
    *FLOW_STEP,
    "ACCOUNT_DORMANT",
    "ACCOUNT_SUSPENDED",
    "ACCOUNT_TRANSFER_RESTRICTED",
    "FINANCIAL_HOLDER_NOT_FOUND",
    "NAME_INVALID",
    "PHONE_NUMBER_INVALID",
)
_CODE_STEP = (
    *FLOW_STEP,
    *CUSTOMER_STEP,
    *ONE_TIME_CODE,
    *CERTIFICATE_STATE,
    "FINANCIAL_CERTIFICATE_NOT_FOUND",
)
_MEDIUM_STEP = (
    *FLOW_STEP,
    *CUSTOMER_STEP,
    "FINANCIAL_CODE_REQUIRED",
    "FINANCIAL_MEDIUM_REQUIRED",
    "MEDIUM_ACCOUNT_NOT_HERE",
    "MEDIUM_NOT_REGISTERED",
)
_ANSWER_STEP = (
    *FLOW_STEP,
    *CUSTOMER_STEP,
    *MEDIUM_ANSWER,
    *APP_APPROVAL,
    *CERTIFICATE_STATE,
    "FINANCIAL_CERTIFICATE_NOT_FOUND",
    "FINANCIAL_CODE_REQUIRED",
    "FINANCIAL_MEDIUM_REQUIRED",
)


# ---------------------------------------------------------------------------------- devices


@router.post("/v1/financial/devices/registrations", response_model=RegistrationOut, status_code=201)
@raises(*_DETAILS_STEP, "FINANCIAL_DEVICE_ALREADY_REGISTERED", "FINANCIAL_DEVICE_KEY_INVALID")
def start_registration(body: RegistrationIn, center: CenterDep, ip: ClientIp) -> RegistrationOut:
    """이용 기기 등록 1: name, mobile number, birth date and the browser's public key. The
    answer is the same whoever the details name; only a customer's phone gets the SMS code."""
    started = center.financial_devices.start_registration(
        name=body.name,
        phone=body.phone,
        birth_date=body.birth_date,
        public_key=decode_b64(body.public_key, "public_key", limit=PUBLIC_KEY_BYTES),
        label=body.label,
        source_ip=ip,
    )
    return _fields_of(RegistrationOut, started)


_REGISTRATION = "/v1/financial/devices/registrations/{registration_id}"


@router.post(f"{_REGISTRATION}/resend", response_model=RegistrationOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "FINANCIAL_REGISTRATION_INVALID")
def resend_registration_code(
    registration_id: str,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> RegistrationOut:
    """A new SMS code for a registration under way."""
    token = _flow_token(authorization, "FINANCIAL_REGISTRATION_INVALID")
    started = center.financial_devices.resend_code(registration_id, token, source_ip=ip)
    return _fields_of(RegistrationOut, started)


@router.post(f"{_REGISTRATION}/code", response_model=VerificationStepOut)
@raises(
    *_CODE_STEP,
    "FINANCIAL_DEVICE_ALREADY_REGISTERED",
    "FINANCIAL_DEVICE_KEY_INVALID",
    "FINANCIAL_DEVICE_LIMIT",
    "FINANCIAL_REGISTRATION_INVALID",
)
def registration_code(
    registration_id: str,
    body: CodeIn,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> VerificationStepOut:
    """이용 기기 등록 2: the SMS code; the additional medium comes next."""
    token = _flow_token(authorization, "FINANCIAL_REGISTRATION_INVALID")
    return _step_out(
        center.financial_devices.verify_code(registration_id, token, body.code, source_ip=ip)
    )


@router.post(f"{_REGISTRATION}/medium", response_model=VerificationStepOut)
@raises(*_MEDIUM_STEP, "FINANCIAL_REGISTRATION_INVALID")
def registration_medium(
    registration_id: str,
    body: MediumIn,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> VerificationStepOut:
    """이용 기기 등록 3: the additional medium (account, security_card, otp,
    mobile_certificate); its question is in ``detail``."""
    token = _flow_token(authorization, "FINANCIAL_REGISTRATION_INVALID")
    return _step_out(
        center.financial_devices.choose_medium(registration_id, token, body.medium, source_ip=ip)
    )


@router.post(f"{_REGISTRATION}/complete", response_model=DeviceOut, status_code=201)
@raises(
    *_ANSWER_STEP,
    "FINANCIAL_DEVICE_ALREADY_REGISTERED",
    "FINANCIAL_DEVICE_KEY_INVALID",
    "FINANCIAL_DEVICE_LIMIT",
    "FINANCIAL_DEVICE_NOT_REGISTERED",
    "FINANCIAL_REGISTRATION_INVALID",
)
def complete_registration(
    registration_id: str,
    body: MediumVerifyIn,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> DeviceOut:
    """이용 기기 등록 4: the medium's answer (nothing for the mobile certificate:
    ``APPROVAL_PENDING`` until the app approves); the browser is now a registered device and
    the customer is told on every channel."""
    token = _flow_token(authorization, "FINANCIAL_REGISTRATION_INVALID")
    device = center.financial_devices.complete_registration(
        registration_id, token, medium_answer(body), source_ip=ip
    )
    if device is None:
        raise CertCenterError("APPROVAL_PENDING")
    return _device_out(device)


@router.get("/v1/financial/devices", response_model=list[DeviceOut])
def list_devices(session: SessionDep, center: CenterDep) -> list[DeviceOut]:
    """내 이용 기기: the browsers and apps registered for my financial certificate."""
    return [_device_out(d) for d in center.financial_devices.list(session.customer_id)]


@router.delete("/v1/financial/devices/{device_id}", status_code=204)
@raises(*KEY_BACKEND, "CUSTOMER_NOT_FOUND", "FINANCIAL_DEVICE_NOT_REGISTERED")
def remove_device(device_id: str, session: SessionDep, center: CenterDep, ip: ClientIp) -> None:
    """기기 삭제: that browser can no longer sign."""
    center.financial_devices.remove(session.customer_id, device_id, _actor(center, session, ip))


# ---------------------------------------------------------------------------------- certificate


@router.get("/v1/financial/certificate", response_model=CertificateOverviewOut)
@raises(*CERTIFICATE_STATE, "FINANCIAL_CERTIFICATE_NOT_FOUND")
def certificate_overview(session: SessionDep, center: CenterDep) -> CertificateOverviewOut:
    """내 금융인증서: the certificate, when it will be deleted if unused, devices, PIN lock."""
    seen = center.cloud_certificates.overview(session.customer_id)
    return CertificateOverviewOut(
        serial=seen.serial,
        status=seen.status,
        subject=seen.subject,
        not_before=seen.not_before,
        not_after=seen.not_after,
        last_used_at=seen.last_used_at,
        delete_after=seen.delete_after,
        pin_locked=seen.pin_locked,
        devices=[_device_out(d) for d in seen.devices],
        certificate=certificate_pem(x509.load_der_x509_certificate(seen.certificate_der)),
    )


@router.delete("/v1/financial/certificate", status_code=200)
@raises(
    *CERTIFICATE_STATE,
    *KEY_BACKEND,
    "CUSTOMER_UNKNOWN",
    "FINANCIAL_CERTIFICATE_NOT_FOUND",
    "REVOCATION_REASON_INVALID",
)
def delete_certificate(
    session: SessionDep, center: CenterDep, ip: ClientIp
) -> dict[str, list[str]]:
    """금융인증서 폐기: revoked, its cloud key destroyed, its devices removed. Needs a session
    opened with the financial certificate."""
    _financial_session(session)
    revoked = center.cloud_certificates.delete(
        session.customer_id, _actor(center, session, ip), reason="unspecified"
    )
    center.sessions.end(session.id)
    return {"revoked": revoked}


# ---------------------------------------------------------------------------------- remote signing

# What releasing an activation with the device's signature and the PIN refuses with (the
# remote signer's authorize): the activation, the device's key, the PIN and its lock.
_RELEASE = (
    *CERTIFICATE_STATE,
    *FACTOR_CHECK,
    "FINANCIAL_ACTIVATION_EXPIRED",
    "FINANCIAL_ACTIVATION_INVALID",
    "FINANCIAL_ACTIVATION_USED",
    "FINANCIAL_AUTH_FAILED",
    "FINANCIAL_CERTIFICATE_NOT_FOUND",
    "FINANCIAL_DEVICE_KEY_INVALID",
    "FINANCIAL_DEVICE_NOT_REGISTERED",
    "FINANCIAL_PIN_LAST_TRY",
)


@router.post("/v1/financial/activations", response_model=ActivationOut, status_code=201)
@raises(*CERTIFICATE_STATE, "FINANCIAL_CERTIFICATE_NOT_FOUND", "FINANCIAL_DEVICE_NOT_REGISTERED")
def begin_activation(body: ActivationIn, center: CenterDep) -> ActivationOut:
    """서명 활성화 1: bind a one-time activation to exactly these bytes; the device signs
    the returned `sign` text."""
    data = decode_b64(body.data_b64, "data_b64", limit=DATA_BYTES)
    return _activation_out(center.remote_signer.begin(body.device_id, body.purpose, data))


@router.post("/v1/financial/activations/{activation_id}/authorize", response_model=GrantOut)
@raises(*_RELEASE)
def authorize_activation(
    activation_id: str, body: AuthorizeIn, center: CenterDep, ip: ClientIp
) -> GrantOut:
    """서명 활성화 2: the device's signature and the PIN; a one-time grant."""
    grant = center.remote_signer.authorize(
        activation_id, body.device_signature, body.pin, source_ip=ip
    )
    return GrantOut(
        activation_id=grant.activation_id, grant=grant.token, expires_at=grant.expires_at
    )


@router.post("/v1/financial/sign", response_model=SignedOut)
@raises(
    *CERTIFICATE_STATE,
    "FINANCIAL_ACTIVATION_DATA_MISMATCH",
    "FINANCIAL_ACTIVATION_EXPIRED",
    "FINANCIAL_ACTIVATION_INVALID",
    "FINANCIAL_ACTIVATION_USED",
    "FINANCIAL_CERTIFICATE_NOT_FOUND",
    "FINANCIAL_DEVICE_NOT_REGISTERED",
)
def sign(body: SignIn, center: CenterDep, ip: ClientIp) -> SignedOut:
    """원격 서명: the cloud key signs the activation's data, once; the signature and CMS."""
    data = decode_b64(body.data_b64, "data_b64", limit=DATA_BYTES)
    signed = center.remote_signer.sign(body.grant, data, source_ip=ip)
    return _signed_out(center, signed, data, body.detached)


# ---------------------------------------------------------------------------------- login


@router.post("/v1/financial/login/activations", response_model=ActivationOut, status_code=201)
@raises(*CERTIFICATE_STATE, "FINANCIAL_CERTIFICATE_NOT_FOUND", "FINANCIAL_DEVICE_NOT_REGISTERED")
def login_activation(body: LoginActivationIn, center: CenterDep) -> ActivationOut:
    """금융인증서 로그인 1: a login activation for the registered browser."""
    return _activation_out(center.financial_login.begin(body.device_id))


@router.post("/v1/financial/login", response_model=FinancialSessionOut)
@raises(
    *ISSUANCE,
    *_RELEASE,
    "FINANCIAL_ACTIVATION_DATA_MISMATCH",
    "FINANCIAL_PIN_LOCKED",
    "METHOD_NOT_ALLOWED",
)
def login(body: LoginIn, center: CenterDep, ip: ClientIp) -> FinancialSessionOut:
    """금융인증서 로그인 2: the device's signature and the PIN; a session (method
    `financial`) whose transfers the center signs."""
    result = center.financial_login.login(
        body.activation_id, body.device_signature, body.pin, source_ip=ip
    )
    return FinancialSessionOut(**session_fields(center, result), renewed=result.renewed)


# ---------------------------------------------------------------------------------- transfers


@router.post(
    "/v1/financial/transfers/{transfer_id}/activation",
    response_model=ActivationOut,
    status_code=201,
)
@raises(
    *CERTIFICATE_STATE,
    "FINANCIAL_CERTIFICATE_NOT_FOUND",
    "FINANCIAL_DEVICE_NOT_REGISTERED",
    "TRANSFER_NOT_FOUND",
)
def transfer_activation(transfer_id: str, session: SessionDep, center: CenterDep) -> ActivationOut:
    """이체 서명 1: an activation bound to the prepared transfer's document (amount, payee)."""
    _financial_session(session)
    transfer = center.transfers.get(session, transfer_id)
    return _activation_out(
        center.remote_signer.begin(
            session.device_id,
            "transfer",
            transfer.document,
            subject=transfer.id,
            customer_id=session.customer_id,
        )
    )


@router.post("/v1/financial/transfers/{transfer_id}/confirm", response_model=TransferOut)
@raises(*TRANSFER_CONFIRM, *_RELEASE)
def confirm_transfer(
    transfer_id: str,
    body: TransferConfirmIn,
    session: SessionDep,
    center: CenterDep,
    ip: ClientIp,
) -> TransferOut:
    """이체 서명 2: the device's signature and the PIN release the activation; the center
    signs the document and the transfer is confirmed with the factors the amount needs."""
    _financial_session(session)
    document = decode_b64(body.document_b64, "document_b64") if body.document_b64 else None
    given = {
        "account_password": body.account_password,
        "otp": body.otp_code,
        "security_card": body.card_answer and body.card_challenge_id,
    }
    factors = center.transfers.get(session, transfer_id).factors
    missing = [factor for factor, value in given.items() if factor in factors and not value]
    if missing:  # before the activation is spent
        raise CertCenterError("INVALID_REQUEST", detail="required: " + ", ".join(missing))
    grant = center.remote_signer.authorize(
        body.activation_id, body.device_signature, body.pin, source_ip=ip
    )
    done = center.transfers.confirm(
        session,
        transfer_id,
        Confirmation(
            signature="",
            document=document,
            activation_grant=grant.token,
            account_password=body.account_password,
            otp_code=body.otp_code,
            card_challenge_id=body.card_challenge_id,
            card_answer=body.card_answer,
            source_ip=ip,
        ),
    )
    return _transfer_out(done.transfer)


# ---------------------------------------------------------------------------------- PIN release


@router.post("/v1/financial/pin/resets", response_model=PinResetOut, status_code=201)
@raises(*_DETAILS_STEP)
def start_pin_reset(body: PinResetIn, center: CenterDep, ip: ClientIp) -> PinResetOut:
    """비밀번호 재설정 1: name, mobile number, birth date. The answer is the same whoever
    they name; only a customer's phone gets the SMS code."""
    started = center.financial_pin.start(
        name=body.name, phone=body.phone, birth_date=body.birth_date, source_ip=ip
    )
    return _fields_of(PinResetOut, started)


_RESET = "/v1/financial/pin/resets/{reset_id}"


@router.post(f"{_RESET}/resend", response_model=PinResetOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "FINANCIAL_RESET_INVALID")
def resend_pin_reset_code(
    reset_id: str,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> PinResetOut:
    """A new SMS code for a PIN reset under way."""
    token = _flow_token(authorization, "FINANCIAL_RESET_INVALID")
    started = center.financial_pin.resend_code(reset_id, token, source_ip=ip)
    return _fields_of(PinResetOut, started)


@router.post(f"{_RESET}/code", response_model=VerificationStepOut)
@raises(*_CODE_STEP, "FINANCIAL_RESET_INVALID")
def pin_reset_code(
    reset_id: str,
    body: CodeIn,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> VerificationStepOut:
    """비밀번호 재설정 2: the SMS code; the additional medium comes next."""
    token = _flow_token(authorization, "FINANCIAL_RESET_INVALID")
    return _step_out(center.financial_pin.verify_code(reset_id, token, body.code, source_ip=ip))


@router.post(f"{_RESET}/medium", response_model=VerificationStepOut)
@raises(*_MEDIUM_STEP, "FINANCIAL_RESET_INVALID")
def pin_reset_medium(
    reset_id: str,
    body: MediumIn,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> VerificationStepOut:
    """비밀번호 재설정 3: the additional medium; its question is in ``detail``."""
    token = _flow_token(authorization, "FINANCIAL_RESET_INVALID")
    return _step_out(center.financial_pin.choose_medium(reset_id, token, body.medium, source_ip=ip))


@router.post(f"{_RESET}/complete", status_code=204)
@raises(
    *_ANSWER_STEP, "FINANCIAL_RESET_INVALID", "PIN_CONFIRMATION_MISMATCH", "PIN_FORMAT", "PIN_WEAK"
)
def complete_pin_reset(
    reset_id: str,
    body: PinResetCompleteIn,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """비밀번호 재설정 4: the medium's answer and, if wanted, a new PIN; the lock is released
    and the customer is told on every channel (``APPROVAL_PENDING`` while the app has not
    approved)."""
    token = _flow_token(authorization, "FINANCIAL_RESET_INVALID")
    done = center.financial_pin.complete(
        reset_id,
        token,
        medium_answer(body),
        new_pin=body.new_pin,
        new_pin_confirmation=body.new_pin_confirmation,
        source_ip=ip,
    )
    if not done:
        raise CertCenterError("APPROVAL_PENDING")
