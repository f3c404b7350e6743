"""The joint certificate's CMP endpoint over HTTP (RFC 6712), for the customer's software.

    POST /cmp                  Content-Type: application/pkixcmp → application/pkixcmp
    POST /.well-known/cmp      the same (RFC 9483 §6.1's well-known path)

The body is one DER PKIMessage; the answer is one, with status 200 — a refusal too, as a CMP
error message (:mod:`certcenter.cmp.server`) — except a body that is no PKIMessage at all,
answered with a CMP error and status 400. A request with another content type gets a 415
problem document (``CMP_CONTENT_TYPE_WRONG``), a body over 32 KiB a 413
(``REQUEST_TOO_LARGE``). Nothing here decides anything: the server speaks the protocol.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from certcenter.api.contract import raises
from certcenter.api.deps import CenterDep
from certcenter.errors import CertCenterError

router = APIRouter(tags=["joint certificate CMP (공동인증서)"])
log = logging.getLogger("certcenter.api.cmp")

PKIXCMP = "application/pkixcmp"
MAX_CMP_BODY = 32 * 1024  # an ir with an RSA-4096 key and its POP is under 2 KiB

_CMP_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {PKIXCMP: {}},
        "description": "A DER PKIMessage: ip, kup, pkiConf, rp, or an error message.",
    },
    400: {"content": {PKIXCMP: {}}, "description": "The body was no PKIMessage: a CMP error."},
}
_CMP_BODY = {"requestBody": {"content": {PKIXCMP: {"schema": {"type": "string"}}}}}


async def _cmp(request: Request, center: CenterDep) -> Response:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != PKIXCMP:
        raise CertCenterError("CMP_CONTENT_TYPE_WRONG")
    body = await request.body()
    if len(body) > MAX_CMP_BODY:
        raise CertCenterError("REQUEST_TOO_LARGE", limit=f"{MAX_CMP_BODY // 1024} KiB")
    try:
        answer = await run_in_threadpool(center.cmp.handle, body)
    except Exception:
        incident = secrets.token_hex(4)
        log.exception("CMP request failed (incident %s)", incident)
        answer = center.cmp.handle_fault(incident)
    return Response(answer.der, status_code=answer.http_status, media_type=PKIXCMP)


@router.post("/cmp", response_class=Response, responses=_CMP_DOC, openapi_extra=_CMP_BODY)
@raises("CMP_CONTENT_TYPE_WRONG")
async def cmp(request: Request, center: CenterDep) -> Response:
    """One CMP message (RFC 4210, RFC 9483 profile): ir with the reference number and a MAC
    made with the authorization code, certConf, kur or rr signed with the certificate's
    key. See docs/cmp.md."""
    return await _cmp(request, center)


@router.post(
    "/.well-known/cmp", response_class=Response, responses=_CMP_DOC, openapi_extra=_CMP_BODY
)
@raises("CMP_CONTENT_TYPE_WRONG")
async def cmp_well_known(request: Request, center: CenterDep) -> Response:
    """The same endpoint at RFC 9483's well-known path."""
    return await _cmp(request, center)
