"""A revocation survives the server being killed right after it answered: the revocation, its
audit entry and its notification were committed together, and the notification is sent after
the restart."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from tests.server.test_server_process import CERTCENTER, ServerProcess
from tests.support.ports import free_port

pytestmark = pytest.mark.server


class Hooks(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hooks.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def test_killing_the_server_after_a_revocation_loses_nothing(tmp_path: Path) -> None:
    hook_port = free_port()  # nothing listens there yet: webhook deliveries fail and wait
    server = ServerProcess(tmp_path)
    server.env.update(
        {
            "CERTCENTER_NOTIFICATION_CHANNELS": '["sms", "webhook"]',
            "CERTCENTER_WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/hook",
            "CERTCENTER_WEBHOOK_SECRET": "test-webhook-secret",
            "CERTCENTER_POLICY__NOTIFICATION_RETRY_BASE_SECONDS": "1",
            "CERTCENTER_POLICY__NOTIFICATION_INTERVAL_SECONDS": "1",
        }
    )
    server.start()
    hooks: ThreadingHTTPServer | None = None
    try:
        out = tmp_path / "demo"
        demo = subprocess.run(
            [CERTCENTER, "demo", "--url", server.url, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=server.env,
        )
        assert demo.returncode == 0, demo.stdout + demo.stderr
        added = subprocess.run(
            [CERTCENTER, "operators", "add", "kim", "--role", "operator", "--role", "auditor"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env=server.env,
            cwd=tmp_path,
        )
        token = added.stdout.strip().rsplit(" ", 1)[-1]
        headers = {"Authorization": f"Bearer {token}"}
        view = httpx.get(f"{server.url}/v1/operator/customers/C001", headers=headers).json()
        serial = next(c["serial"] for c in view["certificates"] if c["status"] == "active")

        revoked = httpx.post(
            f"{server.url}/v1/operator/certificates/{serial}/revoke",
            headers=headers,
            json={"reason": "keyCompromise"},
        )
        assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
        server.kill()  # the webhook notification of the revocation has not been delivered

        hooks = ThreadingHTTPServer(("127.0.0.1", hook_port), Hooks)
        threading.Thread(target=hooks.serve_forever, daemon=True).start()
        server.start()
        view = httpx.get(f"{server.url}/v1/operator/customers/C001", headers=headers).json()
        record = next(c for c in view["certificates"] if c["serial"] == serial)
        assert record["status"] == "revoked" and record["revocation_reason"] == "keyCompromise"
        assert "revoked" in {n["event"] for n in view["notifications"]}
        trail = httpx.get(
            f"{server.url}/v1/operator/audit",
            headers=headers,
            params={"subject_kind": "certificate", "subject": serial},
        ).json()
        assert ("kim", "revoke") in {(e["actor"], e["action"]) for e in trail}
        assert httpx.get(f"{server.url}/v1/operator/audit/verify", headers=headers).json()["ok"]

        deadline = time.monotonic() + 40  # the restarted server's sender delivers it
        while time.monotonic() < deadline:
            if any(h.get("event") == "revoked" for h in Hooks.received):
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the revocation webhook never arrived: {Hooks.received}")
        messages = httpx.get(f"{server.url}/sim/api/phones/01020000001/messages").json()
        assert any("폐기" in m["body"] for m in messages)
    finally:
        server.stop()
        if hooks is not None:
            hooks.shutdown()
            hooks.server_close()
