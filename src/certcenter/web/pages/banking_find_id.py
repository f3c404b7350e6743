"""``/banking/find-id`` (아이디 찾기): the internet-banking user ID, partly masked, after the
name, resident number and mobile number and the SMS code sent to the phone on record
(:class:`~certcenter.banking.find_id.UserIdFinder`).

    GET  /banking/find-id          name, resident number, phone → POST: "if the details
                                   match, a code was sent" (the same page whoever they name)
    GET  /banking/find-id/code     the SMS code (POST; /banking/find-id/resend)
    GET  /banking/find-id/done     the user ID, partly masked (c00****r)

The resident number goes from the form to the service and nowhere else: never into the web
session (a refused start fills the form again without it), never into a log. Every POST
answers 303 (Post/Redirect/Get); the masked ID waits in the session for the done page, so a
reload shows it again and Back sends no code twice.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.banking import FIND_ID_PURPOSE
from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import digits
from certcenter.web.rendering import render, translator
from certcenter.web.reverification_pages import ReverificationPages, Started
from certcenter.web.routing import page_router

STEPS = ("banking.step.find_details", "banking.step.code", "banking.step.found")
_FOUND = "banking_found_id"  # the masked user ID, for the done page's GETs


def _steps(request: Request, current: int) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {"step_labels": [t(key) for key in STEPS], "step_index": current}


pages = ReverificationPages(
    prefix="/banking/find-id",
    stash_key="banking_find_id",  # the search under way: id, bearer token, masked phone
    ended=frozenset({"USER_ID_FIND_INVALID", "USER_ID_FIND_EXPIRED", "USER_ID_NONE"}),
    templates=("banking/find_id.html", "banking/find_id_code.html", "banking/find_id.html"),
    service=lambda center: center.user_id_finder,  # type: ignore[arg-type, return-value]
    steps=_steps,
    code_purpose=FIND_ID_PURPOSE.code_purpose,
)
router = page_router(prefix=pages.prefix, dependencies=[Depends(pages.steps_flow.same_tab)])
pages.add_routes(router, code_only=True)


@router.post("")
def start(
    request: Request,
    name: Annotated[str, Form(max_length=200)] = "",
    rrn: Annotated[str, Form(max_length=20)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    typed = {"name": name.strip()[:40], "phone": digits(phone)[:11]}  # never the number
    try:
        started = center_of(request).user_id_finder.start(
            name=name, rrn=rrn, phone=digits(phone), source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return pages.details_refused(request, exc, typed)
    return pages.begin(request, typed, Started(started.flow_id, started.token, started.phone))


@router.post("/code")
def verify_code(request: Request, code: Annotated[str, Form(max_length=12)] = "") -> Response:
    if (page := pages.not_started(request)) is not None:
        return page
    try:
        found = center_of(request).user_id_finder.verify_code(
            *pages.ids(request), digits(code), source_ip=client_ip(request)
        )
    except CertCenterError as exc:
        return pages.ended_page(request, exc) or pages.refused_to(request, exc, "code")
    request.session[_FOUND] = found
    return pages.finish(request, "/banking/find-id/done")


@router.get("/done")
def done(request: Request) -> Response:
    found = request.session.get(_FOUND)
    if not isinstance(found, str) or not found:
        return RedirectResponse(pages.prefix, status_code=303)
    return render(
        request, "banking/find_id_done.html", {"found_user_id": found, **_steps(request, 2)}
    )
