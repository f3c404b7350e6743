"""``/``: what the center offers — the financial, joint and mobile certificates, help."""

from __future__ import annotations

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from certcenter.web.context import center_of
from certcenter.web.rendering import render
from certcenter.web.routing import page_router

router = page_router()


@router.get("/")
def home(request: Request) -> HTMLResponse:
    fee = center_of(request).settings.policy.joint_general_fee_krw
    return render(request, "home.html", {"joint_fee": f"{fee:,}"})
