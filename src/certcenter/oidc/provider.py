"""The OpenID provider (OpenID Connect 제공자): a site logs its visitor in with the visitor's
certificate at the center.

    provider = OidcProvider(uow_factory=..., keys=ring, digest=..., approvals=..., audit=...,
                            clock=clock, issuer="https://cert.example.bank")
    pending = provider.begin(http_request)           # /oidc/authorize: checked, or refused
    started = provider.start_app_approval(ip)        # the browser shows started.code
    done = provider.finish_app_approval(token)       # the app approved: who, how, when
    done = provider.certificate_login(pending, "financial", customer_id, serial, at)
                                                     # or proven in the browser (금융/공동)
    answer = provider.authorize(pending.params, done, consented=["name"])   # 302 with code
    answer = provider.token(http_request)            # /oidc/token: ID token (ES256) and tokens

The protocol is Authlib's (:mod:`authlib.oauth2`, :mod:`authlib.oidc.core`): the code flow with
PKCE (S256, required of every client), nonce and state, client authentication
(client_secret_basic, private_key_jwt, none for public clients), refresh tokens, revocation
(RFC 7009), introspection (RFC 7662), userinfo, RP-initiated logout. The center decides:

- who the person is: a certificate the customer uses *now* (approve in the app, the
  financial certificate's PIN in a registered browser, or the joint certificate's key
  signing a challenge in the browser: :data:`ACR_OF_METHOD`, :data:`AMR_OF_METHOD`; the
  certificate's status is checked at each authentication and again at each token request,
  so a revoked certificate logs in nowhere and refreshes nothing);
- codes: single use, :data:`CODE_TTL` seconds; a replayed code revokes every token issued
  from it (RFC 6749 §4.1.2);
- refresh tokens rotate: each use gives a new one; a used one presented again revokes the
  whole grant (reuse detection);
- every grant, exchange, refresh, revocation and refusal of a replay is in the audit trail.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749.errors import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    OAuth2Error,
)
from authlib.oauth2.rfc6749.resource_protector import ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc6750.errors import InvalidTokenError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import UserInfo

from certcenter.certificates.records import require_active
from certcenter.clock import Clock, as_utc
from certcenter.entities import Actor, OidcCode, OidcConsent, OidcPushedRequest, OidcToken, new_id
from certcenter.errors import CertCenterError
from certcenter.issuance.service import AuditRecorder
from certcenter.oidc.authlib_glue import (
    Client,
    Code,
    HttpAnswer,
    HttpRequest,
    Request,
    Subject,
    Token,
    catalog_code,
    refusal,
)
from certcenter.oidc.clients import ClientRegistry
from certcenter.oidc.endpoints import (
    AUTH_METHODS,
    SCOPES,
    BearerValidator,
    CodeGrant,
    EndSession,
    Introspection,
    OpenIDCodeClaims,
    PkceRequired,
    PrivateKeyJwt,
    RefreshGrant,
    Revocation,
    Server,
)
from certcenter.oidc.keys import ALGORITHM, SigningKeyRing
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.usage.approvals import OIDC_LOGIN, ApprovalService, StartedApproval
from certcenter.usage.login import FINANCIAL_METHOD, JOINT_METHOD, OTHER_JOINT_SERIAL_PREFIX

CODE_TTL = 60  # seconds: an authorization code
ACCESS_TTL = 600  # seconds: an access token
REFRESH_TTL = 8 * 3600  # seconds: a refresh token (each use gives a new one)
PAR_TTL = 90  # seconds: a pushed authorization request's request_uri
AUTHENTICATION_TTL = 600  # seconds an authentication may wait for the consent
REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
ACR_APP = "urn:certcenter:acr:mobile-certificate"  # the mobile certificate, in the app
ACR_FINANCIAL = "urn:certcenter:acr:financial-certificate"  # 금융인증서, in the browser
ACR_JOINT = "urn:certcenter:acr:joint-certificate"  # 공동인증서, its .pfx in the browser
# what each of the app's logins proves (RFC 8176): the device key (hwk) and the customer
AMR_OF_APP_LOGIN = {"pin": "pin", "pattern": "pattern", "biometric": "user"}
# the logins in the browser (RFC 8176). Financial: the browser's device key is WebCrypto's,
# not extractable but kept by the browser in software (swk, not hwk), and the 6-digit PIN
# the center checks against the cloud-held key (pin). Joint: the certificate's RSA key, in
# a file (swk), opened with the certificate password the customer types (pwd); the center
# sees neither the file nor the password, only the key's signature over its challenge.
ACR_OF_METHOD = {FINANCIAL_METHOD: ACR_FINANCIAL, JOINT_METHOD: ACR_JOINT}
AMR_OF_METHOD: dict[str, tuple[str, ...]] = {
    FINANCIAL_METHOD: ("swk", "pin"),
    JOINT_METHOD: ("swk", "pwd"),
}
# the claims each scope asks for, as the consent screen names them
CLAIMS_OF_SCOPE = {"profile": "name", "phone": "phone", "birthdate": "birthdate", "ci": "ci"}
_DOMAIN = b"certcenter/oidc/v1\x00"
PUSHED = "_pushed"  # marks parameters that came by a pushed request (never from the browser)


@dataclass(frozen=True)
class PendingAuthorization:
    """A checked authorization request, waiting for the person and the consent."""

    client_id: str
    client_name: str
    params: dict[str, str]
    claims: tuple[str, ...]  # what the client asks for (name, phone, birthdate, ci)
    max_age: int | None = None


@dataclass(frozen=True)
class Authentication:
    """Who logged in, with what, and when (the ID token's sub, amr, acr and auth_time)."""

    customer_id: str
    customer_name: str
    certificate_serial: str
    auth_time: datetime
    acr: str
    amr: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "certificate_serial": self.certificate_serial,
            "auth_time": self.auth_time.isoformat(),
            "acr": self.acr,
            "amr": list(self.amr),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Authentication:
        try:
            return cls(
                customer_id=str(data["customer_id"]),
                customer_name=str(data["customer_name"]),
                certificate_serial=str(data["certificate_serial"]),
                auth_time=datetime.fromisoformat(str(data["auth_time"])),
                acr=str(data["acr"]),
                amr=tuple(str(a) for a in data["amr"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CertCenterError("OIDC_LOGIN_REQUIRED") from exc


class OidcRefusalError(Exception):
    """An authorization request refused: ``answer`` redirects back to the client when its
    redirect URI was checked, else ``answer`` is None and the center shows ``error``."""

    def __init__(self, error: CertCenterError, answer: HttpAnswer | None) -> None:
        super().__init__(error.code)
        self.error = error
        self.answer = answer


# ---------------------------------------------------------------------------- the provider


class OidcProvider:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        keys: SigningKeyRing,
        digest: Callable[[bytes], bytes],
        approvals: ApprovalService,
        audit: AuditRecorder,
        clock: Clock,
        issuer: str,
    ) -> None:
        self.uow_factory = uow_factory
        self.keys = keys
        self._mac = digest
        self.approvals = approvals
        self.audit = audit
        self.clock = clock
        self.issuer = issuer.rstrip("/")
        self.clients = ClientRegistry(uow_factory, self.digest, audit, clock)
        server = Server(self)
        server.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: secrets.token_urlsafe(32),
                refresh_token_generator=lambda **_: secrets.token_urlsafe(32),
                expires_generator=lambda *_: ACCESS_TTL,
            ),
        )
        server.register_client_auth_method("private_key_jwt", PrivateKeyJwt(self))
        openid = OpenIDCodeClaims(self)
        server.register_grant(CodeGrant, [PkceRequired(required=True), openid])
        server.register_grant(RefreshGrant, [openid])
        server.register_endpoint(Revocation(self))
        server.register_endpoint(Introspection(self))
        server.register_endpoint(EndSession(self))
        self.server = server
        protector = ResourceProtector()
        protector.register_token_validator(BearerValidator(self))
        self.protector = protector

    # ------------------------------------------------------------------ published facts

    def endpoint(self, name: str) -> str:
        return f"{self.issuer}/oidc/{name}"

    def discovery(self) -> dict[str, Any]:
        """The provider's metadata (/.well-known/openid-configuration)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.endpoint("authorize"),
            "token_endpoint": self.endpoint("token"),
            "userinfo_endpoint": self.endpoint("userinfo"),
            "jwks_uri": self.endpoint("jwks"),
            "revocation_endpoint": self.endpoint("revoke"),
            "introspection_endpoint": self.endpoint("introspect"),
            "end_session_endpoint": self.endpoint("logout"),
            "pushed_authorization_request_endpoint": self.endpoint("par"),
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256"],
            "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "private_key_jwt",
            ],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "at_hash",
                "name",
                "phone_number",
                "phone_number_verified",
                "birthdate",
                "ci",
            ],
            "acr_values_supported": [ACR_APP, ACR_FINANCIAL, ACR_JOINT],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": True,
            "require_request_uri_registration": False,
            "require_pushed_authorization_requests": False,
            "ui_locales_supported": ["ko", "en"],
        }

    def jwks(self) -> dict[str, Any]:
        return self.keys.jwks()

    # ------------------------------------------------------------------ clients

    def client(self, client_id: str | None) -> Client | None:
        if not client_id or len(client_id) > 64:
            return None
        with self.uow_factory(read_only=True) as uow:
            record = uow.oidc.client(client_id)
        if record is None or record.disabled_at is not None:
            return None
        return Client(record, self.digest)

    def digest(self, secret: str) -> str:
        """The keyed digest a secret is stored as (the key backend's MAC)."""
        return self._mac(_DOMAIN + secret.encode("utf-8")).hex()

    # ------------------------------------------------------------------ the authorization

    def begin(self, request: HttpRequest) -> PendingAuthorization:
        """Check an authorization request (a pushed one by its request_uri): the client, the
        exact redirect URI, response_type, scope, PKCE, nonce, prompt."""
        params = dict(request.params)
        if "request_uri" in params:
            params = self._pushed(params)
        else:
            params.pop(PUSHED, None)
        return self.check(params)

    def check(self, params: dict[str, str]) -> PendingAuthorization:
        """Check the parameters of an authorization request (again, at each step)."""
        client = self.client(params.get("client_id"))
        if client is not None and client.record.require_par and not params.get(PUSHED):
            raise OidcRefusalError(CertCenterError("OIDC_PAR_REQUIRED"), None)
        oauth = Request(HttpRequest("GET", self.endpoint("authorize"), {}, _plain(params)))
        try:
            grant = self.server.get_consent_grant(oauth, end_user=None)
        except OAuth2Error as error:
            raise self._authorize_refusal(oauth, error) from None
        record = grant.request.client.record
        scope = grant.request.scope or ""
        claims = tuple(CLAIMS_OF_SCOPE[s] for s in scope.split() if s in CLAIMS_OF_SCOPE)
        max_age = params.get("max_age")
        return PendingAuthorization(
            client_id=record.client_id,
            client_name=record.name,
            params=params,
            claims=claims,
            max_age=int(max_age) if max_age and max_age.isdigit() else None,
        )

    def start_app_approval(self, source_ip: str | None = None) -> StartedApproval:
        """The code the browser shows, to approve in the app (앱으로 승인)."""
        return self.approvals.start(OIDC_LOGIN, source_ip=source_ip)

    def finish_app_approval(self, token: str, source_ip: str | None = None) -> Authentication:
        """The app approved: who, with which certificate (checked now), how and when."""
        done = self.approvals.consume(token, source_ip=source_ip)
        approval = done.approval
        if approval.purpose != OIDC_LOGIN or approval.approved_at is None:
            raise CertCenterError("APPROVAL_NOT_FOUND")
        serial = approval.certificate_serial or ""
        with self.uow_factory(read_only=True) as uow:
            certificate = uow.certificates.get(serial)
            if certificate is None:
                raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial)
            require_active(certificate, self.clock.now())
        factor = AMR_OF_APP_LOGIN.get(approval.app_method or "", "user")
        return Authentication(
            customer_id=done.customer.id,
            customer_name=done.customer.name,
            certificate_serial=serial,
            auth_time=as_utc(approval.approved_at),
            acr=ACR_APP,
            amr=("hwk", factor),
        )

    def certificate_login(
        self,
        pending: PendingAuthorization,
        method: str,
        customer_id: str,
        certificate_serial: str,
        at: datetime,
        *,
        source_ip: str | None = None,
    ) -> Authentication:
        """The certificate was proven in the browser just now (``method``: the financial
        certificate's PIN, or the joint certificate's signature; proven by the login core,
        which opened no session): who, with which certificate (checked again), how, when."""
        if method not in ACR_OF_METHOD:
            raise CertCenterError("INVALID_REQUEST", detail="method: financial or joint")
        with self.uow_factory() as uow:
            customer = uow.customers.get(customer_id)
            if customer is None or not self._usable(uow, customer_id, certificate_serial):
                raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=certificate_serial)
            self._audit(
                uow,
                customer_id,
                "oidc.login",
                pending.client_id,
                source_ip,
                {"method": method, "certificate": certificate_serial},
            )
            uow.commit()
        return Authentication(
            customer_id=customer.id,
            customer_name=customer.name,
            certificate_serial=certificate_serial,
            auth_time=as_utc(at),
            acr=ACR_OF_METHOD[method],
            amr=AMR_OF_METHOD[method],
        )

    def consented(self, customer_id: str, pending: PendingAuthorization) -> bool:
        """Whether the customer already allowed this client every claim it asks for."""
        with self.uow_factory(read_only=True) as uow:
            consent = uow.oidc.consent(customer_id, pending.client_id)
        if consent is None or "consent" in pending.params.get("prompt", "").split():
            return False
        return set(pending.claims) <= set(consent.claims)

    def authorize(
        self,
        pending: PendingAuthorization,
        who: Authentication,
        *,
        consented: Sequence[str],
        source_ip: str | None = None,
    ) -> HttpAnswer:
        """The customer allowed ``consented`` (a subset of what was asked): the redirect back
        with a code. The certificate's status is checked again here."""
        now = self.clock.now()
        if now - as_utc(who.auth_time) > timedelta(seconds=AUTHENTICATION_TTL):
            raise CertCenterError("OIDC_LOGIN_REQUIRED")
        if pending.max_age is not None and now - as_utc(who.auth_time) > timedelta(
            seconds=pending.max_age
        ):
            raise CertCenterError("OIDC_LOGIN_REQUIRED")
        given = tuple(c for c in pending.claims if c in set(consented))
        subject = self._still_valid(
            Subject(
                customer_id=who.customer_id,
                client_id=pending.client_id,
                certificate_serial=who.certificate_serial,
                auth_time=who.auth_time,
                acr=who.acr,
                amr=who.amr,
                claims=given,
            )
        )
        oauth = Request(HttpRequest("GET", self.endpoint("authorize"), {}, _plain(pending.params)))
        try:
            grant = self.server.get_consent_grant(oauth, end_user=subject)
        except OAuth2Error as error:
            raise self._authorize_refusal(oauth, error) from None
        with self.uow_factory() as uow:
            consent = uow.oidc.consent(who.customer_id, pending.client_id)
            if consent is None or set(consent.claims) != set(given):
                if consent is not None:
                    consent.withdrawn_at = now
                uow.oidc.add_consent(
                    OidcConsent(
                        id=new_id(),
                        customer_id=who.customer_id,
                        client_id=pending.client_id,
                        claims=list(given),
                        granted_at=now,
                    )
                )
                self._audit(
                    uow,
                    who.customer_id,
                    "oidc.consent",
                    pending.client_id,
                    source_ip,
                    {"claims": list(given)},
                )
            uow.commit()
        answer: HttpAnswer = self.server.create_authorization_response(
            oauth, grant_user=subject, grant=grant
        )
        return answer

    def deny(self, pending: PendingAuthorization) -> HttpAnswer:
        """The customer refused: back to the client with access_denied."""
        oauth = Request(HttpRequest("GET", self.endpoint("authorize"), {}, _plain(pending.params)))
        redirect_uri = pending.params.get("redirect_uri", "")
        error = refusal(
            AccessDeniedError,
            "OIDC_ACCESS_DENIED",
            "The customer did not allow it.",
            redirect_uri=redirect_uri,
        )
        error.state = pending.params.get("state")
        answer: HttpAnswer = self.server.handle_error_response(oauth, error)
        return answer

    def push(self, request: HttpRequest) -> HttpAnswer:
        """A pushed authorization request (RFC 9126): the client authenticates, the request
        is checked as at /authorize, and a request_uri good for :data:`PAR_TTL` comes back."""
        oauth = Request(request)
        try:
            client = self.server.authenticate_client(oauth, list(AUTH_METHODS), "par")
            params = {k: v for k, v in request.params.items() if not k.startswith("client_")}
            params["client_id"] = client.get_client_id()
            if "request_uri" in params:
                raise refusal(InvalidRequestError, "OIDC_REQUEST_INVALID", "No request_uri here.")
            check = Request(HttpRequest("GET", self.endpoint("authorize"), {}, params))
            self.server.get_consent_grant(check, end_user=None)
        except OAuth2Error as error:
            error.redirect_uri = None  # answered to the client, never redirected
            answer: HttpAnswer = self.server.handle_error_response(oauth, error)
            return answer
        uri = REQUEST_URI_PREFIX + secrets.token_urlsafe(32)
        now = self.clock.now()
        with self.uow_factory() as uow:
            uow.oidc.add_pushed(
                OidcPushedRequest(
                    uri_digest=self.digest(uri),
                    client_id=client.get_client_id(),
                    params=params,
                    created_at=now,
                    expires_at=now + timedelta(seconds=PAR_TTL),
                )
            )
            uow.commit()
        return HttpAnswer(
            201, {"request_uri": uri, "expires_in": PAR_TTL}, [("Cache-Control", "no-store")]
        )

    # ------------------------------------------------------------------ the other endpoints

    def token(self, request: HttpRequest) -> HttpAnswer:
        answer: HttpAnswer = self.server.create_token_response(request)
        return answer

    def revoke(self, request: HttpRequest) -> HttpAnswer:
        answer: HttpAnswer = self.server.create_endpoint_response("revocation", request)
        return answer

    def introspect(self, request: HttpRequest) -> HttpAnswer:
        answer: HttpAnswer = self.server.create_endpoint_response("introspection", request)
        return answer

    def userinfo(self, request: HttpRequest) -> HttpAnswer:
        """The consented claims of the access token's customer (OIDC Core §5.3)."""
        oauth = Request(request)
        try:
            token: Token = self.protector.validate_request(["openid"], oauth)
            subject = self._still_valid(token.get_user())
        except InvalidGrantError as error:  # the certificate: the token is no longer good
            error = refusal(InvalidTokenError, catalog_code(error), error.description or "")
            status, body, headers = error()
            return HttpAnswer(
                status, {**dict(body), "code": catalog_code(error)}, list(headers or [])
            )
        except OAuth2Error as error:
            status, body, headers = error()
            return HttpAnswer(
                status, {**dict(body), "code": catalog_code(error)}, list(headers or [])
            )
        return HttpAnswer(
            200,
            dict(self._user_info(subject)),
            [("Cache-Control", "no-store")],
        )

    def logout(self, request: HttpRequest) -> HttpAnswer | None:
        """RP-initiated logout: the tokens issued to that client for that person end; the
        redirect back only to a registered post_logout_redirect_uri (None: show a page)."""
        oauth = Request(request)
        try:
            validated = self.server.validate_endpoint_request("end_session", oauth)
        except OAuth2Error as error:
            raise CertCenterError(catalog_code(error)) from None
        answer: HttpAnswer | None = self.server.create_endpoint_response("end_session", validated)
        return answer

    # ------------------------------------------------------------------ Authlib's questions

    def _authorize_refusal(self, oauth: Request, error: OAuth2Error) -> OidcRefusalError:
        code = catalog_code(error)
        self._refused(oauth, error, code)
        if error.redirect_uri:
            error.state = oauth.payload.state
            status, body, headers = error()
            return OidcRefusalError(CertCenterError(code), HttpAnswer(status, body, list(headers)))
        return OidcRefusalError(CertCenterError(code), None)

    def _pushed(self, params: dict[str, str]) -> dict[str, str]:
        uri = params.get("request_uri", "")
        found = None
        if uri.startswith(REQUEST_URI_PREFIX) and len(uri) < 200:
            with self.uow_factory() as uow:
                found = uow.oidc.use_pushed(self.digest(uri), self.clock.now())
                uow.commit()
        if found is None or found.client_id != params.get("client_id"):
            raise OidcRefusalError(CertCenterError("OIDC_REQUEST_URI_INVALID"), None)
        return {**found.params, PUSHED: "1"}

    def _save_code(self, code: str, request: Request) -> None:
        subject: Subject = request.user
        data = request.payload.data
        now = self.clock.now()
        record = OidcCode(
            code_digest=self.digest(code),
            grant_id=new_id(),
            client_id=request.client.get_client_id(),
            customer_id=subject.customer_id,
            certificate_serial=subject.certificate_serial,
            redirect_uri=data.get("redirect_uri", ""),
            scope=request.scope or "",
            claims=list(subject.claims),
            code_challenge=data.get("code_challenge", ""),
            code_challenge_method=data.get("code_challenge_method", "S256"),
            auth_time=subject.auth_time,
            acr=subject.acr,
            amr=list(subject.amr),
            created_at=now,
            expires_at=now + timedelta(seconds=CODE_TTL),
            nonce=data.get("nonce"),
        )
        with self.uow_factory() as uow:
            uow.oidc.add_code(record)
            self._audit(
                uow,
                subject.customer_id,
                "oidc.authorize",
                record.client_id,
                request.source.source_ip,
                {
                    "grant": record.grant_id,
                    "scope": record.scope,
                    "claims": record.claims,
                    "amr": record.amr,
                },
            )
            uow.commit()

    def _query_code(self, code: str, client: Client) -> Code | None:
        if not code or len(code) > 100:
            return None
        with self.uow_factory(read_only=True) as uow:
            record = uow.oidc.code(self.digest(code))
        if record is None or record.client_id != client.get_client_id():
            return None
        if record.used_at is not None:
            self._replayed(record)
        if as_utc(record.expires_at) <= self.clock.now():
            raise refusal(InvalidGrantError, "OIDC_CODE_EXPIRED", "The code has expired.")
        return Code(record)

    def _replayed(self, record: OidcCode) -> None:
        """A code used again: every token issued from it is revoked (RFC 6749 §4.1.2)."""
        with self.uow_factory() as uow:
            revoked = uow.oidc.revoke_grant(record.grant_id, self.clock.now())
            self._audit(
                uow,
                record.customer_id,
                "oidc.code_replayed",
                record.client_id,
                None,
                {"grant": record.grant_id, "revoked": revoked},
                outcome="refused",
            )
            uow.commit()
        raise refusal(InvalidGrantError, "OIDC_CODE_REUSED", "The code was already used.")

    def _use_code(self, code: Code, request: Request) -> Subject:
        with self.uow_factory() as uow:
            if not uow.oidc.use_code(code.record.code_digest, self.clock.now()):
                uow.rollback()
                self._replayed(code.record)
            uow.commit()
        return self._still_valid(code.subject())

    def _still_valid(self, subject: Subject) -> Subject:
        """The certificate the person logged in with must still be usable."""
        try:
            with self.uow_factory(read_only=True) as uow:
                usable = self._usable(uow, subject.customer_id, subject.certificate_serial)
        except CertCenterError as exc:
            raise refusal(
                InvalidGrantError, exc.code, "The certificate is no longer usable."
            ) from None
        if not usable:
            raise refusal(InvalidGrantError, "CERTIFICATE_NOT_FOUND", "No such certificate.")
        return subject

    def _usable(self, uow: UnitOfWork, customer_id: str, serial: str) -> bool:
        """The customer's certificate ``serial`` is there (False if not) and active (else its
        refusal). A joint certificate of another institution is usable while its
        registration (``other:<id>``) lasts and it has not expired; its path
        and its issuer's CRL were checked when the customer proved it."""
        now = self.clock.now()
        if serial.startswith(OTHER_JOINT_SERIAL_PREFIX):
            registration_id = serial[len(OTHER_JOINT_SERIAL_PREFIX) :]
            registered = uow.other_joint_certificates.get(registration_id)
            if registered is None or registered.customer_id != customer_id:
                return False
            if as_utc(registered.not_after) < now:
                raise CertCenterError("JOINT_OTHER_CERTIFICATE_EXPIRED")
            return True
        certificate = uow.certificates.get(serial)
        if certificate is None or certificate.customer_id != customer_id:
            return False
        require_active(certificate, now)
        return True

    def _save_token(self, token: dict[str, Any], request: Request) -> None:
        subject: Subject = request.user
        now = self.clock.now()
        if request.authorization_code is not None:
            grant_id = request.authorization_code.record.grant_id
            action = "oidc.token"
        else:
            grant_id = request.refresh_token.record.grant_id
            action = "oidc.refresh"
        refresh = token.get("refresh_token")
        record = OidcToken(
            id=new_id(),
            grant_id=grant_id,
            client_id=request.client.get_client_id(),
            customer_id=subject.customer_id,
            certificate_serial=subject.certificate_serial,
            scope=token.get("scope") or "",
            claims=list(subject.claims),
            access_digest=self.digest(token["access_token"]),
            issued_at=now,
            access_expires_at=now + timedelta(seconds=int(token.get("expires_in", ACCESS_TTL))),
            auth_time=subject.auth_time,
            acr=subject.acr,
            amr=list(subject.amr),
            refresh_digest=self.digest(refresh) if refresh else None,
            refresh_expires_at=now + timedelta(seconds=REFRESH_TTL) if refresh else None,
        )
        with self.uow_factory() as uow:
            uow.oidc.add_token(record)
            self._audit(
                uow,
                subject.customer_id,
                action,
                record.client_id,
                request.source.source_ip,
                {"grant": grant_id, "token": record.id},
            )
            uow.commit()

    def _query_refresh(self, refresh_token: str, request: Request) -> Token | None:
        """The refresh token, rotated now (once). A rotated one presented again is a reuse:
        the whole grant is revoked."""
        if not refresh_token or len(refresh_token) > 100:
            return None
        now = self.clock.now()
        with self.uow_factory() as uow:
            record = uow.oidc.token_by_refresh(self.digest(refresh_token))
            if record is None:
                return None
            client = request.client
            if client is None or record.client_id != client.get_client_id():
                return None
            if record.rotated_at is not None or record.revoked_at is not None:
                revoked = uow.oidc.revoke_grant(record.grant_id, now)
                self._audit(
                    uow,
                    record.customer_id,
                    "oidc.refresh_reused",
                    record.client_id,
                    request.source.source_ip,
                    {"grant": record.grant_id, "revoked": revoked},
                    outcome="refused",
                )
                uow.commit()
                raise refusal(
                    InvalidGrantError, "OIDC_REFRESH_REUSED", "The refresh token was already used."
                )
            if record.refresh_expires_at is None or as_utc(record.refresh_expires_at) <= now:
                return None
            if not uow.oidc.rotate(record.id, now):
                raise refusal(
                    InvalidGrantError, "OIDC_REFRESH_REUSED", "The refresh token was already used."
                )
            uow.commit()
        token = Token(record, client, now)
        token.kind = "refresh_token"
        return token

    def _find_token(self, token_string: str, hint: str | None) -> Token | None:
        if not token_string or len(token_string) > 100:
            return None
        digest = self.digest(token_string)
        with self.uow_factory(read_only=True) as uow:
            record = None
            kind = "access_token"
            if hint != "refresh_token":
                record = uow.oidc.token_by_access(digest)
            if record is None:
                record = uow.oidc.token_by_refresh(digest)
                kind = "refresh_token"
            if record is None and hint == "refresh_token":
                record = uow.oidc.token_by_access(digest)
                kind = "access_token"
            client_record = uow.oidc.client(record.client_id) if record else None
        if record is None:
            return None
        client = Client(client_record, self.digest) if client_record else None
        token = Token(record, client, self.clock.now())
        token.kind = kind
        if kind == "refresh_token" and record.rotated_at is not None:
            token.record.revoked_at = token.record.revoked_at or record.rotated_at
        return token

    def _revoke(self, token: Token, request: Request) -> None:
        """RFC 7009: a refresh token takes its whole grant with it; an access token itself."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            if token.kind == "refresh_token":
                uow.oidc.revoke_grant(token.record.grant_id, now)
            else:
                uow.oidc.revoke_token(token.record.id, now)
            self._audit(
                uow,
                token.record.customer_id,
                "oidc.revoke",
                token.record.client_id,
                request.source.source_ip,
                {"grant": token.record.grant_id, "kind": token.kind},
            )
            uow.commit()

    def _introspect(self, token: Token) -> dict[str, Any]:
        r = token.record
        expires = r.refresh_expires_at if token.kind == "refresh_token" else r.access_expires_at
        return {
            "active": True,
            "client_id": r.client_id,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "scope": r.scope,
            "sub": self.subject_of(r.customer_id, r.client_id),
            "iss": self.issuer,
            "aud": r.client_id,
            "iat": int(as_utc(r.issued_at).timestamp()),
            "exp": int(as_utc(expires).timestamp()) if expires else None,
            "auth_time": int(as_utc(r.auth_time).timestamp()),
            "acr": r.acr,
            "amr": list(r.amr),
        }

    def _end_session(self, request: Any) -> None:
        claims = request.id_token_claims or {}
        client = request.client
        if client is None or not claims:
            return
        client_id = client.get_client_id()
        now = self.clock.now()
        with self.uow_factory() as uow:
            for customer_id in self._customers_of(uow, client_id, str(claims.get("sub", ""))):
                for grant_id in uow.oidc.grants_of(customer_id, client_id):
                    uow.oidc.revoke_grant(grant_id, now)
                self._audit(uow, customer_id, "oidc.logout", client_id, None, {})
            uow.commit()

    def _customers_of(self, uow: UnitOfWork, client_id: str, sub: str) -> list[str]:
        """The customer behind a pairwise ``sub`` of a client (its tokens name them)."""
        return [
            customer_id
            for customer_id in uow.oidc.customers_of_client(client_id)
            if self.subject_of(customer_id, client_id) == sub
        ]

    def _nonce_used(self, client_id: str | None, nonce: str) -> bool:
        with self.uow_factory(read_only=True) as uow:
            return uow.oidc.nonce_used(client_id or "", nonce)

    def _use_jti(self, client_id: str, jti: str) -> bool:
        with self.uow_factory() as uow:
            fresh = uow.oidc.use_jti(
                self.digest(f"jti:{client_id}:{jti}"), client_id, self.clock.now()
            )
            uow.commit()
        return fresh

    def _refused(self, request: Any, error: OAuth2Error, code: str) -> None:
        """Every refusal at the token endpoint is in the audit trail too."""
        payload = getattr(request, "payload", None)
        client_id = (payload.client_id if payload is not None else None) or "-"
        source = getattr(request, "source", None)
        with self.uow_factory() as uow:
            self.audit.record(
                uow,
                actor_kind=Actor.SYSTEM.value,
                actor="oidc",
                action="oidc.refused",
                subject_kind="oidc_client",
                subject=str(client_id)[:64],
                outcome="refused",
                source_ip=source.source_ip if source is not None else None,
                details={"error": error.error, "code": code},
            )
            uow.commit()

    # ------------------------------------------------------------------ claims

    def subject_of(self, customer_id: str, client_id: str) -> str:
        """The pairwise ``sub``: the same person is another subject at each client."""
        return self.digest(f"sub:{client_id}:{customer_id}")[:43]

    def _session_claims(self, user: Subject) -> dict[str, Any]:
        return {
            "auth_time": int(as_utc(user.auth_time).timestamp()),
            "acr": user.acr,
            "amr": list(user.amr),
        }

    def _user_info(self, subject: Subject) -> UserInfo:
        with self.uow_factory(read_only=True) as uow:
            customer = uow.customers.get(subject.customer_id)
            client = uow.oidc.client(subject.client_id)
        if customer is None:
            raise refusal(InvalidGrantError, "OIDC_GRANT_INVALID", "No such customer.")
        info = UserInfo(sub=self.subject_of(customer.id, subject.client_id))
        given = set(subject.claims)
        if "name" in given:
            info["name"] = customer.name
        if "phone" in given:
            info["phone_number"] = _e164(customer.phone)
            info["phone_number_verified"] = True
        if "birthdate" in given:
            info["birthdate"] = customer.birth_date.isoformat()
        if "ci" in given and client is not None and client.allow_ci:
            info["ci"] = customer.ci
        return info

    def _audit(
        self,
        uow: UnitOfWork,
        customer_id: str,
        action: str,
        client_id: str,
        source_ip: str | None,
        details: dict[str, Any],
        outcome: str = "ok",
    ) -> None:
        customer = uow.customers.get(customer_id)
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER.value,
            actor=customer.customer_number if customer else customer_id,
            action=action,
            subject_kind="oidc_client",
            subject=client_id,
            outcome=outcome,
            source_ip=source_ip,
            details=details,
        )


def _plain(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k != PUSHED}


def _e164(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    return "+82" + digits[1:] if digits.startswith("0") else "+" + digits


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (for the demo site and tests)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)
