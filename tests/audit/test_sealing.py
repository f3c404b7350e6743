"""Writers never wait on each other for the trail; the sealer links entries in number order,
a gap held back until it is old, then sealed as skipped; Merkle trees and v2 checkpoints."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update

from certcenter.audit import (
    GENESIS_HASH,
    AuditCheckpoints,
    AuditTrail,
    FileCheckpointLog,
    canonical_json,
    content_hash,
    merkle,
)
from certcenter.audit.checkpoint_log import CHECKPOINT_FILE
from certcenter.audit.checkpoints import checkpoint_document, key_id, statement
from certcenter.audit.redaction import iso_utc
from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock, as_utc
from certcenter.entities import AuditCheckpoint, AuditEntry
from certcenter.errors import CertCenterError
from certcenter.storage.tables import audit_checkpoints, audit_head, audit_log
from tests.audit.test_trail import record, sql

GAP = timedelta(seconds=10)
JOB = {"actor_kind": "system", "actor": "jobs", "action": "job.run", "subject_kind": "job"}


def _checkpoints(center: Center, directory: Path | None = None, **kwargs: Any) -> AuditCheckpoints:
    log = FileCheckpointLog(directory) if directory is not None else None
    return AuditCheckpoints(
        center.uow_factory,
        center.keys,
        center.clock,
        publishers=[log] if log else [],
        published=log,
        gap=GAP,
        **kwargs,
    )


def _entries(center: Center) -> list[AuditEntry]:
    with center.uow_factory() as uow:
        return list(uow.audit.entries(limit=100_000))


def _head(center: Center) -> int:
    with center.uow_factory() as uow:
        return uow.audit.head()[0]


def _verify(center: Center, checkpoints: AuditCheckpoints) -> Any:
    with center.uow_factory() as uow:
        return checkpoints.verify(uow)


# ---------------------------------------------------------------- Merkle trees (RFC 6962)


def _leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


def test_merkle_tree_hash_follows_rfc_6962() -> None:
    assert merkle.tree_hash([]) == hashlib.sha256(b"").digest()
    a, b, c = _leaves(3)
    leaf = merkle.leaf_hash
    assert merkle.tree_hash([a]) == hashlib.sha256(b"\x00" + a).digest()
    assert merkle.tree_hash([a, b]) == hashlib.sha256(b"\x01" + leaf(a) + leaf(b)).digest()
    # three leaves split at two: ((a, b), c)
    left = merkle.node_hash(leaf(a), leaf(b))
    assert merkle.tree_hash([a, b, c]) == merkle.node_hash(left, leaf(c))


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 17])
def test_every_leaf_has_an_audit_path_to_the_root(size: int) -> None:
    leaves = _leaves(size)
    root = merkle.tree_hash(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(leaves, index)
        assert merkle.root_from_proof(leaves[index], index, size, proof) == root
        changed = hashlib.sha256(b"changed").digest()
        assert merkle.root_from_proof(changed, index, size, proof) != root
        if size > 1:  # the path of another position does not lead there
            other = (index + 1) % size
            assert merkle.root_from_proof(leaves[index], other, size, proof) != root
    assert merkle.root_from_proof(leaves[0], size, size, []) is None
    with pytest.raises(ValueError, match="not in a tree"):
        merkle.inclusion_proof(leaves, size)


# ---------------------------------------------------------------- writers apart


def _append(center: Center, trail: AuditTrail, subject: str) -> None:
    with center.uow_factory() as uow:
        trail.record(uow, subject=subject, **JOB)
        uow.commit()


def test_writers_do_not_wait_for_a_transaction_holding_an_entry(
    center: Center, backend: str
) -> None:
    """16 threads append while another transaction holds an appended entry open: on
    PostgreSQL they all commit meanwhile (no shared row is locked). SQLite has one writer at
    a time by design, so there the 16 run without the open transaction."""
    trail = AuditTrail(center.clock)
    holder = center.uow_factory() if backend == "postgresql" else None
    if holder is not None:
        holder.__enter__()
        trail.record(holder, subject="held", **JOB)  # written, not committed
    errors: list[BaseException] = []
    barrier = threading.Barrier(16)

    def work(worker: int) -> None:
        try:
            barrier.wait()
            for i in range(4):
                _append(center, trail, f"{worker}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    waiting = [t for t in threads if t.is_alive()]
    if holder is not None:
        holder.commit()
        holder.__exit__(None, None, None)
    assert not waiting, f"{len(waiting)} writers waited on the open transaction"
    assert not errors, errors
    written = _entries(center)
    assert len(written) == 16 * 4 + (1 if holder is not None else 0)
    assert len({e.seq for e in written}) == len(written)
    _checkpoints(center).seal()
    result = _verify(center, _checkpoints(center))
    assert result.ok and result.checked == len(written) and result.unsealed == 0


# ---------------------------------------------------------------- the sealer and gaps


def test_the_sealer_holds_back_at_a_gap_until_it_is_old(center: Center, clock: FrozenClock) -> None:
    trail = AuditTrail(clock)
    made = record(center, trail, 4, sealed=False)
    # number 2 never commits (a rolled-back transaction on PostgreSQL leaves exactly this)
    sql(center, delete(audit_log).where(audit_log.c.seq == made[1].seq))
    checkpoints = _checkpoints(center)
    first = checkpoints.seal()
    assert first is not None and first.seq == made[0].seq  # only below the gap
    result = _verify(center, checkpoints)
    assert result.ok and result.checked == 1 and result.unsealed == 2  # not broken

    clock.advance(seconds=GAP.total_seconds())
    later = checkpoints.seal()
    assert later is not None and later.seq == made[3].seq and later.count == 3
    entries = _entries(center)
    assert [e.seq for e in entries] == [e.seq for e in made]
    skipped = entries[1]
    assert (skipped.action, skipped.subject, skipped.outcome) == (
        "audit.skip",
        str(made[1].seq),
        "skipped",
    )
    assert skipped.actor_kind == "system" and skipped.entry_hash is not None
    result = _verify(center, checkpoints)
    assert result.ok and result.checked == 4 and result.checkpoints == 2

    # the skip is sealed and signed like any entry: removing it is a deleted entry
    sql(center, delete(audit_log).where(audit_log.c.seq == skipped.seq))
    result = _verify(center, checkpoints)
    assert not result.ok and result.first_broken_seq == skipped.seq


def test_a_rolled_back_number_is_sealed_as_skipped(
    center: Center, clock: FrozenClock, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite gives numbers under its one writer: a rollback leaves no gap")
    trail = AuditTrail(clock)
    _append(center, trail, "before")
    with center.uow_factory() as uow:
        held = trail.record(uow, subject="rolled-back", **JOB)
        _append(center, trail, "after")  # a later number commits first
        checkpoints = _checkpoints(center)
        sealed = checkpoints.seal()
        assert sealed is not None and sealed.seq == held.seq - 1
        uow.rollback()
    assert checkpoints.seal() is None  # the gap is young: nothing past it
    clock.advance(seconds=GAP.total_seconds())
    done = checkpoints.seal()
    assert done is not None and done.seq == held.seq + 1
    actions = {e.seq: e.action for e in _entries(center)}
    assert actions[held.seq] == "audit.skip" and actions[held.seq + 1] == "job.run"
    assert _verify(center, checkpoints).ok


def test_an_old_gap_whose_writer_still_holds_it_is_waited_for(
    center: Center, clock: FrozenClock, backend: str
) -> None:
    if backend != "postgresql":
        pytest.skip("only PostgreSQL commits numbers out of order")
    trail = AuditTrail(clock)
    checkpoints = _checkpoints(center, lock_wait_seconds=0.2)
    with center.uow_factory() as slow:
        held = trail.record(slow, subject="slow", **JOB)
        _append(center, trail, "quick")
        clock.advance(seconds=GAP.total_seconds() * 3)  # old, but its writer is still open
        assert checkpoints.seal() is None  # waited briefly, took nothing
        slow.commit()
    done = checkpoints.seal()
    assert done is not None and done.seq == held.seq + 1
    by_seq = {e.seq: e for e in _entries(center)}
    assert by_seq[held.seq].subject == "slow"  # the writer's own entry, not a skip
    assert _verify(center, checkpoints).ok


def test_only_one_sealer_at_a_time(center: Center, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("SQLite's single writer already keeps sealers apart")
    record(center, AuditTrail(center.clock), 2, sealed=False)
    checkpoints = _checkpoints(center)
    with center.uow_factory() as other:
        assert other.audit.lock_head() == (0, GENESIS_HASH)  # another sealer at work
        assert checkpoints.seal(wait=False) is None  # skips at once
    assert _head(center) == 0
    made = checkpoints.seal(wait=False)
    assert made is not None and made.seq == 2


def test_the_sealer_refuses_an_entry_altered_before_it_was_sealed(center: Center) -> None:
    record(center, AuditTrail(center.clock), 3, sealed=False)
    sql(center, update(audit_log).where(audit_log.c.seq == 2).values(outcome="refused"))
    checkpoints = _checkpoints(center)
    result = _verify(center, checkpoints)
    assert not result.ok and result.first_broken_seq == 2
    with pytest.raises(CertCenterError) as caught:
        checkpoints.seal()
    assert caught.value.code == "AUDIT_CHAIN_BROKEN"
    assert _head(center) == 0  # nothing sealed, nothing signed


def test_the_job_runner_seals(center: Center) -> None:
    record(center, AuditTrail(center.clock), 2, sealed=False)
    report = center.jobs.run_once()
    assert report.audit_checkpoint and "audit entries sealed" in report.summary()
    assert _head(center) == 2


# ---------------------------------------------------------------- checkpoints v2


def test_a_checkpoint_signed_with_a_wrong_root_is_found(center: Center, tmp_path: Path) -> None:
    checkpoints = _checkpoints(center, tmp_path / "cp")
    record(center, AuditTrail(center.clock), 3, sealed=False)
    made = checkpoints.checkpoint()
    assert made is not None and made.root_hash is not None
    entries = _entries(center)
    leaves = [bytes.fromhex(e.entry_hash or "") for e in entries]
    assert made.root_hash == merkle.tree_hash(leaves).hex()
    # a checkpoint signed with the right key over another root (a faulty sealer)
    wrong = AuditCheckpoint(
        seq=made.seq,
        head_hash=made.head_hash,
        count=made.count,
        at=made.at,
        key_id=made.key_id,
        signature=b"",
        version=2,
        root_hash="ab" * 32,
        previous_hash=made.previous_hash,
    )
    wrong.signature = center.keys.sign("audit-checkpoint", statement(wrong))
    sql(
        center,
        update(audit_checkpoints).values(root_hash=wrong.root_hash, signature=wrong.signature),
    )
    (tmp_path / "cp" / CHECKPOINT_FILE).unlink()
    result = _verify(center, checkpoints)
    assert (result.ok, result.code, result.checkpoint) == (False, "AUDIT_CHECKPOINT_MISMATCH", 3)
    assert result.reason is not None and "Merkle" in result.reason


def test_a_forged_checkpoint_does_not_verify(center: Center, tmp_path: Path) -> None:
    checkpoints = _checkpoints(center, tmp_path / "cp")
    record(center, AuditTrail(center.clock), 3, sealed=False)
    made = checkpoints.checkpoint()
    assert made is not None
    sql(center, update(audit_checkpoints).values(root_hash="cd" * 32))  # not re-signed
    result = _verify(center, checkpoints)
    assert (result.ok, result.code) == (False, "AUDIT_CHECKPOINT_INVALID")
    assert result.reason is not None and "database checkpoint 3" in result.reason


def test_checkpoints_name_the_one_before(center: Center, tmp_path: Path) -> None:
    checkpoints = _checkpoints(center, tmp_path / "cp")
    trail = AuditTrail(center.clock)
    record(center, trail, 2, sealed=False)
    first = checkpoints.checkpoint()
    record(center, trail, 2, sealed=False)
    second = checkpoints.checkpoint()
    assert first is not None and second is not None
    assert (second.seq, second.count, second.previous_hash) == (4, 2, first.head_hash)
    document = checkpoint_document(second)
    assert document["format"] == "certcenter-audit-checkpoint-v2"
    assert f"previous: {first.head_hash}\n" in document["statement"]
    assert f"root: {second.root_hash}\n" in document["statement"]
    # entry 2 rewritten with every later hash and the head recomputed, the first checkpoint
    # deleted everywhere: the second still names entry 2's hash as its previous one
    sql(center, delete(audit_checkpoints).where(audit_checkpoints.c.seq == 2))
    path = tmp_path / "cp" / CHECKPOINT_FILE
    path.write_text(path.read_text().splitlines()[1] + "\n")
    assert _verify(center, checkpoints).ok
    entries = _entries(center)
    forged = entries[1]
    forged.outcome = "refused"
    forged.content_hash = content_hash(forged)
    sql(
        center,
        update(audit_log)
        .where(audit_log.c.seq == 2)
        .values(outcome="refused", content_hash=forged.content_hash),
    )
    result = _verify(center, checkpoints)
    assert not result.ok and result.first_broken_seq == 2


# ---------------------------------------------------------------- entries of before sealing


def _legacy_trail(center: Center, n: int) -> list[AuditEntry]:
    """Entries as they were written before sealing existed: each linked at its write, the
    head moved with it, no content hash; and a v1 checkpoint over them."""
    clock = center.clock
    entries, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        entry = AuditEntry(
            seq=seq,
            at=clock.now(),
            actor_kind="operator",
            actor="op-kim",
            action="certificate.revoke",
            subject_kind="certificate",
            subject=f"OLD{seq}",
            outcome="ok",
            prev_hash=prev,
            entry_hash="",
            details={"n": seq},
        )
        document = {
            "seq": seq,
            "at": iso_utc(as_utc(entry.at)),
            "actor_kind": entry.actor_kind,
            "actor": entry.actor,
            "action": entry.action,
            "subject_kind": entry.subject_kind,
            "subject": entry.subject,
            "outcome": entry.outcome,
            "source_ip": None,
            "details": entry.details,
        }
        digest = hashlib.sha256(prev.encode())
        digest.update(canonical_json(document))
        entry.entry_hash = prev = digest.hexdigest()
        entries.append(entry)
        row = {c.name: getattr(entry, c.name) for c in audit_log.columns}
        sql(center, audit_log.insert().values(**row))
    sql(center, update(audit_head).values(seq=n, entry_hash=prev))
    public = center.keys.public_key("audit-checkpoint")
    old = AuditCheckpoint(
        seq=n - 1,
        head_hash=entries[n - 2].entry_hash or "",
        count=n - 1,
        at=clock.now(),
        key_id=key_id(public),
        signature=b"",
    )
    old.signature = center.keys.sign("audit-checkpoint", statement(old))
    with center.uow_factory() as uow:
        uow.audit.add_checkpoint(old)
        uow.commit()
    return entries


def test_entries_and_checkpoints_of_before_sealing_still_verify(
    center: Center, tmp_path: Path, backend: str
) -> None:
    old = _legacy_trail(center, 4)
    checkpoints = _checkpoints(center, tmp_path / "cp")
    result = _verify(center, checkpoints)
    assert result.ok and result.checked == 4 and result.checkpoints == 1
    if backend == "postgresql":  # numbers go on after the old entries
        with center.engine.begin() as conn:
            conn.exec_driver_sql("SELECT setval('audit_log_seq', 4)")
    record(center, AuditTrail(center.clock), 2, sealed=False)
    made = checkpoints.checkpoint()
    assert made is not None and (made.seq, made.count, made.version) == (6, 3, 2)
    assert made.previous_hash == old[2].entry_hash  # the v1 checkpoint's head
    result = _verify(center, checkpoints)
    assert result.ok and result.checked == 6 and result.checkpoints == 2
    # an old entry changed is still found at its number
    sql(center, update(audit_log).where(audit_log.c.seq == 2).values(outcome="refused"))
    assert _verify(center, checkpoints).first_broken_seq == 2
