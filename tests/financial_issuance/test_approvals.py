"""Approving in the app (앱으로 승인): a code in the browser, approved with the mobile
certificate's session; single use, expiry, the expected customer only, guessing counted."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.clock import FrozenClock
from tests.conftest import LiveServer
from tests.financial_issuance.support import OPENED
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory
from tests.usage.support import issued, logged_in


def browser(api: LiveServer) -> CenterClient:
    client = CenterClient(api.url)
    OPENED.append(client)
    return client


def refused(client: CenterClient, path: str, body: dict[str, Any]) -> ApiError:
    try:
        client.call("POST", path, body)
    except ApiError as err:
        return err
    raise AssertionError(f"{path} was not refused")


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**8:08d}"


def test_web_login_approved_in_the_app(
    api: LiveServer, center: Center, new_flow: FlowFactory
) -> None:
    flow = issued(new_flow, "C001")
    app = logged_in(flow)
    web = browser(api)
    started = web.call("POST", "/v1/approvals", {"purpose": "web-login"})
    assert len(started["code"]) == 8 and started["code"].isdigit()
    token = started["token"]
    assert web.call("POST", "/v1/approvals/status", {"token": token})["state"] == "pending"
    assert_refusal(refused(web, "/v1/approvals/consume", {"token": token}), "APPROVAL_PENDING")
    approved = app.call("POST", "/v1/approvals/approve", {"code": started["code"]})
    assert approved["state"] == "approved" and approved["purpose"] == "web-login"
    assert web.call("POST", "/v1/approvals/status", {"token": token})["state"] == "approved"
    session = web.call("POST", "/v1/approvals/consume", {"token": token})
    assert session["customer_number"] == "C001" and session["method"] == "app-approval"
    assert session["certificate_serial"] == flow.current_serial()
    # the browser is logged in as the app's customer
    web.token = session["token"]
    me = web.call("GET", "/v1/session")
    assert me["customer_number"] == "C001" and me["method"] == "app-approval"
    # single use: neither approved nor consumed again
    web.token = None
    assert web.call("POST", "/v1/approvals/status", {"token": token})["state"] == "consumed"
    assert_refusal(refused(web, "/v1/approvals/consume", {"token": token}), "APPROVAL_USED")
    assert_refusal(
        refused(app, "/v1/approvals/approve", {"code": started["code"]}), "APPROVAL_USED"
    )
    # a session opened by an approval cannot approve another one
    second = web.call("POST", "/v1/approvals", {"purpose": "web-login"})
    web.token = session["token"]
    err = refused(web, "/v1/approvals/approve", {"code": second["code"]})
    assert_refusal(err, "APPROVAL_APP_LOGIN_REQUIRED")
    # only keyed digests are stored: neither the code nor the token
    with center.engine.connect() as conn:
        rows = " ".join(str(r) for r in conn.execute(text("SELECT * FROM web_approvals")))
    for secret in (started["code"], token, second["code"], second["token"]):
        assert secret not in rows
    assert_refusal(
        refused(browser(api), "/v1/approvals/status", {"token": "x" * 43}), "APPROVAL_NOT_FOUND"
    )


def test_expected_customer_and_expiry(
    api: LiveServer, center: Center, clock: FrozenClock, new_flow: FlowFactory
) -> None:
    mine = logged_in(issued(new_flow, "C001"))
    theirs = logged_in(issued(new_flow, "C002"))
    with center.uow_factory() as uow:
        c001 = uow.customers.by_number("C001")
        assert c001 is not None
    started = center.approvals.start("financial-issuance", expected_customer_id=c001.id)
    err = refused(theirs, "/v1/approvals/approve", {"code": started.code})
    assert_refusal(err, "APPROVAL_CUSTOMER_MISMATCH")
    # counted as a wrong code for the one who tried
    with center.uow_factory() as uow:
        c002 = uow.customers.by_number("C002")
        assert c002 is not None
        counter = uow.factors.get(c002.id, "web_approval")
        assert counter is not None and counter.failures == 1
    assert mine.call("POST", "/v1/approvals/approve", {"code": started.code})["state"] == (
        "approved"
    )
    # the browser cannot start a financial-issuance approval itself
    err = refused(browser(api), "/v1/approvals", {"purpose": "financial-issuance"})
    assert_refusal(err, "INVALID_REQUEST")
    web = browser(api)
    started = web.call("POST", "/v1/approvals", {"purpose": "web-login"})
    clock.advance(seconds=180)
    assert web.call("POST", "/v1/approvals/status", {"token": started["token"]})["state"] == (
        "expired"
    )
    err = refused(mine, "/v1/approvals/approve", {"code": started["code"]})
    assert_refusal(err, "APPROVAL_EXPIRED")
    # approved in time, but consumed too late
    late = web.call("POST", "/v1/approvals", {"purpose": "web-login"})
    mine.call("POST", "/v1/approvals/approve", {"code": late["code"]})
    clock.advance(seconds=181)
    assert_refusal(
        refused(web, "/v1/approvals/consume", {"token": late["token"]}), "APPROVAL_EXPIRED"
    )


def test_guessing_codes_is_counted_and_paused(
    api: LiveServer, center: Center, clock: FrozenClock, new_flow: FlowFactory
) -> None:
    flow = issued(new_flow, "C001")
    app = logged_in(flow)
    web = browser(api)
    started = web.call("POST", "/v1/approvals", {"purpose": "web-login"})
    wrong = other_code(started["code"])
    for left in (4, 3, 2, 1):
        err = refused(app, "/v1/approvals/approve", {"code": wrong})
        assert_refusal(err, "APPROVAL_CODE_INVALID")
        assert err.problem["context"]["tries_left"] == left
    err = refused(app, "/v1/approvals/approve", {"code": "12ab"})  # malformed counts too
    assert_refusal(err, "APPROVAL_LOCKED")
    # paused: even the right code is refused now
    err = refused(app, "/v1/approvals/approve", {"code": started["code"]})
    assert_refusal(err, "APPROVAL_LOCKED")
    assert web.call("POST", "/v1/approvals/status", {"token": started["token"]})["state"] == (
        "pending"
    )
    # a day later the count starts again; a right code clears it
    clock.advance(hours=24, minutes=1)
    fresh = web.call("POST", "/v1/approvals", {"purpose": "web-login"})
    app = logged_in(flow)  # the app's session ended meanwhile
    refused(app, "/v1/approvals/approve", {"code": other_code(fresh["code"])})
    app.call("POST", "/v1/approvals/approve", {"code": fresh["code"]})
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        counter = uow.factors.get(customer.id, "web_approval")
        assert counter is not None and counter.failures == 0 and counter.locked_at is None
