"""정부24 (데모) under /sim logs a person in through the provider, as ``make run`` shows it."""

from __future__ import annotations

from urllib.parse import urlsplit

from certcenter.bootstrap import Center
from certcenter.simulators.relying_party import CLIENT_ID
from tests.conftest import LiveServer
from tests.oidc.support import Browser
from tests.support.flow import FlowFactory
from tests.usage.support import issued, logged_in


def test_the_demo_site_logs_a_person_in_through_the_provider(
    api: LiveServer, center: Center, new_flow: FlowFactory
) -> None:
    flow = issued(new_flow, "C001")
    app = logged_in(flow)
    browser = Browser(center)
    try:
        assert "인증서로 로그인" in browser.web.get("/sim/gov24").text
        start = browser.web.get("/sim/gov24/login")
        assert start.status_code == 302
        target = start.headers["location"]
        assert target.startswith(api.url + "/oidc/authorize?") and CLIENT_ID in target
        back = browser.log_in(target, app)
        assert back.startswith(api.url + "/sim/gov24/callback?")
        parts = urlsplit(back)
        done = browser.web.get(f"{parts.path}?{parts.query}")
        assert done.status_code == 303, done.text
        page = browser.web.get("/sim/gov24").text
        assert f"{flow.answers.name}님, 로그인되었습니다" in page
        assert "hwk pin" in page and "+8210" in page
        # logging out at the site ends the tokens at the provider and comes back
        out = browser.web.get("/sim/gov24/logout")
        assert out.status_code == 302 and "/oidc/logout?" in out.headers["location"]
        parts = urlsplit(out.headers["location"])
        page = browser.web.get(f"{parts.path}?{parts.query}")
        assert "data-return-to" in page.text and "/sim/gov24?state=" in page.text
    finally:
        browser.close()
