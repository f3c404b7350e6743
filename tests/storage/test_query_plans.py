"""The hot queries find their rows through an index: none of them reads a whole table.

Each query is the one its repository sends (captured from the engine while the repository
runs), explained on the schema the migrations built. SQLite's ``EXPLAIN QUERY PLAN`` must not
say ``SCAN <table>``; PostgreSQL's ``EXPLAIN``, with ``enable_seqscan`` off (on the test's
nearly empty tables a sequential scan is otherwise the cheapest plan), must not say
``Seq Scan``. Where a particular index is what makes the query cheap, the plan must name it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from certcenter.bootstrap import Center
from certcenter.ports import UnitOfWork

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
USABLE = ["active", "suspended"]

# name -> (the repository call, its table, the indexes of which the plan must use one; () any)
Query = Callable[[UnitOfWork, str], object]
HOT: dict[str, tuple[Query, str, tuple[str, ...]]] = {
    "certificate by serial": (lambda u, c: u.certificates.get("0A1B2C"), "certificates", ()),
    "a customer's usable certificates of a family": (
        lambda u, c: u.certificates.for_customer(c, family="mobile", statuses=USABLE),
        "certificates",
        # PostgreSQL, seeing the states, may take the partial index of exactly those
        ("ix_certificates_customer_family_status", "uq_certificates_one_usable_per_family"),
    ),
    "a customer's certificates of a family": (
        lambda u, c: u.certificates.for_customer(c, family="financial"),
        "certificates",
        ("ix_certificates_customer_family_status",),
    ),
    "a customer's certificates": (
        lambda u, c: u.certificates.for_customer(c),
        "certificates",
        ("ix_certificates_customer_family_status",),
    ),
    "a CRL partition's summary": (
        lambda u, c: u.certificates.listed_summary("mobile", 3),
        "certificates",
        ("ix_certificates_listed",),
    ),
    "a CRL partition's entries": (
        lambda u, c: list(u.certificates.listed_entries("mobile", 3)),
        "certificates",
        ("ix_certificates_listed",),
    ),
    "certificates bound to a key": (
        lambda u, c: u.certificates.bound_to_key("0" * 64),
        "certificates",
        ("ix_certificates_public_key",),
    ),
    "job: expired certificates": (
        lambda u, c: u.certificates.expired(NOW),
        "certificates",
        ("ix_certificates_status_not_after",),
    ),
    "job: certificates due for renewal": (
        lambda u, c: u.certificates.renewal_due(NOW, timedelta(days=30)),
        "certificates",
        ("ix_certificates_status_not_after",),
    ),
    "job: certificates unused for a year": (
        lambda u, c: u.certificates.unused_since(NOW - timedelta(days=365)),
        "certificates",
        ("ix_certificates_status_last_use",),
    ),
    "stored OCSP response": (lambda u, c: u.ocsp.get("0A1B2C"), "ocsp_responses", ()),
    "OCSP changes since a number": (
        lambda u, c: u.ocsp.changed_since(12),
        "ocsp_changes",
        (),
    ),
    "latest CRL": (lambda u, c: u.crls.latest("mobile", 3), "crls", ()),
    "device by device id": (
        lambda u, c: u.devices.active_by_device_id("device-1"),
        "devices",
        (),
    ),
    # a login's subject: the device, its certificate and the customer in one read
    "a device in use": (lambda u, c: u.devices.in_use("device-1", "mobile"), "devices", ()),
    "a device in use: its certificate": (
        lambda u, c: u.devices.in_use("device-1", "mobile"),
        "certificates",
        ("ix_certificates_customer_family_status", "uq_certificates_one_usable_per_family"),
    ),
    "a device in use: its customer": (
        lambda u, c: u.devices.in_use("device-1", "mobile"),
        "customers",
        (),
    ),
    "a login's use of its certificate": (
        lambda u, c: u.certificates.mark_used("0A1B2C", device="d", device_id="device-1", now=NOW),
        "certificates",
        (),
    ),
    "a customer's device": (lambda u, c: u.devices.active_for_customer(c), "devices", ()),
    "a customer's PIN counter": (lambda u, c: u.factors.get(c, "pin"), "factor_counters", ()),
    "a customer's browsers": (
        lambda u, c: u.browser_devices.active_for_customer(c),
        "browser_devices",
        (),
    ),
    "session by token": (lambda u, c: u.sessions.by_token_hash("0" * 64), "sessions", ()),
    "job: spent device challenges": (
        lambda u, c: u.challenges.purge_expired(NOW),
        "device_challenges",
        ("ix_device_challenges_expires_at",),
    ),
    "a customer's failures in the window": (
        lambda u, c: u.failures.count_since(since=NOW, customer_id=c),
        "failures",
        ("ix_failures_customer_at",),
    ),
    "a device's failures at an address": (
        lambda u, c: u.failures.count_since(since=NOW, device_id="device-1", client_ip="10.0.0.1"),
        "failures",
        ("ix_failures_device_at",),
    ),
    "a subject's marked failures": (
        lambda u, c: u.failures.count_marked_since("phone", "0" * 64, since=NOW),
        "failure_marks",
        ("ix_failure_marks_subject_at",),
    ),
    "a subject's block": (lambda u, c: u.blocks.active("customer", c, NOW), "blocks", ()),
    "a subject's codes by SMS in the hour and the day": (
        lambda u, c: u.sms_budget.latest_over(
            "phone", "0" * 64, [(NOW - timedelta(hours=1), 8), (NOW - timedelta(days=1), 20)]
        ),
        "sms_sends",
        ("ix_sms_sends_subject_at",),
    ),
    "latest code of an enrollment": (
        lambda u, c: u.codes.latest("enrollment-1", "phone"),
        "verification_codes",
        ("ix_verification_codes_enrollment_purpose",),
    ),
}


@contextmanager
def _captured(center: Center) -> Iterator[list[tuple[str, Any]]]:
    """The statements that find rows (SELECT, UPDATE, DELETE, with their parameters) the
    engine sends meanwhile."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: Any) -> None:
        if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            statements.append((sql, params))

    event.listen(center.engine, "before_cursor_execute", capture)
    try:
        yield statements
    finally:
        event.remove(center.engine, "before_cursor_execute", capture)


def _plan(center: Center, sql: str, params: Any) -> str:
    with center.engine.connect() as conn:
        if center.engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            plan = "\n".join(str(row[-1]) for row in rows)
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            rows = conn.exec_driver_sql(f"EXPLAIN {sql}", params).all()
            plan = "\n".join(str(row[0]) for row in rows)
        conn.rollback()
    return plan


def _customer_id(center: Center) -> str:
    with center.uow_factory(read_only=True) as uow:
        customer = uow.customers.by_number("C001")
    assert customer is not None
    return customer.id


def _faults(center: Center, customer_id: str, name: str) -> list[str]:
    query, table, indexes = HOT[name]
    # a unit of work that may write (taking a challenge is an UPDATE), never committed
    with _captured(center) as statements, center.uow_factory() as uow:
        query(uow, customer_id)
    if not statements:
        return [f"{name}: the repository sent no query"]
    faults = []
    for sql, params in statements:
        plan = _plan(center, sql, params)
        scans = f"SCAN {table}" in plan or "Seq Scan" in plan
        if scans or table not in plan or (indexes and not any(i in plan for i in indexes)):
            faults.append(f"{name}:\n{plan}")
    return faults


def test_the_hot_queries_use_indexes(center: Center) -> None:
    customer_id = _customer_id(center)
    faults = [fault for name in HOT for fault in _faults(center, customer_id, name)]
    assert faults == []
