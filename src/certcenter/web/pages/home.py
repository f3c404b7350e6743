"""``/``: what the center offers — the financial certificate, the mobile certificate, help."""

from __future__ import annotations

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from certcenter.web.rendering import render
from certcenter.web.routing import page_router

router = page_router()


@router.get("/")
def home(request: Request) -> HTMLResponse:
    return render(request, "home.html")
