"""The web center (웹 인증센터): server-rendered pages over the same Center as the API.

Korean first, English with one click; every word from the UI texts beside the error
catalog; a signed HttpOnly session cookie, a CSRF token on every form, a strict
Content-Security-Policy (no inline script or style). See docs/web.md.

    app = create_app(center)                 # certcenter/server.py ends with web.install(app)

A page is a module in ``certcenter/web/pages`` and a template:

    router = page_router()

    @router.get("/my")
    def my_certificates(request: Request) -> HTMLResponse:
        session = require_customer(request)
        return render(request, "my.html", {"session": session})
"""

from __future__ import annotations

from certcenter.web.context import center_of, locale_of
from certcenter.web.error_pages import error_page
from certcenter.web.rendering import flash, render
from certcenter.web.routing import page_router
from certcenter.web.security import csrf_token
from certcenter.web.sessions import (
    current_customer,
    require_customer,
    sign_in,
    sign_out,
    web_session_token,
)
from certcenter.web.setup import install

__all__ = [
    "center_of",
    "csrf_token",
    "current_customer",
    "error_page",
    "flash",
    "install",
    "locale_of",
    "page_router",
    "render",
    "require_customer",
    "sign_in",
    "sign_out",
    "web_session_token",
]
