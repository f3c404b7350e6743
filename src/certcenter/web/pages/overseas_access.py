"""``/overseas-access`` (해외 IP 차단 해제): what the setting is, whether it is on for the
logged-in customer and until when, how to change it in the app, and what is left to a
customer abroad without a mobile certificate.

    GET /overseas-access

The setting is changed only in the app on the phone that holds the mobile certificate (the
device's signature and the PIN confirm it; see usage/overseas_access.py), so this page shows
and explains; it changes nothing.
"""

from __future__ import annotations

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from certcenter.usage.overseas_access import state_of
from certcenter.web.context import center_of
from certcenter.web.rendering import render
from certcenter.web.routing import page_router
from certcenter.web.sessions import current_customer

router = page_router(prefix="/overseas-access")


@router.get("")
def overseas_access(request: Request) -> HTMLResponse:
    center = center_of(request)
    session = current_customer(request)
    state = None
    if session is not None:
        with center.uow_factory(read_only=True) as uow:
            customer = uow.customers.get(session.customer_id)
        if customer is not None:
            state = state_of(customer, center.clock.now())
    return render(
        request,
        "overseas/index.html",
        {"state": state, "max_days": center.settings.policy.overseas_access_max_days},
    )
