"""The real server killed with SIGKILL in the middle of a load of audited requests: what had
committed verifies (entries not sealed yet are reported as such, never as broken), and the
restarted server seals the tail — on PostgreSQL, numbers of the transactions the kill rolled
back are sealed as skipped once they are old."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from certcenter.storage.tables import audit_head, audit_log
from tests.conftest import PG_URL, _postgres_reachable
from tests.server.test_server_process import CERTCENTER, ServerProcess

pytestmark = pytest.mark.server

WORKERS = 6
REQUESTS_BEFORE_THE_KILL = 80


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'certcenter.db'}"
        return
    if not _postgres_reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"certcenter_kill_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _trail(url: str) -> tuple[int, int, int]:
    """(entries, last number, sealed head) as the database holds them."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            count, last = conn.execute(select(func.count(), func.max(audit_log.c.seq))).one()
            head = conn.execute(select(audit_head.c.seq)).scalar_one()
    finally:
        engine.dispose()
    return int(count), int(last or 0), int(head)


def _cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CERTCENTER, *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=server.data_dir,
    )


def test_a_killed_server_leaves_a_trail_that_verifies_and_is_sealed_on_restart(
    tmp_path: Path, database_url: str
) -> None:
    server = ServerProcess(tmp_path)
    server.env.update(
        {
            "CERTCENTER_DATABASE_URL": database_url,
            # nothing seals during the load: the kill leaves an unsealed tail
            "CERTCENTER_POLICY__AUDIT_SEAL_INTERVAL_SECONDS": "3600",
            "CERTCENTER_POLICY__JOB_INTERVAL_SECONDS": "3600",
        }
    )
    server.start()
    try:
        added = _cli(server, "operators", "add", "kim", "--role", "operator", "--role", "auditor")
        assert added.returncode == 0, added.stderr
        token = added.stdout.strip().rsplit(" ", 1)[-1]
        done = threading.Semaphore(0)
        stop = threading.Event()

        def load(worker: int) -> None:
            with httpx.Client(
                base_url=f"{server.url}/v1/operator",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ) as client:
                for i in range(400):  # bounded: stops at the kill at the latest
                    if stop.is_set():
                        return
                    try:
                        answer = client.get(
                            "/customers", params={"q": f"C00{(worker + i) % 9 + 1}"}
                        )
                    except httpx.TransportError:
                        return  # the server is gone
                    if answer.is_success:
                        done.release()

        threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in range(WORKERS)]
        for thread in threads:
            thread.start()
        for _ in range(REQUESTS_BEFORE_THE_KILL):
            assert done.acquire(timeout=60), "the load did not get going"
        server.kill()  # requests are still under way
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        server.stop()

    entries, last, head = _trail(database_url)
    assert entries >= REQUESTS_BEFORE_THE_KILL and head < last  # an unsealed tail
    verified = _cli(server, "--lang", "en", "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "audit trail intact" in verified.stdout and "not sealed yet" in verified.stdout

    server.env["CERTCENTER_POLICY__AUDIT_SEAL_INTERVAL_SECONDS"] = "1"
    server.env["CERTCENTER_POLICY__AUDIT_SEAL_GAP_SECONDS"] = "2"  # 10 by default
    server.start()
    try:
        deadline = time.monotonic() + 90  # a gap the kill left waits audit_seal_gap_seconds
        while _trail(database_url)[2] < last:
            assert time.monotonic() < deadline, f"the tail was not sealed: {_trail(database_url)}"
            time.sleep(0.5)
    finally:
        server.stop()
    verified = _cli(server, "--lang", "en", "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    checked = int(verified.stdout.split("intact: ")[1].split(" entries")[0])
    assert checked >= last
