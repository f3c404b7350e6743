"""The web center's defences: the session cookie, CSRF tokens and the response headers.

    app.add_middleware(SessionMiddleware, **session_cookie_options(center))
    app.add_middleware(WebHeadersMiddleware)
    csrf_token(request)            # the hidden ``csrf_token`` field / ``X-CSRF-Token`` header
    await verify_csrf(request)     # every router made by ``page_router()`` runs this

The session cookie is signed (itsdangerous) with a key derived from the key backend's
``web-session`` secret, so it changes with the key store and never sits in configuration.
It is HttpOnly and SameSite=Lax; ``Secure`` is set unless the center is configured on plain
http at a host other than this machine (see docs/web.md: browsers keep Secure cookies from
http://127.0.0.1 and http://localhost, but drop them from any other plain-http site).
"""

from __future__ import annotations

import ipaddress
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certcenter.bootstrap import WEB_SESSION_LABEL, Center
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.web.context import is_web_path

SESSION_COOKIE = "certcenter_web"
SESSION_MAX_AGE = 8 * 60 * 60  # a working day; a logged-in customer's API session ends sooner
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_CSRF_KEY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
WEB_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def session_secret(center: Center) -> str:
    """The signing key of the session cookie: an HMAC under the key backend's secret."""
    secrets = center.key_backends.secrets
    secrets.ensure_secret(WEB_SESSION_LABEL)  # a data directory set up before the web
    return secrets.mac(WEB_SESSION_LABEL, b"web-session-cookie").hex()


def cookie_secure(settings: Settings) -> bool:
    """Secure, unless the center is configured on plain http at a non-loopback host (there a
    browser would drop a Secure cookie, and no form of the center would work)."""
    url = urlsplit(settings.public_base_url)
    if url.scheme != "http":
        return True
    host = (url.hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def session_cookie_options(center: Center) -> dict[str, Any]:
    """Keyword arguments for Starlette's ``SessionMiddleware``."""
    return {
        "secret_key": session_secret(center),
        "session_cookie": SESSION_COOKIE,
        "max_age": SESSION_MAX_AGE,
        "same_site": "lax",
        "https_only": cookie_secure(center.settings),
    }


# ---------------------------------------------------------------- CSRF


def csrf_token(request: HTTPConnection) -> str:
    """This web session's CSRF token (made on first use; a new one after sign-in/out)."""
    token = request.session.get(_CSRF_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session[_CSRF_KEY] = token
    return token


def renew_csrf_token(request: HTTPConnection) -> None:
    request.session.pop(_CSRF_KEY, None)


async def verify_csrf(request: Request) -> None:
    """Refuse a state-changing request without this session's token (``WEB_CSRF_INVALID``):
    from the ``X-CSRF-Token`` header (JS fetches) or the ``csrf_token`` form field."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    content_type = request.headers.get("content-type", "")
    if sent is None and content_type.startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = request.session.get(_CSRF_KEY)
    if (
        not sent
        or not isinstance(expected, str)
        or not secrets.compare_digest(sent.encode(), expected.encode())
    ):
        raise CertCenterError("WEB_CSRF_INVALID")


# ---------------------------------------------------------------- headers


class WebHeadersMiddleware:
    """Adds the security headers to every response on a web path (not to the API's, whose
    /docs page needs its own scripts); pages are never cached, static files revalidated."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_web_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in WEB_HEADERS.items():
                    headers[name] = value
                headers["Cache-Control"] = "no-cache" if static else "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
