"""Migration 0018 on a trail written the old way: its entries keep their links and verify,
numbers go on after them (PostgreSQL: the new sequence), and the sealer goes on from the head
they left."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url

from certcenter.audit import GENESIS_HASH, AuditTrail, entry_hash
from certcenter.bootstrap import build_center
from certcenter.clock import FrozenClock
from certcenter.entities import AuditEntry
from certcenter.storage import migrate
from certcenter.storage.database import make_engine
from certcenter.storage.tables import audit_head, audit_log
from tests.conftest import PG_URL, START, _postgres_reachable, make_settings


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old' / 'certcenter.db'}"
        return
    if not _postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"certcenter_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_entries_chained_before_0014_verify_and_the_trail_goes_on(
    empty_database: str, tmp_path: Path, pki_dir: Path
) -> None:
    engine = make_engine(empty_database)
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0012")
    prev = GENESIS_HASH
    with engine.begin() as conn:  # three entries as 0012's writers made them
        for seq in (1, 2, 3):
            old = AuditEntry(
                seq=seq,
                at=START,
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
            old.entry_hash = prev = entry_hash(old)
            row = {c.name: getattr(old, c.name) for c in audit_log.columns}
            del row["content_hash"]  # not a column before 0018
            conn.execute(audit_log.insert().values(**row))
        conn.execute(update(audit_head).values(seq=3, entry_hash=prev))
    migrate.upgrade(engine)
    engine.dispose()

    settings = make_settings(tmp_path / "data", pki_dir, empty_database)
    center = build_center(settings, FrozenClock(START))
    try:
        with center.uow_factory() as uow:
            assert center.audit_checkpoints.verify(uow).checked == 3
        with center.uow_factory() as uow:
            made = center.audit_trail.record(
                uow,
                actor_kind="system",
                actor="jobs",
                action="job.run",
                subject_kind="job",
                subject="after",
            )
            uow.commit()
        assert made.seq == 4  # after the old entries, on both databases
        sealed = center.audit_checkpoints.seal()
        assert sealed is not None and (sealed.seq, sealed.count) == (4, 4)
        with center.uow_factory() as uow:
            result = center.audit_checkpoints.verify(uow)
        assert result.ok and result.checked == 4 and result.checkpoints == 1
        assert isinstance(center.audit_trail, AuditTrail)
    finally:
        center.close()
