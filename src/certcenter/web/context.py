"""What every web request knows about itself: the center, the language, web or API path.

center = center_of(request)      # the Center the app serves (tests swap it)
locale = locale_of(request)      # "ko" unless the ``lang`` cookie says "en"
is_web_path("/demo")             # True; "/v1/…", "/sim/…", "/ocsp/…" are the API's
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from certcenter.errors import Locale
from certcenter.http_common.request_facts import center_of

__all__ = ["API_SEGMENTS", "center_of", "is_web_path", "locale_of"]

LANG_COOKIE = "lang"
DEFAULT_LOCALE: Locale = "ko"
LOCALES: tuple[Locale, ...] = ("ko", "en")

# First path segments that belong to the API and the machine-readable endpoints: their errors
# stay problem documents. Every other path is the web center's (pages, /static, /lang).
API_SEGMENTS = frozenset(
    {
        "v1",
        "sim",
        "ocsp",
        "crl",
        "ca",
        "cmp",
        "tsa",
        ".well-known",
        "healthz",
        "readyz",
        "docs",
        "openapi.json",
        "redoc",
    }
)


def locale_of(request: HTTPConnection) -> Locale:
    """Korean by default; English when the visitor chose it (the ``lang`` cookie)."""
    chosen = request.cookies.get(LANG_COOKIE)
    for locale in LOCALES:
        if chosen == locale:
            return locale
    return DEFAULT_LOCALE


def is_web_path(path: str) -> bool:
    first = path.lstrip("/").split("/", 1)[0]
    return first not in API_SEGMENTS
