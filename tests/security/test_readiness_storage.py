"""Health does not hide broken storage. With the database read-only (SQLite opened read-only
or with ``query_only``, PostgreSQL with ``default_transaction_read_only``) or the audit trail's
head broken, ``/readyz`` and ``/healthz`` answer 503 with the catalog's code, and a write is
refused ``STORAGE_READ_ONLY`` (503) or ``AUDIT_CHAIN_BROKEN``, never a generic 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import make_url

from certcenter.bootstrap import Center, build_center
from certcenter.cli.client import ApiError
from certcenter.clock import FrozenClock
from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.storage.tables import audit_head
from tests.conftest import LiveServer
from tests.security.support import assert_problem
from tests.support.flow import FlowFactory


def _read_only_url(url: str, how: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if how == "query_only":
            return url  # the pragma is set on every connection below
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    # PostgreSQL: this connection's transactions are read-only, as on a standby
    options = {"options": "-c default_transaction_read_only=on"}
    return parsed.update_query_dict(options).render_as_string(hide_password=False)


@pytest.fixture(params=["opened read-only", "query_only"])
def read_only(
    request: pytest.FixtureRequest,
    center: Center,
    settings: Settings,
    clock: FrozenClock,
    backend: str,
    live_server: LiveServer,
) -> Iterator[tuple[Center, str]]:
    """The test's center, initialised, then served again over a read-only database; yields it
    and an operator token made while it was writable."""
    how = str(request.param)
    if backend == "postgresql" and how == "query_only":
        pytest.skip("query_only is SQLite's; PostgreSQL's read-only transactions are the other")
    token = center.operators.create("kim", ["operator", "auditor"])
    url = _read_only_url(settings.database_url, how)
    frozen = build_center(settings.model_copy(update={"database_url": url}), clock)
    if how == "query_only":

        @event.listens_for(frozen.engine, "connect")
        def _query_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA query_only = ON")

    live_server.serve(frozen)
    yield frozen, token
    frozen.close()


def test_a_healthy_center_is_ready(center: Center, api: LiveServer) -> None:
    for path in ("/readyz", "/healthz"):
        answer = httpx.get(f"{api.url}{path}", timeout=30)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "ok"
        assert body["checks"] == {name: {"ok": True} for name in ("storage", "audit", "keys", "ca")}


def test_a_read_only_database_is_not_ready_and_refuses_writes_with_the_catalog_code(
    read_only: tuple[Center, str], live_server: LiveServer, new_flow: FlowFactory
) -> None:
    frozen, token = read_only
    live_server.serve(frozen)  # new_flow's fixtures served the writable center meanwhile
    for path in ("/readyz", "/healthz"):
        answer = httpx.get(f"{live_server.url}{path}", timeout=30)
        assert_problem(answer, 503, "STORAGE_READ_ONLY")
        body = answer.json()
        assert body["status"] == 503 and body["readiness"] == "unavailable"
        storage = body["checks"]["storage"]
        assert storage["ok"] is False and storage["code"] == "STORAGE_READ_ONLY"
        assert storage["message"]["ko"] and storage["message"]["en"]
        assert body["checks"]["keys"] == {"ok": True} and body["checks"]["ca"] == {"ok": True}

    english = httpx.get(f"{live_server.url}/readyz", headers={"Accept-Language": "en"})
    assert english.json()["title"] == "The request cannot be saved right now."

    # a write from the app: the issuance's first step
    with pytest.raises(ApiError) as refused:
        new_flow("C001").start()
    assert (refused.value.status, refused.value.code) == (503, "STORAGE_READ_ONLY")

    # a write from an operator: an audited search, and a CRL published on demand
    operator = httpx.Client(
        base_url=f"{live_server.url}/v1/operator",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    with operator:
        assert_problem(operator.get("/customers", params={"q": "C001"}), 503, "STORAGE_READ_ONLY")
        assert_problem(operator.post("/crls/mobile/publish"), 503, "STORAGE_READ_ONLY")


def test_a_broken_audit_head_is_not_ready(center: Center, api: LiveServer) -> None:
    token = center.operators.create("kim", ["operator", "auditor"])
    operator = httpx.Client(
        base_url=f"{api.url}/v1/operator",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    with operator:
        for _ in range(3):
            assert operator.get("/customers", params={"q": "C001"}).is_success
        center.audit_checkpoints.seal()
        assert httpx.get(f"{api.url}/readyz", timeout=30).status_code == 200

        with center.engine.begin() as conn:  # the head no longer names the last entry's hash
            conn.execute(update(audit_head).values(entry_hash="f" * 64))
        answer = httpx.get(f"{api.url}/readyz", timeout=30)
        assert_problem(answer, 503, "AUDIT_CHAIN_BROKEN")
        checks = answer.json()["checks"]
        assert checks["audit"]["code"] == "AUDIT_CHAIN_BROKEN" and checks["storage"]["ok"]
        assert_problem(httpx.get(f"{api.url}/healthz", timeout=30), 503, "AUDIT_CHAIN_BROKEN")

        with center.engine.begin() as conn:  # the head is one entry behind the trail
            conn.execute(update(audit_head).values(seq=audit_head.c.seq - 1))
        assert_problem(httpx.get(f"{api.url}/readyz", timeout=30), 503, "AUDIT_CHAIN_BROKEN")
        # writers never read the head: audited actions go on, and the sealer refuses to seal
        # past a head that does not name the last sealed entry
        assert operator.get("/customers", params={"q": "C001"}).is_success
        with pytest.raises(CertCenterError) as refused:
            center.audit_checkpoints.seal()
        assert refused.value.code == "AUDIT_CHAIN_BROKEN"
