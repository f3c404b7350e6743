"""``POST /session/extend`` (연장): the header's session bar keeps the login open for another
idle period, then sends the browser back to the page it was on (Post/Redirect/Get).

    <form method="post" action="/session/extend"> csrf_token, next=/my </form>  → 303 /my

The session is used like any page (its idle deadline moves; it never outlives its absolute
end). After the idle logout it is ``SESSION_EXPIRED``, whose page links 로그인.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form
from fastapi.responses import RedirectResponse
from starlette.requests import Request

from certcenter.web.context import center_of
from certcenter.web.pages.language import local_path
from certcenter.web.rendering import flash
from certcenter.web.routing import page_router
from certcenter.web.sessions import require_customer

router = page_router()


@router.post("/session/extend")
def extend(
    request: Request, next_path: Annotated[str, Form(alias="next", max_length=300)] = "/"
) -> RedirectResponse:
    require_customer(request)
    minutes = center_of(request).settings.policy.session_idle_minutes
    flash(request, "session.extended", kind="success", minutes=minutes)
    return RedirectResponse(local_path(next_path), status_code=303)
