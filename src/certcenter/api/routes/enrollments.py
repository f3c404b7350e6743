"""``/v1/enrollments``: the mobile-certificate issuance flow, one endpoint per step."""

from __future__ import annotations

from fastapi import APIRouter, status

from certcenter.api.contract import (
    CERTIFICATE_STATE,
    CUSTOMER_STEP,
    FACTOR_LOCKS,
    FLOW_READ,
    FLOW_STEP,
    ID_PHOTO,
    ISSUANCE,
    KEY_BACKEND,
    ONE_TIME_CODE,
    raises,
)
from certcenter.api.deps import CenterDep, ClientIp, RefDep
from certcenter.api.schemas import (
    AccountIn,
    CodeIn,
    CredentialsIn,
    CsrIn,
    IdIn,
    IdPhotoIn,
    IssuedOut,
    PhoneIn,
    StartIn,
    StartOut,
    StepOut,
    TermsIn,
)
from certcenter.enrollment.service import StartRequest, StepResult

router = APIRouter(prefix="/v1/enrollments", tags=["enrollment (발급)"])


def _out(result: StepResult) -> StepOut:
    return StepOut(
        enrollment_id=result.enrollment_id,
        state=result.state,
        next_step=result.next_step,
        expires_at=result.expires_at,
        detail=result.detail,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=StartOut)
@raises(
    *FLOW_STEP,
    *CERTIFICATE_STATE,
    *FACTOR_LOCKS,
    *KEY_BACKEND,
    "APP_VERSION_OUTDATED",
    "CHALLENGE_INVALID",
    "DEVICE_AUTH_FAILED",
    "DEVICE_DEVELOPER_OPTIONS",
    "DEVICE_NOT_REGISTERED",
    "DEVICE_REMOTE_CONTROL",
    "DEVICE_ROOTED",
    "FINANCIAL_PIN_LOCKED",
    "FOREIGN_IP_BLOCKED",
    "INACTIVE_CERTIFICATE_REVOKED",
)
def start(body: StartIn, center: CenterDep, ip: ClientIp) -> StartOut:
    """Start issuance on a device. Refuses outdated apps and unsafe devices."""
    device = body.device
    started = center.mobile_enrollment.start(
        StartRequest(
            device_id=device.device_id,
            platform=device.platform,
            device_model=device.model,
            app_version=device.app_version,
            client_ip=ip,
            rooted=device.integrity.rooted,
            developer_options=device.integrity.developer_options,
            remote_control_apps=tuple(device.integrity.remote_control_apps),
            move_certificate=body.move_certificate,
            reissue_challenge=body.reissue.challenge if body.reissue else None,
            reissue_signature=body.reissue.signature if body.reissue else None,
            reissue_pin=body.reissue.pin if body.reissue else None,
        )
    )
    return StartOut(**_out(started).model_dump(), token=started.token)


@router.get("/{enrollment_id}", response_model=StepOut)
@raises(*FLOW_READ)
def show(ref: RefDep, center: CenterDep) -> StepOut:
    return _out(center.mobile_enrollment.status(ref))


@router.post("/{enrollment_id}/terms", response_model=StepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "TERMS_NOT_ACCEPTED")
def terms(body: TermsIn, ref: RefDep, center: CenterDep) -> StepOut:
    return _out(center.mobile_enrollment.accept_terms(ref, body.accepted))


@router.post("/{enrollment_id}/phone", response_model=StepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    "DEVICE_IN_USE_BY_ANOTHER_CUSTOMER",
    "NAME_INVALID",
    "PHONE_CARRIER_MISMATCH",
    "PHONE_CORPORATE_LINE",
    "PHONE_IDENTITY_MISMATCH",
    "PHONE_NOT_OWN_NAME",
    "PHONE_NUMBER_INVALID",
    "PHONE_SUBSCRIBER_NOT_FOUND",
    "RRN_INVALID",
)
def phone(body: PhoneIn, ref: RefDep, center: CenterDep) -> StepOut:
    """휴대폰 본인인증: sends a 6-digit SMS code to a line in the customer's own name."""
    return _out(
        center.mobile_enrollment.request_phone_code(
            ref, carrier=body.carrier, name=body.name, rrn_front=body.rrn_front, phone=body.phone
        )
    )


@router.post("/{enrollment_id}/phone/resend", response_model=StepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, "CODE_RESEND_LIMIT")
def phone_resend(ref: RefDep, center: CenterDep) -> StepOut:
    return _out(center.mobile_enrollment.resend_phone_code(ref))


@router.post("/{enrollment_id}/phone/verify", response_model=StepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, *ONE_TIME_CODE)
def phone_verify(body: CodeIn, ref: RefDep, center: CenterDep) -> StepOut:
    return _out(center.mobile_enrollment.verify_phone_code(ref, body.code))


@router.post("/{enrollment_id}/account", response_model=StepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    "ACCOUNT_NOT_FOUND",
    "ACCOUNT_NOT_OWN",
    "BANK_UNKNOWN",
    "CODE_RESEND_LIMIT",
)
def account(body: AccountIn, ref: RefDep, center: CenterDep) -> StepOut:
    """1원 입금 인증: deposits 1 won with a code in the depositor name."""
    return _out(
        center.mobile_enrollment.request_account_deposit(
            ref, bank_code=body.bank_code, account_number=body.account_number
        )
    )


@router.post("/{enrollment_id}/account/verify", response_model=StepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, *ONE_TIME_CODE)
def account_verify(body: CodeIn, ref: RefDep, center: CenterDep) -> StepOut:
    return _out(center.mobile_enrollment.verify_account_code(ref, body.code))


@router.post("/{enrollment_id}/id", response_model=StepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    "ID_CARD_REISSUED",
    "ID_DETAILS_INVALID",
    "ID_EXPIRED",
    "ID_NAME_MISMATCH",
    "ID_NOT_VERIFIED",
    "RRN_INVALID",
)
def id_document(body: IdIn, ref: RefDep, center: CenterDep) -> StepOut:
    """신분증 인증 from typed fields."""
    fields = {k: v for k, v in body.model_dump().items() if v is not None}
    return _out(center.mobile_enrollment.verify_id(ref, fields))


@router.post("/{enrollment_id}/id/photo", response_model=StepOut)
@raises(*FLOW_STEP, *CUSTOMER_STEP, *ID_PHOTO)
def id_photo(body: IdPhotoIn, ref: RefDep, center: CenterDep) -> StepOut:
    """신분증 촬영: the photo is checked (glare, blur, darkness, framing) and read; the answer
    is what was read (``detail.display`` masked for the screen, ``detail.fields`` to send
    back to ``…/id`` with ``source: photo`` once the customer confirmed or corrected them).
    The photo is never kept."""
    return _out(center.mobile_enrollment.read_id_photo(ref, body.data()))


@router.post("/{enrollment_id}/credentials", response_model=StepOut)
@raises(
    *FLOW_STEP,
    *CUSTOMER_STEP,
    "BIOMETRIC_KEY_INVALID",
    "PATTERN_INVALID",
    "PIN_CONFIRMATION_MISMATCH",
    "PIN_FORMAT",
    "PIN_WEAK",
)
def credentials(body: CredentialsIn, ref: RefDep, center: CenterDep) -> StepOut:
    """간편비밀번호 (twice) and pattern; optional biometric device key."""
    return _out(
        center.mobile_enrollment.set_credentials(
            ref,
            pin=body.pin,
            pin_confirmation=body.pin_confirmation,
            pattern=body.pattern,
            biometric_public_key=body.biometric_public_key,
        )
    )


@router.post("/{enrollment_id}/csr", status_code=status.HTTP_201_CREATED, response_model=IssuedOut)
@raises(
    *ISSUANCE,
    *FLOW_STEP,
    "CSR_KEY_TYPE_NOT_ALLOWED",
    "CSR_MALFORMED",
    "CSR_SIGNATURE_INVALID",
    "CUSTOMER_NOT_FOUND",
    "ENROLLMENT_TOKEN_INVALID",
    "FOREIGN_IP_BLOCKED",
    "ISSUANCE_IN_PROGRESS",
)
def csr(body: CsrIn, ref: RefDep, center: CenterDep) -> IssuedOut:
    """Issue the certificate for the device key in the CSR and bind it to the device."""
    issued = center.mobile_enrollment.submit_csr(ref, body.csr)
    return IssuedOut(
        serial=issued.serial,
        certificate=issued.certificate_pem,
        chain=issued.chain_pem,
        not_before=issued.not_before,
        not_after=issued.not_after,
        device_id=issued.device_id,
        customer_number=issued.customer_number,
        moved_from_device=issued.moved_from_device,
    )
