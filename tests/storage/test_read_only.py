"""Read-only units of work: no write lock, and a write in one fails loudly."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from certcenter.bootstrap import Center
from certcenter.entities import OcspCacheEntry
from certcenter.ports import ReadOnlyWriteError

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _entry(serial: str) -> OcspCacheEntry:
    return OcspCacheEntry(
        serial=serial, der=b"\x30\x00", this_update=NOW, next_update=NOW, produced_at=NOW
    )


def _read_only_flag(center: Center, read_only: bool) -> str:
    """What the database says about the unit of work's transaction."""
    with center.uow_factory(read_only=read_only) as uow:
        assert uow.session is not None
        if center.engine.dialect.name == "sqlite":
            return str(uow.session.execute(text("PRAGMA query_only")).scalar_one())
        return str(uow.session.execute(text("SHOW transaction_read_only")).scalar_one())


def test_the_database_knows_which_transactions_only_read(center: Center) -> None:
    on, off = ("1", "0") if center.engine.dialect.name == "sqlite" else ("on", "off")
    # back and forth: a pooled connection does not keep the mode of its last transaction
    assert [_read_only_flag(center, flag) for flag in (True, False, True, False)] == [
        on,
        off,
        on,
        off,
    ]


def test_an_object_added_in_a_read_only_unit_of_work_is_refused(center: Center) -> None:
    with center.uow_factory(read_only=True) as uow:
        uow.ocsp.put(_entry("0A"))
        with pytest.raises(ReadOnlyWriteError):
            uow.commit()
    with center.uow_factory(read_only=True) as uow:
        assert uow.ocsp.get("0A") is None


def test_a_writing_statement_in_a_read_only_unit_of_work_is_refused(center: Center) -> None:
    with center.uow_factory() as uow:
        uow.ocsp.put(_entry("0B"))
        uow.commit()
    with center.uow_factory(read_only=True) as uow, pytest.raises(ReadOnlyWriteError):
        uow.codes.count_attempt("no-such-code")  # an UPDATE statement, no object involved
    with center.uow_factory(read_only=True) as uow, pytest.raises(ReadOnlyWriteError):
        uow.ocsp.invalidate("0B")  # the object's DELETE, flushed before the change log's UPDATE
    with center.uow_factory(read_only=True) as uow:
        assert uow.ocsp.get("0B") is not None


def test_a_read_only_unit_of_work_reads_while_a_writer_holds_the_lock(center: Center) -> None:
    with center.uow_factory() as uow:
        uow.ocsp.put(_entry("0C"))
        uow.commit()
    with center.uow_factory() as writer:
        writer.ocsp.put(_entry("0D"))
        writer.flush()  # SQLite: the write lock is held from here to the end of the block
        with center.uow_factory(read_only=True) as reader:
            # the committed snapshot, at once: BEGIN IMMEDIATE would wait for the writer
            assert reader.ocsp.get("0C") is not None
            assert reader.ocsp.get("0D") is None
        writer.commit()
    with center.uow_factory(read_only=True) as reader:
        assert reader.ocsp.get("0D") is not None


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(center: Center) -> None:
    if center.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with center.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() > 0


def test_a_customers_number_is_read_without_loading_the_customer(center: Center) -> None:
    """``number_of`` answers from the unit of work when it holds the customer, else with one
    column; for nobody, None."""
    with center.uow_factory(read_only=True) as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        held = uow.customers.number_of(customer.id)
    assert held == "C001"
    with center.uow_factory(read_only=True) as uow:
        assert uow.customers.number_of(customer.id) == "C001"
        assert not any(isinstance(o, type(customer)) for o in uow.session.identity_map.values())
        assert uow.customers.number_of("no-such-customer") is None
