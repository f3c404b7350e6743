"""``/lang/{ko|en}?next=/path``: choose the language (a cookie) and go back to the page.

Only a path of this site is followed: anything else (``//evil.example``, ``https://…``,
``/\\evil``) sends the visitor to the home page instead — no open redirect.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import Query
from fastapi.responses import RedirectResponse
from starlette.requests import Request

from certcenter.web.context import LANG_COOKIE, center_of
from certcenter.web.routing import page_router
from certcenter.web.security import cookie_secure

router = page_router()
ONE_YEAR = 365 * 24 * 60 * 60


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``."""
    if not target or len(target) > 2000:
        return "/"
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if "\\" in target or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


@router.get("/lang/{locale}")
def choose_language(
    request: Request,
    locale: Literal["ko", "en"],
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> RedirectResponse:
    response = RedirectResponse(local_path(next_path), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        locale,
        max_age=ONE_YEAR,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_secure(center_of(request).settings),
    )
    return response
