"""정부24 (데모): a site of the demo world that logs its visitors in through the center's OpenID
provider, as any relying party would — the code flow with PKCE, state and nonce, the ID token
checked against the provider's JWKS.

    site = DemoRelyingParty(center.oidc, base_url)
    pending = site.start()                     # keep pending (state, nonce, verifier); go to
    pending.url                                # the provider's /oidc/authorize
    person = site.finish(pending, code, state) # the checked ID token's claims and userinfo

It runs in the center's process and calls the provider's token endpoint in-process (the same
code that answers ``POST /oidc/token``); the ID token is verified with joserfc and Authlib's
``CodeIDToken`` rules, not trusted because it came from nearby.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from certcenter.errors import CertCenterError
from certcenter.oidc.authlib_glue import HttpRequest
from certcenter.oidc.clients import ClientRegistry, redirect_uri_allowed
from certcenter.oidc.provider import OidcProvider, pkce_pair

CLIENT_ID = "gov24-demo"
NAME = "정부24 (데모)"
SCOPE = "openid profile phone birthdate"
PATH = "/sim/gov24"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingLogin:
    url: str
    state: str
    nonce: str
    verifier: str


@dataclass(frozen=True)
class LoggedIn:
    claims: dict[str, Any]
    userinfo: dict[str, Any]
    id_token: str


def ensure_demo_site(clients: ClientRegistry, base_url: str) -> bool:
    """Register the demo site (a public client: PKCE, no secret) once, at the center's public
    URL (its addresses follow that URL when it changes); True if made now."""
    callback = [base_url.rstrip("/") + PATH + "/callback"]
    back = [base_url.rstrip("/") + PATH]
    if not redirect_uri_allowed(callback[0]):
        # a site's addresses are https, or http on loopback: at a plain-http public URL the
        # demo site is left out (the rest of the demo world works)
        log.warning(
            "demo site not registered: its address %s is neither https nor on loopback",
            callback[0],
        )
        return False
    if clients.exists(CLIENT_ID):
        clients.readdress(CLIENT_ID, callback, back)
        return False
    clients.add(
        CLIENT_ID,
        NAME,
        redirect_uris=callback,
        auth_method="none",
        scopes=SCOPE,
        post_logout_redirect_uris=back,
        audited=False,
    )
    return True


class DemoRelyingParty:
    def __init__(self, provider: OidcProvider, base_url: str) -> None:
        self.provider = provider
        self.base_url = base_url.rstrip("/")

    @property
    def redirect_uri(self) -> str:
        return self.base_url + PATH + "/callback"

    def start(self) -> PendingLogin:
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        query = urlencode(
            {
                "response_type": "code",
                "client_id": CLIENT_ID,
                "redirect_uri": self.redirect_uri,
                "scope": SCOPE,
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return PendingLogin(
            url=f"{self.provider.endpoint('authorize')}?{query}",
            state=state,
            nonce=nonce,
            verifier=verifier,
        )

    def finish(self, pending: PendingLogin, code: str, state: str) -> LoggedIn:
        if not secrets.compare_digest(state, pending.state):
            raise CertCenterError("OIDC_REQUEST_INVALID")
        answer = self.provider.token(
            HttpRequest(
                "POST",
                self.provider.endpoint("token"),
                {},
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": self.redirect_uri,
                    "client_id": CLIENT_ID,
                    "code_verifier": pending.verifier,
                },
            )
        )
        if answer.status != 200 or not isinstance(answer.body, dict):
            code_name = answer.body.get("code") if isinstance(answer.body, dict) else None
            raise CertCenterError(str(code_name or "OIDC_GRANT_INVALID"))
        tokens = answer.body
        try:
            keys = KeySet.import_key_set(self.provider.jwks())  # type: ignore[arg-type]
            decoded = jwt.decode(tokens["id_token"], keys, ["ES256"])
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                options={"iss": {"value": self.provider.issuer}, "aud": {"value": CLIENT_ID}},
                params={"nonce": pending.nonce, "access_token": tokens["access_token"]},
            )
            claims.validate(now=int(self.provider.clock.now().timestamp()), leeway=5)
        except (JoseError, KeyError) as exc:
            raise CertCenterError("OIDC_GRANT_INVALID") from exc
        info = self.provider.userinfo(
            HttpRequest(
                "GET",
                self.provider.endpoint("userinfo"),
                {"authorization": f"Bearer {tokens['access_token']}"},
                {},
            )
        )
        return LoggedIn(
            claims=dict(claims),
            userinfo=dict(info.body) if isinstance(info.body, dict) else {},
            id_token=str(tokens["id_token"]),
        )

    def logout_url(self, id_token: str) -> str:
        query = urlencode(
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": self.base_url + PATH,
                "state": secrets.token_urlsafe(8),
            }
        )
        return f"{self.provider.endpoint('logout')}?{query}"
