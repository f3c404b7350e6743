"""The audit trail: entries written apart, sealed into one hash chain, every kind of tampering
found at the right entry."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update

from certcenter.audit import (
    GENESIS_HASH,
    AuditCheckpoints,
    AuditTrail,
    AuditVerification,
    content_hash,
    entry_hash,
    link_hash,
)
from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import Actor, AuditEntry
from certcenter.storage.tables import audit_head, audit_log

RRN = "9003151512541"  # 김민준 in the demo world
PIN = "591734"


def seal(center: Center) -> None:
    """Seal what has committed, as the server's sealer does."""
    AuditCheckpoints(center.uow_factory, center.keys, center.clock).seal()


def record(
    center: Center, trail: AuditTrail, n: int, *, sealed: bool = True, **extra: Any
) -> list[AuditEntry]:
    """``n`` entries, each in its own unit of work, then sealed (unless ``sealed=False``);
    the entries as stored."""
    made = []
    for i in range(n):
        with center.uow_factory() as uow:
            made.append(
                trail.record(
                    uow,
                    actor_kind=Actor.OPERATOR,
                    actor="op-kim",
                    action="certificate.revoke",
                    subject_kind="certificate",
                    subject=f"5F3A{i:04X}",
                    outcome="ok",
                    source_ip="10.1.2.3",
                    details={"reason": "keyCompromise", "n": i, "tags": ["a", "b"]},
                    **extra,
                )
            )
            uow.commit()
        assert isinstance(center.clock, FrozenClock)
        center.clock.advance(seconds=1.5)
    if sealed:
        seal(center)
    with center.uow_factory() as uow:
        stored = {e.seq: e for e in uow.audit.entries(limit=100_000)}
    return [stored[e.seq] for e in made]


def verify(center: Center, **kwargs: Any) -> AuditVerification:
    with center.uow_factory() as uow:
        return AuditTrail(center.clock).verify(uow, **kwargs)


def sql(center: Center, statement: Any) -> None:
    with center.engine.begin() as conn:
        conn.execute(statement)


@pytest.fixture
def trail(clock: FrozenClock) -> AuditTrail:
    return AuditTrail(clock)


def test_an_empty_trail_verifies(center: Center) -> None:
    result = verify(center)
    assert result == AuditVerification(True, 0, None, None, 0, GENESIS_HASH)


def test_entries_form_one_chain_and_verify(center: Center, trail: AuditTrail) -> None:
    made = record(center, trail, 5, sealed=False)
    assert all(e.entry_hash is None and e.prev_hash is None for e in made)
    with center.uow_factory() as uow:  # two entries in one unit of work chain too
        trail.record(
            uow,
            actor_kind="system",
            actor="jobs",
            action="job.run",
            subject_kind="job",
            subject="crl",
        )
        trail.record(
            uow,
            actor_kind=Actor.CUSTOMER,
            actor="C001",
            action="device.register",
            subject_kind="customer",
            subject="C001",
            outcome="refused:DEVICE_ROOTED",
        )
        uow.commit()
    unsealed = verify(center)  # written, not sealed yet: reported as such, not as broken
    assert unsealed.ok and (unsealed.checked, unsealed.unsealed) == (0, 7)
    seal(center)
    with center.uow_factory() as uow:
        stored = list(uow.audit.entries(after_seq=0, limit=100))
        head = uow.audit.head()
    assert [e.seq for e in stored] == list(range(1, 8))
    assert stored[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(stored):
        assert after.prev_hash == before.entry_hash
    assert head == (7, stored[-1].entry_hash)
    assert stored[0].content_hash == made[0].content_hash == content_hash(stored[0])
    assert stored[0].entry_hash == entry_hash(stored[0])
    assert stored[0].entry_hash == link_hash(GENESIS_HASH, 1, made[0].content_hash or "")
    assert stored[0].at == made[0].at and stored[0].at.microsecond == 0
    assert stored[1].at.microsecond == 500000  # microseconds survive both databases
    assert stored[0].details == {"reason": "keyCompromise", "n": 0, "tags": ["a", "b"]}
    assert stored[0].source_ip == "10.1.2.3"

    result = verify(center)
    assert result.ok and result.checked == 7 and result.first_broken_seq is None
    assert result.unsealed == 0
    assert (result.last_seq, result.last_hash) == head
    assert verify(center, batch_size=2) == result  # the walk in small batches agrees


def test_an_entry_is_never_committed_on_its_own(
    center: Center, trail: AuditTrail, backend: str, clock: FrozenClock
) -> None:
    record(center, trail, 2)
    with center.uow_factory() as uow:
        trail.record(
            uow,
            actor_kind="operator",
            actor="op-kim",
            action="certificate.suspend",
            subject_kind="certificate",
            subject="AB12",
        )
        # the caller's change fails: no commit
    seal(center)
    with center.uow_factory() as uow:
        assert uow.audit.head()[0] == 2
        assert len(uow.audit.entries()) == 2
    assert verify(center).ok
    record(center, trail, 1)
    if backend == "postgresql":  # the rolled-back number is a gap: sealed once it is old
        assert verify(center).unsealed == 1
        clock.advance(seconds=center.settings.policy.audit_seal_gap_seconds)
        seal(center)
        with center.uow_factory() as uow:
            assert [e.action for e in uow.audit.entries()][2] == "audit.skip"
    result = verify(center)
    assert result.ok and result.unsealed == 0
    assert result.checked == (3 if backend == "sqlite" else 4)


def test_a_changed_field_is_found(center: Center, trail: AuditTrail) -> None:
    record(center, trail, 5)
    sql(center, update(audit_log).where(audit_log.c.seq == 3).values(outcome="refused"))
    result = verify(center)
    assert not result.ok
    assert result.first_broken_seq == 3 and result.checked == 2
    assert result.reason is not None and "altered" in result.reason


def test_changed_details_are_found(center: Center, trail: AuditTrail) -> None:
    record(center, trail, 4)
    with center.engine.begin() as conn:
        details = conn.execute(select(audit_log.c.details).where(audit_log.c.seq == 2)).scalar()
        assert isinstance(details, dict)
        conn.execute(
            update(audit_log).where(audit_log.c.seq == 2).values(details={**details, "n": 99})
        )
    assert verify(center).first_broken_seq == 2


def test_a_deleted_middle_entry_is_found(center: Center, trail: AuditTrail) -> None:
    record(center, trail, 5)
    sql(center, delete(audit_log).where(audit_log.c.seq == 3))
    result = verify(center)
    assert not result.ok and result.first_broken_seq == 3 and result.checked == 2
    assert result.reason is not None and "missing" in result.reason


def test_a_deleted_first_entry_is_found(center: Center, trail: AuditTrail) -> None:
    record(center, trail, 3)
    sql(center, delete(audit_log).where(audit_log.c.seq == 1))
    assert verify(center).first_broken_seq == 1


def test_a_deleted_last_entry_is_found(center: Center, trail: AuditTrail) -> None:
    record(center, trail, 5)
    sql(center, delete(audit_log).where(audit_log.c.seq == 5))
    result = verify(center)
    assert not result.ok and result.first_broken_seq == 5 and result.checked == 4
    assert result.reason is not None and "head" in result.reason


def test_deleted_last_entries_and_a_rewound_head_are_found_by_an_anchor(
    center: Center, trail: AuditTrail
) -> None:
    made = record(center, trail, 5)
    anchor = {5: made[4].entry_hash}
    sql(center, delete(audit_log).where(audit_log.c.seq >= 4))
    sql(center, update(audit_head).values(seq=3, entry_hash=made[2].entry_hash))
    assert verify(center).ok  # a consistent truncation: only an outside anchor sees it
    result = verify(center, anchors=anchor)
    assert not result.ok and result.first_broken_seq == 4


def test_reordered_entries_are_found(center: Center, trail: AuditTrail) -> None:
    record(center, trail, 5)
    # swap entries 3 and 4 (their numbers)
    sql(center, update(audit_log).where(audit_log.c.seq == 3).values(seq=-3))
    sql(center, update(audit_log).where(audit_log.c.seq == 4).values(seq=3))
    sql(center, update(audit_log).where(audit_log.c.seq == -3).values(seq=4))
    result = verify(center)
    assert not result.ok and result.first_broken_seq == 3


def test_a_garbage_hash_is_found(center: Center, trail: AuditTrail) -> None:
    record(center, trail, 5)
    sql(center, update(audit_log).where(audit_log.c.seq == 2).values(entry_hash="f" * 64))
    assert verify(center).first_broken_seq == 2


def test_a_rewritten_entry_with_a_recomputed_hash_is_found_at_the_next_link(
    center: Center, trail: AuditTrail
) -> None:
    made = record(center, trail, 5)
    with center.uow_factory() as uow:
        forged = uow.audit.entries(after_seq=2, limit=1)[0]
    forged.details = {**forged.details, "reason": "cessationOfOperation"}
    forged.content_hash = content_hash(forged)
    forged.entry_hash = entry_hash(forged)
    sql(
        center,
        update(audit_log)
        .where(audit_log.c.seq == 3)
        .values(
            details=forged.details,
            content_hash=forged.content_hash,
            entry_hash=forged.entry_hash,
        ),
    )
    result = verify(center)
    assert not result.ok and result.first_broken_seq == 4 and result.checked == 3
    assert result.reason is not None and "prev_hash" in result.reason
    # with the hash published earlier as an anchor, the rewritten entry itself is named
    anchored = verify(center, anchors={3: made[2].entry_hash})
    assert anchored.first_broken_seq == 3


def test_a_rewritten_last_entry_is_found_by_the_head(center: Center, trail: AuditTrail) -> None:
    record(center, trail, 3)
    with center.uow_factory() as uow:
        forged = uow.audit.entries(after_seq=2, limit=1)[0]
    forged.outcome = "refused"
    forged.content_hash = content_hash(forged)
    forged.entry_hash = entry_hash(forged)
    sql(
        center,
        update(audit_log)
        .where(audit_log.c.seq == 3)
        .values(outcome="refused", content_hash=forged.content_hash, entry_hash=forged.entry_hash),
    )
    result = verify(center)
    assert not result.ok and result.first_broken_seq == 3


def test_an_entry_added_behind_the_trails_back_is_found(center: Center, trail: AuditTrail) -> None:
    made = record(center, trail, 3)
    with center.uow_factory() as uow:
        template = uow.audit.entries(after_seq=2, limit=1)[0]
    extra = AuditEntry(
        seq=4,
        at=template.at,
        actor_kind="system",
        actor="x",
        action="forged",
        subject_kind="x",
        subject="x",
        outcome="ok",
        prev_hash=made[2].entry_hash,
        entry_hash="",
        details={},
    )
    extra.content_hash = content_hash(extra)
    extra.entry_hash = entry_hash(extra)
    row = {c.name: getattr(extra, c.name) for c in audit_log.columns}
    sql(center, audit_log.insert().values(**row))
    result = verify(center)
    assert not result.ok and result.first_broken_seq == 4
    assert result.reason is not None and "head" in result.reason


def test_an_entry_inserted_in_the_middle_is_found(center: Center, trail: AuditTrail) -> None:
    made = record(center, trail, 5)
    # make room at 3 (every later entry one number up), then forge an entry there that links
    for seq in (5, 4, 3):
        sql(center, update(audit_log).where(audit_log.c.seq == seq).values(seq=seq + 1))
    forged = AuditEntry(
        seq=3,
        at=made[2].at,
        actor_kind="operator",
        actor="op-kim",
        action="certificate.release",
        subject_kind="certificate",
        subject="5F3A0002",
        outcome="ok",
        prev_hash=made[1].entry_hash,
        entry_hash="",
        details={},
    )
    forged.content_hash = content_hash(forged)
    forged.entry_hash = entry_hash(forged)
    row = {c.name: getattr(forged, c.name) for c in audit_log.columns}
    sql(center, audit_log.insert().values(**row))
    result = verify(center)
    assert not result.ok and result.first_broken_seq == 4 and result.checked == 3
    assert result.reason is not None and "prev_hash" in result.reason


def record_concurrently(
    center: Center, trail: AuditTrail, threads_count: int, per_thread: int
) -> list[BaseException]:
    """Each thread records in its own units of work; all start at once."""
    barrier = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(per_thread):
                with center.uow_factory() as uow:
                    trail.record(
                        uow,
                        actor_kind="system",
                        actor=f"worker-{worker}",
                        action="job.step",
                        subject_kind="job",
                        subject=f"{worker}-{i}",
                    )
                    uow.commit()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_concurrent_recorders_make_one_chain(center: Center, trail: AuditTrail) -> None:
    record(center, trail, 1)
    errors = record_concurrently(center, trail, 4, 8)
    assert not errors, errors
    seal(center)
    result = verify(center)
    assert result.ok and result.checked == 1 + 4 * 8
    with center.uow_factory() as uow:
        subjects = {e.subject for e in uow.audit.entries(after_seq=1, limit=1000)}
    assert len(subjects) == 4 * 8


def test_concurrent_first_appends_make_one_chain(
    center: Center, trail: AuditTrail, backend: str, request: pytest.FixtureRequest
) -> None:
    # The migrations seed the head row; take it away (a wiped table, or a database restored
    # without it): the writers never need it, the sealer makes it again.
    with center.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_head"))
    errors = record_concurrently(center, trail, 4, 4)
    assert not errors, errors
    seal(center)
    result = verify(center)
    assert result.ok and result.checked == 16


def test_personal_data_never_enters_the_trail(center: Center, trail: AuditTrail) -> None:
    with center.uow_factory() as uow:
        entry = trail.record(
            uow,
            actor_kind="customer",
            actor="C001",
            action="enrollment.phone",
            subject_kind="customer",
            subject="01020000001",
            outcome=f"refused for {RRN}",
            details={
                "pin": PIN,
                "sms_code": "483920",
                "rrn": RRN,
                "note": "주민번호 900315-1512541 로 문의",
                "phone": "010-2000-0001",
                "email": "c001@customers.example.org",
                "customer_name": "김민준",
                "nested": [{"password": "hunter2"}, {"resident_number": int(RRN)}],
                "error_code": "PHONE_NOT_OWN_NAME",
                "pin_locked": True,
            },
        )
        uow.commit()
    with center.engine.connect() as conn:
        raw = " ".join(str(v) for row in conn.execute(select(audit_log)) for v in row)
        raw_json = conn.execute(text("SELECT CAST(details AS TEXT) FROM audit_log")).scalar_one()
    for secret in (
        RRN,
        PIN,
        "900315-1512541",
        "1512541",
        "483920",
        "hunter2",
        "20000001",
        "c001@",
        "김민준",
        "2000-0001",
    ):
        assert secret not in raw and secret not in raw_json, secret
    assert entry.details["pin"] == "[redacted]"
    assert entry.details["sms_code"] == "[redacted]"
    assert entry.details["phone"] == "010-****-0001"
    assert entry.details["email"] == "c***@customers.example.org"
    assert entry.details["customer_name"] == "김*준"
    assert entry.details["error_code"] == "PHONE_NOT_OWN_NAME"
    assert entry.details["pin_locked"] is True
    assert entry.subject == "010-****-0001"
    assert entry.outcome == "refused for ******-*******"
    assert verify(center).ok


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("actor_kind", "robot"),
        ("action", "revoke certificate"),
        ("subject_kind", ""),
        ("actor", "x" * 81),
        ("details", {"ratio": 0.5}),
        ("details", {"blob": b"\x00"}),
        ("details", {1: "int key"}),
    ],
)
def test_invalid_entries_are_refused_before_anything_is_written(
    center: Center, trail: AuditTrail, field: str, value: object
) -> None:
    fields: dict[str, Any] = {
        "actor_kind": "operator",
        "actor": "op-kim",
        "action": "certificate.revoke",
        "subject_kind": "certificate",
        "subject": "AB12",
    }
    fields[field] = value
    with center.uow_factory() as uow, pytest.raises((ValueError, TypeError)):
        trail.record(uow, **fields)
    with center.uow_factory() as uow:
        assert list(uow.audit.entries()) == []


def test_source_ip_is_normalised_and_never_fails_the_change(
    center: Center, trail: AuditTrail
) -> None:
    with center.uow_factory() as uow:
        fields: dict[str, Any] = {
            "actor_kind": "customer",
            "actor": "C001",
            "action": "device.register",
            "subject_kind": "customer",
            "subject": "C001",
        }
        v6 = trail.record(uow, source_ip="2001:DB8:0:0::1", **fields)
        odd = trail.record(uow, source_ip="testclient", **fields)
        uow.commit()
    assert v6.source_ip == "2001:db8::1"
    assert odd.source_ip is None
    assert verify(center).ok
