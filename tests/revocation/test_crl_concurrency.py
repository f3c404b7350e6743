"""Several workers publishing the same partitions at once (several job runners, several hosts):
one publisher of a partition at a time, one new CRL number per change, nothing logged as an
error."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from cryptography import x509

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import CertificateStatus
from certcenter.pki.crl import encode_crl_entry
from certcenter.ports import UnitOfWork
from certcenter.revocation import CrlPublisher, Partition
from tests.revocation.support import record_active


class _Meeting:
    """A unit-of-work factory for *workers* publishers: each read-only look waits for the
    others' same look, so every worker has judged a partition due before any publishes it."""

    def __init__(self, center: Center, workers: int) -> None:
        self._factory = center.uow_factory
        self._barrier = threading.Barrier(workers)

    @contextmanager
    def __call__(self, *, read_only: bool = False) -> Iterator[UnitOfWork]:
        with self._factory(read_only=read_only) as uow:
            yield uow
        if read_only:
            self._barrier.wait(timeout=60)


def _publishers(center: Center, workers: int) -> list[CrlPublisher]:
    meeting = _Meeting(center, workers)
    return [
        CrlPublisher(
            uow_factory=meeting,
            backend=center.keys,
            hierarchy=center.hierarchy,
            settings=center.settings,
            clock=center.clock,
        )
        for _ in range(workers)
    ]


def _at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    results: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return results


def _numbers(center: Center, partition: Partition) -> list[int]:
    with center.uow_factory(read_only=True) as uow:
        latest = uow.crls.latest(partition.family, partition.shard)
    return [] if latest is None else list(range(1, latest.number + 1))


def _errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


def _revoke_silently(center: Center, clock: FrozenClock) -> Partition:
    """A certificate listed without its CRL published (what the job runner catches up on)."""
    certificate = record_active(center)
    serial = f"{certificate.serial_number:X}"
    clock.advance(seconds=1)
    now = clock.now()
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial, for_update=True)
        assert record is not None
        record.status = CertificateStatus.REVOKED.value
        record.revoked_at = now
        record.revocation_reason = "keyCompromise"
        record.crl_entry = encode_crl_entry(
            certificate.serial_number, now, x509.ReasonFlags.key_compromise
        )
        uow.commit()
        return Partition(record.family, record.crl_shard)


def test_two_job_runners_publish_each_missing_partition_once(
    center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first, second = _publishers(center, 2)
    made = _at_once([first.publish_due, second.publish_due])
    everything = first.partitions()
    assert sorted(made[0] + made[1]) == sorted(everything)  # each one by exactly one runner
    for partition in everything:
        assert _numbers(center, partition) == [1]
    assert _errors(caplog) == []


def test_three_job_runners_make_one_new_number_for_a_change(
    center: Center, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    CrlPublisher(
        uow_factory=center.uow_factory,
        backend=center.keys,
        hierarchy=center.hierarchy,
        settings=center.settings,
        clock=clock,
    ).publish_due()
    partition = _revoke_silently(center, clock)
    caplog.clear()
    caplog.set_level(logging.INFO)
    made = _at_once([p.publish_due for p in _publishers(center, 3)])
    assert sorted(made, key=len) == [[], [], [partition]]
    assert _numbers(center, partition) == [1, 2]
    with center.uow_factory(read_only=True) as uow:
        latest = uow.crls.latest(partition.family, partition.shard)
    assert latest is not None and latest.entries == 1
    assert _errors(caplog) == []


def test_workers_asked_for_a_missing_crl_at_once_make_one(
    center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    publishers = _publishers(center, 2)
    served = _at_once([lambda p=p: p.current("mobile", 7) for p in publishers])
    assert [record.number for record in served] == [1, 1]
    assert _numbers(center, Partition("mobile", 7)) == [1]
    assert _errors(caplog) == []


def test_explicit_publications_at_once_take_turns(
    center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    """After revocations in one partition on several workers: each publishes, in turn."""
    caplog.set_level(logging.INFO)
    publishers = _publishers(center, 3)
    made = _at_once([lambda p=p: p.publish("mobile", 2) for p in publishers])
    assert sorted(record.number for record in made) == [1, 2, 3]
    assert _errors(caplog) == []
