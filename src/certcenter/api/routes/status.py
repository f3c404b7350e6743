"""Certificate status for relying parties: OCSP (RFC 6960, RFC 5019) and CRLs (RFC 5280).

    POST /ocsp                 application/ocsp-request  → application/ocsp-response
    GET  /ocsp/{base64 DER}    → application/ocsp-response (cacheable when without nonce:
                                 Cache-Control, Expires, Last-Modified, ETag; 304 on a
                                 matching If-None-Match)
    GET  /crl/{name}.crl       → application/pkix-crl (DER): root, mobile-0 … mobile-15, mobile

``POST /ocsp`` and ``GET /ocsp/…`` are answered by :class:`~certcenter.api.ocsp_endpoint.
OcspEndpoint` before the router (a short path); the routes here describe them in the OpenAPI
document and answer the same way when the app runs without it.

Errors speak the protocols' language: an OCSP request that cannot be read gets an
unsuccessful OCSP response (``malformedRequest``) with status 200, never a problem document
(``tryLater`` with status 503 while the key backend is away);
an unknown CRL name is a 404 problem document (``NOT_FOUND``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from certcenter.api.contract import raises
from certcenter.api.deps import CenterDep
from certcenter.api.ocsp_endpoint import (
    MAX_OCSP_BODY,
    OCSP_REQUEST,
    OCSP_RESPONSE,
    etag_matches,
    http_date,
    ocsp_cache_headers,
)
from certcenter.bootstrap import Center
from certcenter.clock import as_utc
from certcenter.errors import CertCenterError
from certcenter.pki.ocsp import decode_get_request
from certcenter.revocation import RevocationStatus

router = APIRouter(tags=["certificate status (인증서 상태)"])

PKIX_CRL = "application/pkix-crl"
CRL_MAX_AGE = timedelta(minutes=5)  # revocations show within this, even through caches

_OCSP_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {OCSP_RESPONSE: {}},
        "description": "A DER OCSPResponse; errors are unsuccessful OCSP responses, "
        "never problem documents.",
    },
    503: {
        "content": {OCSP_RESPONSE: {}},
        "description": "tryLater (an unsuccessful OCSP response): the key backend is away "
        "for now (KEY_TOKEN_UNAVAILABLE); Retry-After says when to ask again.",
    },
}


def revocation_status(center: Center) -> RevocationStatus:
    """The center's status services (built once per center)."""
    return center.revocation


async def _ocsp(
    center: Center, request_der: bytes, *, get: bool, if_none_match: str | None = None
) -> Response:
    ocsp = revocation_status(center).ocsp
    answer = ocsp.held(request_der)
    if answer is None:
        answer = await run_in_threadpool(ocsp.answer, request_der)
    if answer.unavailable is not None:  # tryLater
        return Response(
            answer.der,
            status_code=503,
            media_type=OCSP_RESPONSE,
            headers={"Retry-After": "5", "Cache-Control": "no-store"},
        )
    if not get:
        return Response(answer.der, media_type=OCSP_RESPONSE)
    policy = center.settings.policy
    margin = timedelta(minutes=policy.ocsp_refresh_margin_minutes)
    headers = ocsp_cache_headers(
        answer, center.clock.now(), margin, policy.ocsp_http_max_age_seconds
    )
    if headers and if_none_match is not None and etag_matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(answer.der, media_type=OCSP_RESPONSE, headers=headers)


@router.post(
    "/ocsp",
    response_class=Response,
    responses=_OCSP_DOC,
    openapi_extra={
        "requestBody": {"content": {OCSP_REQUEST: {"schema": {"type": "string"}}}},
    },
)
async def ocsp_post(request: Request, center: CenterDep) -> Response:
    """OCSP over POST: the body is a DER OCSPRequest for one certificate."""
    body = await request.body()
    if len(body) > MAX_OCSP_BODY:
        body = b""  # answered malformedRequest
    return await _ocsp(center, body, get=False)


@router.get("/ocsp/{encoded:path}", response_class=Response, responses=_OCSP_DOC)
async def ocsp_get(encoded: str, request: Request, center: CenterDep) -> Response:
    """OCSP over GET: the path segment is the base64 DER OCSPRequest (URL-encoded).
    A cacheable answer carries ``ETag`` and ``Last-Modified``; ``If-None-Match`` naming the
    current response's tag is answered ``304 Not Modified`` without a body."""
    return await _ocsp(
        center,
        decode_get_request(encoded) or b"",
        get=True,
        if_none_match=request.headers.get("if-none-match"),
    )


@router.get(
    "/crl/{name}.crl",
    response_class=Response,
    responses={200: {"content": {PKIX_CRL: {}}, "description": "A DER CRL."}},
)
@raises("NOT_FOUND", "ROOT_KEY_NOT_PRESENT")
def crl(name: str, request: Request, center: CenterDep) -> Response:
    """A CRL: ``root`` (the root CA's), ``<family>-<n>`` (partition n of the family's CRL,
    as named in a certificate's CRL distribution point) or ``<family>`` (the complete one).
    A partition is published under every URL certificates still valid name; the one whose
    host and path are the request's (its ``Host`` header) is sent, so a certificate issued
    under an earlier public URL gets the CRL that names that URL."""
    status = revocation_status(center)
    partition = status.crls.partition_named(name)
    if partition is None:
        raise CertCenterError("NOT_FOUND")
    requested = str(request.url.replace(query=None, fragment=None))
    url = status.crls.serving_url(partition.family, partition.shard, requested)
    record = status.crls.current(partition.family, partition.shard, url)
    now = center.clock.now()
    remaining = as_utc(record.next_update) - now
    max_age = int(max(min(remaining, CRL_MAX_AGE).total_seconds(), 0))
    return Response(
        bytes(record.der),
        media_type=PKIX_CRL,
        headers={
            "Cache-Control": f"max-age={max_age}, public, no-transform",
            "Last-Modified": http_date(record.this_update),
            "Expires": http_date(record.next_update),
            "ETag": f'"{record.family}-{record.shard}-{record.number}"',
        },
    )
