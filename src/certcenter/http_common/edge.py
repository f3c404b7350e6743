"""The edge of the HTTP server: what every request passes before any route or rule sees it.

    app.add_middleware(EdgeMiddleware, max_body=64 * 1024, too_large=answer_413, hsts=True)
    app = FastAPI(dependencies=[Depends(refuse_at_edge)])   # raises what the edge found

* The body limit is enforced on the bytes actually read (``Content-Length`` is only the fast
  path): a chunked body is counted chunk by chunk and answered ``REQUEST_TOO_LARGE`` as soon
  as it passes the limit, before any of it is parsed.
* Text is made canonical and clean: the strings of a JSON body and the values of a form are
  normalised to NFC (decomposed Hangul, as macOS and iOS send it, becomes the composed form);
  a control character is refused (``INVALID_REQUEST``): NUL in the path and the query, in a
  JSON body any C0 character and DEL in single-line fields (multi-line fields — PEM, base64
  that may be wrapped — keep tab, CR and LF, never NUL). Web pages refuse them in the form
  fields they read with :func:`single_line`, after their own checks. An OCSP GET carries a
  binary request in its path (RFC 6960, appendix A): garbage there is the responder's to answer
  (``malformedRequest``), not the edge's.
* A client that leaves before its body is complete (``http.disconnect`` while it is read)
  ends the request there, with a debug line: no route runs, no incident is logged.
* ``Strict-Transport-Security`` is added to every answer when the center is served on https
  or in production.

A refusal found while reading the body is kept in ``request.state`` and raised by
:func:`refuse_at_edge`, an app-wide dependency, so the API answers a problem document and the
web center its error page, each in its own way.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certcenter.errors import CertCenterError

log = logging.getLogger("certcenter.edge")
HSTS = "max-age=31536000; includeSubDomains"
_STATE_KEY = "edge_refusal"

# JSON fields whose value may span lines (PEM blocks, base64 that a client wraps).
MULTILINE_FIELDS = frozenset({"csr", "certificate", "public_key", "biometric_public_key"})
MULTILINE_SUFFIXES = ("_b64", "_pem")
_LINE_BREAKS = frozenset("\t\r\n")


_BINARY_PATHS = ("/ocsp/",)  # paths whose bytes a protocol of their own reads
#: The routes that take a photo (신분증 촬영: base64 in JSON from the app and the financial
#: certificate's API, a multipart upload from the web center's issuance) have a limit of
#: their own.
PHOTO_PATH = re.compile(
    r"/v1/enrollments/[^/]{1,64}/id/photo"
    r"|/v1/financial/enrollments/[^/]{1,64}/medium/photo"
    r"|/issue/medium/photo"
)
MAX_PHOTO_BODY_BYTES = 12 * 1024 * 1024


def body_limit(path: str, default: int) -> int:
    """The most bytes a request to ``path`` may send."""
    return MAX_PHOTO_BODY_BYTES if PHOTO_PATH.fullmatch(path) else default


def is_control(ch: str) -> bool:
    """A C0 control character or DEL."""
    return ch < " " or ch == "\x7f"


def control_character_in(text: str, *, multiline: bool = False) -> bool:
    """Whether ``text`` holds a control character refused in such a field (NUL always)."""
    if multiline:
        return any(is_control(ch) and ch not in _LINE_BREAKS for ch in text)
    return any(is_control(ch) for ch in text)


def _refusal(where: str) -> CertCenterError:
    return CertCenterError("INVALID_REQUEST", detail=f"{where}: control character")


def _multiline(key: str | None) -> bool:
    return key is not None and (key in MULTILINE_FIELDS or key.endswith(MULTILINE_SUFFIXES))


def clean_json(value: Any, key: str | None = None) -> Any:
    """The JSON value with every string in NFC; ``INVALID_REQUEST`` on a control character."""
    if isinstance(value, str):
        if control_character_in(value, multiline=_multiline(key)):
            raise _refusal(key or "body")
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [clean_json(item, key) for item in value]
    if isinstance(value, dict):
        cleaned = {}
        for name, item in value.items():
            if control_character_in(name):
                raise _refusal("body")
            cleaned[unicodedata.normalize("NFC", name)] = clean_json(item, name)
        return cleaned
    return value


def clean_form(body: bytes) -> tuple[list[tuple[str, str]], bool]:
    """Form fields (urlencoded) in NFC, and whether any changed. Control characters in a web
    form are refused by the page that reads the field (:func:`single_line`), after its own
    checks, so a page answers the refusal it always gave first."""
    pairs = parse_qsl(
        body.decode("latin-1"), keep_blank_values=True, encoding="utf-8", errors="replace"
    )
    cleaned = [(name, unicodedata.normalize("NFC", value)) for name, value in pairs]
    return cleaned, cleaned != pairs


def single_line(value: str, field: str) -> str:
    """``value`` in NFC; ``INVALID_REQUEST`` when it holds a control character."""
    if control_character_in(value):
        raise _refusal(field)
    return unicodedata.normalize("NFC", value)


def _clean_query(query: bytes) -> None:
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            raise _refusal("query")


def _clean_body(content_type: str, body: bytes) -> bytes | None:
    """The body to pass on in place of ``body`` (``None``: unchanged)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the route's own parsing answers INVALID_REQUEST
        try:
            cleaned = clean_json(parsed)
        except RecursionError:
            raise CertCenterError("INVALID_REQUEST", detail="body: nested too deep") from None
        if cleaned == parsed:
            return None
        return json.dumps(cleaned, ensure_ascii=False).encode("utf-8")
    if kind == "application/x-www-form-urlencoded":
        fields, changed = clean_form(body)
        return urlencode(fields).encode("ascii") if changed else None
    return None


TooLarge = Callable[[Scope, Receive, Send], Awaitable[None]]


class EdgeMiddleware:
    """The body limit on the bytes read, text canonical and clean, HSTS (see the module)."""

    def __init__(self, app: ASGIApp, *, max_body: int, too_large: TooLarge, hsts: bool) -> None:
        self.app = app
        self.max_body = max_body
        self.too_large = too_large
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.hsts:
            send = _with_hsts(send)
        headers = MutableHeaders(scope=scope)
        length = headers.get("content-length")
        limit = body_limit(scope["path"], self.max_body)
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self.too_large(scope, receive, send)
            return
        body, more = await self._read(receive, limit)
        if body is None:
            await self.too_large(scope, receive, send)
            return
        if not more:
            # the client left before its body was complete: no one to answer, nothing to do
            log.debug("client left during %s %s", scope["method"], scope["path"])
            return
        try:
            if "\x00" in scope["path"] and not scope["path"].startswith(_BINARY_PATHS):
                raise _refusal("path")
            _clean_query(scope.get("query_string", b""))
            replaced = _clean_body(headers.get("content-type", ""), body) if body else None
        except CertCenterError as refusal:
            scope.setdefault("state", {})[_STATE_KEY] = refusal
            replaced = None
        if replaced is not None:
            body = replaced
            headers["content-length"] = str(len(body))
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive, limit: int) -> tuple[bytes | None, bool]:
        """The whole body, or ``None`` as soon as it passes the limit; and whether the client
        is still connected (no ``http.disconnect`` seen)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None, True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), True


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_hsts(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message).setdefault("Strict-Transport-Security", HSTS)
        await send(message)

    return sending


async def refuse_at_edge(request: HTTPConnection) -> None:
    """An app-wide dependency: raise what the edge refused while reading the request (on the
    event loop: as a plain ``def`` it cost every request a hop to the thread pool)."""
    refusal = request.scope.get("state", {}).get(_STATE_KEY)
    if isinstance(refusal, CertCenterError):
        raise refusal
