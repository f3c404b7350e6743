"""Authlib's server classes, each answering from the provider (:mod:`.provider`).

The grants (code with PKCE required, refresh with rotation), the OpenID extension (ID token
claims, ES256 through the key backend), client authentication by ``private_key_jwt``, the
revocation, introspection and end-session endpoints, and the bearer token validator. Each
asks its questions of :class:`~certcenter.oidc.provider.OidcProvider`, where storage, the
clock and the audit trail are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749 import AuthorizationServer, grants
from authlib.oauth2.rfc6749.errors import InvalidClientError, InvalidRequestError, OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc.jwk import KeySet

from certcenter.oidc.authlib_glue import (
    Client,
    Code,
    HttpAnswer,
    Request,
    Subject,
    Token,
    catalog_code,
    refusal,
)
from certcenter.oidc.keys import ALGORITHM

if TYPE_CHECKING:
    from certcenter.oidc.provider import OidcProvider

SCOPES = ("openid", "profile", "phone", "birthdate", "ci")
AUTH_METHODS = ("client_secret_basic", "private_key_jwt", "none")
ID_TOKEN_TTL = 600  # seconds: an ID token


class Server(AuthorizationServer):  # type: ignore[misc]
    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.provider = provider

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.client(client_id)

    def save_token(self, token: dict[str, Any], request: Request) -> None:
        self.provider._save_token(token, request)

    def create_oauth2_request(self, request: Any) -> Request:
        return request if isinstance(request, Request) else Request(request)

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError  # no JSON endpoints

    def handle_response(self, status: int, body: Any, headers: Any) -> HttpAnswer:
        return HttpAnswer(status, body, list(headers or []))

    def handle_error_response(self, request: Any, error: OAuth2Error) -> HttpAnswer:
        status, body, headers = error(self.get_error_uri(request, error))
        code = catalog_code(error)
        if isinstance(body, dict):
            body = {**body, "code": code}
        elif isinstance(body, list):
            body = {**dict(body), "code": code}
        answer = HttpAnswer(status, body, list(headers or []))
        self.provider._refused(request, error, code)
        return answer

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass


class PkceRequired(CodeChallenge):  # type: ignore[misc]
    """PKCE for every client, S256 only (RFC 9700 §2.1.1)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 - Authlib's class attribute

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise refusal(
                InvalidRequestError,
                "OIDC_PKCE_REQUIRED",
                "Missing 'code_challenge' (PKCE with S256 is required).",
                redirect_uri=redirect_uri,
            )
        if data.get("code_challenge_method") != "S256":
            raise refusal(
                InvalidRequestError,
                "OIDC_PKCE_REQUIRED",
                "'code_challenge_method' must be S256.",
                redirect_uri=redirect_uri,
            )
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise refusal(InvalidRequestError, "OIDC_PKCE_REQUIRED", "Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: Code) -> str:
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code: Code) -> str:
        return authorization_code.code_challenge_method


class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)  # noqa: RUF012 - Authlib's attribute
    AUTHORIZATION_CODE_LENGTH = 43
    server: Server

    def save_authorization_code(self, code: str, request: Request) -> None:
        self.server.provider._save_code(code, request)

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        return self.server.provider._query_code(code, client)

    def delete_authorization_code(self, authorization_code: Code) -> None:
        pass  # used (once) in authenticate_user, before any token is made

    def authenticate_user(self, authorization_code: Code) -> Subject:
        return self.server.provider._use_code(authorization_code, self.request)


class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)  # noqa: RUF012 - Authlib's attribute
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation
    server: Server

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        return self.server.provider._query_refresh(refresh_token, self.request)

    def authenticate_user(self, refresh_token: Token) -> Subject:
        return self.server.provider._still_valid(refresh_token.get_user())

    def revoke_old_credential(self, refresh_token: Token) -> None:
        pass  # rotated when it was taken (_query_refresh), before the new one was made


class OpenIDCodeClaims(OpenIDCode):  # type: ignore[misc]
    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Request) -> bool:
        return self.provider._nonce_used(request.payload.client_id, nonce)

    def get_client_algorithm(self, client: Client) -> str:
        return ALGORITHM

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.provider.issuer, "aud": [client.get_client_id()]}

    def get_encode_header(self, client: Client) -> dict[str, Any]:
        return {"alg": ALGORITHM, "kid": self.provider.keys.current().kid}

    def get_compatible_claims(self, request: Request) -> dict[str, Any]:
        now = int(self.provider.clock.now().timestamp())
        claims = self.get_client_claims(request.client)
        claims.update({"iat": now, "exp": now + ID_TOKEN_TTL})
        user: Subject = request.user
        claims.update(self.provider._session_claims(user))
        return claims

    def resolve_client_private_key(self, client: Client) -> Any:
        return self.provider.keys.signer()

    def generate_user_info(self, user: Subject, scope: str) -> UserInfo:
        return self.provider._user_info(user)


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, provider: OidcProvider) -> None:
        super().__init__(validate_jti=True, leeway=30)
        self.provider = provider

    def get_audiences(self) -> list[str]:
        return [self.provider.issuer, self.provider.endpoint("token")]

    def validate_jti(self, claims: Any, jti: str) -> bool:
        return self.provider._use_jti(str(claims["sub"]), jti)

    def resolve_client_public_key(self, client: Client) -> KeySet:
        return KeySet.import_key_set(client.record.jwks or {"keys": []})  # type: ignore[arg-type]

    def verify_claims(self, claims: Any) -> None:
        now = int(self.provider.clock.now().timestamp())
        exp = claims.get("exp")
        if not isinstance(exp, int) or exp + self.leeway < now:
            raise InvalidClientError(description="The client assertion has expired.")
        # joserfc checks exp against the wall clock; the center's clock decides here
        super().verify_claims({**claims, "exp": 2**31 - 1})


class Revocation(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = list(AUTH_METHODS)  # noqa: RUF012 - Authlib's attribute

    def __init__(self, provider: OidcProvider) -> None:
        super().__init__()
        self.provider = provider

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.provider._find_token(token_string, token_type_hint)

    def revoke_token(self, token: Token, request: Request) -> None:
        self.provider._revoke(token, request)


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt"]  # noqa: RUF012

    def __init__(self, provider: OidcProvider) -> None:
        super().__init__()
        self.provider = provider

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self.provider._find_token(token_string, token_type_hint)

    def check_permission(self, token: Token, client: Client, request: Request) -> bool:
        return token.check_client(client)  # a client learns about its own tokens only

    def create_introspection_payload(self, token: Token | None) -> dict[str, Any]:
        if token is None or token.is_expired() or token.is_revoked():
            return {"active": False}
        return self.introspect_token(token)

    def introspect_token(self, token: Token) -> dict[str, Any]:
        return self.provider._introspect(token)


class EndSession(EndSessionEndpoint):  # type: ignore[misc]
    def __init__(self, provider: OidcProvider) -> None:
        super().__init__()
        self.provider = provider

    def get_server_jwks(self) -> dict[str, Any]:
        return self.provider.jwks()

    def get_algorithms(self) -> list[str]:
        return [ALGORITHM]

    def resolve_client_from_id_token_claims(self, id_token_claims: dict[str, Any]) -> Any:
        aud = id_token_claims.get("aud")
        if isinstance(aud, list) and len(aud) == 1:  # our ID tokens name one audience
            aud = aud[0]
        return self.server.query_client(aud) if isinstance(aud, str) else None

    def end_session(self, end_session_request: Any) -> None:
        self.provider._end_session(end_session_request)


class BearerValidator(BearerTokenValidator):  # type: ignore[misc]
    def __init__(self, provider: OidcProvider) -> None:
        super().__init__()
        self.provider = provider

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.provider._find_token(token_string, "access_token")
