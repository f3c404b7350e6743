"""Why a CMP request was refused, in the protocol's words: one table from catalog codes to
PKIFailureInfo bits (RFC 4210 §5.2.3, RFC 9483 §3.6.4).

    failure_info("CMP_POP_INVALID")       # 'badPOP'
    failure_info("SOME_AUTHORITY_CODE")   # by its HTTP status when the table does not name it

The CMP server's own refusals (``CMP_*``) and the authority's are all catalog errors; the
error message carries the bit named here and the catalog's words (English and Korean).
"""

from __future__ import annotations

from typing import Final, Literal

from certcenter.errors import CertCenterError

__all__ = ["FAILURE_INFO", "FailureInfo", "failure_info"]

FailureInfo = Literal[
    "badAlg",
    "badMessageCheck",
    "badRequest",
    "badTime",
    "badCertId",
    "badDataFormat",
    "wrongAuthority",
    "incorrectData",
    "badPOP",
    "certRevoked",
    "certConfirmed",
    "badRecipientNonce",
    "badSenderNonce",
    "badCertTemplate",
    "signerNotTrusted",
    "transactionIdInUse",
    "unsupportedVersion",
    "notAuthorized",
    "systemUnavail",
    "systemFailure",
    "duplicateCertReq",
]

# Catalog code → the PKIFailureInfo bit that says why. The authority's codes are named here
# as they are added to the catalog; any other code falls back on its HTTP status (below).
FAILURE_INFO: Final[dict[str, FailureInfo]] = {
    # the CMP server's own refusals
    "CMP_MESSAGE_MALFORMED": "badDataFormat",
    "CMP_CONTENT_TYPE_WRONG": "badDataFormat",
    "CMP_VERSION_UNSUPPORTED": "unsupportedVersion",
    "CMP_HEADER_INVALID": "badRequest",
    "CMP_BODY_UNSUPPORTED": "badRequest",
    "CMP_PROTECTION_MISSING": "badMessageCheck",
    "CMP_PROTECTION_UNSUPPORTED": "badAlg",
    "CMP_PROTECTION_INVALID": "badMessageCheck",
    "CMP_MAC_PARAMETERS_REFUSED": "badAlg",
    "CMP_MESSAGE_TIME_WRONG": "badTime",
    "CMP_TEMPLATE_INVALID": "badCertTemplate",
    "CMP_POP_INVALID": "badPOP",
    "CMP_TRANSACTION_IN_USE": "transactionIdInUse",
    "CMP_TRANSACTION_UNKNOWN": "badRequest",
    "CMP_TRANSACTION_FINISHED": "badRequest",
    "CMP_TRANSACTION_EXPIRED": "badRequest",
    "CMP_RECIPIENT_NONCE_WRONG": "badRecipientNonce",
    "CMP_SENDER_NONCE_REPLAYED": "badSenderNonce",
    "CMP_CERT_HASH_WRONG": "badCertId",
    "CMP_SIGNER_NOT_TRUSTED": "signerNotTrusted",
    "CMP_CERTIFICATE_REVOKED": "certRevoked",
    "CERTIFICATE_ALREADY_REVOKED": "certRevoked",
    "CMP_NOT_AUTHORIZED": "notAuthorized",
    "CMP_UNAVAILABLE": "systemUnavail",
    # the joint certificate's authority (certcenter.joint.authority)
    "JOINT_REFERENCE_UNKNOWN": "notAuthorized",
    "JOINT_REFERENCE_EXPIRED": "notAuthorized",
    "JOINT_REFERENCE_USED": "notAuthorized",
    "JOINT_REFERENCE_LOCKED": "notAuthorized",
    "JOINT_AUTHORIZATION_CODE_INVALID": "badMessageCheck",
    "JOINT_SUBJECT_MISMATCH": "badCertTemplate",
    "JOINT_KEY_NOT_RSA_2048": "badCertTemplate",
    "JOINT_TRANSACTION_UNKNOWN": "badRequest",
    "JOINT_CERTIFICATE_UNKNOWN": "signerNotTrusted",
    "JOINT_CERTIFICATE_EXPIRED": "signerNotTrusted",
    "JOINT_RENEWAL_TOO_EARLY": "notAuthorized",
    # refusals of the issuance core that the authority lets through
    "PUBLIC_KEY_ALREADY_BOUND": "badCertTemplate",
    "CERTIFICATE_PROFILE_LINT_FAILED": "badCertTemplate",
    "CERTIFICATE_ALREADY_ACTIVE": "duplicateCertReq",
    "TOO_MANY_ATTEMPTS": "notAuthorized",
    "STORAGE_READ_ONLY": "systemUnavail",
    "SERVICE_UNAVAILABLE": "systemUnavail",
    "INTERNAL_ERROR": "systemFailure",
}

# A code the table does not name, by its HTTP status: what kind of refusal it is.
_BY_STATUS: Final[dict[int, FailureInfo]] = {
    400: "badRequest",
    401: "notAuthorized",
    403: "notAuthorized",
    404: "notAuthorized",  # an unknown reference number is not told apart from a wrong one
    409: "badRequest",
    410: "notAuthorized",  # expired or used reference number
    413: "badDataFormat",
    415: "badDataFormat",
    422: "badCertTemplate",
    423: "notAuthorized",
    429: "notAuthorized",
    503: "systemUnavail",
}


def failure_info(code: str) -> FailureInfo:
    """The PKIFailureInfo bit for a catalog code."""
    named = FAILURE_INFO.get(code)
    if named is not None:
        return named
    try:
        status = CertCenterError(code).http_status
    except KeyError:
        return "systemFailure"
    if status >= 500:
        return _BY_STATUS.get(status, "systemFailure")
    return _BY_STATUS.get(status, "badRequest")
