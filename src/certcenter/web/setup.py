"""Puts the web center onto the app beside the API (``certcenter/server.py`` calls ``install``).

app = create_app(center)      # … api.install(app), then web.install(app) at its end
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.formparsers import MultiPartParser
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles

from certcenter.bootstrap import Center
from certcenter.http_common.edge import MAX_PHOTO_BODY_BYTES
from certcenter.web import pages
from certcenter.web.error_pages import install_handlers
from certcenter.web.security import WebHeadersMiddleware, session_cookie_options

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """The pages, ``/static``, the signed session cookie, the security headers and the error
    pages. Call after the API's routes and error handlers are in place."""
    center: Center = app.state.center
    # An uploaded file stays in memory up to this size before Starlette would move it to a
    # temporary file; no body may be larger (the edge's limit), so an ID photo uploaded to
    # the issuance is never written to the disk.
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, MAX_PHOTO_BODY_BYTES)
    for router in pages.routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_handlers(app)
    app.add_middleware(SessionMiddleware, **session_cookie_options(center))
    app.add_middleware(WebHeadersMiddleware)
