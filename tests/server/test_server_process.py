"""The real server process (``certcenter serve``) with the real app client (``certcenter app``).

These start the program exactly as a person does, on a free port and a fresh data directory:
first start creates the CA and seeds the demo world.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.flow import Flow
from tests.support.ports import address_taken, free_port

BIN = Path(sys.executable).parent
CERTCENTER = str(BIN / "certcenter")
RRN = "900315-1512541"
PIN = "591734"

pytestmark = pytest.mark.server


class ServerProcess:
    """``certcenter serve``, in a session of its own (unless ``own_session=False``), so ``kill``
    takes its worker processes too (as the machine going down would), not only the supervisor,
    and no worker outlives the test."""

    def __init__(self, data_dir: Path, *, own_session: bool = True) -> None:
        self.data_dir = data_dir
        self.own_session = own_session
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        self.env = {
            **os.environ,
            "CERTCENTER_DATA_DIR": str(data_dir / "var"),
            "CERTCENTER_PORT": str(self.port),
            "CERTCENTER_LOG_LEVEL": "debug",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60, *, attempts: int = 3) -> None:
        """Start it and wait for ``/healthz``; if another program took the port first, start
        again on another one (the tests read ``url`` after ``start``)."""
        for attempt in range(attempts):
            offset = self.log.stat().st_size if self.log.exists() else 0
            try:
                self._start_once(timeout)
                return
            except AssertionError:
                this_try = self.log.read_bytes()[offset:].decode(errors="replace")
                if attempt + 1 == attempts or not address_taken(this_try):
                    raise
                self._move_to(free_port())

    def _move_to(self, port: int) -> None:
        old_url = self.url
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env["CERTCENTER_PORT"] = str(port)
        if self.env.get("CERTCENTER_PUBLIC_BASE_URL") == old_url:
            self.env["CERTCENTER_PUBLIC_BASE_URL"] = self.url

    def _start_once(self, timeout: float) -> None:
        with self.log.open("ab") as handle:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [CERTCENTER, "serve"],
                env=self.env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=self.own_session,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not come up: {self.log.read_text()}")

    def kill(self) -> None:
        if self.process is not None:
            if self.own_session:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
            else:
                self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None and self.own_session:  # no worker outlives it
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path)
    process.start()
    yield process
    process.stop()


def test_app_client_issues_a_certificate_that_openssl_verifies(
    server: ServerProcess, tmp_path: Path
) -> None:
    keystore = tmp_path / "phone"
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
            str(keystore),
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
            "--biometric",
            "--auto-codes",
        ],
        input=f"{PIN}\n{PIN}\n0-1-2-5-8\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "인증서 발급 완료" in result.stdout

    root = tmp_path / "var" / "ca" / "root-ca.pem"
    verify = subprocess.run(
        [
            "openssl",
            "verify",
            "-CAfile",
            str(root),
            "-untrusted",
            str(keystore / "chain.pem"),
            str(keystore / "certificate.pem"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr

    shown = subprocess.run(
        [CERTCENTER, "app", "show", "--keystore", str(keystore)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "serialNumber=C001" in shown.stdout

    def inbox() -> str:
        return subprocess.run(
            [CERTCENTER, "sim", "sms", "01020000001", "--url", server.url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    # "issued on device X at time T", sent by the server's sender after the request
    assert _eventually(lambda: "SM-S928N 기기에서" in inbox()), inbox()

    # A refusal on the command line: the catalog's words and remedy, exit 1, no traceback.
    again = subprocess.run(
        [
            CERTCENTER,
            "--lang",
            "en",
            "app",
            "enroll",
            "--url",
            server.url,
            "--keystore",
            str(tmp_path / "other-phone"),
            "--carrier",
            "SKT",
            "--name",
            "김민준",
            "--rrn-front",
            "900315-1",
            "--phone",
            "01020000001",
        ],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 1
    assert "[DEVICE_ALREADY_REGISTERED]" in again.stderr and "What to do:" in again.stderr
    assert "Traceback" not in again.stderr

    # Nothing secret in the server's log or the database files.
    server.stop()
    files = [server.log, *sorted((tmp_path / "var").glob("certcenter.db*"))]
    blob = b"".join(path.read_bytes() for path in files)
    for secret in (RRN, RRN.replace("-", ""), PIN, "0-1-2-5-8"):
        assert secret.encode() not in blob, secret


def _eventually(done: Callable[[], bool], seconds: float = 20) -> bool:
    """Poll ``done`` until it holds or ``seconds`` pass (a bound, not a measurement)."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_messages_arrive_after_the_request_from_the_servers_sender(
    server: ServerProcess, tmp_path: Path
) -> None:
    flow = Flow(server.url, tmp_path, "C001")
    phone = flow.answers.phone or ""
    try:
        flow.through("phone")
        # the verification code: sent by the step itself once it committed (never stored)
        code = flow.client.latest_sms_code(phone)
        assert code is not None
        flow.through_from("phone_verify", "credentials")
        issued = flow.csr()
        # the issuance notice: written to the outbox with the activation; the request only
        # woke the worker's sender, which sends it to the telco's inbox
        assert _eventually(
            lambda: any(
                "발급" in m["body"] and "SM-S928N" in m["body"] for m in flow.messages(phone)
            )
        ), flow.messages(phone)
        newest = flow.messages(phone)[0]["body"]
        assert "발급" in newest and code not in newest
        assert issued["customer_number"] == "C001"
    finally:
        flow.client.close()
    server.stop()
    with sqlite3.connect(tmp_path / "var" / "certcenter.db") as db:
        rows = db.execute("SELECT event, status, attempts FROM outbox").fetchall()
    assert ("issued", "sent", 1) in rows


def test_killed_server_resumes_the_flow_after_restart(
    server: ServerProcess, tmp_path: Path
) -> None:
    flow = Flow(server.url, tmp_path, "C002")
    try:
        flow.through("account_verify")
        server.kill()  # no goodbye: SIGKILL
        server.start()
        assert flow.client.status()["state"] == "account_verified"
        flow.id()
        flow.credentials()
        flow.csr()
        assert flow.issued is not None and flow.issued["customer_number"] == "C002"
    finally:
        flow.client.close()


PRODUCTION_IDENTITY = {
    "CERTCENTER_BANK_NAME": "Example Bank",
    "CERTCENTER_BANK_OID_ARC": "1.2.410.999999.1",
    "CERTCENTER_PUBLIC_BASE_URL": "http://pki.bank.example",
    "CERTCENTER_CPS_URL": "http://pki.bank.example/cps",
}


def test_production_configuration_switches_the_simulators_off(tmp_path: Path) -> None:
    process = ServerProcess(tmp_path)
    process.env["CERTCENTER_ENVIRONMENT"] = "production"
    result = subprocess.run(
        [CERTCENTER, "serve"],
        env=process.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1  # no passphrase configured: a clear refusal, not a crash
    assert "[KEY_PASSPHRASE_MISSING]" in result.stderr
    assert "Traceback" not in result.stderr

    process.env["CERTCENTER_KEY_PASSPHRASE"] = "a long production passphrase for the test"
    process.env.update(PRODUCTION_IDENTITY)
    process.start()
    try:
        response = httpx.get(f"{process.url}/sim/api/people")
        assert response.status_code == 404
        assert response.json()["code"] == "SIMULATORS_DISABLED"
    finally:
        process.stop()


def test_app_client_lives_with_its_certificate(server: ServerProcess, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    demo = subprocess.run(
        [CERTCENTER, "demo", "--url", server.url, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    keystore = str(out / "keystore-C001")

    def app(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CERTCENTER, "app", *args, "--url", server.url],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    renewed = app("renew", "--keystore", keystore, stdin=f"{PIN}\n")
    assert renewed.returncode == 0, renewed.stderr
    assert "renewed as" in renewed.stdout
    lost = app(
        "lost",
        "--carrier",
        "SKT",
        "--name",
        "김민준",
        "--rrn-front",
        "900315-1",
        "--phone",
        "01020000001",
        "--medium",
        "account",
        "--account",
        "12340100000001",
        stdin="2580\n",  # the account password confirms the report
    )
    assert lost.returncode == 0 and "suspended" in lost.stdout, lost.stderr
    released = app("release", "--keystore", keystore, stdin=f"{PIN}\n")
    assert released.returncode == 0 and "active" in released.stdout, released.stderr
    reissued = app("reissue", "--keystore", keystore, stdin=f"{PIN}\n382916\n0-1-2-5-8\n")
    assert reissued.returncode == 0 and "재발급 완료" in reissued.stdout, reissued.stderr
    wrong = app("revoke", "--keystore", keystore, stdin=f"{PIN}\n")  # the PIN changed
    assert wrong.returncode == 1 and "[DEVICE_AUTH_FAILED]" in wrong.stderr
    revoked = app("revoke", "--keystore", keystore, stdin="382916\n")
    assert revoked.returncode == 0 and "revoked" in revoked.stdout, revoked.stderr


def test_a_taken_port_moves_the_server_to_another(tmp_path: Path) -> None:
    """Another program listening on the chosen port (the race that can meet any test server)
    costs a restart on another port, not the test."""
    server = ServerProcess(tmp_path)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", server.port))
        squatter.listen()
        taken = server.port
        server.start()
        try:
            assert server.port != taken
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
            assert "Address already in use" in server.log.read_text()
        finally:
            server.stop()
