"""Using the joint certificate (공동인증서 로그인): the login challenge and the login. Transfers
and documents in the session it opens go through the usual routes (/v1/transfers,
/v1/documents/sign) with the RSA signature of the customer's certificate software."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from certcenter.api.contract import raises
from certcenter.api.deps import CenterDep, ClientIp
from certcenter.api.routes.usage import JointSignature, SessionOut, session_fields
from certcenter.api.schemas import BASE64, IS_BASE64, ChallengeOut, base64_length
from certcenter.authn.device_auth import challenge_message
from certcenter.joint.login import PURPOSE, JointLoginAttempt
from certcenter.usage.documents import decode_b64

CERTIFICATE_BYTES = 16 * 1024  # signCert.der
RANDOM_BYTES = 128  # the VID random value

router = APIRouter(prefix="/v1/joint/login", tags=["joint certificate (공동인증서)"])


class JointLoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenge: Annotated[str, StringConstraints(min_length=16, max_length=128)]
    signature: JointSignature = Field(
        description="base64 RSA PKCS#1 v1.5 SHA-256 over the challenge's `sign` text, by the "
        "key of signPri.key."
    )
    certificate_b64: (
        Annotated[
            str,
            StringConstraints(max_length=base64_length(CERTIFICATE_BYTES), pattern=BASE64),
            IS_BASE64,
        ]
        | None
    ) = Field(None, description="signCert.der, base64 (or give `serial`)")
    serial: Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{1,40}$")] | None = None
    rrn: Annotated[str, StringConstraints(max_length=14)] | None = Field(
        None, description="주민등록번호, for the VID check (never stored)"
    )
    random_b64: (
        Annotated[
            str,
            StringConstraints(max_length=base64_length(RANDOM_BYTES), pattern=BASE64),
            IS_BASE64,
        ]
        | None
    ) = Field(None, description="the VID random value from signPri.key, base64 (with `rrn`)")


class JointSessionOut(SessionOut):
    identity_checked: bool


@router.post("/challenges", response_model=ChallengeOut, status_code=201)
def joint_login_challenge(center: CenterDep) -> ChallengeOut:
    """A single-use login challenge for the joint certificate's software to sign."""
    issued = center.joint_login.challenge()
    return ChallengeOut(
        challenge=issued.challenge,
        sign=challenge_message(PURPOSE, issued.challenge).decode(),
        expires_at=issued.expires_at,
    )


@router.post("", response_model=JointSessionOut)
@raises(
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_NOT_SUSPENDED",
    "CERTIFICATE_NOT_USABLE",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_SUSPENDED",
    "CHALLENGE_INVALID",
    "ENROLLMENT_CLOSED",
    "ENROLLMENT_EXPIRED",
    "ENROLLMENT_NOT_FOUND",
    "ENROLLMENT_STEP_OUT_OF_ORDER",
    "JOINT_CERTIFICATE_UNKNOWN",
    "JOINT_OTHER_CA_UNTRUSTED",
    "JOINT_OTHER_CERTIFICATE_EXPIRED",
    "JOINT_OTHER_CERTIFICATE_NOT_REGISTERED",
    "JOINT_OTHER_CERTIFICATE_REVOKED",
    "JOINT_OTHER_CERTIFICATE_UNSUITABLE",
    "JOINT_OTHER_REVOCATION_UNKNOWN",
    "JOINT_SIGNATURE_INVALID",
    "JOINT_VID_MISMATCH",
    "RRN_INVALID",
    "SERVICE_UNAVAILABLE",
    "SMS_LIMIT_REACHED",
    "SMS_RESEND_TOO_SOON",
    "TOO_MANY_ATTEMPTS",
)
def joint_login(body: JointLoginIn, center: CenterDep, ip: ClientIp) -> JointSessionOut:
    """공동인증서 로그인: the signed challenge and the certificate (or its serial), optionally
    the resident number and the VID random value; answers with a session token."""
    result = center.joint_login.login(
        JointLoginAttempt(
            challenge=body.challenge,
            signature=body.signature,
            certificate_der=(
                decode_b64(body.certificate_b64, "certificate_b64", limit=CERTIFICATE_BYTES)
                if body.certificate_b64 is not None
                else None
            ),
            serial=body.serial,
            rrn=body.rrn,
            random_num=(
                decode_b64(body.random_b64, "random_b64", limit=RANDOM_BYTES)
                if body.random_b64 is not None
                else None
            ),
            source_ip=ip,
        )
    )
    return JointSessionOut(
        **session_fields(center, result), identity_checked=result.identity_checked
    )
