"""Sites registered to log their visitors in here (OpenID Connect clients), by an operator.

    registry = ClientRegistry(uow_factory, digest, audit, clock)
    made = registry.add("gov24", "정부24", redirect_uris=["https://gov24.example/cb"],
                        auth_method="client_secret_basic", scopes="openid profile phone")
    made.secret                      # shown once; only its keyed digest is stored

Confidential clients authenticate with ``client_secret_basic`` or ``private_key_jwt`` (their
public keys given as a JWKS); public clients (``none``) have no secret and rely on PKCE,
which every client must use. Redirect URIs are matched exactly: no wildcards, no prefixes.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from joserfc.jwk import KeySet

from certcenter.clock import Clock
from certcenter.entities import OIDC_AUTH_METHODS, OIDC_CONFIDENTIAL, OIDC_PUBLIC, Actor, OidcClient
from certcenter.errors import CertCenterError
from certcenter.issuance.service import AuditRecorder
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

KNOWN_SCOPES = ("openid", "profile", "phone", "birthdate")


@dataclass(frozen=True)
class RegisteredClient:
    client: OidcClient
    secret: str | None  # client_secret_basic: the secret, shown once

    def __repr__(self) -> str:
        return f"RegisteredClient(client_id={self.client.client_id!r}, secret=…)"


class ClientRegistry:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        digest: Callable[[str], str],
        audit: AuditRecorder,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.digest = digest
        self.audit = audit
        self.clock = clock

    def add(
        self,
        client_id: str,
        name: str,
        *,
        redirect_uris: Sequence[str],
        auth_method: str = "client_secret_basic",
        scopes: str = "openid profile",
        allow_ci: bool = False,
        require_par: bool = False,
        jwks: dict[str, Any] | str | None = None,
        post_logout_redirect_uris: Sequence[str] = (),
        operator: str = "cli",
        audited: bool = True,
    ) -> RegisteredClient:
        """Register a site (``audited=False`` only when the demo world is made: nobody acts)."""
        if not client_id or len(client_id) > 64 or not client_id.replace("-", "").isalnum():
            raise CertCenterError("INVALID_REQUEST", detail="client_id: letters, digits and -")
        if not name or len(name) > 100:
            raise CertCenterError("INVALID_REQUEST", detail="name: 1-100 characters")
        if auth_method not in OIDC_AUTH_METHODS:
            raise CertCenterError("INVALID_REQUEST", detail=f"auth: {', '.join(OIDC_AUTH_METHODS)}")
        uris = [_checked_uri(u) for u in redirect_uris]
        if not uris:
            raise CertCenterError("INVALID_REQUEST", detail="at least one redirect URI")
        logout_uris = [_checked_uri(u) for u in post_logout_redirect_uris]
        wanted = scopes.split()
        if "openid" not in wanted or any(s not in KNOWN_SCOPES for s in wanted):
            raise CertCenterError(
                "INVALID_REQUEST", detail=f"scopes: openid and {', '.join(KNOWN_SCOPES[1:])}"
            )
        key_set = _checked_jwks(jwks) if auth_method == "private_key_jwt" else None
        secret = secrets.token_urlsafe(32) if auth_method == "client_secret_basic" else None
        client = OidcClient(
            client_id=client_id,
            name=name,
            kind=OIDC_PUBLIC if auth_method == "none" else OIDC_CONFIDENTIAL,
            auth_method=auth_method,
            redirect_uris=uris,
            created_at=self.clock.now(),
            secret_digest=self.digest(secret) if secret else None,
            jwks=key_set,
            post_logout_redirect_uris=logout_uris,
            scopes=" ".join(wanted),
            allow_ci=allow_ci,
            require_par=require_par,
        )
        with self.uow_factory() as uow:
            if uow.oidc.client(client_id) is not None:
                raise CertCenterError("OIDC_CLIENT_EXISTS")
            uow.oidc.add_client(client)
            if audited:
                self._audit_add(uow, client, operator)
            uow.commit()
        return RegisteredClient(client, secret)

    def _audit_add(self, uow: UnitOfWork, client: OidcClient, operator: str) -> None:
        self.audit.record(
            uow,
            actor_kind=Actor.OPERATOR.value,
            actor=operator,
            action="oidc.client.add",
            subject_kind="oidc_client",
            subject=client.client_id,
            details={
                "auth_method": client.auth_method,
                "redirect_uris": client.redirect_uris,
                "scopes": client.scopes,
                "allow_ci": client.allow_ci,
                "require_par": client.require_par,
            },
        )

    def readdress(
        self, client_id: str, redirect_uris: Sequence[str], post_logout: Sequence[str]
    ) -> bool:
        """The demo site's addresses follow the center's public URL; True if they changed."""
        with self.uow_factory() as uow:
            client = uow.oidc.client(client_id)
            if client is None:
                return False
            if client.redirect_uris == list(redirect_uris) and (
                client.post_logout_redirect_uris == list(post_logout)
            ):
                return False
            client.redirect_uris = [_checked_uri(u) for u in redirect_uris]
            client.post_logout_redirect_uris = [_checked_uri(u) for u in post_logout]
            uow.commit()
        return True

    def exists(self, client_id: str) -> bool:
        with self.uow_factory(read_only=True) as uow:
            return uow.oidc.client(client_id) is not None

    def list(self) -> list[OidcClient]:
        with self.uow_factory(read_only=True) as uow:
            return uow.oidc.clients()


def redirect_uri_allowed(uri: str) -> bool:
    """Whether ``uri`` may be registered as a site's address: https (http only on loopback),
    with a host, no fragment, at most 500 characters."""
    parts = urlsplit(uri)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    return not (
        parts.scheme not in ("https", "http")
        or (parts.scheme == "http" and not loopback)
        or not parts.hostname
        or parts.fragment
        or len(uri) > 500
    )


def _checked_uri(uri: str) -> str:
    if not redirect_uri_allowed(uri):
        raise CertCenterError(
            "INVALID_REQUEST", detail="redirect URI: https (http only on loopback), no fragment"
        )
    return uri


def _checked_jwks(jwks: dict[str, Any] | str | None) -> dict[str, Any]:
    try:
        data = json.loads(jwks) if isinstance(jwks, str) else jwks
        if not isinstance(data, dict):
            raise TypeError("a JWKS is an object")
        keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        public = keys.as_dict(private=False)
    except (TypeError, ValueError, KeyError) as exc:
        raise CertCenterError("INVALID_REQUEST", detail="jwks: a JSON Web Key Set") from exc
    if not public["keys"]:
        raise CertCenterError("INVALID_REQUEST", detail="jwks: at least one public key")
    return dict(public)
