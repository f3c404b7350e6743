"""Clients of every kind, the signing keys' rotation, consent, pushed requests and logout."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from certcenter.bootstrap import Center
from certcenter.oidc.provider import pkce_pair
from tests.conftest import LiveServer
from tests.oidc.support import (
    HTTP,
    REDIRECT,
    Browser,
    authorize_url,
    back_link,
    exchange,
    query_of,
    refused,
    register,
)
from tests.support.flow import FlowFactory
from tests.usage.support import issued, logged_in


@pytest.fixture
def browser(center: Center) -> Iterator[Browser]:
    made = Browser(center)
    yield made
    made.close()


def test_a_public_client_uses_pkce_alone(
    api: LiveServer, center: Center, new_flow: FlowFactory, browser: Browser
) -> None:
    app = logged_in(issued(new_flow, "C001"))
    made = register(center, "mobile-app", auth_method="none", scopes="openid")
    assert made.secret is None and made.client.kind == "public"
    verifier, challenge = pkce_pair()
    back = browser.log_in(
        authorize_url(api.url, "mobile-app", challenge=challenge, scope="openid"), app
    )
    code = query_of(back)["code"]
    refused(
        exchange(api.url, code, None, client_id="mobile-app"),
        "invalid_request",
        "OIDC_PKCE_REQUIRED",
    )
    tokens = exchange(api.url, code, verifier, client_id="mobile-app")
    assert tokens.status_code == 200, tokens.text
    claims = jwt.decode(
        tokens.json()["id_token"], KeySet.import_key_set(HTTP.get(f"{api.url}/oidc/jwks").json())
    ).claims
    assert "name" not in claims and claims["aud"] == ["mobile-app"]
    # a public client cannot introspect
    seen = HTTP.post(
        f"{api.url}/oidc/introspect",
        data={"token": tokens.json()["access_token"], "client_id": "mobile-app"},
    )
    refused(seen, "invalid_client", "OIDC_CLIENT_INVALID", 401)


def test_a_confidential_client_with_private_key_jwt(
    api: LiveServer, center: Center, new_flow: FlowFactory, browser: Browser
) -> None:
    app = logged_in(issued(new_flow, "C001"))
    key = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [dict(ECKey.import_key(key.public_key()).as_dict())]}
    register(center, "bank-site", auth_method="private_key_jwt", jwks=json.dumps(jwks))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    token_endpoint = f"{api.url}/oidc/token"
    rp = OAuth2Session(
        "bank-site",
        ECKey.import_key(pem),  # Authlib reads a bare PEM as RSA
        token_endpoint_auth_method=PrivateKeyJWT(token_endpoint, alg="ES256"),
        redirect_uri=REDIRECT,
        scope="openid profile",
        code_challenge_method="S256",
    )
    verifier, _ = pkce_pair()
    url, _state = rp.create_authorization_url(f"{api.url}/oidc/authorize", code_verifier=verifier)
    back = browser.log_in(url, app)
    token = rp.fetch_token(token_endpoint, authorization_response=back, code_verifier=verifier)
    assert token["id_token"]
    # another key's assertion is refused
    stranger = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )

    def introspect(signing_key: str) -> httpx.Response:
        assertion = private_key_jwt_sign(
            ECKey.import_key(signing_key), "bank-site", token_endpoint, alg="ES256"
        )
        return HTTP.post(
            f"{api.url}/oidc/introspect",
            data={
                "token": token["access_token"],
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        )

    assert introspect(pem).json()["active"] is True
    answer = introspect(stranger)
    refused(answer, "invalid_client", "OIDC_CLIENT_INVALID")  # 400: no Basic header was sent


def test_signing_keys_rotate_and_the_previous_key_stays_published(
    api: LiveServer, center: Center, new_flow: FlowFactory, browser: Browser
) -> None:
    app = logged_in(issued(new_flow, "C001"))
    site = register(center)
    verifier, challenge = pkce_pair()

    def id_token() -> str:
        back = browser.log_in(authorize_url(api.url, challenge=challenge), app)
        answer = exchange(api.url, query_of(back)["code"], verifier, secret=site.secret)
        return str(answer.json()["id_token"])

    def keys() -> KeySet:
        return KeySet.import_key_set(HTTP.get(f"{api.url}/oidc/jwks").json())

    before = id_token()
    first_kid = jwt.decode(before, keys()).header["kid"]
    published = keys()
    assert [k.kid for k in published.keys] == [first_kid]
    assert all(not k.is_private for k in published.keys)  # public halves only
    center.oidc.keys.rotate()
    after = id_token()
    second_kid = jwt.decode(after, keys()).header["kid"]
    assert second_kid != first_kid
    assert {k.kid for k in keys().keys} == {first_kid, second_kid}
    jwt.decode(before, keys())  # signed before the rotation: still verifies
    center.oidc.keys.rotate()
    assert first_kid not in {k.kid for k in keys().keys}  # retired after the next one
    # no private key in the database, only key ids and backend labels
    with center.uow_factory() as uow:
        stored = uow.oidc.signing_keys()
    assert [k.state for k in stored] == ["retired", "previous", "current"]
    assert all(k.label.startswith("oidc-signing") for k in stored)


def test_consent_is_asked_per_client_remembered_and_can_be_refused(
    api: LiveServer, center: Center, new_flow: FlowFactory, browser: Browser
) -> None:
    flow = issued(new_flow, "C001")
    app = logged_in(flow)
    site = register(center, scopes="openid profile phone birthdate")
    register(center, "ci-site", scopes="openid profile", allow_ci=True)
    verifier, challenge = pkce_pair()
    scope = "openid profile phone birthdate ci"
    # ci is not this client's: it is not asked for (and never given)
    page = browser.open(authorize_url(api.url, challenge=challenge, scope=scope))
    assert page.status_code == 200 and "연계정보" not in page.text
    assert "정부24" in page.text and "이름" in page.text and "휴대폰 번호" in page.text
    # only the name: the site gets the name and nothing else
    back = browser.log_in(
        authorize_url(api.url, challenge=challenge, scope=scope), app, claims=["name"]
    )
    tokens = exchange(api.url, query_of(back)["code"], verifier, secret=site.secret).json()
    info = HTTP.get(
        f"{api.url}/oidc/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    ).json()
    assert set(info) == {"sub", "name"}
    # the same request again: the consent is remembered, no question asked
    page = browser.open(authorize_url(api.url, challenge=challenge, scope="openid profile"))
    code = browser.start_app(page)
    app.call("POST", "/v1/approvals/approve", {"code": code})
    assert browser.complete().status_code == 303
    remembered = browser.web.get("/oidc/consent")
    assert "data-return-to" in remembered.text
    # the CI goes only to a client allowed it, and only with consent
    back = browser.log_in(
        authorize_url(api.url, "ci-site", challenge=challenge, scope="openid ci"), app
    )
    assert "code" in query_of(back)
    # refused: back to the site with access_denied and the state
    page = browser.open(authorize_url(api.url, challenge=challenge, scope="openid phone"))
    code = browser.start_app(page)
    app.call("POST", "/v1/approvals/approve", {"code": code})
    browser.complete()
    denied = query_of(browser.consent(decision="deny"))
    assert denied["error"] == "access_denied" and denied["state"] == "s-gov24"


def test_pushed_requests_for_a_high_assurance_client(
    api: LiveServer, center: Center, new_flow: FlowFactory, browser: Browser
) -> None:
    app = logged_in(issued(new_flow, "C001"))
    site = register(center, require_par=True)
    verifier, challenge = pkce_pair()
    page = browser.open(authorize_url(api.url, challenge=challenge))
    assert page.status_code == 400 and "OIDC_PAR_REQUIRED" in page.text
    pushed = HTTP.post(
        f"{api.url}/oidc/par",
        data=query_of(authorize_url(api.url, challenge=challenge)),
        auth=("gov24", site.secret or ""),
    )
    assert pushed.status_code == 201, pushed.text
    uri = pushed.json()["request_uri"]
    url = f"{api.url}/oidc/authorize?client_id=gov24&request_uri={uri}"
    back = browser.log_in(url, app)
    assert (
        exchange(api.url, query_of(back)["code"], verifier, secret=site.secret).status_code == 200
    )
    again = browser.open(url)  # a request_uri is good once
    assert again.status_code == 400 and "OIDC_REQUEST_URI_INVALID" in again.text
    # a pushed request is checked as at /authorize, for an authenticated client only
    bad = HTTP.post(
        f"{api.url}/oidc/par",
        data=query_of(authorize_url(api.url)),
        auth=("gov24", site.secret or ""),
    )
    refused(bad, "invalid_request", "OIDC_PKCE_REQUIRED")
    stranger = HTTP.post(
        f"{api.url}/oidc/par",
        data=query_of(authorize_url(api.url, challenge=challenge)),
        auth=("gov24", "wrong"),
    )
    refused(stranger, "invalid_client", "OIDC_CLIENT_INVALID", 401)


def test_rp_initiated_logout_ends_the_tokens(
    api: LiveServer, center: Center, new_flow: FlowFactory, browser: Browser
) -> None:
    app = logged_in(issued(new_flow, "C001"))
    after = "http://127.0.0.1:9/logged-out"
    site = register(center, post_logout_redirect_uris=[after])
    verifier, challenge = pkce_pair()
    back = browser.log_in(authorize_url(api.url, challenge=challenge), app)
    tokens = exchange(api.url, query_of(back)["code"], verifier, secret=site.secret).json()
    auth = ("gov24", site.secret or "")
    assert (
        HTTP.post(
            f"{api.url}/oidc/introspect", data={"token": tokens["access_token"]}, auth=auth
        ).json()["active"]
        is True
    )
    page = browser.web.get(
        "/oidc/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": after,
            "state": "bye",
        },
    )
    assert back_link(page) == after + "?state=bye"
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert HTTP.post(f"{api.url}/oidc/introspect", data={"token": token}, auth=auth).json() == {
            "active": False
        }
    # an unregistered address is never followed
    page = browser.web.get(
        "/oidc/logout",
        params={"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": REDIRECT},
    )
    assert page.status_code == 200 and "data-return-to" not in page.text
