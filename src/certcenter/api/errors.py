"""Every error leaves the API as an RFC 9457 problem document built from the catalog.

    {"type": "urn:certcenter:error:PIN_WEAK", "status": 422, "code": "PIN_WEAK",
     "title": "This PIN is too easy to guess.", "detail": "<message in the asked language>",
     "message": {"ko": ..., "en": ...}, "cause": {...}, "remedy": {...}}

The language of ``title``/``detail`` follows ``Accept-Language`` (Korean by default). Request
bodies are never echoed back: a validation error names the field, not what was typed into it.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from certcenter.api import contract
from certcenter.errors import CertCenterError, Locale

log = logging.getLogger("certcenter.api")
PROBLEM = "application/problem+json"


def locale_of(request: Request) -> Locale:
    header = request.headers.get("accept-language", "")
    first = header.split(",")[0].strip().lower()
    if first.startswith("en"):
        return "en"
    return "ko"


def problem(error: CertCenterError, request: Request) -> JSONResponse:
    contract.check(request, error.code)
    locale = locale_of(request)
    body: dict[str, Any] = {
        "type": f"urn:certcenter:error:{error.code}",
        "status": error.http_status,
        "code": error.code,
        "title": error.message(locale),
        "detail": f"{error.cause(locale)} {error.remedy(locale)}",
        "instance": request.url.path,
        "message": {"ko": error.message("ko"), "en": error.message("en")},
        "cause": {"ko": error.cause("ko"), "en": error.cause("en")},
        "remedy": {"ko": error.remedy("ko"), "en": error.remedy("en")},
    }
    public_context = {k: v for k, v in error.context.items() if k in _PUBLIC_CONTEXT}
    if public_context:
        body["context"] = public_context
    headers: dict[str, str] = {"Content-Language": locale}
    if error.code == "TOO_MANY_ATTEMPTS" and "until" in error.context:
        headers["X-Blocked-Until"] = str(error.context["until"])
    if error.code in _WAIT_CODES and isinstance(error.context.get("seconds"), int):
        headers["Retry-After"] = str(error.context["seconds"])
    return JSONResponse(body, status_code=error.http_status, media_type=PROBLEM, headers=headers)


# Refusals that end by themselves after ``seconds``: the answer says so in Retry-After.
_WAIT_CODES = frozenset({"SMS_RESEND_TOO_SOON", "SMS_LIMIT_REACHED"})

# Context values safe and useful for a client program to read.
_PUBLIC_CONTEXT = frozenset(
    {
        "tries_left",
        "remaining",
        "limit",
        "max_amount",
        "idle_minutes",
        "max_tries",
        "max_resends",
        "state",
        "step",
        "until",
        "minimum",
        "missing",
        "allowed",
        "found",
        "detail",
        "max_devices",  # financial certificate: the device limit
        "max_failures",
        "seconds",
        "alternative_code",  # transfers: the medium that would take the amount
        "bank_limit",
    }
)


def _field_summary(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'body'}: {err.get('type', 'invalid')}")
    return "; ".join(parts)


def install(app: FastAPI) -> None:
    @app.exception_handler(CertCenterError)
    async def _domain(request: Request, exc: CertCenterError) -> JSONResponse:
        return problem(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(CertCenterError("INVALID_REQUEST", detail=_field_summary(exc)), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            return method_not_allowed(request)
        code = {404: "NOT_FOUND", 413: "REQUEST_TOO_LARGE"}.get(exc.status_code, "INVALID_REQUEST")
        error = CertCenterError(code, detail="malformed request")
        return problem(error, request)


def method_not_allowed(request: Request) -> Response:
    """A method the path does not answer: 405 with ``Allow`` (every method of every route at
    the path, not only the first one matched). ``OPTIONS`` is answered ``204`` with the same
    ``Allow``: the API allows no other origin, so there is no CORS preflight to answer."""
    allow = ", ".join(contract.allowed_methods(request))
    if request.method == "OPTIONS":
        return Response(status_code=204, headers={"Allow": allow})
    response = problem(CertCenterError("METHOD_NOT_ALLOWED", detail="method"), request)
    response.headers["Allow"] = allow
    return response


def unexpected(request: Request, exc: Exception) -> JSONResponse:
    """Anything else: logged with an incident number for the operator; the caller gets the
    number and the catalog's words, never the exception. (Used by the app's outermost
    middleware, so the server sees a finished response rather than an exception.)"""
    incident = secrets.token_hex(6)
    log.error(
        "incident %s: %s on %s %s",
        incident,
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    return problem(CertCenterError("INTERNAL_ERROR", incident=incident), request)
