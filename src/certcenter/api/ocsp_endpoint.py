"""OCSP over HTTP on a short path: pure ASGI, in front of the app's middleware and router.

    endpoint = OcspEndpoint(max_body=64 * 1024, too_large=answer_413, hsts=True)
    if endpoint.handles(scope):              # in the app's __call__, before anything else
        await endpoint(scope, receive, send)

``POST /ocsp`` and ``GET /ocsp/{base64 DER}`` are answered here; anything else (another
method, another path) is the app's, where the routes in ``api/routes/status.py``
describe the same endpoints in the OpenAPI document and answer what reaches them.

What the rest of the stack did for these two requests, done here for them alone:

- the body limit: ``Content-Length`` over ``max_body`` (or a body that grows past it) is
  ``REQUEST_TOO_LARGE`` (413 problem document); a body over ``MAX_OCSP_BODY`` is answered
  ``malformedRequest``, as is anything that is not a request;
- ``Cache-Control: no-store`` unless the answer is cacheable (RFC 5019 §6.2: a GET answered
  with a successful response without nonce, with ``max-age`` (at most
  ``policy.ocsp_http_max_age_seconds``), ``Last-Modified``, ``Expires`` and ``ETag``;
  ``If-None-Match`` naming it is ``304``), ``X-Content-Type-Options: nosniff``,
  and ``Strict-Transport-Security`` when the center is on https or in production;
- a fault is an OCSP ``internalError`` (status 200: OCSP clients read the body), logged
  with its traceback, never a problem document; a part that is away for now (the HSM:
  ``KEY_TOKEN_UNAVAILABLE``) is ``tryLater`` with status 503, ``Retry-After`` and one log
  line naming the code, so a load balancer sends the client elsewhere; a client that leaves
  while its body is read gets nothing.

An answer held in the worker's memory (:meth:`OcspResponder.held`) is sent from the event
loop: no thread hop, no database. Anything else (a miss, a nonce, a request to parse) runs
:meth:`OcspResponder.answer` in the thread pool. When half the staleness bound has passed
since the change log was last read, a read is started in a thread after the answer is sent.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

from cryptography.x509.ocsp import OCSPResponseStatus
from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from certcenter.bootstrap import Center
from certcenter.clock import as_utc
from certcenter.http_common.edge import HSTS, TooLarge
from certcenter.pki.ocsp import decode_get_request, whole_seconds
from certcenter.revocation import OcspAnswer, OcspResponder

__all__ = [
    "MAX_OCSP_BODY",
    "OCSP_REQUEST",
    "OCSP_RESPONSE",
    "OcspEndpoint",
    "etag_matches",
    "ocsp_cache_headers",
    "ocsp_etag",
]

log = logging.getLogger("certcenter.ocsp")

OCSP_REQUEST = "application/ocsp-request"
OCSP_RESPONSE = "application/ocsp-response"
MAX_OCSP_BODY = 8 * 1024
_GET_PREFIX = "/ocsp/"
_CONTENT_TYPE = (b"content-type", OCSP_RESPONSE.encode("ascii"))
_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")
_RETRY_AFTER = (b"retry-after", b"5")
_HSTS = (b"strict-transport-security", HSTS.encode("ascii"))
_DATE_LAG = timedelta(seconds=1)  # how far the server's Date header may lag our clock
_checks: set[asyncio.Future[None]] = set()  # background reads of the change log under way


@lru_cache(maxsize=4096)
def http_date(when: datetime) -> str:
    """An HTTP date (RFC 9110 §5.6.7); a response's dates are formatted once."""
    return format_datetime(as_utc(when), usegmt=True)


def ocsp_etag(der: bytes) -> str:
    """The strong entity tag of a DER OCSP response: a digest of its bytes, so that a
    re-signed response (new thisUpdate, new signature) always has a new one."""
    return '"' + OcspAnswer(der).digest[:32] + '"'


def _etag(answer: OcspAnswer) -> str:
    return '"' + answer.digest[:32] + '"'


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: ``*`` or any listed tag equal under the weak comparison."""
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def ocsp_cache_headers(
    answer: OcspAnswer, now: datetime, margin: timedelta, max_age_cap: int
) -> dict[str, str]:
    """RFC 5019 §6.2: a successful response without nonce may be cached, for at most
    ``max_age_cap`` seconds (``policy.ocsp_http_max_age_seconds``: a suspension must reach
    relying parties behind caches that soon) and never past the time the center would
    refresh it; anything else is not cached (no headers here: the default no-store). The
    responder tells what the response says (no parsing of the DER here).

    ``Last-Modified`` is the response's thisUpdate, but never later than the second before
    ``now``: the server's ``Date`` is read from a clock it updates once a second, and a
    validator later than ``Date`` is not one (RFC 9110 §8.8.2.1). ``Expires`` says what
    ``max-age`` says, for HTTP/1.0 caches."""
    if not answer.cacheable or answer.this_update is None or answer.next_update is None:
        return {}
    now = whole_seconds(now)
    until_refresh = int((answer.next_update - margin - now).total_seconds())
    max_age = max(min(until_refresh, max_age_cap), 0)
    return {
        "Cache-Control": f"max-age={max_age}, public, no-transform, must-revalidate",
        "Last-Modified": http_date(min(answer.this_update, now - _DATE_LAG)),
        "Expires": http_date(now + timedelta(seconds=max_age)),
        "ETag": _etag(answer),
    }


def _cache_headers(
    answer: OcspAnswer, now: datetime, margin: timedelta, max_age_cap: int
) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower().encode("ascii"), value.encode("ascii"))
        for name, value in ocsp_cache_headers(answer, now, margin, max_age_cap).items()
    ]


class OcspEndpoint:
    """OCSP answered before the rest of the app (see the module docstring): the app asks
    :meth:`handles` first and, if so, calls the endpoint instead of its own stack."""

    def __init__(self, *, max_body: int, too_large: TooLarge, hsts: bool) -> None:
        self.max_body = max_body
        self.too_large = too_large
        self.hsts = hsts

    @staticmethod
    def handles(scope: Scope) -> bool:
        """``POST /ocsp`` or ``GET /ocsp/…`` (anything else is the app's)."""
        if scope["type"] != "http":
            return False
        method = scope["method"]
        path: str = scope["path"]
        return (method == "POST" and path == "/ocsp") or (
            method == "GET" and path.startswith(_GET_PREFIX)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request :meth:`handles` (``scope["app"]`` is the app serving the center)."""
        if scope["method"] == "POST":
            await self._post(scope, receive, send)
            return
        segment = scope["path"][len(_GET_PREFIX) :]
        await self._answer(scope, send, decode_get_request(segment) or b"", get=True)

    async def _post(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await self._too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                log.debug("client left during POST /ocsp")
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks) if size <= MAX_OCSP_BODY else b""  # b"": malformedRequest
        await self._answer(scope, send, body, get=False)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.hsts:
            await self.too_large(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], _HSTS]
            await send(message)

        await self.too_large(scope, receive, sending)

    async def _answer(self, scope: Scope, send: Send, der: bytes, *, get: bool) -> None:
        center: Center = scope["app"].state.center
        responder = center.revocation.ocsp
        try:
            answer = responder.held(der)
            if answer is None:
                answer = await run_in_threadpool(responder.answer, der)
        except Exception:  # the protocol has an answer for our faults too
            log.exception("OCSP: internal error")
            answer = OcspAnswer.unsuccessful(OCSPResponseStatus.INTERNAL_ERROR)
        headers = [_NOSNIFF]
        if self.hsts:
            headers.append(_HSTS)
        status = 200
        body = answer.der
        if answer.unavailable is not None:  # tryLater: the HSM or the database is away
            status = 503
            headers += [_NO_STORE, _RETRY_AFTER]
        elif get and answer.cacheable and answer.next_update is not None:
            policy = center.settings.policy
            margin = timedelta(minutes=policy.ocsp_refresh_margin_minutes)
            cache = _cache_headers(
                answer, center.clock.now(), margin, policy.ocsp_http_max_age_seconds
            )
            headers += cache
            match = _header(scope, b"if-none-match")
            if match is not None and etag_matches(match, cache[-1][1].decode("ascii")):
                status, body = 304, b""
        else:
            headers.append(_NO_STORE)
        if status != 304:
            headers += [_CONTENT_TYPE, (b"content-length", str(len(body)).encode("ascii"))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        _check_later(responder)


def _check_later(responder: OcspResponder) -> None:
    """Start a read of the change log in a thread when one is due (see the module)."""
    if not responder.check_due():
        return
    future = asyncio.get_running_loop().run_in_executor(None, responder.check_changes_in_background)
    _checks.add(future)
    future.add_done_callback(_checks.discard)


def _header(scope: Scope, name: bytes) -> str | None:
    headers: Any = scope["headers"]
    for key, value in headers:
        if key == name:
            return str(value.decode("latin-1"))
    return None
