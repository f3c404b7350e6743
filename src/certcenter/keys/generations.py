"""Generations of a rotated key (키 교체 세대): which key backend label is current.

The center rotates two keys without ever changing what is already stored: the PIN pepper
(``pepper``, then ``pepper.2``, …) and the customer keys' key-encryption key
(``customer-kek``, then ``customer-kek.2``, …). Each generation is a row of
``key_generations`` (migration 0023); the highest is current. A name without rows is in its
first generation, under its first label, as every installation was before rotation existed.

    peppers = KeyGenerations(uow_factory, PEPPER, clock)
    peppers.current()            # Generation(2, "pepper.2")
    peppers.label(1)             # "pepper": older hashes still verify under it

Every process reads the table again after ``ttl`` (30 s), and at once when asked for a
generation it does not know yet (a hash made by another process after a rotation), so a
rotation made by ``certcenter keys ceremony rotate …`` reaches running servers without a
restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from certcenter.clock import Clock
from certcenter.entities import KeyGeneration
from certcenter.keys.backend import Secrets
from certcenter.ports import UnitOfWorkFactory

log = logging.getLogger(__name__)

__all__ = [
    "CUSTOMER_KEK",
    "PEPPER",
    "Generation",
    "GenerationalPepper",
    "KeyGenerations",
    "RotatedKey",
    "generation_label",
]


@dataclass(frozen=True)
class RotatedKey:
    """A key the center rotates: its name in ``key_generations`` and its first label."""

    name: str
    first_label: str


PEPPER = RotatedKey("pepper", "pepper")  # bootstrap.PEPPER_LABEL
CUSTOMER_KEK = RotatedKey("customer-kek", "customer-kek")  # financial.cloud.WRAPPING_KEY_LABEL


@dataclass(frozen=True)
class Generation:
    number: int
    label: str


def generation_label(key: RotatedKey, number: int) -> str:
    """The label of generation ``number``: the first label, then ``<first>.<number>``."""
    if number < 1:
        raise ValueError("generations count from 1")
    return key.first_label if number == 1 else f"{key.first_label}.{number}"


class KeyGenerations:
    """The generations of one rotated key, read from the database and kept ``ttl``."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        key: RotatedKey,
        clock: Clock,
        *,
        ttl: timedelta = timedelta(seconds=30),
    ) -> None:
        self.key = key
        self._uow_factory = uow_factory
        self._clock = clock
        self._ttl = ttl
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._labels: dict[int, str] | None = None
        self._read_at: datetime | None = None

    def recorded(self) -> list[KeyGeneration]:
        """The generations as the table has them now (the first one too, recorded or not)."""
        with self._uow_factory(read_only=True) as uow:
            rows = list(uow.key_generations.for_name(self.key.name))
        if not any(row.generation == 1 for row in rows):
            rows.insert(0, KeyGeneration(self.key.name, 1, self.key.first_label))
        return rows

    def refresh(self) -> Mapping[int, str]:
        """Read the table again (after a rotation in this process, or when a generation is
        unknown)."""
        # a retired generation's key is destroyed: as if it had never been
        labels = {row.generation: row.label for row in self.recorded() if row.retired_at is None}
        with self._lock:
            self._labels = labels
            self._read_at = self._clock.now()
        return labels

    def labels(self) -> Mapping[int, str]:
        """generation -> label, at most ``ttl`` old. Once read, one thread reads the table
        again while the others go on with what was read; a failed read is logged and the
        previous answer kept (the next call tries again)."""
        with self._lock:
            labels, read_at = self._labels, self._read_at
        if labels is None or read_at is None:
            return self.refresh()
        if self._clock.now() - read_at < self._ttl or not self._refreshing.acquire(blocking=False):
            return labels
        try:
            return self.refresh()
        except Exception:  # the database away for a moment: the generations rarely change
            log.warning("key generations of %s not read again", self.key.name, exc_info=True)
            return labels
        finally:
            self._refreshing.release()

    def current(self) -> Generation:
        labels = self.labels()  # never empty: the current generation is never retired
        number = max(labels)
        return Generation(number, labels[number])

    def current_label(self) -> str:
        return self.current().label

    def label(self, number: int) -> str | None:
        """The label of generation ``number``; None if there is no such generation."""
        found = self.labels().get(number)
        if found is None and number >= 1:
            found = self.refresh().get(number)  # made since this process last looked
        return found


class GenerationalPepper:
    """The pepper of every generation: HMAC-SHA256 under the generation's label, in the
    secrets' backend (what :class:`certcenter.authn.hashing.SecretHasher` is given)."""

    def __init__(self, generations: KeyGenerations, secrets: Secrets) -> None:
        self.generations = generations
        self._secrets = secrets

    def current(self) -> int:
        return self.generations.current().number

    def mac(self, generation: int, data: bytes) -> bytes:
        """``LookupError`` for a generation that does not exist."""
        label = self.generations.label(generation)
        if label is None:
            raise LookupError(f"no pepper generation {generation}")
        return self._secrets.mac(label, data)
