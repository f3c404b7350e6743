"""Drives the provider as a site and a browser would, for the tests.

site = register(center, "gov24", scopes="openid profile phone")    # an operator's act
browser = Browser(center)                     # the web center, in-process (https cookies)
link = browser.log_in(authorize_url, app)     # approve in the app, consent: the way back
"""

from __future__ import annotations

import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from certcenter.bootstrap import Center
from certcenter.cli.client import CenterClient
from certcenter.oidc.clients import RegisteredClient
from certcenter.server import create_app
from tests.web.support import WebClient, csrf_token

REDIRECT = "http://127.0.0.1:9/callback"
# the site's calls to the center (a loaded test machine answers slowly: no 5-second limit)
HTTP = httpx.Client(timeout=120)
_CODE = re.compile(r"data-approval-code>([0-9]+)<")
_BACK = re.compile(r'href="([^"]+)" data-return-to')


def register(
    center: Center,
    client_id: str = "gov24",
    *,
    auth_method: str = "client_secret_basic",
    scopes: str = "openid profile phone birthdate",
    **kwargs: Any,
) -> RegisteredClient:
    kwargs.setdefault("redirect_uris", [REDIRECT])
    return center.oidc.clients.add(
        client_id, "정부24 (데모)", auth_method=auth_method, scopes=scopes, **kwargs
    )


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


class Browser:
    """The customer's browser on the web center (in-process, as tests/web drive it)."""

    def __init__(self, center: Center) -> None:
        self.web = WebClient(create_app(center))

    def close(self) -> None:
        self.web.close()

    def open(self, url: str) -> httpx.Response:
        parts = urlsplit(url)
        return self.web.get(f"{parts.path}?{parts.query}")

    def csrf(self, page: httpx.Response) -> dict[str, str]:
        return {"csrf_token": csrf_token(page.text)}

    def start_app(self, page: httpx.Response) -> str:
        """Ask for a code to approve in the app: the code shown."""
        asked = self.web.post("/oidc/authorize/app", data=self.csrf(page))
        assert asked.headers.get("location") == "/oidc/login", asked.text  # Post/Redirect/Get
        shown = self.web.follow(asked)
        assert shown.status_code == 200, shown.text
        found = _CODE.search(shown.text)
        assert found, shown.text
        self.page = shown
        return found.group(1)

    def complete(self) -> httpx.Response:
        return self.web.post("/oidc/authorize/complete", data=self.csrf(self.page))

    def consent(self, claims: list[str] | None = None, decision: str = "allow") -> str:
        """Answer the consent page: the URL the browser is sent back to."""
        page = self.web.get("/oidc/consent")
        if page.status_code == 200 and "data-return-to" in page.text:
            return back_link(page)
        assert page.status_code == 200, page.text
        data: dict[str, Any] = {**self.csrf(page), "decision": decision}
        if claims is not None:
            data["claims"] = claims
        else:
            data["claims"] = re.findall(r'data-oidc-claim="([a-z]+)"', page.text)
        answered = self.web.follow(self.web.post("/oidc/consent", data=data))
        assert answered.status_code == 200, answered.text
        return back_link(answered)

    def log_in(self, url: str, app: CenterClient, **consent: Any) -> str:
        page = self.open(url)
        assert page.status_code == 200, page.text
        code = self.start_app(page)
        app.call("POST", "/v1/approvals/approve", {"code": code})
        done = self.complete()
        assert done.status_code == 303 and done.headers["location"] == "/oidc/consent", done.text
        return self.consent(**consent)


def back_link(page: httpx.Response) -> str:
    found = _BACK.search(page.text)
    assert found, page.text
    return html.unescape(found.group(1))


def authorize_url(
    base: str,
    client_id: str = "gov24",
    *,
    challenge: str | None = None,
    scope: str = "openid profile",
    redirect_uri: str = REDIRECT,
    **extra: str,
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": "s-" + client_id,
        "nonce": secrets.token_urlsafe(12),
        **extra,
    }
    if challenge is not None:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return f"{base}/oidc/authorize?{urlencode(params)}"


def exchange(
    base: str,
    code: str,
    verifier: str | None,
    *,
    client_id: str = "gov24",
    secret: str | None = None,
    redirect_uri: str = REDIRECT,
) -> httpx.Response:
    """POST /oidc/token as the site does (client_secret_basic when a secret is given)."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    auth = (client_id, secret) if secret is not None else None
    if auth is None:
        data["client_id"] = client_id
    return HTTP.post(f"{base}/oidc/token", data=data, auth=auth)


def refused(response: httpx.Response, error: str, code: str, status: int = 400) -> None:
    """An OAuth error (RFC 6749 §5.2) with the catalog code beside it."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["code"] == code, body
