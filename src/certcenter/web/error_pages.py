"""Errors on web paths become pages: the catalog's error box and the catalog's status.

    error_page(request, CertCenterError("NOT_FOUND"))   # what a failing web route shows
    install_handlers(app)        # unknown web paths → the 404 page; API paths keep problem+json

A web route never shows a stack trace: anything unexpected is logged with an incident number
and the visitor sees ``INTERNAL_ERROR`` with that number.
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from certcenter.errors import CertCenterError, term
from certcenter.web.context import is_web_path
from certcenter.web.rendering import render

log = logging.getLogger("certcenter.web")

_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "REQUEST_TOO_LARGE"}


# Refusals whose way forward is a login: the error page links /login, back to this page after.
LOGIN_CODES = frozenset(
    {"WEB_LOGIN_REQUIRED", "WEB_FINANCIAL_LOGIN_REQUIRED", "SESSION_EXPIRED", "SESSION_INVALID"}
)


def _login_href(request: Request, error: CertCenterError) -> str | None:
    if error.code not in LOGIN_CODES:
        return None
    if request.method not in ("GET", "HEAD"):
        return "/login"
    return f"/login?next={quote(request.url.path, safe='/')}"


def error_page(request: Request, error: CertCenterError) -> HTMLResponse:
    """The catalog's box; a refusal that a login lifts also links the login page."""
    return render(request, "error.html", {"login_href": _login_href(request, error)}, error=error)


def unexpected_page(request: Request, exc: Exception) -> Response:
    incident = secrets.token_hex(6)
    log.error(
        "incident %s: %s on %s %s",
        incident,
        type(exc).__name__,
        request.method,
        request.url.path,
        exc_info=exc,
    )
    error = CertCenterError("INTERNAL_ERROR", incident=incident)
    try:
        return error_page(request, error)
    except Exception:
        log.exception("incident %s: the error page failed too", incident)
        return HTMLResponse(
            f"<!doctype html><title>{error.code}</title><p>{error.message('ko')}</p>"
            f"<p>{error.message('en')}</p><p>{incident}</p>",
            status_code=500,
        )


def validation_error(exc: RequestValidationError) -> CertCenterError:
    """A form the page's own fields would not send: words for the customer (which field,
    for the log only), never what was typed into it."""
    parts = []
    for err in exc.errors()[:5]:
        where = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        parts.append(f"{'.'.join(where) or 'form'}: {err.get('type', 'invalid')}")
    log.info("invalid form: %s", "; ".join(parts))
    return CertCenterError("INVALID_REQUEST", detail=term("form.fields"))


def http_error(exc: StarletteHTTPException) -> CertCenterError:
    return CertCenterError(_HTTP_CODES.get(exc.status_code, "INVALID_REQUEST"), detail="request")


def install_handlers(app: FastAPI) -> None:
    """Wrap the API's exception handlers: on a web path they render the error page, on any
    other path the API's own handler answers as before (problem documents)."""
    api_handlers = dict(app.exception_handlers)

    def wrap(kind: type[Exception], to_error: Callable[[Any], CertCenterError]) -> None:
        api_handler = api_handlers.get(kind)

        async def handler(request: Request, exc: Exception) -> Response:
            if is_web_path(request.url.path) or api_handler is None:
                return error_page(request, to_error(exc))
            result = api_handler(request, exc)
            if inspect.isawaitable(result):
                result = await result
            return cast(Response, result)

        app.add_exception_handler(kind, handler)

    wrap(CertCenterError, lambda exc: exc)
    wrap(RequestValidationError, validation_error)
    wrap(StarletteHTTPException, http_error)
