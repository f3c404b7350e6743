"""The logged-in customer of a browser: the API session token kept in the web session.

A login page (added later) opens an API session as the app does and keeps its token in the
signed, HttpOnly session cookie; every page then asks who is logged in:

    opened = center.login.finish(...)          # an OpenedSession
    sign_in(request, opened)                   # new web session: token kept, CSRF renewed
    session = current_customer(request)        # entities.Session, or None
    session = require_customer(request)        # or WEB_LOGIN_REQUIRED / SESSION_EXPIRED
    sign_out(request)                          # ends the API session too
    bar = session_bar(request)                 # the header's who / time left, or None

The token is never put in a URL or a page; it lives only in the cookie and the center keeps
only its SHA-256 (``usage/sessions.py``), with the policy's idle timeout and absolute end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from certcenter.clock import as_utc
from certcenter.entities import Session
from certcenter.errors import CertCenterError
from certcenter.usage.sessions import SESSION_GONE, OpenedSession
from certcenter.web.context import center_of

log = logging.getLogger("certcenter.web")
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


@dataclass(frozen=True)
class SessionBar:
    """What the header shows of a logged-in browser: who, and the seconds left before the
    idle logout (or the session's absolute end, whichever is first)."""

    name: str
    seconds_left: int
    idle_minutes: int

    @property
    def clock(self) -> str:
        """``4:59``: the time left as the header shows it."""
        return f"{self.seconds_left // 60}:{self.seconds_left % 60:02d}"


def session_bar(request: HTTPConnection) -> SessionBar | None:
    """The header's session bar for this browser (None when nobody is logged in). Showing a
    page is a use: the idle deadline moves, as for any request of the session."""
    if web_session_token(request) is None:
        return None
    center = center_of(request)
    try:
        session = current_customer(request)
        if session is None:
            return None
        with center.uow_factory() as uow:
            customer = uow.customers.get(session.customer_id)
    except Exception:  # the header must never break a page (an error page too)
        log.warning("session bar left out", exc_info=True)
        return None
    now = center.clock.now()
    idle = center.settings.policy.session_idle_minutes
    end = min(now.timestamp() + idle * 60, as_utc(session.expires_at).timestamp())
    return SessionBar(
        name=customer.name if customer else "",
        seconds_left=max(0, int(end - now.timestamp())),
        idle_minutes=idle,
    )
