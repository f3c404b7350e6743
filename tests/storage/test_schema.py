"""The migrations build exactly the schema the code maps, and its constraints hold."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from certcenter.bootstrap import Center
from certcenter.entities import Device, new_id
from certcenter.ports import ConstraintViolationError
from certcenter.storage.tables import metadata


def test_migrations_match_the_tables(center: Center) -> None:
    with center.engine.connect() as conn, warnings.catch_warnings():
        # SQLAlchemy reflects no expression index from SQLite (ix_certificates_status_last_use)
        # and alembic then leaves it out of the comparison; PostgreSQL compares it
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_one_active_device_per_customer_is_enforced_by_the_database(center: Center) -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        for device_id in ("phone-a", "phone-b"):
            uow.devices.add(
                Device(
                    id=new_id(),
                    device_id=device_id,
                    customer_id=customer.id,
                    platform="android",
                    model="x",
                    app_version="5.2.0",
                    registered_at=now,
                )
            )
        with pytest.raises(ConstraintViolationError):
            uow.commit()


def test_attempts_are_counted_atomically(center: Center) -> None:
    from certcenter.entities import Enrollment, VerificationCode

    now = datetime(2026, 11, 23, tzinfo=UTC)
    with center.uow_factory() as uow:
        uow.enrollments.add(
            Enrollment(
                id="e-1",
                token_hash="0" * 64,
                state="phone_code_sent",
                device_id="dev-1",
                platform="android",
                device_model="x",
                app_version="5.2.0",
                client_ip="127.0.0.1",
                created_at=now,
                updated_at=now,
                expires_at=now,
            )
        )
        uow.flush()
        uow.codes.add(
            VerificationCode(
                id="c-1",
                enrollment_id="e-1",
                purpose="phone",
                code_hash="h",
                created_at=now,
                expires_at=now,
                max_tries=5,
            )
        )
        uow.commit()
    counts = []
    for _ in range(3):
        with center.uow_factory() as uow:
            counts.append(uow.codes.count_attempt("c-1"))
            uow.commit()
    assert counts == [1, 2, 3]
