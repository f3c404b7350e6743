"""Moving a software-backed installation's secrets and customer keys into an HSM token
(소프트웨어 키 저장소 → HSM).

    migration = KeyMigration(uow_factory, backends, peppers, keks, ceremonies, clock,
                             secret_labels=("data-seal", "security-card", "web-session"))
    plan = migration.plan(target)                  # what would move, what stays and why
    report = migration.apply(target, operator="cli:kim")

What moves:

- the secrets (every pepper generation still in use, the data seal, the security card
  digest key, the web session key): imported into the token (``C_CreateObject``) as
  sensitive, not extractable objects, a generic secret for HMAC and an AES key for
  sealing, with the same value, so every stored hash, digest and sealed value keeps
  working; sealed values of the software backend open in the token (same AES-256-GCM);
- the customer keys: the software key-encryption keys are imported as AES keys that only
  unwrap, a new key-encryption key is made in the token (the next ``customer-kek``
  generation), every wrapped key is re-wrapped under it inside the token, and the imported
  ones are destroyed. An account made before keys were wrapped has its key wrapped by the
  software backend first, then re-wrapped the same way, and its key file is deleted.

What does not move: the CA, OCSP, audit checkpoint and time-stamping keys. They sign; a
key made in software can be imported into a token but can never become one that was made
there and never left it (``CKA_ALWAYS_SENSITIVE``, ``CKA_NEVER_EXTRACTABLE``), which is what
an HSM is for. An issuing CA's key is replaced by one made in the token with
``certcenter keys ceremony rollover-ca`` (``key_backend_ca = "pkcs11"``,
``key_backend_ca_retired = "software"``): the root certifies the new key, the old key
cross-certifies it and stays in software to sign the CRLs and OCSP responders of what it
issued; the plan says so for each issuing CA key (docs/operations.md).

Run it with the center stopped: once a customer key is re-wrapped in the token, only a
center configured with ``key_backend_customer = "pkcs11"`` can sign with it. A second run
carries on where the first stopped (imported secrets are checked, not imported twice).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from certcenter.audit.ceremony import CeremonyRecord, KeyCeremonies
from certcenter.clock import Clock
from certcenter.custody.kek import RewrapCount, rewrap_all
from certcenter.custody.peppers import record_generation
from certcenter.entities import KeyGeneration
from certcenter.errors import CertCenterError
from certcenter.keys.backend import CustomerKeys, KeyBackend, SecretImporter
from certcenter.keys.generations import CUSTOMER_KEK, KeyGenerations, generation_label
from certcenter.keys.software import SoftwareKeyBackend
from certcenter.ports import ConstraintViolationError, UnitOfWorkFactory

__all__ = ["KeyMigration", "MigrationPlan", "MigrationReport"]

CEREMONY = "migrate-keys"
Progress = Callable[[str], None]
_CLOUD_KEY_PREFIX = "fin-"  # financial.cloud.KEY_PREFIX: keys of accounts made before wrapping


_ISSUING_CA_KEY = re.compile(r"([a-z][a-z0-9]*)-ca(?:\.[0-9]+)?")


def _why_not_moved(label: str) -> str:
    """What the plan says of a signing key left where it is (docs/operations.md)."""
    issuing = _ISSUING_CA_KEY.fullmatch(label)
    if issuing is not None and label != "root-ca":
        return (
            "a signing key: not moved; an issuing CA key is rolled over into the token "
            '(key_backend_ca = "pkcs11", key_backend_ca_retired = "software", then '
            f"certcenter keys ceremony rollover-ca --family {issuing.group(1)}): the new "
            "key is certified by the root and cross-certified by this one, which stays to "
            "sign the CRLs and OCSP responders of what it issued"
        )
    return (
        "a signing key: not moved; make a new one in the token with the key "
        "ceremony commands (a new CA cross-signed by the old one)"
    )


@dataclass(frozen=True)
class MigrationPlan:
    """What :meth:`KeyMigration.apply` would do; nothing is changed by making it."""

    target: str
    secrets: list[str]  # imported as HMAC and AES keys, sensitive, not extractable
    wrapping_keys: list[str]  # software key-encryption keys: imported to unwrap, destroyed
    new_wrapping_key: str | None  # made in the token; None when no customer key moves
    wrapped_keys: int  # accounts whose wrapped key is re-wrapped in the token
    unwrapped_keys: int  # accounts made before wrapping: wrapped, then re-wrapped
    not_moved: dict[str, str] = field(default_factory=dict)  # label -> why

    @property
    def empty(self) -> bool:
        return not (self.secrets or self.wrapping_keys or self.wrapped_keys or self.unwrapped_keys)

    def lines(self) -> list[str]:
        """The plan in words, one line each (what the command prints)."""
        out = [f"into the {self.target} backend:"]
        for label in self.secrets:
            out.append(f"  secret {label}: imported, sensitive and not extractable (HMAC, AES)")
        for label in self.wrapping_keys:
            out.append(f"  key-encryption key {label}: imported to unwrap only, then destroyed")
        if self.new_wrapping_key is not None:
            out.append(f"  key-encryption key {self.new_wrapping_key}: made in the token")
            out.append(
                f"  customer keys: {self.wrapped_keys} re-wrapped under it, "
                f"{self.unwrapped_keys} of older accounts wrapped then re-wrapped"
            )
        if self.empty:
            out.append("  nothing left to move")
        if self.not_moved:
            out.append("not moved:")
            out.extend(f"  {label}: {why}" for label, why in sorted(self.not_moved.items()))
        return out

    def document(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "secrets": list(self.secrets),
            "wrapping_keys": list(self.wrapping_keys),
            "new_wrapping_key": self.new_wrapping_key,
            "wrapped_keys": self.wrapped_keys,
            "unwrapped_keys": self.unwrapped_keys,
            "not_moved": sorted(self.not_moved),
        }


@dataclass(frozen=True)
class MigrationReport:
    plan: MigrationPlan
    record: CeremonyRecord
    count: RewrapCount
    wrapped_older: int  # accounts made before wrapping, now wrapped in the token
    destroyed: list[str]  # imported key-encryption keys destroyed in the token


class KeyMigration:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        backends: Any,  # certcenter.keys.KeyBackends: .secrets and .customer
        peppers: KeyGenerations,
        keks: KeyGenerations,
        ceremonies: KeyCeremonies,
        clock: Clock,
        *,
        secret_labels: Sequence[str],
    ) -> None:
        self._uow_factory = uow_factory
        self._backends = backends
        self._peppers = peppers
        self._keks = keks
        self._ceremonies = ceremonies
        self._clock = clock
        self._secret_labels = tuple(secret_labels)

    # ------------------------------------------------------------------ the plan

    def plan(self, target: KeyBackend, name: str | None = None) -> MigrationPlan:
        """What would move into ``target`` (named ``name`` in messages)."""
        name = name or str(getattr(target, "name", type(target).__name__))
        secrets_source, customer_source = self._sources(target, name)
        stored = set(secrets_source.secret_labels()) if secrets_source else set()
        peppers = [g.label for g in self._peppers.recorded() if g.retired_at is None]
        secrets = [label for label in (*peppers, *self._secret_labels) if label in stored]

        wrapping: list[str] = []
        new_label: str | None = None
        wrapped = unwrapped = 0
        kek_stored: set[str] = set()
        if customer_source is not None:
            kek_stored = set(customer_source.secret_labels())
            with self._uow_factory(read_only=True) as uow:
                counts = uow.cloud_accounts.wrapping_label_counts()
                older = len(uow.cloud_accounts.unwrapped_keys())
            current = self._keks.current()
            in_use = {label for label, n in counts.items() if n}
            wrapping = sorted(label for label in in_use | {current.label} if label in kek_stored)
            new_label = (
                generation_label(CUSTOMER_KEK, current.number + 1)
                if current.label in kek_stored
                else current.label  # made in the token by an earlier run
            )
            wrapped = sum(n for label, n in counts.items() if label != new_label)
            unwrapped = older
        not_moved: dict[str, str] = {}
        for source in {id(s): s for s in (secrets_source, customer_source) if s}.values():
            for label in source.key_labels():
                if not label.startswith(_CLOUD_KEY_PREFIX):
                    not_moved[label] = _why_not_moved(label)
            for label in source.secret_labels():
                if label not in secrets and label not in kek_stored:
                    not_moved.setdefault(label, "not a secret of this center's: left alone")
        return MigrationPlan(
            target=name,
            secrets=secrets,
            wrapping_keys=wrapping,
            new_wrapping_key=new_label,
            wrapped_keys=wrapped,
            unwrapped_keys=unwrapped,
            not_moved=not_moved,
        )

    # ------------------------------------------------------------------ doing it

    def apply(
        self,
        target: KeyBackend,
        *,
        operator: str,
        name: str | None = None,
        batch: int = 200,
        progress: Progress | None = None,
    ) -> MigrationReport:
        """Move what :meth:`plan` lists; the signed record says what was moved."""
        plan = self.plan(target, name)
        secrets_source, customer_source = self._sources(target, plan.target)
        say = progress or (lambda _line: None)
        importer = target if isinstance(target, SecretImporter) else None  # _sources checked
        if secrets_source is not None and importer is not None:
            for label in plan.secrets:
                secrets_source.transfer_secret(label, importer)
                say(f"secret {label} imported")
        if customer_source is not None and importer is not None:
            for label in plan.wrapping_keys:
                customer_source.transfer_secret(label, importer, wrapping=True)
                say(f"key-encryption key {label} imported (unwrap only)")
        count, older, destroyed = RewrapCount(), 0, []
        if customer_source is not None and plan.new_wrapping_key is not None:
            new_label = plan.new_wrapping_key
            if self._keks.current().label != new_label:
                self._new_generation(target, new_label)
                say(f"key-encryption key {new_label} made in the token")
            # the newest software key-encryption key (imported above) wraps the older
            # accounts' keys on their way
            software_kek = next(
                (g.label for g in reversed(self._keks.recorded()) if g.label in plan.wrapping_keys),
                None,
            )
            if software_kek is not None:
                older = self._wrap_older(customer_source, target, software_kek, new_label)
                say(f"{older} customer keys of older accounts wrapped")
            count = rewrap_all(self._uow_factory, target, new_label, batch=batch, progress=progress)
            destroyed = self._destroy_imported(target, plan.wrapping_keys)
        record = self._ceremonies.record(
            ceremony=CEREMONY,
            operator=operator,
            details={
                **plan.document(),
                "rewrapped": count.rewrapped,
                "skipped": count.skipped,
                "failed": len(count.failed),
                "older_accounts_wrapped": older,
                "destroyed_in_token": destroyed,
            },
        )
        return MigrationReport(plan, record, count, older, destroyed)

    # ------------------------------------------------------------------ internals

    def _sources(
        self, target: KeyBackend, name: str
    ) -> tuple[SoftwareKeyBackend | None, SoftwareKeyBackend | None]:
        if not isinstance(target, SecretImporter) or not isinstance(target, CustomerKeys):
            raise CertCenterError(
                "KEY_MIGRATION_TARGET", target=name, detail="it cannot take keys in"
            )
        sources = (self._backends.secrets, self._backends.customer)
        if any(source is target for source in sources):
            raise CertCenterError(
                "KEY_MIGRATION_TARGET", target=name, detail="the keys are there already"
            )
        secrets, customer = (s if isinstance(s, SoftwareKeyBackend) else None for s in sources)
        if secrets is None and customer is None:
            raise CertCenterError(
                "KEY_MIGRATION_TARGET",
                target=name,
                detail="neither the secrets nor the customer keys are in the software backend",
            )
        return secrets, customer

    def _new_generation(self, target: CustomerKeys, label: str) -> None:
        number = self._keks.current().number + 1
        target.ensure_wrapping_key(label)
        try:
            with self._uow_factory() as uow:
                record_generation(
                    uow, KeyGeneration(CUSTOMER_KEK.name, number, label, self._clock.now())
                )
                uow.commit()
        except ConstraintViolationError:
            raise CertCenterError(
                "KEY_ROTATION_RACED", name=CUSTOMER_KEK.name, generation=number
            ) from None
        self._keks.refresh()

    def _wrap_older(
        self, source: SoftwareKeyBackend, target: CustomerKeys, software_kek: str, new_label: str
    ) -> int:
        """Accounts made before keys were wrapped: their key wrapped by the software backend
        under its key-encryption key (imported), re-wrapped in the token, stored."""
        with self._uow_factory(read_only=True) as uow:
            older = list(uow.cloud_accounts.unwrapped_keys())
        done = 0
        for account_id, key_label in older:
            if not source.has_key(key_label):
                continue  # destroyed meanwhile
            wrapped = target.rewrap(
                software_kek, new_label, source.wrap_stored_key(key_label, software_kek)
            )
            with self._uow_factory() as uow:
                stored = uow.cloud_accounts.store_wrapped(account_id, new_label, wrapped)
                uow.commit()
            if stored:  # the row holds it now: the software copy goes (nothing else uses it)
                source.delete_key(key_label)
                done += 1
        return done

    def _destroy_imported(self, target: CustomerKeys, labels: Sequence[str]) -> list[str]:
        with self._uow_factory(read_only=True) as uow:
            counts = uow.cloud_accounts.wrapping_label_counts()
        destroyed = []
        for label in labels:
            if counts.get(label, 0) == 0 and target.delete_wrapping_key(label):
                destroyed.append(label)
        return destroyed
