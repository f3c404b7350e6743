"""Operators of the bank (운영자): API tokens with roles.

    token = OperatorDirectory(uow_factory, clock).create("kim", ["operator"])  # shown once
    operator = directory.authenticate(token)        # OPERATOR_TOKEN_INVALID when not
    require_role(operator, "operator")              # OPERATOR_FORBIDDEN when not

Roles: ``operator`` (search, revoke, suspend, release, publish CRLs, run jobs) and ``auditor``
(read, verify the audit trail). Tokens are 256 random bits; only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from certcenter.clock import Clock
from certcenter.entities import Operator, new_id
from certcenter.errors import CertCenterError
from certcenter.ports import UnitOfWorkFactory

ROLES = frozenset({"operator", "auditor"})
TOKEN_PREFIX = "cco_"  # noqa: S105 - a recognisable prefix, not a secret


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def require_role(operator: Operator, role: str) -> None:
    if role not in operator.roles:
        raise CertCenterError("OPERATOR_FORBIDDEN", role=role)


class OperatorDirectory:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self.uow_factory = uow_factory
        self.clock = clock

    def create(self, name: str, roles: list[str]) -> str:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,39}", name):
            raise CertCenterError("INVALID_REQUEST", detail="name: 2-40 of a-z 0-9 . _ -")
        unknown = set(roles) - ROLES
        if unknown or not roles:
            raise CertCenterError("INVALID_REQUEST", detail=f"roles: {', '.join(sorted(ROLES))}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.uow_factory() as uow:
            if uow.operators.by_name(name) is not None:
                raise CertCenterError("OPERATOR_EXISTS", name=name)
            uow.operators.add(
                Operator(
                    id=new_id(),
                    name=name,
                    token_hash=token_hash(token),
                    roles=sorted(set(roles)),
                    created_at=self.clock.now(),
                )
            )
            uow.commit()
        return token

    def authenticate(self, token: str | None) -> Operator:
        if not token or not token.startswith(TOKEN_PREFIX):
            raise CertCenterError("OPERATOR_TOKEN_INVALID")
        with self.uow_factory() as uow:
            operator = uow.operators.by_token_hash(token_hash(token))
        if operator is None or operator.disabled_at is not None:
            raise CertCenterError("OPERATOR_TOKEN_INVALID")
        return operator

    def disable(self, name: str) -> None:
        with self.uow_factory() as uow:
            operator = uow.operators.by_name(name)
            if operator is None:
                raise CertCenterError("NOT_FOUND")
            operator.disabled_at = self.clock.now()
            uow.commit()
