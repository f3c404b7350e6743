"""The logged-in customer of a browser: the API session token kept in the web session.

A login page (added later) opens an API session as the app does and keeps its token in the
signed, HttpOnly session cookie; every page then asks who is logged in:

    opened = center.login.finish(...)          # an OpenedSession
    sign_in(request, opened)                   # new web session: token kept, CSRF renewed
    session = current_customer(request)        # entities.Session, or None
    session = require_customer(request)        # or WEB_LOGIN_REQUIRED / SESSION_EXPIRED
    sign_out(request)                          # ends the API session too

The token is never put in a URL or a page; it lives only in the cookie and the center keeps
only its SHA-256 (``usage/sessions.py``), with the policy's idle timeout and absolute end.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from certcenter.entities import Session
from certcenter.errors import CertCenterError
from certcenter.usage.sessions import SESSION_GONE, OpenedSession
from certcenter.web.context import center_of

_TOKEN_KEY = "api_token"  # noqa: S105 - the name of a session field, not a secret
_GONE = frozenset({"WEB_LOGIN_REQUIRED", *SESSION_GONE})  # the token is forgotten


def web_session_token(request: HTTPConnection) -> str | None:
    """The API session token of the logged-in customer, if this browser holds one."""
    token = request.session.get(_TOKEN_KEY)
    return token if isinstance(token, str) and token else None


def require_customer(request: HTTPConnection) -> Session:
    """The open API session of this browser (its idle deadline moves), else the refusal:
    ``WEB_LOGIN_REQUIRED`` without a login, ``SESSION_EXPIRED`` / ``SESSION_INVALID`` after
    one (the stale token is then forgotten)."""
    token = web_session_token(request)
    if token is None:
        raise CertCenterError("WEB_LOGIN_REQUIRED")
    try:
        return center_of(request).sessions.resolve(token)
    except CertCenterError as exc:
        if exc.code in _GONE:
            request.session.pop(_TOKEN_KEY, None)
        raise


def current_customer(request: HTTPConnection) -> Session | None:
    """Like :func:`require_customer`, but None when nobody is logged in (any more)."""
    try:
        return require_customer(request)
    except CertCenterError as exc:
        if exc.code in _GONE:
            return None
        raise


def sign_in(request: HTTPConnection, opened: OpenedSession) -> None:
    """Start a fresh web session for the customer of ``opened``: whatever the browser held
    before (another login, the old CSRF token) is dropped, against session fixation."""
    request.session.clear()  # the CSRF token too: the next page makes a new one
    request.session[_TOKEN_KEY] = opened.token


def sign_out(request: HTTPConnection) -> None:
    """End the API session (if it is still open) and forget everything of this web session."""
    token = web_session_token(request)
    request.session.clear()
    if token is not None:
        try:
            center_of(request).sessions.close(token)
        except CertCenterError as exc:
            if exc.code not in _GONE:
                raise
