"""An outside OpenID client (Authlib's) logs a customer in through the running center: the code
flow with PKCE, the ID token checked against the published JWKS, userinfo, refresh, logout."""

from __future__ import annotations

import secrets

from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from certcenter.bootstrap import Center
from certcenter.storage import tables
from tests.conftest import LiveServer
from tests.oidc.support import HTTP, REDIRECT, Browser, query_of, register
from tests.support.flow import FlowFactory
from tests.usage.support import issued, logged_in


def test_an_outside_client_completes_the_code_flow_and_checks_the_id_token(
    api: LiveServer, center: Center, new_flow: FlowFactory
) -> None:
    flow = issued(new_flow, "C001")
    app = logged_in(flow)  # the app, logged in with the mobile certificate and its PIN
    site = register(center)
    meta = HTTP.get(f"{api.url}/.well-known/openid-configuration").json()
    assert meta["issuer"] == api.url
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["id_token_signing_alg_values_supported"] == ["ES256"]

    rp = OAuth2Session(
        client_id="gov24",
        client_secret=site.secret,
        scope="openid profile phone",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = rp.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    browser = Browser(center)
    try:
        back = browser.log_in(url, app)
    finally:
        browser.close()
    assert back.startswith(REDIRECT + "?")
    assert query_of(back)["state"] == state

    token = rp.fetch_token(
        meta["token_endpoint"], authorization_response=back, code_verifier=verifier
    )
    assert token["token_type"].lower() == "bearer" and token["refresh_token"]

    # the ID token, checked as a relying party does: signature by the JWKS, then the claims
    jwks = KeySet.import_key_set(HTTP.get(meta["jwks_uri"]).json())
    decoded = jwt.decode(token["id_token"], jwks, algorithms=["ES256"])
    assert decoded.header["alg"] == "ES256" and decoded.header["kid"] in {k.kid for k in jwks.keys}
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        options={"iss": {"value": meta["issuer"]}, "aud": {"value": "gov24"}},
        params={"nonce": nonce, "access_token": token["access_token"]},
    )
    claims.validate(leeway=5)
    assert claims["nonce"] == nonce and claims["at_hash"]
    assert claims["amr"] == ["hwk", "pin"] and claims["acr"]
    approvals = tables.web_approvals
    with center.engine.connect() as conn:
        approved_at = conn.execute(
            select(approvals.c.approved_at).where(approvals.c.purpose == "oidc-login")
        ).scalar_one()
    assert claims["auth_time"] == int(approved_at.timestamp())  # when the app approved
    assert claims["name"] == flow.answers.name

    # userinfo: the consented claims, the same pairwise subject
    info = rp.get(meta["userinfo_endpoint"]).json()
    assert info["sub"] == claims["sub"] and info["name"] == flow.answers.name
    assert info["phone_number"].startswith("+82") and "birthdate" not in info and "ci" not in info

    # refresh: a new refresh token (rotation) and a new ID token for the same person
    refreshed = rp.refresh_token(meta["token_endpoint"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    again = jwt.decode(refreshed["id_token"], jwks, algorithms=["ES256"]).claims
    assert again["sub"] == claims["sub"] and again["auth_time"] == claims["auth_time"]

    # no code, token or client secret in clear in the database: keyed digests only
    with center.engine.connect() as conn:
        stored = "\n".join(
            str(value)
            for table in tables.metadata.sorted_tables
            for row in conn.execute(select(table))
            for value in row
        )
    secrets_given = [query_of(back)["code"], token["access_token"], token["refresh_token"]]
    secrets_given += [refreshed["access_token"], refreshed["refresh_token"], site.secret or "-"]
    assert not [s for s in secrets_given if s in stored]
