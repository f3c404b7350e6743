"""Rotating the PIN pepper (페퍼 교체): a new generation, the old ones kept while hashes use them.

    rotation = PepperRotation(uow_factory, backends.secrets, pepper_generations, ceremonies, clock)
    done = rotation.rotate(operator="cli:kim")      # pepper.2 made, recorded, signed record
    for use in rotation.status():                   # hashes left per generation
        print(use.generation, use.label, use.count)

A rotation makes the secret of generation n+1 (label ``pepper.<n+1>``) in the secrets'
backend and records it in ``key_generations``; from then on every new PIN and pattern hash
is made under it, and a hash of an older generation is re-hashed under it at its next
successful verification (:meth:`certcenter.authn.hashing.SecretHasher.rehashed`). Nothing
is re-hashed in bulk: the center never has the PINs, only at the moment a customer types one.

An older generation stays while hashes use it (:meth:`PepperRotation.status` counts the live
ones: active devices, active cloud accounts, enrollments not expired);
:meth:`PepperRotation.retire_unused` destroys those nothing uses any more. Generation 1 stays
for good: the keyed lookup digests (:meth:`SecretHasher.digest`) are made under it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from certcenter.audit.ceremony import CeremonyRecord, KeyCeremonies
from certcenter.authn.hashing import hash_prefix
from certcenter.clock import Clock
from certcenter.entities import KeyGeneration
from certcenter.errors import CertCenterError
from certcenter.keys.backend import Secrets
from certcenter.keys.generations import PEPPER, KeyGenerations, generation_label
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "GenerationUse",
    "PepperRetired",
    "PepperRotated",
    "PepperRotation",
    "record_generation",
]

CEREMONY = "rotate-pepper"
RETIRE_CEREMONY = "retire-pepper"
SETTLE = timedelta(minutes=10)


@dataclass(frozen=True)
class GenerationUse:
    """One generation of a rotated key and how many stored things use it."""

    generation: int
    label: str
    current: bool
    count: int  # PIN and pattern hashes, or wrapped customer keys
    created_at: datetime | None
    retired_at: datetime | None = None

    def document(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "label": self.label,
            "current": self.current,
            "count": self.count,
            "retired": self.retired_at is not None,
        }


@dataclass(frozen=True)
class PepperRotated:
    record: CeremonyRecord
    status: list[GenerationUse]


@dataclass(frozen=True)
class PepperRetired:
    record: CeremonyRecord
    destroyed: list[str]
    kept: dict[str, str]  # label -> why
    status: list[GenerationUse]


def record_generation(uow: UnitOfWork, row: KeyGeneration) -> None:
    """Add ``row`` to ``key_generations`` (the caller commits; a race shows at the commit)."""
    uow.key_generations.add(row)


class PepperRotation:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        secrets: Secrets,
        generations: KeyGenerations,
        ceremonies: KeyCeremonies,
        clock: Clock,
    ) -> None:
        self._uow_factory = uow_factory
        self._secrets = secrets
        self._generations = generations
        self._ceremonies = ceremonies
        self._clock = clock

    def status(self) -> list[GenerationUse]:
        """Each generation, oldest first, with the live hashes made under it."""
        rows = self._generations.recorded()
        newest = max(row.generation for row in rows)
        with self._uow_factory(read_only=True) as uow:
            counts = uow.secret_hashes.count_by_prefix(
                {row.generation: hash_prefix(row.generation) for row in rows}, self._clock.now()
            )
        return [
            GenerationUse(
                generation=row.generation,
                label=row.label,
                current=row.generation == newest,
                count=counts.get(row.generation, 0),
                created_at=row.created_at,
                retired_at=row.retired_at,
            )
            for row in rows
        ]

    def retire_unused(self, *, operator: str) -> PepperRetired:
        """Destroy each older generation (2 and on, not the current one) that no live hash
        uses, once the current one has been current for :data:`SETTLE` (a server process
        may hash under the previous one until it reads the new generation, and a code made
        under it lives minutes). Generation 1 is never destroyed: the lookup digests."""
        now = self._clock.now()
        uses = self.status()
        current = next(use for use in uses if use.current)
        settled = current.created_at is None or now - current.created_at >= SETTLE
        destroyed: list[str] = []
        kept: dict[str, str] = {}
        for use in uses:
            if use.current or use.retired_at is not None:
                continue
            if use.generation == 1:
                kept[use.label] = "generation 1: the keyed lookup digests are made under it"
            elif use.count:
                kept[use.label] = f"{use.count} hashes still made under it"
            elif not settled and current.created_at is not None:
                kept[use.label] = f"unused; can go from {(current.created_at + SETTLE).isoformat()}"
            else:
                self._secrets.delete_secret(use.label)
                with self._uow_factory() as uow:
                    uow.key_generations.retire(PEPPER.name, use.generation, now)
                    uow.commit()
                destroyed.append(use.label)
        record = self._ceremonies.record(
            ceremony=RETIRE_CEREMONY,
            operator=operator,
            details={"key": PEPPER.name, "destroyed": destroyed, "kept": kept},
        )
        self._generations.refresh()
        return PepperRetired(record=record, destroyed=destroyed, kept=kept, status=self.status())

    def rotate(
        self, *, operator: str, progress: Callable[[str], None] | None = None
    ) -> PepperRotated:
        """Make and record the next generation; the signed record says what was done."""
        before = self.status()
        previous = max(use.generation for use in before)
        number = previous + 1
        label = generation_label(PEPPER, number)
        # made before it is recorded: a crash between leaves an unused secret that the
        # next rotation takes up again (ensure_secret keeps one that is there)
        self._secrets.ensure_secret(label)
        if progress is not None:
            progress(f"secret {label} made in the secrets' key backend")
        record = self._ceremonies.sign(
            ceremony=CEREMONY,
            operator=operator,
            details={
                "key": PEPPER.name,
                "previous_generation": previous,
                "generation": number,
                "label": label,
                "backend": str(getattr(self._secrets, "name", type(self._secrets).__name__)),
                "hashes_by_generation": {str(use.generation): use.count for use in before},
                "lookup_digests": "generation 1",
            },
        )
        try:
            with self._uow_factory() as uow:
                record_generation(
                    uow, KeyGeneration(PEPPER.name, number, label, created_at=self._clock.now())
                )
                self._ceremonies.write(uow, record)
                uow.commit()
        except ConstraintViolationError:
            raise CertCenterError(
                "KEY_ROTATION_RACED", name=PEPPER.name, generation=number
            ) from None
        self._generations.refresh()
        return PepperRotated(record=record, status=self.status())
