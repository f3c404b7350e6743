"""Authlib's server components fitted to the center: requests, clients, codes, tokens, errors.

The protocol (parameter checks, PKCE, client authentication, the token response, the ID
token's claims) is Authlib's; this module only answers its questions from storage and
gives every OAuth error a catalog code. Nothing here speaks HTTP: a request comes in as
:class:`HttpRequest` and leaves as :class:`HttpAnswer`, which the adapters turn into responses.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    OAuth2Request,
    TokenMixin,
)
from authlib.oauth2.rfc6749.errors import OAuth2Error
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload

from certcenter.clock import as_utc
from certcenter.entities import OidcClient, OidcCode, OidcToken

# Each OAuth error, with the catalog code it carries when nothing more precise is known.
DEFAULT_CODES = {
    "invalid_request": "OIDC_REQUEST_INVALID",
    "invalid_client": "OIDC_CLIENT_INVALID",
    "invalid_grant": "OIDC_GRANT_INVALID",
    "unauthorized_client": "OIDC_CLIENT_UNAUTHORIZED",
    "unsupported_grant_type": "OIDC_GRANT_TYPE_UNSUPPORTED",
    "unsupported_response_type": "OIDC_RESPONSE_TYPE_UNSUPPORTED",
    "invalid_scope": "OIDC_SCOPE_INVALID",
    "access_denied": "OIDC_ACCESS_DENIED",
    "invalid_token": "OIDC_TOKEN_INVALID",
    "insufficient_scope": "OIDC_TOKEN_INVALID",
    "missing_authorization": "OIDC_TOKEN_INVALID",
    "unsupported_token_type": "OIDC_REQUEST_INVALID",
    "login_required": "OIDC_LOGIN_REQUIRED",
    "consent_required": "OIDC_LOGIN_REQUIRED",
    "interaction_required": "OIDC_LOGIN_REQUIRED",
    "invalid_request_uri": "OIDC_REQUEST_URI_INVALID",
    "invalid_request_object": "OIDC_REQUEST_INVALID",
}
# Authlib's own refusals, told apart by their description.
_BY_DESCRIPTION = (
    ("code_challenge", "OIDC_PKCE_REQUIRED"),
    ("code_verifier", "OIDC_PKCE_REQUIRED"),
    ("Code challenge failed", "OIDC_PKCE_FAILED"),
    ("redirect_uri", "OIDC_REDIRECT_URI_INVALID"),
    ("Redirect URI", "OIDC_REDIRECT_URI_INVALID"),
    ("nonce", "OIDC_REQUEST_INVALID"),
)


def catalog_code(error: OAuth2Error) -> str:
    """The catalog code of an OAuth error (set where it was raised, else inferred)."""
    code = getattr(error, "catalog_code", None)
    if isinstance(code, str):
        return code
    description = error.description or ""
    for needle, found in _BY_DESCRIPTION:
        if needle in description:
            return found
    return DEFAULT_CODES.get(error.error or "", "OIDC_REQUEST_INVALID")


def refusal(error_cls: type[OAuth2Error], code: str, description: str, **kw: Any) -> OAuth2Error:
    """An Authlib error carrying a catalog code."""
    error = error_cls(description=description, **kw)
    error.catalog_code = code
    return error


@dataclass(frozen=True)
class HttpRequest:
    """What the adapters hand in: the method, the full URI, the headers, and the parameters
    (the query of a GET, the form of a POST)."""

    method: str
    uri: str
    headers: dict[str, str]
    params: dict[str, str]
    source_ip: str | None = None


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: Any  # a dict (JSON) or a string
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "location":
                return value
        return None

    def json_text(self) -> str:
        return self.body if isinstance(self.body, str) else json.dumps(self.body)


class Headers(dict[str, str]):
    """HTTP headers by name, whatever its case (Authlib asks for "Authorization")."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__({k.lower(): v for k, v in headers.items()})

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


class Request(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request.method, request.uri, headers=Headers(request.headers))
        self.source = request
        self.payload = BasicOAuth2Payload(dict(request.params))

    @property
    def args(self) -> dict[str, str]:
        return dict(self.source.params) if self.method == "GET" else {}

    @property
    def form(self) -> dict[str, str]:
        return dict(self.source.params)


SUPPORTED_GRANTS = ("authorization_code", "refresh_token")


class Client(ClientMixin):  # type: ignore[misc]
    """A registered client as Authlib asks about it."""

    def __init__(self, record: OidcClient, digest: Callable[[str], str]) -> None:
        self.record = record
        self._digest = digest

    @property
    def client_id(self) -> str:
        return self.record.client_id

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {
            "post_logout_redirect_uris": list(self.record.post_logout_redirect_uris),
            "id_token_signed_response_alg": "ES256",
        }

    id_token_signed_response_alg = "ES256"  # noqa: S105 - an algorithm's name

    def get_client_id(self) -> str:
        return self.record.client_id

    def get_default_redirect_uri(self) -> str | None:
        return None  # every request names its redirect_uri (matched exactly)

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return ""
        allowed = set(self.record.scopes.split())
        if self.record.allow_ci:
            allowed.add("ci")
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.record.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        stored = self.record.secret_digest
        if not stored or not client_secret:
            return False
        return hmac.compare_digest(stored, self._digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.record.disabled_at is not None:
            return False
        if method == "client_assertion_jwt":
            method = "private_key_jwt"
        return method == self.record.auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in SUPPORTED_GRANTS


@dataclass(frozen=True)
class Subject:
    """The person a code or token stands for, and how they authenticated."""

    customer_id: str
    client_id: str
    certificate_serial: str
    auth_time: datetime
    acr: str
    amr: tuple[str, ...]
    claims: tuple[str, ...] = ()  # what the customer consented to give this client


class Code(AuthorizationCodeMixin):  # type: ignore[misc]
    def __init__(self, record: OidcCode) -> None:
        self.record = record

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce

    def get_auth_time(self) -> int:
        return int(as_utc(self.record.auth_time).timestamp())

    def get_acr(self) -> str:
        return self.record.acr

    def get_amr(self) -> list[str]:
        return list(self.record.amr)

    @property
    def code_challenge(self) -> str:
        return self.record.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.record.code_challenge_method

    def subject(self) -> Subject:
        r = self.record
        return Subject(
            customer_id=r.customer_id,
            client_id=r.client_id,
            certificate_serial=r.certificate_serial,
            auth_time=r.auth_time,
            acr=r.acr,
            amr=tuple(r.amr),
            claims=tuple(r.claims),
        )


class Token(TokenMixin):  # type: ignore[misc]
    def __init__(self, record: OidcToken, client: Client | None, now: datetime) -> None:
        self.record = record
        self.client = client
        self.now = now
        self.scope = record.scope
        self.kind = "access_token"  # or refresh_token: which one was presented

    def check_client(self, client: Client) -> bool:
        return client.get_client_id() == self.record.client_id

    def get_scope(self) -> str:
        return self.record.scope

    def get_expires_in(self) -> int:
        r = self.record
        return int((as_utc(r.access_expires_at) - as_utc(r.issued_at)).total_seconds())

    def is_expired(self) -> bool:
        r = self.record
        if self.kind == "refresh_token":
            return r.refresh_expires_at is None or as_utc(r.refresh_expires_at) <= self.now
        return as_utc(r.access_expires_at) <= self.now

    def is_revoked(self) -> bool:
        return self.record.revoked_at is not None

    def get_user(self) -> Subject:
        r = self.record
        return Subject(
            customer_id=r.customer_id,
            client_id=r.client_id,
            certificate_serial=r.certificate_serial,
            auth_time=r.auth_time,
            acr=r.acr,
            amr=tuple(r.amr),
            claims=tuple(r.claims),
        )

    def get_client(self) -> Client | None:
        return self.client
