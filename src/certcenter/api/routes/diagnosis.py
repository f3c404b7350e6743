"""왜 발급이 안 되나요? — the diagnosis checklist over HTTP.

    GET  /v1/operator/customers/C004/diagnosis?client_ip=203.0.113.9    (operator token)
    POST /v1/diagnosis {"user_id": "c004user", "rrn": "920505-2781965"}   (the customer)

Both answer the same document: ``ready``, the ``items`` in the order of the issuance flow
(``key``, ``status`` ok | warning | problem, ``code``, ``context``) and, for an item with a
code, the catalog's ``message``, ``cause`` and ``remedy`` in Korean and English. The
customer's resident registration number is used to confirm who asks and then dropped.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from certcenter.api.contract import raises
from certcenter.api.deps import CenterDep, ClientIp
from certcenter.api.routes.operator import OperatorActor
from certcenter.diagnosis.document import checklist_document

router = APIRouter(tags=["diagnosis (왜 발급이 안 되나요?)"])


class SelfDiagnosisIn(BaseModel):
    """The customer names themselves with the internet-banking user ID and the resident
    registration number (13 digits, with or without the hyphen)."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=40)
    rrn: SecretStr = Field(min_length=13, max_length=14)


@router.get("/v1/operator/customers/{number}/diagnosis")
@raises(
    "ACCOUNT_DORMANT",
    "ACCOUNT_SUSPENDED",
    "ACCOUNT_TRANSFER_RESTRICTED",
    "CUSTOMER_UNKNOWN",
    "METHOD_NOT_ALLOWED",
)
def operator_diagnosis(
    number: str,
    center: CenterDep,
    actor: OperatorActor,
    client_ip: Annotated[
        IPv4Address | IPv6Address | None,
        Query(description="An IPv4 or IPv6 address: would it be let in?"),
    ] = None,
) -> dict[str, Any]:
    """Why issuance fails for this customer: the checklist from their real state (audited).
    ``client_ip`` asks whether that address would be let in."""
    asked = str(client_ip) if client_ip is not None else None
    checklist = center.diagnosis.for_customer_number(number[:20], actor, client_ip=asked)
    return checklist_document(checklist)


@router.post("/v1/diagnosis")
@raises(
    "ACCOUNT_DORMANT",
    "ACCOUNT_SUSPENDED",
    "ACCOUNT_TRANSFER_RESTRICTED",
    "DIAGNOSIS_IDENTITY_NOT_CONFIRMED",
    "DIAGNOSIS_LOCKED",
    "KEY_ALREADY_EXISTS",
    "KEY_NOT_FOUND",
    "KEY_PASSPHRASE_MISSING",
    "KEY_PASSPHRASE_WRONG",
    "METHOD_NOT_ALLOWED",
    "RRN_INVALID",
)
def self_diagnosis(body: SelfDiagnosisIn, center: CenterDep, ip: ClientIp) -> dict[str, Any]:
    """왜 발급이 안 되나요? for the customer: the same checklist, once the user ID and the
    resident registration number agree. Either being wrong is answered alike
    (``DIAGNOSIS_IDENTITY_NOT_CONFIRMED``); too many tries pause it (``DIAGNOSIS_LOCKED``)."""
    checklist = center.diagnosis.for_identity(
        body.user_id, body.rrn.get_secret_value(), client_ip=ip
    )
    return checklist_document(checklist)
