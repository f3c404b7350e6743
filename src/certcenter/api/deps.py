"""Request-scoped dependencies: the center, the client's address, the flow's bearer token."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Header, Request

from certcenter.bootstrap import Center
from certcenter.enrollment.service import EnrollmentRef
from certcenter.entities import Session
from certcenter.errors import CertCenterError


def get_center(request: Request) -> Center:
    center: Center = request.app.state.center
    return center


CenterDep = Annotated[Center, Depends(get_center)]


def client_ip(request: Request) -> str:
    """The caller's address; ``X-Forwarded-For`` is believed only from trusted proxies."""
    center: Center = request.app.state.center
    peer = request.client.host if request.client else "0.0.0.0"  # noqa: S104 - an address, not a bind
    trusted = set(center.settings.trusted_proxies)
    forwarded = request.headers.get("x-forwarded-for")
    if peer in trusted and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in trusted:
                return _valid_ip(hop)
    return peer


def _valid_ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise CertCenterError(
            "INVALID_REQUEST", detail="X-Forwarded-For is not an address"
        ) from None


ClientIp = Annotated[str, Depends(client_ip)]


def enrollment_ref(
    enrollment_id: str,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> EnrollmentRef:
    token = ""
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if not token:
        raise CertCenterError("ENROLLMENT_TOKEN_INVALID")
    return EnrollmentRef(enrollment_id=enrollment_id, token=token, client_ip=ip)


RefDep = Annotated[EnrollmentRef, Depends(enrollment_ref)]


def bearer_token(authorization: str | None) -> str:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return ""


def current_session(
    center: CenterDep, authorization: Annotated[str | None, Header()] = None
) -> Session:
    """The logged-in customer's session (``Authorization: Bearer <session token>``)."""
    token = bearer_token(authorization)
    if not token:
        raise CertCenterError("SESSION_INVALID")
    return center.sessions.resolve(token)


SessionDep = Annotated[Session, Depends(current_session)]
