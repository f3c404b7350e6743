"""Request and response bodies of the ``/v1`` API (pydantic), with the limits of each field.

Shapes only: the rules (what a weak PIN is, which carrier a line belongs to) are the domain's.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from certcenter.authn.held_media import MediumAnswer
from certcenter.errors import CertCenterError

Short = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True)]

# Padded standard base64, exactly what ``base64.b64decode(..., validate=True)`` reads: no line
# breaks, no URL-safe alphabet. Fields that carry it say so in the document (contentEncoding).
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
IS_BASE64 = Field(json_schema_extra={"contentEncoding": "base64"})


def base64_length(size: int) -> int:
    """The length of ``size`` bytes in padded base64 (the longest field that decodes to at
    most ``size`` bytes)."""
    return 4 * -(-size // 3)


# A device's ECDSA signature (DER, base64): the app's certificate key or its biometric key.
EcdsaSignature = Annotated[
    str, StringConstraints(min_length=8, max_length=400, pattern=BASE64), IS_BASE64
]
DeviceId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{8,64}$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Integrity(_Body):
    rooted: StrictBool = False
    developer_options: StrictBool = False
    remote_control_apps: list[Short] = Field(default_factory=list, max_length=20)


class DeviceFactsIn(_Body):
    device_id: DeviceId
    platform: Literal["android", "ios"]
    model: Short
    app_version: Annotated[str, StringConstraints(pattern=r"^\d{1,6}(\.\d{1,6}){0,3}$")]
    integrity: Integrity = Field(default_factory=Integrity)


class ReissueProofIn(_Body):
    challenge: Annotated[str, StringConstraints(min_length=16, max_length=128)]
    signature: EcdsaSignature
    pin: Annotated[str, StringConstraints(max_length=12)]


class StartIn(_Body):
    device: DeviceFactsIn
    move_certificate: StrictBool = Field(
        False, description="Move the certificate from the customer's registered device (1인 1기기)."
    )
    reissue: ReissueProofIn | None = Field(
        None,
        description="Shortened re-issue from the registered device: a signed 'reissue' "
        "challenge and the PIN replace phone, account and ID verification.",
    )


class TermsIn(_Body):
    accepted: list[Short] = Field(max_length=30)


class PhoneIn(_Body):
    carrier: Literal["SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"]
    name: Short
    rrn_front: Annotated[str, StringConstraints(min_length=7, max_length=9)] = Field(
        description="First 7 digits of the resident registration number: YYMMDD + 7th digit."
    )
    phone: Annotated[str, StringConstraints(min_length=10, max_length=20)]


class CodeIn(_Body):
    code: Annotated[str, StringConstraints(min_length=1, max_length=12)]


class AccountIn(_Body):
    bank_code: Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
    account_number: Annotated[str, StringConstraints(min_length=6, max_length=24)]


IdField = Literal["name", "rrn", "issue_date", "birth_date", "number", "serial", "expiry"]


class IdIn(_Body):
    kind: Literal["resident_card", "driver_licence", "passport"]
    name: Short
    rrn: Annotated[str, StringConstraints(max_length=16)] | None = None
    issue_date: Annotated[str, StringConstraints(max_length=10)] | None = None
    birth_date: Annotated[str, StringConstraints(max_length=10)] | None = None
    number: Annotated[str, StringConstraints(max_length=20)] | None = None
    serial: Annotated[str, StringConstraints(max_length=10)] | None = None
    expiry: Annotated[str, StringConstraints(max_length=10)] | None = None
    source: Literal["typed", "photo"] = Field(
        "typed", description="photo: the fields were read by POST …/id/photo and confirmed."
    )
    corrected: list[IdField] = Field(
        default_factory=list, max_length=7, description="Fields the customer corrected."
    )


class IdPhotoIn(_Body):
    photo: Annotated[str, StringConstraints(min_length=1, max_length=12 * 1024 * 1024)] = Field(
        description="The ID's photo (JPEG or PNG) in base64; read in memory, never kept."
    )

    def data(self) -> bytes:
        """The photo's bytes; ``ID_PHOTO_INVALID`` when the field is not base64."""
        try:
            return base64.b64decode(self.photo, validate=True)
        except (binascii.Error, ValueError):
            raise CertCenterError("ID_PHOTO_INVALID", detail="not base64") from None


class CredentialsIn(_Body):
    pin: Annotated[str, StringConstraints(max_length=12)]
    pin_confirmation: Annotated[str, StringConstraints(max_length=12)]
    pattern: list[int] = Field(min_length=1, max_length=9)
    biometric_public_key: Annotated[str, StringConstraints(max_length=1000)] | None = None


class CsrIn(_Body):
    csr: Annotated[str, StringConstraints(min_length=1, max_length=16384)] = Field(
        description="PKCS#10 request in PEM, signed by the device key (proof of possession)."
    )


class StepOut(BaseModel):
    enrollment_id: str
    state: str
    next_step: str | None
    expires_at: datetime
    detail: dict[str, Any] = Field(default_factory=dict)


class StartOut(StepOut):
    token: str = Field(description="Bearer token for the following steps of this flow.")


class IssuedOut(BaseModel):
    serial: str
    certificate: str
    chain: list[str]
    not_before: datetime
    not_after: datetime
    device_id: str
    customer_number: str
    moved_from_device: str | None


class CertificateOut(BaseModel):
    serial: str
    status: str
    profile: str
    subject: str
    not_before: datetime
    not_after: datetime
    issued_at: datetime | None
    revoked_at: datetime | None
    revocation_reason: str | None
    certificate: str | None


class ChallengeIn(_Body):
    purpose: Literal["revoke", "renew", "deregister", "release", "reissue", "overseas_access"]


class ChallengeOut(BaseModel):
    challenge: str = Field(
        description="Single use, valid until expires_at, at most 128 characters; opaque to "
        "the client: sign `sign` and send the challenge back unchanged."
    )
    sign: str = Field(description="The exact text the device signs (ECDSA-SHA256, DER, base64).")
    expires_at: datetime


class ProofIn(_Body):
    challenge: Annotated[str, StringConstraints(min_length=16, max_length=128)]
    signature: EcdsaSignature
    pin: Annotated[str, StringConstraints(max_length=12)]


class DeviceProofIn(ProofIn):
    device_id: DeviceId


class CustomerRevokeIn(DeviceProofIn):
    reason: Literal[
        "unspecified",
        "keyCompromise",
        "affiliationChanged",
        "superseded",
        "cessationOfOperation",
        "privilegeWithdrawn",
    ] = "unspecified"


class LostPhoneIn(_Body):
    carrier: Literal["SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"]
    name: Short
    rrn_front: Annotated[str, StringConstraints(min_length=7, max_length=9)]
    phone: Annotated[str, StringConstraints(min_length=10, max_length=20)]


class LostReportOut(BaseModel):
    """The one answer to a report's start, whatever the details name."""

    report_id: str
    expires_at: datetime
    media: list[str]  # confirm with one of them: POST /v1/lost-phone-reports/{id}/confirm


class LostReportConfirmIn(_Body):
    medium: Literal["account", "otp", "security_card"]
    bank_code: Annotated[str, StringConstraints(max_length=3)] = "004"
    account_number: Annotated[str, StringConstraints(max_length=30)] | None = None
    account_password: Annotated[str, StringConstraints(max_length=20)] | None = None
    otp_code: Annotated[str, StringConstraints(max_length=10)] | None = None
    card_challenge_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    card_answer: Annotated[str, StringConstraints(max_length=10)] | None = None


_MEDIUM_ANSWER_FIELDS = {field.name for field in dataclasses.fields(MediumAnswer)}


def medium_answer(body: BaseModel) -> MediumAnswer:
    """The answer to an additional medium (account and password, OTP, security card) from a
    body that carries it in fields of the same names (the lost-phone report's confirmation,
    the financial certificate's issuance, browser registration and PIN reset)."""
    return MediumAnswer(**body.model_dump(include=_MEDIUM_ANSWER_FIELDS))


class LostReportCardOut(BaseModel):
    challenge_id: str
    slot_a: int
    slot_b: int
    expires_at: datetime


class LostReportUndoIn(_Body):
    code: Annotated[str, StringConstraints(min_length=1, max_length=20)]


class OutcomeOut(BaseModel):
    serial: str
    status: str
    changed: bool
    replaced_by: str | None = None


class OperatorRevokeIn(_Body):
    reason: Literal[
        "unspecified",
        "keyCompromise",
        "affiliationChanged",
        "superseded",
        "cessationOfOperation",
        "privilegeWithdrawn",
    ]


class OperatorNoteIn(_Body):
    note: Annotated[str, StringConstraints(max_length=200)] | None = None


# ---------------------------------------------------------------- 인증서 복사 (certificate copy)

Base64Key = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]{43}=$"), IS_BASE64]
RelayId = Annotated[str, StringConstraints(max_length=16)]


class CopyOpenIn(_Body):
    public_key: Base64Key  # the receiving device's ephemeral X25519 public key (32 bytes)


class CopyOpenOut(BaseModel):
    relay_id: str
    token: str  # the receiver's alone: fetches the payload
    expires_at: datetime
    expires_in: int  # seconds, for a device whose clock is not the center's


class CopyKeyOut(BaseModel):
    relay_id: str
    public_key: str
    expires_at: datetime


class CopyPayloadIn(_Body):
    # the edge caps the body; the policy's cap is the domain's (CERTIFICATE_COPY_TOO_LARGE)
    payload: Annotated[
        str, StringConstraints(min_length=4, max_length=64 * 1024, pattern=BASE64), IS_BASE64
    ]


class CopySentOut(BaseModel):
    relay_id: str
    expires_at: datetime


class CopyPayloadOut(BaseModel):
    relay_id: str
    state: Literal["waiting", "sent"]
    payload: str | None = None
    expires_at: datetime
