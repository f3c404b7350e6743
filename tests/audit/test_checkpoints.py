"""Signed checkpoints: one per sealed batch of entries, kept and published, checked by verify."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from certcenter.audit import AuditCheckpoints, AuditTrail, FileCheckpointLog
from certcenter.audit.checkpoint_log import CHECKPOINT_FILE, PUBLIC_KEY_FILE
from certcenter.audit.checkpoints import checkpoint_document, signature_problem, statement
from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import AuditCheckpoint
from certcenter.errors import CertCenterError
from certcenter.storage.tables import audit_checkpoints, audit_head, audit_log
from tests.audit.test_trail import record, sql


def _checkpoints(center: Center, directory: Path, **kwargs: object) -> AuditCheckpoints:
    log = FileCheckpointLog(directory)
    return AuditCheckpoints(
        center.uow_factory, center.keys, center.clock, publishers=[log], published=log, **kwargs
    )


def _lines(directory: Path) -> list[str]:
    path = directory / CHECKPOINT_FILE
    return path.read_text().splitlines() if path.exists() else []


def _stored(center: Center) -> list[AuditCheckpoint]:
    with center.uow_factory() as uow:
        return list(uow.audit.checkpoints())


def test_one_checkpoint_per_sealed_batch_none_on_the_writers_path(
    center: Center, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed: list[bytes] = []
    checkpoints = _checkpoints(center, tmp_path / "cp", every=5)
    sign = center.keys.sign

    def counting_sign(label: str, data: bytes) -> bytes:
        signed.append(data)
        return sign(label, data)

    monkeypatch.setattr(center.keys, "sign", counting_sign)
    trail = AuditTrail(center.clock)
    record(center, trail, 12, sealed=False)
    assert signed == [] and _stored(center) == []  # writing signs nothing
    checkpoints.seal()

    stored = _stored(center)
    assert [c.seq for c in stored] == [5, 10, 12]  # at most `every` entries a checkpoint
    assert [c.count for c in stored] == [5, 5, 2]
    assert [c.version for c in stored] == [2, 2, 2]
    assert stored[0].previous_hash == "0" * 64
    assert stored[1].previous_hash == stored[0].head_hash
    assert len(signed) == 3  # per batch, not per entry
    assert len(_lines(tmp_path / "cp")) == 3
    with center.uow_factory() as uow:
        result = checkpoints.verify(uow)
    assert result.ok and result.checked == 12 and result.checkpoints == 3


def test_a_rolled_back_entry_is_never_sealed(center: Center, tmp_path: Path) -> None:
    checkpoints = _checkpoints(center, tmp_path / "cp", every=1)
    trail = AuditTrail(center.clock)
    job = {"actor_kind": "system", "actor": "jobs", "action": "job.run", "subject_kind": "job"}
    with center.uow_factory() as uow:
        trail.record(uow, subject="x", **job)
        uow.rollback()
    with center.uow_factory() as uow:
        trail.record(uow, subject="y", **job)  # left without commit
    assert checkpoints.seal() is None
    assert _stored(center) == [] and _lines(tmp_path / "cp") == []


def test_on_demand_and_by_the_sealer(center: Center, tmp_path: Path, clock: FrozenClock) -> None:
    checkpoints = _checkpoints(center, tmp_path / "cp", every=100, gap=timedelta(seconds=10))
    assert checkpoints.checkpoint() is None  # an empty trail: nothing to sign
    assert checkpoints.seal(wait=False) is None
    trail = AuditTrail(clock)
    record(center, trail, 3, sealed=False)
    first = checkpoints.seal(wait=False)  # the sealer's pass
    assert first is not None and (first.seq, first.count) == (3, 3)
    again = checkpoints.checkpoint()
    assert again is not None and again.seq == 3  # nothing new: the same one
    assert len(_stored(center)) == 1 and len(_lines(tmp_path / "cp")) == 1

    record(center, trail, 2, sealed=False)
    due = checkpoints.checkpoint()
    assert due is not None and (due.seq, due.count) == (5, 2)


def test_the_published_files_are_private(center: Center, tmp_path: Path) -> None:
    directory = tmp_path / "cp"
    checkpoints = _checkpoints(center, directory)
    record(center, AuditTrail(center.clock), 2, sealed=False)
    checkpoints.checkpoint()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(p.name for p in directory.iterdir()) == [PUBLIC_KEY_FILE, CHECKPOINT_FILE]
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_failing_publisher_leaves_nothing_stored(center: Center, tmp_path: Path) -> None:
    class Unreachable:
        def publish(self, checkpoint: AuditCheckpoint, public_key_pem: bytes) -> None:
            raise OSError("the audit office's mail server is down")

    checkpoints = AuditCheckpoints(
        center.uow_factory, center.keys, center.clock, publishers=[Unreachable()]
    )
    record(center, AuditTrail(center.clock), 2, sealed=False)
    with pytest.raises(OSError, match="mail server"):
        checkpoints.checkpoint()
    assert _stored(center) == []
    with center.uow_factory() as uow:  # the batch stays unsealed for the next pass
        assert uow.audit.head()[0] == 0
        assert [e.entry_hash for e in uow.audit.entries()] == [None, None]


def test_a_torn_line_is_closed_and_reported(center: Center, tmp_path: Path) -> None:
    directory = tmp_path / "cp"
    checkpoints = _checkpoints(center, directory)
    trail = AuditTrail(center.clock)
    record(center, trail, 2, sealed=False)
    checkpoints.checkpoint()
    with (directory / CHECKPOINT_FILE).open("a") as handle:
        handle.write('{"format": "certcenter-audit-checkpoint-v1", "seq": 9')  # a crash
    record(center, trail, 1, sealed=False)
    checkpoints.checkpoint()
    lines = _lines(directory)
    assert len(lines) == 3 and lines[2].startswith('{"at"')  # the next line is whole
    with center.uow_factory() as uow:
        result = checkpoints.verify(uow)
    assert result.code == "AUDIT_CHECKPOINT_INVALID"
    assert result.reason is not None and "line 2: cannot be read" in result.reason


def test_a_cut_trail_is_named_by_its_checkpoint(center: Center, tmp_path: Path) -> None:
    checkpoints = _checkpoints(center, tmp_path / "cp")
    record(center, AuditTrail(center.clock), 5, sealed=False)
    checkpoints.checkpoint()
    with center.uow_factory() as uow:
        made = list(uow.audit.entries())
    sql(center, delete(audit_log).where(audit_log.c.seq > 3))
    sql(center, delete(audit_checkpoints))
    sql(center, update(audit_head).values(seq=3, entry_hash=made[2].entry_hash))
    with center.uow_factory() as uow:
        result = checkpoints.verify(uow)
    assert (result.ok, result.code, result.checkpoint) == (False, "AUDIT_CHECKPOINT_MISMATCH", 5)
    assert result.reason is not None and "no longer exists" in result.reason


def test_a_checkpoint_signed_by_another_key_is_refused(center: Center, tmp_path: Path) -> None:
    checkpoints = _checkpoints(center, tmp_path / "cp")
    record(center, AuditTrail(center.clock), 2, sealed=False)
    made = checkpoints.checkpoint()
    assert made is not None
    assert signature_problem(made, center.keys.public_key("audit-checkpoint")) is None
    other = center.keys.public_key("root-ca")
    assert "another key" in str(signature_problem(made, other))
    document = checkpoint_document(made)
    assert document["statement"] == statement(made).decode()


def test_the_quick_head_check(center: Center, tmp_path: Path) -> None:
    checkpoints = _checkpoints(center, tmp_path / "cp")
    record(center, AuditTrail(center.clock), 4, sealed=False)
    checkpoints.checkpoint()
    with center.uow_factory() as uow:
        made = list(uow.audit.entries())
    with center.uow_factory() as uow:
        checkpoints.check_head(uow)  # sound

    sql(center, update(audit_head).values(entry_hash="f" * 64))
    with center.uow_factory() as uow, pytest.raises(CertCenterError) as caught:
        checkpoints.check_head(uow)
    assert caught.value.code == "AUDIT_CHAIN_BROKEN"
    assert caught.value.context["entry"] == 4

    sql(center, update(audit_head).values(entry_hash=made[3].entry_hash))
    sql(center, update(audit_checkpoints).values(head_hash="e" * 64))
    with center.uow_factory() as uow, pytest.raises(CertCenterError) as caught:
        checkpoints.check_head(uow)
    assert caught.value.code == "AUDIT_CHECKPOINT_INVALID"  # the row no longer verifies
