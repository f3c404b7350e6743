"""Publishing CRLs: one per partition of each family, plus the root CA's, stored as CrlRecords.

    publisher = CrlPublisher(uow_factory=..., backend=..., hierarchy=center.hierarchy,
                             settings=settings, clock=clock)
    publisher.publish("mobile", 3)          # after revoking a certificate of partition 3
    publisher.publish_due()                 # job runner: what is due or out of date
    url = publisher.serving_url("mobile", 3, "http://pki.bank.example/crl/mobile-3.crl")
    record = publisher.current("mobile", 3, url)  # the route: the latest, made if none

**Distribution points.** A partition is published under every URL certificates still valid
name as their CRL distribution point (``uow.crl_points``, recorded by ``issue()`` before the
certificate is signed), one CRL per URL with that URL in its issuingDistributionPoint, so a
certificate issued under an earlier ``public_base_url`` keeps a CRL in its scope (RFC 5280
§5.2.5). A partition no certificate names is published under the configured URL.
:meth:`CrlPublisher.check_public_url` tells an operator command that its configuration is
not the installation's (``CRL_DISTRIBUTION_POINT_MISMATCH``).

A partition's CRL is its certificates' stored entries (``CertificateRecord.crl_entry``, made
by :func:`certcenter.pki.crl.encode_crl_entry` at revocation) concatenated in one pass and
signed by the family's CA key; the root's CRL (family ``root``, shard 0) by the root key. A
publisher whose backend does not hold the root key (an offline root) never signs the root's
CRL: :meth:`CrlPublisher.publish_due` leaves it out and :meth:`CrlPublisher.current` serves the
last one a key ceremony signed (``ROOT_KEY_NOT_PRESENT`` when there is none).
One publisher of a partition at a time, across worker processes and hosts: each publication
takes the partition's lock first (``uow.crls.lock_partition``: a transaction-scoped advisory
lock on PostgreSQL, the write lock on SQLite). The job runner and the route look again once
they hold it and leave a CRL another worker has just published as it is, so two job runners
never make two numbers for the same content. CRL numbers count per partition
(``uow.crls.lock_numbering``), each URL's CRL taking the next. thisUpdate is now,
nextUpdate now + ``policy.crl_validity_hours``.

:meth:`CrlPublisher.publish_due` republishes a partition when

- it has no CRL yet (under one of its URLs);
- its CRL's nextUpdate is less than ``policy.crl_refresh_margin_hours`` away;
- or it is *out of date*: the number of listed certificates differs from the CRL's
  ``entries``, or a listed certificate was revoked after the CRL was made (``revoked_at``
  later than its ``created_at``). A revocation, suspension or release publishes its
  partition at once (the lifecycle calls :meth:`CrlPublisher.publish`); this catches a
  publication that failed or never ran.

**Key rollovers.** After ``certcenter keys ceremony rollover-ca`` a family has two CA
generations (:attr:`~certcenter.pki.hierarchy.CaHierarchy.retired_cas`): each signs the CRLs
of the certificates it issued, under its own scope (``mobile-3`` for the first, ``mobile.2-3``
for the new one: the URLs each one's certificates name), until its own certificate expires.
:meth:`CrlPublisher.publish` of a family publishes the partition of every generation.

Steady state costs one small query per partition and pass: the publisher remembers what it
last saw of each partition and reads a stored CRL only when that looks stale.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from certcenter.clock import Clock, as_utc
from certcenter.config import Settings
from certcenter.entities import CrlRecord
from certcenter.errors import CertCenterError
from certcenter.keys.backend import CaKeys, signature_valid
from certcenter.pki.crl import (
    FULL_CRL_SHARD,
    ROOT_CRL_FAMILY,
    CrlContent,
    build_crl,
    crl_path,
    parse_partition_name,
)
from certcenter.pki.hierarchy import (
    CaHierarchy,
    CertificateAuthority,
    backend_name,
    holds_key,
    split_scope,
)
from certcenter.pki.ocsp import whole_seconds
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory

__all__ = ["CrlPublisher", "Partition"]

log = logging.getLogger(__name__)


KEEP_CRLS = 5


@dataclass(frozen=True, order=True)
class Partition:
    """A CRL the center publishes: ``("mobile", 3)``, ``("root", 0)``, ``("mobile", -1)``
    (the family's complete CRL)."""

    family: str
    shard: int


@dataclass(frozen=True)
class _Seen:
    number: int
    entries: int
    created_at: datetime
    next_update: datetime


class CrlPublisher:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        backend: CaKeys,
        hierarchy: Callable[[], CaHierarchy],
        settings: Settings,
        clock: Clock,
        root_validity: timedelta | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._backend = backend
        # how long the root's CRL (an ARL) lasts when signed at a ceremony (offline root)
        self._root_validity = root_validity
        self._hierarchy = hierarchy
        self._settings = settings
        self._policy = settings.policy
        self._clock = clock
        self._seen: dict[tuple[Partition, str | None], _Seen] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ partitions

    def partitions(self) -> list[Partition]:
        """Every CRL published as a matter of course: the root's and each family's shards."""
        found = [Partition(ROOT_CRL_FAMILY, 0)]
        for scope in self._scopes():
            found += [Partition(scope, shard) for shard in range(self._policy.crl_shards)]
        return found

    def _scopes(self) -> list[str]:
        """Each issuing CA generation whose certificate is still valid: the family's first
        (``mobile``) and those of later key rollovers (``mobile.2``)."""
        now = self._clock.now()
        return [
            ca.scope
            for ca in self._hierarchy().authorities
            if ca in self._hierarchy().issuing_cas or ca.certificate.not_valid_after_utc > now
        ]

    def _listing(self, partition: Partition) -> tuple[str, str | None]:
        """(family, issuer key label) of the certificates a partition lists; the label only
        when the family has had a key rollover (before that every certificate of the family
        is its one CA's)."""
        family, _ = split_scope(partition.family)
        hierarchy = self._hierarchy()
        if len(hierarchy.generations(family)) < 2:
            return family, None
        ca = hierarchy.in_scope(partition.family)
        return family, ca.key_label if ca is not None else None

    def partition_named(self, name: str) -> Partition | None:
        """The partition ``/crl/{name}.crl`` serves, if the center publishes it: ``root``,
        ``<family>``, ``<family>-<shard>`` for a shard below ``policy.crl_shards``."""
        parsed = parse_partition_name(name)
        if parsed is None:
            return None
        family, shard = parsed
        if family == ROOT_CRL_FAMILY:
            return Partition(family, shard)
        if family not in self._hierarchy().scopes:
            return None
        if shard == FULL_CRL_SHARD or 0 <= shard < self._policy.crl_shards:
            return Partition(family, shard)
        return None

    def _authority(self, partition: Partition) -> CertificateAuthority:
        hierarchy = self._hierarchy()
        if partition.family == ROOT_CRL_FAMILY:
            if partition.shard != 0:
                raise ValueError("the root CA's CRL has one partition, 0")
            return hierarchy.root
        if partition.shard < FULL_CRL_SHARD:
            raise ValueError(f"no CRL partition {partition.shard}")
        ca = hierarchy.in_scope(partition.family)
        if ca is None:
            return hierarchy.issuing(partition.family)  # ValueError naming the families
        return ca

    def _shards(self, partition: Partition) -> range:
        """The certificate partitions whose entries the CRL lists."""
        if partition.shard == FULL_CRL_SHARD:
            return range(self._policy.crl_shards)
        return range(partition.shard, partition.shard + 1)

    def root_key_here(self) -> bool:
        """Whether this publisher's backend holds the root key; not with an offline root
        (``key_backend_root``, docs/keys.md), whose CRL is signed at a key ceremony."""
        return holds_key(self._backend, self._hierarchy().root.key_label)

    # ------------------------------------------------------------------ distribution points

    def _configured_url(self, partition: Partition) -> str:
        base = self._settings.public_base_url.rstrip("/")
        return base + crl_path(partition.family, partition.shard)

    def _urls(self, uow: UnitOfWork, partition: Partition, now: datetime) -> list[str]:
        """The URLs the partition is published under: each one certificates still valid
        name as their CRL distribution point (recorded at issuance), oldest first; the
        configured one when no certificate names any (nothing issued there yet). The root's
        CRL is complete: it names no URL, and is published once."""
        if partition.family == ROOT_CRL_FAMILY:
            return [self._configured_url(partition)]
        urls = [
            point.url
            for point in uow.crl_points.in_use(partition.family, now)
            if point.shard == partition.shard
        ]
        return urls or [self._configured_url(partition)]

    def distribution_points(self, family: str, shard: int) -> list[str]:
        """The URLs partition ``shard`` of ``family``'s CRL is published under now."""
        with self._uow_factory(read_only=True) as uow:
            return self._urls(uow, Partition(family, shard), self._clock.now())

    def check_public_url(self, family: str) -> None:
        """``CRL_DISTRIBUTION_POINT_MISMATCH`` when certificates of ``family`` still valid
        name CRL distribution points and none is under the configured ``public_base_url``:
        whoever runs with this configuration is not the installation that issued them (an
        operator command run without the server's configuration)."""
        base = self._settings.public_base_url.rstrip("/")
        with self._uow_factory(read_only=True) as uow:
            points = uow.crl_points.in_use(family, self._clock.now())
        if not points or any(_under(point.url, base) for point in points):
            return
        named = sorted({point.url.rsplit("/crl/", 1)[0] for point in points})
        raise CertCenterError(
            "CRL_DISTRIBUTION_POINT_MISMATCH",
            configured=base,
            named=", ".join(named[:3]),
        )

    def serving_url(self, family: str, shard: int, requested: str | None) -> str:
        """Which of the partition's URLs a request for ``requested`` (the URL as the client
        asked for it: scheme, host, path) is answered with: that one if certificates name
        it, else the configured one if they do, else the newest they name."""
        urls = self.distribution_points(family, shard)
        if requested is not None:
            for url in urls:
                if _same_place(url, requested):
                    return url
        configured = self._configured_url(Partition(family, shard))
        return configured if configured in urls else urls[-1]

    # ------------------------------------------------------------------ publishing

    def publish(self, family: str, shard: int) -> CrlRecord:
        """Make, sign and store a new CRL of the partition from what is listed now, under
        each of its URLs; returns the one under the configured URL (else the newest URL).
        For a family that has had a key rollover, each CA generation's partition is
        published (a certificate's family says nothing of its generation); the current
        CA's CRL is returned."""
        scopes = [family]
        if family != ROOT_CRL_FAMILY and family in self._hierarchy().families:
            now = self._clock.now()
            scopes = [
                ca.scope
                for ca in self._hierarchy().generations(family)
                if ca.generation == self._hierarchy().issuing(family).generation
                or ca.certificate.not_valid_after_utc > now
            ]
        made = None
        for scope in reversed(scopes):  # the current generation's last
            records, _ = self._publish_locked(Partition(scope, shard), still_needed=None)
            made = _primary(records, self._configured_url(Partition(scope, shard)))
        if made is None:  # pragma: no cover - a family has a CA
            raise ValueError(f"no CA of family {family!r}")
        return made

    def _publish_locked(
        self,
        partition: Partition,
        still_needed: Callable[[UnitOfWork], bool] | None,
    ) -> tuple[list[CrlRecord], bool]:
        """Publish under the partition's lock (one publisher at a time across processes and
        hosts). With ``still_needed``, the partition is looked at again once the lock is
        held: another worker may have just published it, and then nothing is made
        (``False``) rather than a second number for the same content."""
        family, shard = partition.family, partition.shard
        for attempt in (1, 2):
            try:
                with self._uow_factory() as uow:
                    uow.crls.lock_partition(family, shard)
                    if still_needed is not None and not still_needed(uow):
                        latest = [
                            record
                            for url in self._urls(uow, partition, self._clock.now())
                            if (record := uow.crls.latest(family, shard, url)) is not None
                        ]
                        if latest:
                            for record in latest:
                                self._remember(partition, record)
                            log.info(
                                "CRL %s was just published by another worker",
                                crl_path(family, shard),
                            )
                            return latest, False
                    records = self._publish(uow, partition)
                    uow.commit()
            except ConstraintViolationError:
                # Two first publications of a partition at once where the lock cannot hold
                # them apart: the other one has its number now; take the next.
                if attempt == 2:
                    raise
                continue
            for record in records:
                self._remember(partition, record)
                log.info(
                    "CRL %s number %d published under %s (%d entries, next update %s)",
                    crl_path(family, shard),
                    record.number,
                    record.distribution_point,
                    record.entries,
                    record.next_update.isoformat(),
                )
            return records, True
        raise AssertionError("unreachable")

    def _publish(self, uow: UnitOfWork, partition: Partition) -> list[CrlRecord]:
        ca = self._authority(partition)
        created_at = self._clock.now()  # before anything is read: see publish_due
        this_update = whole_seconds(created_at)
        validity = timedelta(hours=self._policy.crl_validity_hours)
        if partition.family == ROOT_CRL_FAMILY and self._root_validity is not None:
            validity = self._root_validity
        next_update = this_update + validity
        urls = self._urls(uow, partition, created_at)
        records = []
        for url in urls:
            number = uow.crls.lock_numbering(partition.family, partition.shard)
            family, issuer = self._listing(partition)
            counter = _Counter(
                entry
                for shard in self._shards(partition)
                for entry in uow.certificates.listed_entries(family, shard, issuer)
            )
            content = CrlContent(
                issuer=ca.certificate,
                number=number,
                this_update=this_update,
                next_update=next_update,
                distribution_point=url,
                scope="all" if partition.family == ROOT_CRL_FAMILY else "user",
            )
            der = build_crl(content, counter, lambda tbs: self._sign(ca, tbs))
            record = CrlRecord(
                family=partition.family,
                shard=partition.shard,
                number=number,
                this_update=this_update,
                next_update=next_update,
                der=der,
                entries=counter.count,
                created_at=created_at,
                distribution_point=url,
            )
            uow.crls.add(record)
            uow.flush()  # the next URL's number is counted after this one
            records.append(record)
        # Keep a few recent CRLs per partition and URL (history for operators); at a million
        # entries each one is megabytes, so older ones are dropped as new ones are published,
        # and so are those of URLs no certificate names any more.
        uow.crls.prune(
            partition.family, partition.shard, keep_after=records[-1].number - KEEP_CRLS * len(urls)
        )
        return records

    def _sign(self, ca: CertificateAuthority, tbs: bytes) -> bytes:
        signature = self._backend.sign(ca.key_label, tbs)
        if not signature_valid(ca.certificate.public_key(), signature, tbs):
            raise RuntimeError(
                f"key {ca.key_label!r} does not match its CA certificate; CRL not published"
            ) from None
        return signature

    # ------------------------------------------------------------------ serving

    def current(self, family: str, shard: int, url: str | None = None) -> CrlRecord:
        """The latest CRL of the partition under ``url`` (one of :meth:`distribution_points`;
        default: :meth:`serving_url`'s choice); made now if there is none or it expired."""
        partition = Partition(family, shard)
        url = url or self.serving_url(family, shard, None)
        now = self._clock.now()
        with self._uow_factory(read_only=True) as uow:
            latest = uow.crls.latest(family, shard, url)
        if latest is not None and now < as_utc(latest.next_update):
            self._remember(partition, latest)
            return latest
        if family == ROOT_CRL_FAMILY and not self.root_key_here():
            if latest is not None:  # the offline root signs it at a ceremony only
                log.warning("the root CA's CRL expired; sign a new one at a key ceremony")
                return latest
            raise CertCenterError("ROOT_KEY_NOT_PRESENT", backend=backend_name(self._backend))
        with self._lock:  # one publication per process; others wait for it
            with self._uow_factory(read_only=True) as uow:
                latest = uow.crls.latest(family, shard, url)
            if latest is not None and self._clock.now() < as_utc(latest.next_update):
                return latest

            def expired(uow: UnitOfWork) -> bool:  # another process may have made it meanwhile
                again = uow.crls.latest(family, shard, url)
                return again is None or self._clock.now() >= as_utc(again.next_update)

            records, _ = self._publish_locked(partition, still_needed=expired)
            for record in records:
                if record.distribution_point == url:
                    return record
            return _primary(records, url)

    # ------------------------------------------------------------------ the job

    def publish_due(self, now: datetime | None = None) -> list[Partition]:
        """Republish what is missing, near its nextUpdate, or out of date (module docstring),
        under every URL of each partition; the family's complete CRL only once somebody
        asked for it or certificates name it. Returns what was made."""
        now = now or self._clock.now()
        margin = timedelta(hours=self._policy.crl_refresh_margin_hours)
        candidates = self.partitions()
        if not self.root_key_here():  # an offline root: its CRL is signed at ceremonies
            candidates = [p for p in candidates if p.family != ROOT_CRL_FAMILY]
        candidates += [
            Partition(scope, FULL_CRL_SHARD)
            for scope in self._scopes()
            if self._published_ever(Partition(scope, FULL_CRL_SHARD))
        ]
        published = []
        for partition in candidates:
            with self._uow_factory(read_only=True) as uow:
                if not self._due(uow, partition, now, margin, look=False):
                    continue
            _, made = self._publish_locked(
                partition, still_needed=functools.partial(self._due_now, partition, now, margin)
            )
            if made:
                published.append(partition)
        return published

    def _due_now(
        self, partition: Partition, now: datetime, margin: timedelta, uow: UnitOfWork
    ) -> bool:
        return self._due(uow, partition, now, margin)

    def _due(
        self,
        uow: UnitOfWork,
        partition: Partition,
        now: datetime,
        margin: timedelta,
        *,
        look: bool = True,
    ) -> bool:
        """Whether the partition needs a new CRL under any of its URLs. Without ``look``,
        what this publisher remembers is trusted when it says nothing is due; with it (under
        the partition's lock: another worker may have published it since), the stored CRLs
        are read."""
        count, newest = self._summary(uow, partition)
        for url in self._urls(uow, partition, now):
            seen = self._seen.get((partition, url))
            if not look and seen is not None and not _stale(seen, count, newest, now, margin):
                continue
            latest = uow.crls.latest(partition.family, partition.shard, url)
            if latest is None:
                return True
            self._remember(partition, latest)
            if _stale(_seen(latest), count, newest, now, margin):
                return True
        return False

    def _summary(self, uow: UnitOfWork, partition: Partition) -> tuple[int, datetime | None]:
        total, newest = 0, None
        family, issuer = self._listing(partition)
        for shard in self._shards(partition):
            count, latest = uow.certificates.listed_summary(family, shard, issuer)
            total += count
            if latest is not None and (newest is None or latest > newest):
                newest = latest
        return total, newest

    def _published_ever(self, partition: Partition) -> bool:
        if any(key[0] == partition for key in self._seen):
            return True
        with self._uow_factory(read_only=True) as uow:
            latest = uow.crls.latest(partition.family, partition.shard)
            named = any(
                point.shard == partition.shard
                for point in uow.crl_points.in_use(partition.family, self._clock.now())
            )
        if latest is not None:
            self._remember(partition, latest)
        return latest is not None or named

    def _remember(self, partition: Partition, record: CrlRecord) -> None:
        key = (partition, record.distribution_point)
        seen = self._seen.get(key)
        if seen is None or record.number >= seen.number:
            self._seen[key] = _seen(record)


def _under(url: str, base: str) -> bool:
    return url.startswith(base + "/crl/")


def _same_place(named: str, requested: str) -> bool:
    """The same host and path (the scheme may differ behind a TLS-terminating proxy)."""
    a, b = urlsplit(named), urlsplit(requested)
    return a.netloc.lower() == b.netloc.lower() and a.path == b.path


def _primary(records: list[CrlRecord], url: str) -> CrlRecord:
    for record in records:
        if record.distribution_point == url:
            return record
    return records[-1]


def _seen(record: CrlRecord) -> _Seen:
    return _Seen(
        number=record.number,
        entries=record.entries,
        created_at=as_utc(record.created_at),
        next_update=as_utc(record.next_update),
    )


def _stale(
    seen: _Seen, count: int, newest: datetime | None, now: datetime, margin: timedelta
) -> bool:
    if now >= seen.next_update - margin:
        return True
    if count != seen.entries:
        return True
    return newest is not None and as_utc(newest) > seen.created_at


class _Counter(Iterator[bytes]):
    """Passes entries through, counting them."""

    def __init__(self, entries: Iterable[bytes]) -> None:
        self._entries = iter(entries)
        self.count = 0

    def __iter__(self) -> _Counter:
        return self

    def __next__(self) -> bytes:
        entry = next(self._entries)
        self.count += 1
        return entry
