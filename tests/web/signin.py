"""Web tests that need a logged-in customer, on SQLite and PostgreSQL.

A demo center per module and database (``db_center``: the demo world seeded, its own key
directory for the cloud keys), its app (``db_app``) with one test-only route that logs a
customer in through the real services — the financial certificate's device proof and PIN
(``center.financial_login``), then ``web.sign_in`` as a login page does:

    from tests.web.signin import app_fixture, center_fixture  # noqa: F401 (fixtures)

    def test_something(db_center: Center, db_app: FastAPI) -> None:
        with WebClient(db_app) as web:
            me = log_in(web, db_center, "C001")        # a financial certificate, this browser
            web.get("/my")

The route exists only in these tests' app (never in a served center).
"""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import FastAPI, Form
from fastapi.responses import RedirectResponse
from starlette.requests import Request

from certcenter.bootstrap import Center, build_center, initialise
from certcenter.clock import FrozenClock
from certcenter.server import create_app
from certcenter.web import center_of, page_router, sign_in
from tests.conftest import START, _reset_postgres, make_settings
from tests.financial.support import PIN, Browser, customer, issue
from tests.support.policy import SHARED_CENTER_POLICY
from tests.web.support import WebClient

TEST_LOGIN = "/test-login/financial"
TEST_APP_LOGIN = "/test-login/app"


@pytest.fixture(name="db_center", scope="module", params=["sqlite", "postgresql"])
def center_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pki_dir: Path
) -> Iterator[Center]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    base = tmp_path_factory.mktemp(f"web-{request.param}")
    keys = base / "keys"
    shutil.copytree(pki_dir / "keys", keys)  # cloud keys are made and destroyed here
    settings = make_settings(base, pki_dir, url, key_dir=keys, policy=SHARED_CENTER_POLICY)
    clock = FrozenClock(START)
    initialise(settings, clock)
    center = build_center(settings, clock)
    yield center
    center.close()


def install_test_login(app: FastAPI) -> None:
    """``POST /test-login/financial``: the financial certificate's login (activation id,
    the device's signature, the PIN) through ``center.financial_login``, then sign_in."""
    router = page_router()

    @router.post(TEST_LOGIN)
    def financial_login(
        request: Request,
        activation_id: Annotated[str, Form()],
        device_signature: Annotated[str, Form()],
        pin: Annotated[str, Form()],
    ) -> RedirectResponse:
        result = center_of(request).financial_login.login(activation_id, device_signature, pin)
        sign_in(request, result.opened)
        return RedirectResponse("/my", status_code=303)

    @router.post(TEST_APP_LOGIN)
    def app_login(request: Request, number: Annotated[str, Form()]) -> RedirectResponse:
        """A session as the app's login opens it (mobile certificate, PIN): no browser key."""
        center = center_of(request)
        holder = customer(center, number)
        with center.uow_factory() as uow:
            phone = uow.devices.active_for_customer(holder.id)
            mobile = list(uow.certificates.for_customer(holder.id, family="mobile"))
        assert phone is not None and mobile, number
        opened = center.sessions.open(
            customer_id=holder.id,
            device_id=phone.device_id,
            certificate_serial=mobile[0].serial,
            method="pin",
        )
        sign_in(request, opened)
        return RedirectResponse("/my", status_code=303)

    app.include_router(router)


@pytest.fixture(name="db_app", scope="module")
def app_fixture(db_center: Center) -> FastAPI:
    app = create_app(db_center)
    install_test_login(app)
    return app


@dataclass
class LoggedIn:
    number: str
    customer_id: str
    browser: Browser
    device_id: str
    serial: str


def log_in(
    web: WebClient,
    center: Center,
    number: str,
    *,
    browser: Browser | None = None,
    device_id: str | None = None,
    label: str = "집 PC",
) -> LoggedIn:
    """Log ``number`` in on ``web`` with the financial certificate (issued now into a new
    cloud account with ``browser`` registered, unless ``device_id`` names a registered one)."""
    browser = browser or Browser()
    if device_id is None:
        issued = issue(center, browser, number=number, label=label)
        assert issued.device_id is not None
        device_id, serial = issued.device_id, issued.serial
    else:
        serial = center.cloud_certificates.overview(customer(center, number).id).serial
    started = center.financial_login.begin(device_id)
    token = csrf(web)
    done = web.post(
        TEST_LOGIN,
        data={
            "csrf_token": token,
            "activation_id": started.activation_id,
            "device_signature": browser.sign(started.message),
            "pin": PIN,
        },
    )
    assert done.status_code == 303, done.text
    return LoggedIn(number, customer(center, number).id, browser, device_id, serial)


def log_in_with_the_app(web: WebClient, number: str) -> None:
    """A session opened by the mobile certificate (as after 앱으로 승인 or the app's login)."""
    done = web.post(TEST_APP_LOGIN, data={"number": number, "csrf_token": csrf(web)})
    assert done.status_code == 303, done.text


def csrf(web: WebClient, page: str = "/") -> str:
    return web.csrf(page)["csrf_token"]


_SIGN = re.compile(r'data-device-sign="([^"]+)"')


def device_message(page: str) -> bytes:
    """What the confirmation page asks this browser's device key to sign."""
    found = _SIGN.search(page)
    assert found, "no data-device-sign on the page"
    return base64.b64decode(found.group(1))
