"""The center's time-stamping authority over HTTP (RFC 3161 §3.4).

    POST /tsa      Content-Type: application/timestamp-query → application/timestamp-reply

    openssl ts -query -data file -sha256 -cert -out q.tsq
    curl --data-binary @q.tsq -H 'Content-Type: application/timestamp-query' $URL/tsa -o r.tsr
    openssl ts -verify -data file -in r.tsr -CAfile root-ca.pem

The body is one DER TimeStampReq; the answer is one TimeStampResp with status 200 — a query
the authority does not grant too, as PKIStatus rejection with its failInfo (badAlg,
badDataFormat, unacceptedPolicy, unacceptedExtension: :mod:`certcenter.tsa.authority`); while
the key backend is away, rejection with systemFailure and the catalog code as its text
(``KEY_TOKEN_UNAVAILABLE``), status 503 and ``Retry-After``. A
request with another content type gets a 415 problem document (``TSA_CONTENT_TYPE_WRONG``),
a body over 4 KiB a 413 (``REQUEST_TOO_LARGE``); a fault is PKIStatus rejection with
systemFailure, logged with an incident number.
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
from certcenter.tsa import MAX_QUERY_BYTES, Rejection, TimeStampAuthority

router = APIRouter(tags=["time-stamping (타임스탬프)"])
log = logging.getLogger("certcenter.api.tsa")

TIMESTAMP_QUERY = "application/timestamp-query"
TIMESTAMP_REPLY = "application/timestamp-reply"

_TSA_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {TIMESTAMP_REPLY: {}},
        "description": "A DER TimeStampResp: granted with a token, or rejected with failInfo.",
    },
    503: {
        "content": {TIMESTAMP_REPLY: {}},
        "description": "Rejected with systemFailure: the key backend is away for now "
        "(KEY_TOKEN_UNAVAILABLE); Retry-After says when to ask again.",
    },
}
_TSA_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            TIMESTAMP_QUERY: {
                "schema": {
                    "type": "string",
                    "contentMediaType": TIMESTAMP_QUERY,
                    "maxLength": MAX_QUERY_BYTES,
                }
            }
        },
    }
}


@router.post("/tsa", response_class=Response, responses=_TSA_DOC, openapi_extra=_TSA_BODY)
@raises("TSA_CONTENT_TYPE_WRONG")
async def tsa(request: Request, center: CenterDep) -> Response:
    """One RFC 3161 time-stamp query (DER TimeStampReq): SHA-256, SHA-384 or SHA-512
    imprint, optional nonce and certReq. See docs/time-stamping.md."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != TIMESTAMP_QUERY:
        raise CertCenterError("TSA_CONTENT_TYPE_WRONG")
    body = await request.body()
    if len(body) > MAX_QUERY_BYTES:
        raise CertCenterError("REQUEST_TOO_LARGE", limit=f"{MAX_QUERY_BYTES // 1024} KiB")
    try:
        answer = await run_in_threadpool(center.tsa.respond, body)
    except CertCenterError as error:
        if error.http_status == 503:  # the key backend is away for now
            log.warning("time-stamp query not answered: %s (%s)", error.code, error.cause("en"))
            return Response(
                TimeStampAuthority.rejection(Rejection("system_failure", error.code)),
                status_code=503,
                media_type=TIMESTAMP_REPLY,
                headers={"Cache-Control": "no-store", "Retry-After": "5"},
            )
        answer = _failed()
    except Exception:  # noqa: BLE001 - logged with its traceback by _failed
        answer = _failed()
    return Response(answer, media_type=TIMESTAMP_REPLY, headers={"Cache-Control": "no-store"})


def _failed() -> bytes:
    """systemFailure for a fault, logged with its traceback and an incident number."""
    incident = secrets.token_hex(4)
    log.exception("time-stamp query failed (incident %s)", incident)
    return TimeStampAuthority.rejection(
        Rejection("system_failure", f"the authority failed (incident {incident})")
    )
