"""Rotating the customer keys' key-encryption key (키 암호화 키 교체): every live cloud key
re-wrapped under a new one, then the old one destroyed once nothing uses it.

    rotation = KekRotation(uow_factory, backends.customer, kek_generations, ceremonies, clock)
    report = rotation.rotate(operator="cli:kim")          # customer-kek.2, keys re-wrapped
    rotation.rotate(operator="cli:kim", resume=True)      # after an interruption, or later
                                                          # to destroy the old key

A rotation makes the key-encryption key of generation n+1 (``customer-kek.<n+1>``) in the
customer keys' backend and records it; new cloud keys are wrapped under it from then on
(each process within ``KeyGenerations.ttl``). Then every active account's wrapped key under
an older label is re-wrapped inside the backend (:meth:`CustomerKeys.rewrap`: unwrapped and
wrapped again in the backend, never in clear outside it), read in batches by account id,
each row updated in a transaction of its own, and only if it still holds what was read (an
account deleted or re-issued meanwhile is skipped: its key is gone already). Interrupted, it
carries on with ``resume``: the rows already moved are not read again.

The old key-encryption key is destroyed when no active account uses it and the new one has
been current for :attr:`KekRotation.settle` (10 minutes): a server process may still wrap a
key it is issuing under the old one until it reads the new generation (30 s), and the
issuance commits its row a little later; such rows are re-wrapped by the next ``resume``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from certcenter.audit.ceremony import CeremonyRecord, KeyCeremonies
from certcenter.clock import Clock
from certcenter.custody.peppers import GenerationUse, record_generation
from certcenter.entities import KeyGeneration
from certcenter.errors import CertCenterError
from certcenter.keys.backend import CustomerKeys
from certcenter.keys.generations import CUSTOMER_KEK, KeyGenerations, generation_label
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory

__all__ = ["KekRotation", "KekRotationReport", "RewrapCount", "rewrap_all"]

CEREMONY = "rotate-kek"
SETTLE = timedelta(minutes=10)
Progress = Callable[[str], None]


@dataclass
class RewrapCount:
    rewrapped: int = 0
    skipped: int = 0  # deleted or re-issued while being re-wrapped
    failed: list[str] = field(default_factory=list)  # account ids whose key did not unwrap


def rewrap_all(
    uow_factory: UnitOfWorkFactory,
    keys: CustomerKeys,
    target: str,
    *,
    batch: int = 200,
    progress: Progress | None = None,
    count: RewrapCount | None = None,
) -> RewrapCount:
    """Re-wrap every active account's key that is not under ``target``: read ``batch`` rows
    at a time (by id), re-wrap each in the backend, store it in a transaction of its own."""
    count = count or RewrapCount()
    passes = 0
    while passes < 3:  # rows committed behind the cursor meanwhile: once more from the start
        passes += 1
        after, seen = "", 0
        while True:
            with uow_factory(read_only=True) as uow:
                rows = uow.cloud_accounts.wrapped_keys(not_under=target, after=after, limit=batch)
            if not rows:
                break
            for account_id, label, wrapped in rows:
                after = account_id
                if account_id in count.failed:
                    continue
                seen += 1
                try:
                    again = keys.rewrap(label, target, wrapped)
                except CertCenterError as exc:
                    if exc.code != "KEY_NOT_FOUND":
                        raise
                    count.failed.append(account_id)
                    continue
                with uow_factory() as uow:
                    done = uow.cloud_accounts.rewrap(account_id, label, wrapped, target, again)
                    uow.commit()
                if done:
                    count.rewrapped += 1
                else:
                    count.skipped += 1
            if progress is not None:
                progress(f"{count.rewrapped} customer keys re-wrapped under {target}")
        if seen == 0:
            break
    return count


@dataclass(frozen=True)
class KekRotationReport:
    record: CeremonyRecord
    label: str  # the current key-encryption key
    count: RewrapCount
    deleted: list[str]  # old key-encryption keys destroyed
    kept: dict[str, str]  # old label -> why it is kept
    status: list[GenerationUse]


class KekRotation:
    settle = SETTLE

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        keys: CustomerKeys,
        generations: KeyGenerations,
        ceremonies: KeyCeremonies,
        clock: Clock,
    ) -> None:
        self._uow_factory = uow_factory
        self._keys = keys
        self._generations = generations
        self._ceremonies = ceremonies
        self._clock = clock

    def status(self) -> list[GenerationUse]:
        """Each generation, oldest first, with the active accounts' keys wrapped under it."""
        rows = self._generations.recorded()
        newest = max(row.generation for row in rows)
        with self._uow_factory(read_only=True) as uow:
            counts = uow.cloud_accounts.wrapping_label_counts()
        return [
            GenerationUse(
                generation=row.generation,
                label=row.label,
                current=row.generation == newest,
                count=counts.get(row.label, 0),
                created_at=row.created_at,
                retired_at=row.retired_at,
            )
            for row in rows
        ]

    def rotate(
        self,
        *,
        operator: str,
        resume: bool = False,
        batch: int = 200,
        progress: Progress | None = None,
    ) -> KekRotationReport:
        """A new generation and every key re-wrapped under it (``resume``: no new generation,
        carry on with the current one); then the old keys nothing uses are destroyed."""
        before = self.status()
        current = next(use for use in before if use.current)
        remaining = sum(use.count for use in before if not use.current)
        if not resume and remaining:
            raise CertCenterError("KEK_ROTATION_UNFINISHED", remaining=remaining)
        previous = current
        if not resume:
            current = self._next_generation(current.generation)
            if progress is not None:
                progress(f"key-encryption key {current.label} made and recorded")
        count = rewrap_all(
            self._uow_factory, self._keys, current.label, batch=batch, progress=progress
        )
        deleted, kept = self.retire_unused(current)
        record = self._ceremonies.record(
            ceremony=CEREMONY,
            operator=operator,
            details={
                "key": CUSTOMER_KEK.name,
                "resumed": resume,
                "previous_label": previous.label,
                "label": current.label,
                "generation": current.generation,
                "backend": str(getattr(self._keys, "name", type(self._keys).__name__)),
                "rewrapped": count.rewrapped,
                "skipped": count.skipped,
                "failed": len(count.failed),
                "deleted": deleted,
                "kept": kept,
            },
        )
        return KekRotationReport(record, current.label, count, deleted, kept, self.status())

    def retire_unused(self, current: GenerationUse) -> tuple[list[str], dict[str, str]]:
        """Destroy each older key-encryption key no active account uses, once the current
        one has settled; say why any other is kept."""
        now = self._clock.now()
        settled = current.created_at is None or now - current.created_at >= self.settle
        deleted: list[str] = []
        kept: dict[str, str] = {}
        for use in self.status():
            if use.current or use.retired_at is not None:
                continue
            if use.count:
                kept[use.label] = f"{use.count} customer keys still wrapped under it"
                continue
            if not settled and current.created_at is not None:
                until = current.created_at + self.settle
                kept[use.label] = f"unused; destroyed by a resume from {until.isoformat()}"
                continue
            self._keys.delete_wrapping_key(use.label)
            with self._uow_factory() as uow:
                if use.created_at is None and not self._recorded(uow, use.generation):
                    record_generation(
                        uow, KeyGeneration(CUSTOMER_KEK.name, use.generation, use.label)
                    )
                uow.key_generations.retire(CUSTOMER_KEK.name, use.generation, now)
                uow.commit()
            deleted.append(use.label)
        return deleted, kept

    def _recorded(self, uow: UnitOfWork, generation: int) -> bool:
        rows = uow.key_generations.for_name(CUSTOMER_KEK.name)
        return any(row.generation == generation for row in rows)

    def _next_generation(self, previous: int) -> GenerationUse:
        number = previous + 1
        label = generation_label(CUSTOMER_KEK, number)
        self._keys.ensure_wrapping_key(label)
        now = self._clock.now()
        try:
            with self._uow_factory() as uow:
                record_generation(uow, KeyGeneration(CUSTOMER_KEK.name, number, label, now))
                uow.commit()
        except ConstraintViolationError:
            raise CertCenterError(
                "KEY_ROTATION_RACED", name=CUSTOMER_KEK.name, generation=number
            ) from None
        self._generations.refresh()
        return GenerationUse(number, label, current=True, count=0, created_at=now)
