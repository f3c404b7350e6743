"""Pages from Jinja2 templates, in the visitor's language, inside the center's frame.

    return render(request, "demo/phone.html", {"phone": phone, "inbox": inbox})
    return render(request, "demo/calls.html", {...}, error=exc)   # the page with an error box
    flash(request, "demo.calls.declined")                          # shown on the next page

Templates extend ``base.html`` (blocks ``title``, ``content``, ``head``) and import
``macros.html`` ``with context`` (``steps``, ``error_box``, ``csrf_field``, ``field``,
``button``). Every visible word comes from ``t('key', **values)``: the UI texts in
``certcenter/errors/texts.toml``, beside the error catalog. No inline scripts or styles: the
Content-Security-Policy refuses them; JS and CSS live in ``web/static``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi.responses import HTMLResponse
from starlette.requests import Request

from certcenter.clock import KST, as_utc
from certcenter.errors import CertCenterError, Locale
from certcenter.errors.catalog import text
from certcenter.web.context import center_of, locale_of
from certcenter.web.security import CSRF_FIELD, CSRF_HEADER, csrf_token
from certcenter.web.sessions import session_bar, web_session_token

_FLASH_KEY = "flash"


@dataclass(frozen=True)
class NavItem:
    """A link of the main menu: ``key`` names its text in texts.toml."""

    href: str
    key: str
    sims_only: bool = False  # shown only where the demo simulators are switched on

    def is_current(self, path: str) -> bool:
        if self.href == "/":
            return path == "/"
        return path == self.href or path.startswith(self.href + "/")


# The main menu. Pages that do not exist yet answer with the 404 page until they are added.
NAV: tuple[NavItem, ...] = (
    NavItem("/", "nav.home"),
    NavItem("/issue", "nav.issue"),
    NavItem("/joint", "nav.joint"),
    NavItem("/login", "nav.login"),
    NavItem("/transfer", "nav.transfer"),
    NavItem("/my", "nav.my"),
    NavItem("/why", "nav.diagnosis"),
    NavItem("/help", "nav.help"),
    NavItem("/demo", "nav.demo", sims_only=True),
)


def kst(value: datetime | None) -> str:
    """``2026-11-23 10:00:00`` in Korea time (the simulators store UTC)."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


def phone_number(value: str) -> str:
    """``01020000001`` → ``010-2000-0001``."""
    if value.isdigit() and len(value) == 11:
        return f"{value[:3]}-{value[3:7]}-{value[7:]}"
    if value.isdigit() and len(value) == 10:
        return f"{value[:3]}-{value[3:6]}-{value[6:]}"
    return value


@jinja2.pass_context
def won(context: jinja2.runtime.Context, amount: int) -> str:
    """``1,500,000원`` / ``KRW 1,500,000``."""
    locale: Locale = context["locale"]
    return text("format.won", locale, amount=f"{amount:,}")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("certcenter.web", "templates"),
        autoescape=jinja2.select_autoescape(("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(kst=kst, won=won, phone=phone_number)
    return env


ENVIRONMENT = _environment()


def flash(request: Request, key: str, /, kind: str = "info", **values: str | int) -> None:
    """A message for the next page this browser shows (after a redirect): the text ``key``
    with ``values``, in whatever language that page is shown. ``kind``: info | success."""
    pending = list(request.session.get(_FLASH_KEY) or [])
    pending.append({"key": key, "kind": kind, "values": values})
    request.session[_FLASH_KEY] = pending[-5:]


def _take_flashes(request: Request, locale: Locale) -> list[dict[str, str]]:
    pending = request.session.pop(_FLASH_KEY, None) or []
    shown = []
    for item in pending:
        try:
            words = text(str(item["key"]), locale, **dict(item.get("values") or {}))
        except (KeyError, TypeError, ValueError):
            continue  # a message from an older version of the center: drop it
        shown.append({"kind": str(item.get("kind", "info")), "text": words})
    return shown


def _here(request: Request) -> str:
    """Where the language switch returns to: this page (a POST's answer: the home page)."""
    if request.method not in ("GET", "HEAD"):
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


@dataclass(frozen=True)
class CodeClock:
    """A time-limited code's countdown as ``ui.countdown`` writes it: the expiry the center
    stored (ISO 8601, UTC) and the whole seconds left when the page was made."""

    expires_at: str
    seconds_left: int

    @property
    def clock(self) -> str:
        """``03:00``: the time left as mm:ss."""
        return f"{self.seconds_left // 60:02d}:{self.seconds_left % 60:02d}"

    @property
    def minutes(self) -> int:
        """The minutes left, rounded up (what the screen reader hears)."""
        return -(-self.seconds_left // 60)


def code_clock(expires_at: datetime | str, now: datetime) -> CodeClock:
    """The countdown to ``expires_at`` (a datetime or its ISO text) seen at ``now``."""
    when = datetime.fromisoformat(expires_at) if isinstance(expires_at, str) else expires_at
    when = as_utc(when)
    left = (when - as_utc(now)).total_seconds()
    return CodeClock(expires_at=when.isoformat(), seconds_left=max(0, -int(-left // 1)))


def translator(locale: Locale) -> Callable[..., str]:
    """``t('key', **values)`` for templates: the UI text in this page's language."""

    def t(key: str, /, **values: object) -> str:
        return text(key, locale, **values)

    return t


def base_context(request: Request, locale: Locale) -> dict[str, Any]:
    """What ``base.html`` and the macros need on every page."""
    settings = center_of(request).settings
    path = request.url.path
    other: Locale = "en" if locale == "ko" else "ko"
    return {
        "request": request,
        "locale": locale,
        "other_locale": other,
        "t": translator(locale),
        "bank_name": settings.bank_name,
        "customer_center_phone": settings.customer_center_phone,
        "sims_enabled": settings.sims_enabled,
        "nav": [
            {"href": item.href, "key": item.key, "current": item.is_current(path)}
            for item in NAV
            if settings.sims_enabled or not item.sims_only
        ],
        "lang_switch_href": f"/lang/{other}?next={quote(_here(request), safe='/')}",
        "csrf_token": csrf_token(request),
        "csrf_field_name": CSRF_FIELD,
        "csrf_header_name": CSRF_HEADER,
        "signed_in": web_session_token(request) is not None,
        "session_bar": session_bar(request),
        "flashes": _take_flashes(request, locale),
        "error": None,
        "code_clock": lambda expires_at: code_clock(expires_at, center_of(request).clock.now()),
    }


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int | None = None,
    error: CertCenterError | None = None,
) -> HTMLResponse:
    """The page ``template`` with ``context``; with ``error`` its box is shown at the top of
    the page and the status is the catalog's (unless ``status_code`` says otherwise)."""
    locale = locale_of(request)
    values = base_context(request, locale)
    clash = set(context or {}) & set(values)
    if clash:
        raise ValueError(f"{template}: {sorted(clash)} are the frame's names; choose others")
    values.update(context or {})
    if error is not None:
        values["error"] = error
    status = status_code or (error.http_status if error is not None else 200)
    html = ENVIRONMENT.get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers={"Content-Language": locale})
