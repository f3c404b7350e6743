"""Request-scoped dependencies: the center, the client's address, the flow's bearer token.

The center and the address are the request facts the web pages share
(:mod:`certcenter.http_common.request_facts`); here they become FastAPI dependencies.

FastAPI runs a plain ``def`` dependency in the thread pool, one hop there and back per
dependency per request; the ones here that only look at the request are ``async def`` and
run on the event loop. A dependency that reads the database (the session's) stays ``def``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header
from starlette.requests import HTTPConnection

from certcenter.api.contract import authenticates, raises
from certcenter.bootstrap import Center
from certcenter.enrollment.service import EnrollmentRef
from certcenter.entities import Session
from certcenter.errors import CertCenterError
from certcenter.flows import FlowTicket
from certcenter.http_common.request_facts import center_of, client_ip


async def request_center(request: HTTPConnection) -> Center:
    return center_of(request)


async def request_client_ip(request: HTTPConnection) -> str:
    return client_ip(request)


CenterDep = Annotated[Center, Depends(request_center)]
ClientIp = Annotated[str, Depends(request_client_ip)]


def flow_ticket(flow_id: str, ip: str, authorization: str | None) -> FlowTicket:
    """A multi-step flow's ticket from its path id and the ``Authorization: Bearer`` token
    handed out at its start (every flow's routes read theirs through this)."""
    token = bearer_token(authorization)
    if not token:
        raise CertCenterError("ENROLLMENT_TOKEN_INVALID")
    return FlowTicket(enrollment_id=flow_id, token=token, client_ip=ip)


@raises("ENROLLMENT_TOKEN_INVALID")
@authenticates("flowToken")
async def enrollment_ref(
    enrollment_id: str,
    ip: ClientIp,
    authorization: Annotated[str | None, Header()] = None,
) -> EnrollmentRef:
    return flow_ticket(enrollment_id, ip, authorization)


RefDep = Annotated[EnrollmentRef, Depends(enrollment_ref)]


def bearer_token(authorization: str | None) -> str:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return ""


@raises(
    "SESSION_INVALID",
    "SESSION_EXPIRED",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_NOT_USABLE",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_SUSPENDED",
    "KEY_ALREADY_EXISTS",
    "KEY_NOT_FOUND",
    "KEY_PASSPHRASE_MISSING",
    "KEY_PASSPHRASE_WRONG",
)
@authenticates("customerSession")
def current_session(
    center: CenterDep, authorization: Annotated[str | None, Header()] = None
) -> Session:
    """The logged-in customer's session (``Authorization: Bearer <session token>``)."""
    token = bearer_token(authorization)
    if not token:
        raise CertCenterError("SESSION_INVALID")
    return center.sessions.resolve(token)


SessionDep = Annotated[Session, Depends(current_session)]
