"""The real server killed (SIGKILL) at each point of a transfer — after the day's headroom is
claimed, after the bank moved the money but before it was recorded, after the bank refused
but before the headroom was given back — and restarted: the reconciliation settles each from
the bank's record, and the bank balances, the transfers and the day's headroom agree.

The server is stopped at a point by the documented fault point (certcenter.usage.fault_points:
``CERTCENTER_TEST_PAUSE_AT``), which only makes the request wait there; the kill is a real
``kill -9`` of the server's process group, and the restarted server runs without it."""

from __future__ import annotations

import base64
import contextlib
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from certcenter.cli.app_session import login
from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.demo import DEMO_PATTERN, DEMO_PIN
from certcenter.cli.keystore import Keystore
from tests.server.test_server_process import CERTCENTER, ServerProcess

pytestmark = pytest.mark.server

SAVINGS = ("004", "12340100000101")  # 900,000,000
MAIN = ("004", "12340100000001")  # 1,500,000
PAYEE = ("088", "110000000002")
POINTS = [
    # point, from, amount, what the reconciliation makes of it
    ("transfer.claimed", SAVINGS, 1_000_000, ("refused", "TRANSFER_NOT_EXECUTED")),
    ("transfer.bank_answered", SAVINGS, 1_200_000, ("completed", None)),
    ("transfer.bank_refused", MAIN, 1_800_000, ("refused", "INSUFFICIENT_FUNDS")),
]


def _balance(url: str, account: tuple[str, str]) -> int:
    answer = httpx.get(f"{url}/sim/api/banks/{account[0]}/accounts/{account[1]}/statement")
    answer.raise_for_status()
    return int(answer.json()["balance"])


def _headroom_and_processing(data_dir: Path) -> tuple[int, int]:
    """The day's total claimed (all days, one customer sends here) and the transfers still
    processing, read from the center's database as an auditor would."""
    with sqlite3.connect(data_dir / "var" / "certcenter.db") as db:
        total = db.execute("SELECT coalesce(sum(total), 0) FROM transfer_days").fetchone()[0]
        processing = db.execute(
            "SELECT count(*) FROM transfers WHERE status = 'processing'"
        ).fetchone()[0]
    return int(total), int(processing)


def _confirm_in_background(
    client: CenterClient, keystore: Keystore, prepared: dict[str, Any]
) -> threading.Thread:
    body = {
        "signature": keystore.sign(base64.b64decode(prepared["document_b64"])),
        "pin": DEMO_PIN,
    }

    def send() -> None:
        with contextlib.suppress(ApiError):  # the server died under the request
            client.call("POST", f"/v1/transfers/{prepared['id']}/confirm", body)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def _wait_for(mark: Path, server: ServerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mark.exists():
            return
        time.sleep(0.1)
    raise AssertionError(f"the fault point was never reached: {server.log.read_text()[-3000:]}")


def test_killing_the_server_at_each_point_of_a_transfer_keeps_money_and_headroom_consistent(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path)
    server.env["CERTCENTER_WORKERS"] = "1"  # one process: the request and the kill meet in it
    first, marks = POINTS[0][0], {point: tmp_path / f"{point}.reached" for point, *_ in POINTS}
    server.env.update(
        {"CERTCENTER_TEST_PAUSE_AT": first, "CERTCENTER_TEST_PAUSE_MARK": str(marks[first])}
    )
    server.start()
    try:
        out = tmp_path / "demo"
        demo = subprocess.run(
            [CERTCENTER, "demo", "--url", server.url, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
            env=server.env,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        keystore = Keystore(out / "keystore-C001")
        initial = {a: _balance(server.url, a) for a in (SAVINGS, MAIN, PAYEE)}
        sent = 0
        for index, (point, source, amount, (status, code)) in enumerate(POINTS):
            with CenterClient(server.url, timeout=120) as client:
                login(client, keystore, method="pin", pin=DEMO_PIN, pattern=list(DEMO_PATTERN))
                prepared = client.call(
                    "POST",
                    "/v1/transfers",
                    {
                        "from_bank": source[0],
                        "from_account": source[1],
                        "to_bank": PAYEE[0],
                        "to_account": PAYEE[1],
                        "amount": amount,
                    },
                )
                assert prepared["factors"] == ["pin"]
                confirming = _confirm_in_background(client, keystore, prepared)
                _wait_for(marks[point], server)
                server.kill()  # kill -9 of the server's process group, at the point
                confirming.join(timeout=30)

            claimed, processing = _headroom_and_processing(tmp_path)
            assert processing == 1 and claimed == sent + amount, point  # as the crash left it

            # restarted: to stop at the next point (reconciling passes through none of them)
            following = POINTS[index + 1][0] if index + 1 < len(POINTS) else "none"
            server.env["CERTCENTER_TEST_PAUSE_AT"] = following
            server.env["CERTCENTER_TEST_PAUSE_MARK"] = str(marks.get(following, "-"))
            server.start()
            # the operator settles every transfer processing: no request is in flight now
            settled = subprocess.run(
                [CERTCENTER, "transfers", "reconcile", "--all"],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env=server.env,
                cwd=tmp_path,
            )
            assert settled.returncode == 0, settled.stdout + settled.stderr
            with CenterClient(server.url) as client:
                login(client, keystore, method="pin", pin=DEMO_PIN, pattern=list(DEMO_PATTERN))
                after = client.call("GET", f"/v1/transfers/{prepared['id']}")
                assert (after["status"], after["failure_code"]) == (status, code), point
                if status == "completed":
                    sent += amount
                    assert after["bank_reference"] and after["evidence_url"]
                    evidence = client.http.get(
                        after["evidence_url"], headers={"Authorization": f"Bearer {client.token}"}
                    )
                    assert evidence.status_code == 200 and evidence.content[:1] == b"\x30"
            claimed, processing = _headroom_and_processing(tmp_path)
            assert processing == 0, point
            # the money: what left the customer's accounts reached the payee, and is exactly
            # what counts against the day
            left = sum(initial[a] - _balance(server.url, a) for a in (SAVINGS, MAIN))
            arrived = _balance(server.url, PAYEE) - initial[PAYEE]
            assert left == arrived == claimed == sent, (point, left, arrived, claimed, sent)
        assert sent == 1_200_000
        listed = subprocess.run(
            [CERTCENTER, "transfers", "processing"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            env=server.env,
            cwd=tmp_path,
        )
        assert "no transfer is waiting" in listed.stdout
    finally:
        server.stop()
