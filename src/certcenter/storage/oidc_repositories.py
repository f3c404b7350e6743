"""The OpenID provider's repository: clients, codes, tokens, consents, signing keys and pushed
requests (:mod:`certcenter.entities`), one object on the unit of work (``uow.oidc``).

    with uow_factory() as uow:
        client = uow.oidc.client("gov24")
        if uow.oidc.use_code(digest, now): ...      # single use, in one statement
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from certcenter.entities import (
    OidcClient,
    OidcCode,
    OidcConsent,
    OidcPushedRequest,
    OidcSigningKey,
    OidcToken,
)
from certcenter.storage import tables


class SqlOidc:
    def __init__(self, session: Session) -> None:
        self.session = session

    # clients
    def add_client(self, client: OidcClient) -> None:
        self.session.add(client)

    def client(self, client_id: str) -> OidcClient | None:
        return self.session.get(OidcClient, client_id)

    def clients(self) -> list[OidcClient]:
        t = tables.oidc_clients
        return list(self.session.scalars(select(OidcClient).order_by(t.c.client_id)))

    # codes
    def add_code(self, code: OidcCode) -> None:
        self.session.add(code)

    def code(self, digest: str) -> OidcCode | None:
        return self.session.get(OidcCode, digest)

    def nonce_used(self, client_id: str, nonce: str) -> bool:
        t = tables.oidc_codes
        found = self.session.execute(
            select(t.c.code_digest).where(t.c.client_id == client_id, t.c.nonce == nonce)
        ).first()
        return found is not None

    def use_code(self, digest: str, at: datetime) -> bool:
        """Mark the code used, once: False if it was used before (a replay)."""
        t = tables.oidc_codes
        done = self.session.execute(
            update(t)
            .where(t.c.code_digest == digest, t.c.used_at.is_(None))
            .values(used_at=at)
            .returning(t.c.code_digest)
        ).first()
        cached = self.session.get(OidcCode, digest)
        if cached is not None:
            self.session.refresh(cached)
        return done is not None

    # tokens
    def add_token(self, token: OidcToken) -> None:
        self.session.add(token)

    def token_by_access(self, digest: str) -> OidcToken | None:
        t = tables.oidc_tokens
        return self.session.scalars(
            select(OidcToken).where(t.c.access_digest == digest)
        ).one_or_none()

    def token_by_refresh(self, digest: str) -> OidcToken | None:
        t = tables.oidc_tokens
        return self.session.scalars(
            select(OidcToken).where(t.c.refresh_digest == digest)
        ).one_or_none()

    def rotate(self, token_id: str, at: datetime) -> bool:
        """Mark a refresh token used, once: False if it was used or revoked before."""
        t = tables.oidc_tokens
        done = self.session.execute(
            update(t)
            .where(t.c.id == token_id, t.c.rotated_at.is_(None), t.c.revoked_at.is_(None))
            .values(rotated_at=at)
            .returning(t.c.id)
        ).first()
        self._refresh_token(token_id)
        return done is not None

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        t = tables.oidc_tokens
        done = self.session.execute(
            update(t)
            .where(t.c.id == token_id, t.c.revoked_at.is_(None))
            .values(revoked_at=at)
            .returning(t.c.id)
        ).first()
        self._refresh_token(token_id)
        return done is not None

    def revoke_grant(self, grant_id: str, at: datetime) -> int:
        """Revoke every token of a grant (a replayed code, a reused refresh token, a logout)."""
        t = tables.oidc_tokens
        done = self.session.execute(
            update(t)
            .where(t.c.grant_id == grant_id, t.c.revoked_at.is_(None))
            .values(revoked_at=at)
            .returning(t.c.id)
        ).all()
        for row in done:
            self._refresh_token(row[0])
        return len(done)

    def grants_of(self, customer_id: str, client_id: str) -> list[str]:
        t = tables.oidc_tokens
        rows = self.session.execute(
            select(t.c.grant_id)
            .where(t.c.customer_id == customer_id, t.c.client_id == client_id)
            .distinct()
        ).all()
        return [row[0] for row in rows]

    def customers_of_client(self, client_id: str) -> list[str]:
        t = tables.oidc_tokens
        rows = self.session.execute(
            select(t.c.customer_id).where(t.c.client_id == client_id).distinct()
        ).all()
        return [row[0] for row in rows]

    def _refresh_token(self, token_id: str) -> None:
        cached = self.session.get(OidcToken, token_id)
        if cached is not None:
            self.session.refresh(cached)

    # consents
    def add_consent(self, consent: OidcConsent) -> None:
        self.session.add(consent)

    def consent(self, customer_id: str, client_id: str) -> OidcConsent | None:
        t = tables.oidc_consents
        return self.session.scalars(
            select(OidcConsent)
            .where(
                t.c.customer_id == customer_id,
                t.c.client_id == client_id,
                t.c.withdrawn_at.is_(None),
            )
            .order_by(t.c.granted_at.desc())
        ).first()

    # signing keys
    def add_signing_key(self, key: OidcSigningKey) -> None:
        self.session.add(key)

    def signing_keys(self) -> list[OidcSigningKey]:
        t = tables.oidc_signing_keys
        return list(self.session.scalars(select(OidcSigningKey).order_by(t.c.created_at)))

    # pushed authorization requests
    def add_pushed(self, pushed: OidcPushedRequest) -> None:
        self.session.add(pushed)

    def use_pushed(self, digest: str, at: datetime) -> OidcPushedRequest | None:
        """The pushed request, marked used (once); None if unknown, used or expired."""
        t = tables.oidc_pushed_requests
        done = self.session.execute(
            update(t)
            .where(t.c.uri_digest == digest, t.c.used_at.is_(None), t.c.expires_at > at)
            .values(used_at=at)
            .returning(t.c.uri_digest)
        ).first()
        if done is None:
            return None
        found = self.session.get(OidcPushedRequest, digest)
        if found is not None:
            self.session.refresh(found)
        return found

    # client assertions (private_key_jwt)
    def use_jti(self, digest: str, client_id: str, at: datetime) -> bool:
        """Record an assertion's jti; False if it was seen before (a replay)."""
        t = tables.oidc_assertions
        try:
            with self.session.begin_nested():
                self.session.execute(
                    insert(t).values(jti_digest=digest, client_id=client_id, seen_at=at)
                )
        except IntegrityError:
            return False
        return True
