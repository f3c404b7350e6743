"""Logging in to a site with a certificate proven in the browser, through the OpenID login's
pages: the financial certificate (the browser's device key and the PIN) and the joint
certificate (its key signs a challenge). Each ends in an ID token whose acr and amr name the
method and whose auth_time is the moment of the proof; a suspended or revoked certificate
logs in neither way; a wrong PIN counts against the web center's own lockout; no session of
the web center is opened."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from certcenter.authn.device_auth import challenge_message
from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.joint.login import PURPOSE
from certcenter.lifecycle.service import ActorRef
from certcenter.oidc.provider import ACR_FINANCIAL, ACR_JOINT, pkce_pair
from tests.conftest import LiveServer
from tests.financial.support import PIN, issue
from tests.financial.support import Browser as DeviceKey
from tests.joint_usage.support import JointHolder, joint_holder
from tests.oidc.support import HTTP, Browser, authorize_url, exchange, query_of, register
from tests.web.financial_support import attribute, error_code, session_cookie

OPERATOR = ActorRef.operator("tester", None)


@pytest.fixture
def browser(center: Center) -> Iterator[Browser]:
    made = Browser(center)
    yield made
    made.close()


def post(browser: Browser, path: str, **data: Any) -> httpx.Response:
    token = session_cookie(browser.web).get("csrf")
    assert isinstance(token, str)
    return browser.web.post(path, data={"csrf_token": token, **data})


def redirected(answer: httpx.Response, to: str) -> None:
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == to


def shown_refusal(browser: Browser, path: str) -> str | None:
    """The catalog code the page a refused POST sent to shows (Post/Redirect/Get)."""
    return error_code(browser.web.get(path).text)


def start(browser: Browser, api: LiveServer) -> tuple[str, httpx.Response]:
    verifier, challenge = pkce_pair()
    page = browser.open(authorize_url(api.url, challenge=challenge))
    assert page.status_code == 200, page.text
    methods = re.findall(r'data-oidc-method="([a-z]+)"', page.text)
    assert methods == ["financial", "app", "joint"]
    return verifier, page


def pin_page(browser: Browser, key: DeviceKey) -> httpx.Response:
    redirected(
        post(browser, "/oidc/authorize/financial", device_public_key=key.spki_b64),
        "/oidc/authorize/pin",
    )
    page = browser.web.get("/oidc/authorize/pin")
    assert page.status_code == 200 and "data-device-sign" in page.text, page.text
    return page


def send_pin(browser: Browser, key: DeviceKey, page: httpx.Response, pin: str) -> httpx.Response:
    signed = key.sign(base64_bytes(attribute(page.text, "data-device-sign")))
    return post(
        browser,
        "/oidc/authorize/pin",
        activation_id=attribute(page.text, 'name="activation_id" value'),
        device_signature=signed,
        pin=pin,
    )


def base64_bytes(text: str) -> bytes:
    return base64.b64decode(text)


def joint_answer(browser: Browser, holder: JointHolder, **overrides: str) -> httpx.Response:
    """What joint-login.js posts: a challenge from the OpenID login, signed by the key."""
    token = session_cookie(browser.web).get("csrf")
    issued = browser.web.post(
        "/oidc/authorize/joint/challenge", headers={"X-CSRF-Token": str(token)}
    ).json()
    assert issued["sign"].encode() == challenge_message(PURPOSE, issued["challenge"])
    form = {
        "challenge": issued["challenge"],
        "signature": holder.sign(issued["sign"].encode()),
        "certificate": holder.der_b64,
        **overrides,
    }
    return post(browser, "/oidc/authorize/joint", **form)


def id_token(api: LiveServer, browser: Browser, verifier: str, secret: str) -> dict[str, Any]:
    """Consent, back to the site, the code exchanged: the ID token's claims (checked against
    the published keys)."""
    back = browser.consent()
    tokens = exchange(api.url, query_of(back)["code"], verifier, secret=secret).json()
    keys = KeySet.import_key_set(HTTP.get(f"{api.url}/oidc/jwks").json())
    return dict(jwt.decode(tokens["id_token"], keys, algorithms=["ES256"]).claims)


def test_the_financial_certificate_logs_in_to_a_site_with_its_pin_and_only_while_usable(
    api: LiveServer, center: Center, clock: FrozenClock, browser: Browser
) -> None:
    key = DeviceKey()
    financial = issue(center, key)  # C001's certificate, this browser's key registered with it
    site = register(center)
    verifier, _ = start(browser, api)

    # a wrong PIN: the catalog's words on the PIN page, counted by the lockout of every use
    page = pin_page(browser, key)
    redirected(send_pin(browser, key, page, "000000"), "/oidc/authorize/pin")
    again = browser.web.get("/oidc/authorize/pin")
    assert error_code(again.text) == "FINANCIAL_AUTH_FAILED" and "4회" in again.text
    # the web center's own login sees the same count: one counter, not two
    redirected(post(browser, "/login/financial", device_public_key=key.spki_b64), "/login/pin")
    web_pin = browser.web.get("/login/pin")
    redirected(
        post(
            browser,
            "/login/pin",
            activation_id=attribute(web_pin.text, 'name="activation_id" value'),
            device_signature=key.sign(base64_bytes(attribute(web_pin.text, "data-device-sign"))),
            pin="000000",
        ),
        "/login/pin",
    )
    assert "3회" in browser.web.get("/login/pin").text

    # the right PIN: on to the consent; the web center is not logged in by it
    clock.advance(seconds=7)
    proven_at = clock.now()
    redirected(send_pin(browser, key, again, PIN), "/oidc/consent")
    assert "api_token" not in session_cookie(browser.web)
    claims = id_token(api, browser, verifier, site.secret or "")
    assert claims["acr"] == ACR_FINANCIAL == "urn:certcenter:acr:financial-certificate"
    assert claims["amr"] == ["swk", "pin"]
    assert claims["auth_time"] == int(proven_at.timestamp())
    assert "data-signed-in" not in browser.web.get("/login").text
    # an unregistered browser is sent to register first, with the catalog's code
    start(browser, api)
    redirected(
        post(browser, "/oidc/authorize/financial", device_public_key=DeviceKey().spki_b64),
        "/oidc/login",
    )
    assert shown_refusal(browser, "/oidc/login") == "FINANCIAL_DEVICE_NOT_REGISTERED"

    # the certificate suspended while its PIN page is open: the right PIN is refused
    page = pin_page(browser, key)
    center.lifecycle.suspend(financial.serial, OPERATOR)
    redirected(send_pin(browser, key, page, PIN), "/oidc/login")
    assert shown_refusal(browser, "/oidc/login") == "CERTIFICATE_SUSPENDED"
    # revoked, its cloud account is closed: refused before any PIN is asked (as at /login)
    center.lifecycle.revoke(financial.serial, "keyCompromise", OPERATOR)
    post(browser, "/oidc/authorize/financial", device_public_key=key.spki_b64)
    refused = browser.web.get("/oidc/authorize/pin").text
    assert error_code(refused) == "FINANCIAL_CERTIFICATE_NOT_FOUND"
    assert "data-device-sign" not in refused
    assert browser.web.get("/oidc/consent").status_code != 200  # nobody logged in


def test_the_joint_certificate_logs_in_to_a_site_by_signing_a_challenge_until_revoked(
    api: LiveServer, center: Center, clock: FrozenClock, browser: Browser, tmp_path: Path
) -> None:
    holder = joint_holder(center, tmp_path)
    site = register(center)
    verifier, _ = start(browser, api)

    # a signature over other bytes, a challenge answered too late: refused, on the page
    redirected(
        joint_answer(browser, holder, signature=holder.sign(b"certcenter:joint-login:x")),
        "/oidc/login",
    )
    assert shown_refusal(browser, "/oidc/login") == "JOINT_SIGNATURE_INVALID"
    token = session_cookie(browser.web).get("csrf")
    late = browser.web.post(
        "/oidc/authorize/joint/challenge", headers={"X-CSRF-Token": str(token)}
    ).json()
    clock.advance(seconds=center.settings.policy.challenge_ttl_seconds + 1)
    redirected(
        post(
            browser,
            "/oidc/authorize/joint",
            challenge=late["challenge"],
            signature=holder.sign(late["sign"].encode()),
            certificate=holder.der_b64,
        ),
        "/oidc/login",
    )
    assert shown_refusal(browser, "/oidc/login") == "CHALLENGE_INVALID"

    proven_at = clock.now()
    redirected(joint_answer(browser, holder), "/oidc/consent")
    assert "api_token" not in session_cookie(browser.web)
    claims = id_token(api, browser, verifier, site.secret or "")
    assert claims["acr"] == ACR_JOINT == "urn:certcenter:acr:joint-certificate"
    assert claims["amr"] == ["swk", "pwd"]
    assert claims["auth_time"] == int(proven_at.timestamp())

    # revoked: its key's good signature logs in no more
    start(browser, api)
    center.lifecycle.revoke(holder.serial, "keyCompromise", OPERATOR)
    redirected(joint_answer(browser, holder), "/oidc/login")
    assert shown_refusal(browser, "/oidc/login") == "CERTIFICATE_REVOKED"
    assert browser.web.get("/oidc/consent").status_code != 200  # nobody logged in
