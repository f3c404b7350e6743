"""인증서 복사: the relay that carries a joint certificate's sealed files from one device to
another (docs/certificate-copy.md). The receiving device opens a relay with its ephemeral
public key; the sending device fetches that key by the relay id, checks it against the code's
fingerprint digits on its own side, and uploads the sealed folder once; the receiving device
fetches it with its token, and the center deletes it as it hands it out."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Header, Response

from certcenter.api.contract import FLOW_STATE, raises
from certcenter.api.deps import CenterDep, ClientIp, bearer_token
from certcenter.api.schemas import (
    CopyKeyOut,
    CopyOpenIn,
    CopyOpenOut,
    CopyPayloadIn,
    CopyPayloadOut,
    CopySentOut,
    RelayId,
)
from certcenter.errors import CertCenterError

router = APIRouter(tags=["certificate copy (인증서 복사)"])


def _decode(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CertCenterError("INVALID_REQUEST", detail=f"{field} must be base64") from None


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@router.post("/v1/certificate-copies", response_model=CopyOpenOut, status_code=201)
@raises("CERTIFICATE_COPY_TOO_MANY", "SERVICE_UNAVAILABLE", "TOO_MANY_ATTEMPTS")
def open_copy(body: CopyOpenIn, center: CenterDep, ip: ClientIp) -> CopyOpenOut:
    """The receiving device opens a relay for its public key: the relay id (the code's first
    8 digits) and the token that fetches what is sent to it."""
    opened = center.certificate_copies.open(_decode(body.public_key, "public_key"), client_ip=ip)
    return CopyOpenOut(
        relay_id=opened.relay_id,
        token=opened.token,
        expires_at=opened.expires_at,
        expires_in=center.settings.policy.certificate_copy_ttl_seconds,
    )


@router.get("/v1/certificate-copies/{relay_id}", response_model=CopyKeyOut)
@raises(
    *FLOW_STATE,
    "CERTIFICATE_COPY_ALREADY_SENT",
    "CERTIFICATE_COPY_EXPIRED",
    "CERTIFICATE_COPY_NOT_FOUND",
)
def copy_key(relay_id: RelayId, center: CenterDep, ip: ClientIp) -> CopyKeyOut:
    """The receiving device's public key, for the sending device to check and seal for."""
    key = center.certificate_copies.public_key(relay_id, client_ip=ip)
    return CopyKeyOut(
        relay_id=key.relay_id, public_key=_encode(key.public_key), expires_at=key.expires_at
    )


@router.put("/v1/certificate-copies/{relay_id}/payload", response_model=CopySentOut)
@raises(
    *FLOW_STATE,
    "CERTIFICATE_COPY_ALREADY_SENT",
    "CERTIFICATE_COPY_EXPIRED",
    "CERTIFICATE_COPY_NOT_FOUND",
    "CERTIFICATE_COPY_TOO_LARGE",
)
def send_copy(
    relay_id: RelayId, body: CopyPayloadIn, center: CenterDep, ip: ClientIp
) -> CopySentOut:
    """The sealed folder, once per relay."""
    payload = _decode(body.payload, "payload")
    expires_at = center.certificate_copies.send(relay_id, payload, client_ip=ip)
    return CopySentOut(relay_id=relay_id, expires_at=expires_at)


@router.get("/v1/certificate-copies/{relay_id}/payload", response_model=CopyPayloadOut)
@raises(*FLOW_STATE, "CERTIFICATE_COPY_EXPIRED", "CERTIFICATE_COPY_NOT_FOUND")
def fetch_copy(
    relay_id: RelayId,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> CopyPayloadOut:
    """The receiving device (``Authorization: Bearer <token>``) asks for the sealed folder:
    ``waiting`` until it was sent, then ``sent`` with it, once: the relay is deleted."""
    fetched = center.certificate_copies.fetch(relay_id, bearer_token(authorization), client_ip=ip)
    if fetched.payload is None:
        return CopyPayloadOut(relay_id=relay_id, state="waiting", expires_at=fetched.expires_at)
    return CopyPayloadOut(
        relay_id=relay_id,
        state="sent",
        payload=_encode(fetched.payload),
        expires_at=fetched.expires_at,
    )


@router.delete("/v1/certificate-copies/{relay_id}", status_code=204)
@raises(*FLOW_STATE, "CERTIFICATE_COPY_NOT_FOUND")
def cancel_copy(
    relay_id: RelayId,
    center: CenterDep,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """The receiving device gives up: the relay and anything sent to it are deleted."""
    center.certificate_copies.cancel(relay_id, bearer_token(authorization), client_ip=ip)
    return Response(status_code=204)
