"""Bad input at the provider: each refused with the standard OAuth error and a catalog code —
a wrong redirect URI (shown, never followed), PKCE missing, a code used twice (its tokens
revoked), an expired code, wrong client credentials, a revoked certificate; and a refresh
token used twice revokes its whole grant."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.lifecycle.service import ActorRef
from certcenter.oidc.provider import pkce_pair
from tests.conftest import LiveServer
from tests.oidc.support import (
    HTTP,
    REDIRECT,
    Browser,
    authorize_url,
    exchange,
    query_of,
    refused,
    register,
)
from tests.support.flow import FlowFactory
from tests.usage.support import issued, logged_in

OPERATOR = ActorRef.operator("tester", None)


@pytest.fixture
def browser(center: Center) -> Iterator[Browser]:
    made = Browser(center)
    yield made
    made.close()


def test_a_wrong_redirect_uri_is_shown_never_followed(
    api: LiveServer, center: Center, browser: Browser
) -> None:
    register(center)
    _, challenge = pkce_pair()
    for uri in (
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/other",
        "https://evil.example/cb",
    ):
        page = browser.open(authorize_url(api.url, challenge=challenge, redirect_uri=uri))
        assert page.status_code == 400 and "location" not in page.headers
        assert "OIDC_REDIRECT_URI_INVALID" in page.text
    page = browser.open(authorize_url(api.url, "nobody", challenge=challenge))
    assert page.status_code == 401 and "OIDC_CLIENT_INVALID" in page.text


def test_pkce_is_required_of_every_client(
    api: LiveServer, center: Center, browser: Browser
) -> None:
    register(center)
    page = browser.open(authorize_url(api.url))  # no code_challenge
    assert page.status_code == 302
    back = query_of(page.headers["location"])
    assert back["error"] == "invalid_request" and back["state"] == "s-gov24"
    assert "code_challenge" in back["error_description"]
    plain = browser.open(
        authorize_url(api.url, code_challenge="a" * 43, code_challenge_method="plain")
    )
    assert query_of(plain.headers["location"])["error"] == "invalid_request"


def test_codes_are_single_use_short_lived_and_bound_to_the_client(
    api: LiveServer,
    center: Center,
    clock: FrozenClock,
    new_flow: FlowFactory,
    browser: Browser,
) -> None:
    app = logged_in(issued(new_flow, "C001"))
    site = register(center)
    other = register(center, "other-site")
    verifier, challenge = pkce_pair()

    def code() -> str:
        back = browser.log_in(authorize_url(api.url, challenge=challenge), app)
        return query_of(back)["code"]

    first = code()
    # wrong client credentials, another client's secret, no verifier, a wrong verifier
    refused(
        exchange(api.url, first, verifier, secret="wrong"),
        "invalid_client",
        "OIDC_CLIENT_INVALID",
        401,
    )
    refused(
        exchange(api.url, first, verifier, client_id="other-site", secret=other.secret),
        "invalid_grant",
        "OIDC_GRANT_INVALID",
    )
    refused(
        exchange(api.url, first, None, secret=site.secret), "invalid_request", "OIDC_PKCE_REQUIRED"
    )
    refused(
        exchange(api.url, first, pkce_pair()[0], secret=site.secret),
        "invalid_grant",
        "OIDC_PKCE_FAILED",
    )
    refused(
        exchange(api.url, first, verifier, secret=site.secret, redirect_uri=REDIRECT + "x"),
        "invalid_grant",
        "OIDC_REDIRECT_URI_INVALID",
    )
    tokens = exchange(api.url, first, verifier, secret=site.secret)
    assert tokens.status_code == 200, tokens.text
    access = tokens.json()["access_token"]
    userinfo = HTTP.get(f"{api.url}/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert userinfo.status_code == 200
    # the same code again: refused, and the tokens issued from it are revoked
    refused(
        exchange(api.url, first, verifier, secret=site.secret), "invalid_grant", "OIDC_CODE_REUSED"
    )
    userinfo = HTTP.get(f"{api.url}/oidc/userinfo", headers={"Authorization": f"Bearer {access}"})
    refused(userinfo, "invalid_token", "OIDC_TOKEN_INVALID", 401)
    refresh = HTTP.post(
        f"{api.url}/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens.json()["refresh_token"]},
        auth=("gov24", site.secret or ""),
    )
    refused(refresh, "invalid_grant", "OIDC_REFRESH_REUSED")
    # a code is good for 60 seconds
    late = code()
    clock.advance(seconds=61)
    refused(
        exchange(api.url, late, verifier, secret=site.secret), "invalid_grant", "OIDC_CODE_EXPIRED"
    )
    # every grant and every refusal is in the audit trail
    with center.uow_factory() as uow:
        actions = [e.action for e in uow.audit.entries()]
    assert {"oidc.authorize", "oidc.token", "oidc.code_replayed", "oidc.refused"} <= set(actions)


def test_a_refresh_token_rotates_and_its_reuse_revokes_the_grant(
    api: LiveServer, center: Center, new_flow: FlowFactory, browser: Browser
) -> None:
    app = logged_in(issued(new_flow, "C001"))
    site = register(center)
    verifier, challenge = pkce_pair()
    back = browser.log_in(authorize_url(api.url, challenge=challenge), app)
    first = exchange(api.url, query_of(back)["code"], verifier, secret=site.secret).json()
    auth = ("gov24", site.secret or "")

    def refresh(token: str) -> httpx.Response:
        return HTTP.post(
            f"{api.url}/oidc/token",
            data={"grant_type": "refresh_token", "refresh_token": token},
            auth=auth,
        )

    second = refresh(first["refresh_token"])
    assert second.status_code == 200 and second.json()["id_token"]
    newest = second.json()
    # the old one again: refused, and the whole grant ends, the newest tokens too
    refused(refresh(first["refresh_token"]), "invalid_grant", "OIDC_REFRESH_REUSED")
    refused(refresh(newest["refresh_token"]), "invalid_grant", "OIDC_REFRESH_REUSED")
    seen = HTTP.post(
        f"{api.url}/oidc/introspect", data={"token": newest["access_token"]}, auth=auth
    )
    assert seen.json() == {"active": False}


def test_a_revoked_certificate_logs_in_nowhere_and_refreshes_nothing(
    api: LiveServer, center: Center, new_flow: FlowFactory, browser: Browser
) -> None:
    flow = issued(new_flow, "C001")
    app = logged_in(flow)
    site = register(center)
    verifier, challenge = pkce_pair()
    back = browser.log_in(authorize_url(api.url, challenge=challenge), app)
    tokens = exchange(api.url, query_of(back)["code"], verifier, secret=site.secret).json()
    # approved in the app, then the certificate is revoked before the browser goes on
    page = browser.open(authorize_url(api.url, challenge=challenge))
    shown = browser.start_app(page)
    app.call("POST", "/v1/approvals/approve", {"code": shown})
    center.lifecycle.revoke(flow.current_serial(), "keyCompromise", OPERATOR)
    done = browser.web.follow(browser.complete())
    assert done.status_code == 409 and "CERTIFICATE_REVOKED" in done.text
    # the tokens of an earlier login refresh nothing, and userinfo refuses
    refresh = HTTP.post(
        f"{api.url}/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("gov24", site.secret or ""),
    )
    refused(refresh, "invalid_grant", "CERTIFICATE_REVOKED")
    info = HTTP.get(
        f"{api.url}/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    refused(info, "invalid_token", "CERTIFICATE_REVOKED", 401)


def test_malformed_requests_get_oauth_errors_never_a_fault(api: LiveServer, center: Center) -> None:
    site = register(center)
    auth = ("gov24", site.secret or "")
    token = f"{api.url}/oidc/token"
    refused(
        HTTP.post(token, data={"grant_type": "password"}, auth=auth),
        "unsupported_grant_type",
        "OIDC_GRANT_TYPE_UNSUPPORTED",
    )
    refused(
        HTTP.post(token, data={"grant_type": "authorization_code"}, auth=auth),
        "invalid_request",
        "OIDC_REQUEST_INVALID",
    )
    refused(
        HTTP.post(
            token,
            content="grant_type=authorization_code&grant_type=refresh_token",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=auth,
        ),
        "invalid_request",
        "OIDC_REQUEST_INVALID",
    )
    refused(
        HTTP.post(token, data={"grant_type": "authorization_code", "code": "x" * 5000}, auth=auth),
        "invalid_grant",
        "OIDC_GRANT_INVALID",
    )
    refused(
        HTTP.get(f"{api.url}/oidc/userinfo"), "missing_authorization", "OIDC_TOKEN_INVALID", 401
    )
    refused(
        HTTP.get(f"{api.url}/oidc/userinfo", headers={"Authorization": "Bearer nothing"}),
        "invalid_token",
        "OIDC_TOKEN_INVALID",
        401,
    )
    # revoking an unknown token is no error (RFC 7009 §2.2); introspecting one says inactive
    assert (
        HTTP.post(f"{api.url}/oidc/revoke", data={"token": "nothing"}, auth=auth).status_code == 200
    )
    assert HTTP.post(f"{api.url}/oidc/introspect", data={"token": "nothing"}, auth=auth).json() == {
        "active": False
    }
