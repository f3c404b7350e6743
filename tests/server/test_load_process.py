"""Under concurrent requests, the real server process (``certcenter serve``, two workers) keeps
its counts: wrong PINs sent at once lock the PIN after exactly the policy's tries, and renewals
of one certificate sent at once make exactly one new certificate.

The requests are HTTP from threads of this test, each with its own connection, spread over the
two worker processes; on SQLite and on PostgreSQL (a database of its own, made empty here).
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from certcenter.cli.keystore import Keystore
from tests.conftest import PG_URL
from tests.server.test_server_process import CERTCENTER, PIN, RRN, ServerProcess

pytestmark = pytest.mark.server

WRONG_PINS = 60
RENEWALS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path)
    process.env["CERTCENTER_WORKERS"] = "2"
    admin = None
    name = f"certcenter_test_{uuid.uuid4().hex[:10]}"
    if request.param == "postgresql":
        request.getfixturevalue("postgres_database")  # skips when PostgreSQL is not reachable
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        process.env["CERTCENTER_DATABASE_URL"] = url
    try:
        process.start()
        yield process
    finally:
        process.stop()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def _enrolled(server: ServerProcess, directory: Path) -> Keystore:
    """C001's mobile certificate, issued by ``certcenter app enroll`` into ``directory``."""
    id_json = json.dumps(
        {"kind": "resident_card", "name": "김민준", "rrn": RRN, "issue_date": "2015-06-01"}
    )
    result = subprocess.run(
        [
            CERTCENTER,
            "app",
            "enroll",
            "--url",
            server.url,
            "--keystore",
            str(directory),
            "--carrier",
            "SKT",
            "--name",
            "김민준",
            "--rrn-front",
            "900315-1",
            "--phone",
            "010-2000-0001",
            "--bank",
            "004",
            "--account",
            "12340100000001",
            "--id-json",
            id_json,
            "--auto-codes",
        ],
        input=f"{PIN}\n{PIN}\n0-1-2-5-8\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return Keystore(directory)


def _proofs(
    server: ServerProcess, keystore: Keystore, purpose: str, count: int
) -> list[dict[str, Any]]:
    """``count`` signed challenges of the device for ``purpose``, made before any is used."""
    device = keystore.device()
    assert device is not None
    path = (
        "/v1/login/challenges"
        if purpose == "login"
        else f"/v1/devices/{device.device_id}/challenges"
    )
    body = {"device_id": device.device_id} if purpose == "login" else {"purpose": purpose}
    made = []
    with httpx.Client(base_url=server.url, timeout=60) as http:
        for _ in range(count):
            issued = http.post(path, json=body)
            assert issued.status_code in (200, 201), issued.text
            challenge = issued.json()
            made.append(
                {
                    "device_id": device.device_id,
                    "challenge": challenge["challenge"],
                    "signature": keystore.sign(challenge["sign"].encode()),
                }
            )
    return made


def _send_all(
    server: ServerProcess, path: str, bodies: list[dict[str, Any]]
) -> list[tuple[int, dict[str, Any]]]:
    def send(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            answer = http.post(path, json=body)
            return answer.status_code, answer.json()

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def _operator(server: ServerProcess, tmp_path: Path) -> dict[str, str]:
    added = subprocess.run(
        [CERTCENTER, "operators", "add", "kim", "--role", "operator"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=server.env,
        cwd=tmp_path,
    )
    return {"Authorization": f"Bearer {added.stdout.strip().rsplit(' ', 1)[-1]}"}


def test_wrong_pins_at_once_lock_after_the_policy_number_and_renewals_make_one(
    server: ServerProcess, tmp_path: Path
) -> None:
    keystore = _enrolled(server, tmp_path / "phone")
    certificate = keystore.certificate()
    assert certificate is not None
    serial = f"{certificate.serial_number:X}"
    headers = _operator(server, tmp_path)

    before = httpx.get(f"{server.url}/v1/operator/customers/C001", headers=headers).json()

    # one renewal only: RENEWALS requests for the same certificate at once
    bodies = [{**p, "pin": PIN} for p in _proofs(server, keystore, "renew", RENEWALS)]
    answers = _send_all(server, f"/v1/certificates/{serial}/renew", bodies)
    assert all(status < 500 for status, _ in answers), answers
    assert sum(status == 200 and body.get("changed") for status, body in answers) == 1, answers
    view = httpx.get(f"{server.url}/v1/operator/customers/C001", headers=headers).json()
    old = next(c for c in view["certificates"] if c["serial"] == serial)
    assert old["status"] == "superseded" and old["replaced_by"], old
    assert len(view["certificates"]) == len(before["certificates"]) + 1, view["certificates"]
    usable = [c for c in view["certificates"] if c["status"] in ("active", "suspended")]
    mobile = [c for c in usable if c["profile"] == old["profile"]]
    assert [c["serial"] for c in mobile] == [old["replaced_by"]], view["certificates"]

    # the PIN lockout: WRONG_PINS logins with valid signatures and a wrong PIN, at once
    bodies = [
        {**p, "method": "pin", "pin": "000000"}
        for p in _proofs(server, keystore, "login", WRONG_PINS)
    ]
    codes = [body.get("code") for _, body in _send_all(server, "/v1/login", bodies)]
    assert codes.count("DEVICE_AUTH_FAILED") == 3, codes
    assert codes.count("AUTH_LAST_TRY") == 1, codes
    assert codes.count("PIN_LOCKED") + codes.count("AUTH_BUSY") == WRONG_PINS - 4, codes
    view = httpx.get(f"{server.url}/v1/operator/customers/C001", headers=headers).json()
    assert view["pin"] == {"failures": 5, "locked": True}, view["pin"]
    # locked: the right PIN is refused too
    right = [{**p, "method": "pin", "pin": PIN} for p in _proofs(server, keystore, "login", 1)]
    assert [body.get("code") for _, body in _send_all(server, "/v1/login", right)] == ["PIN_LOCKED"]
