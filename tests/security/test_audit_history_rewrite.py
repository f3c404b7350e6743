"""Someone with write access to the database rewrites the audit trail: changes an entry, then
recomputes every later hash and the head, so the chain is consistent again. The signed
checkpoints, kept in the database and published to a file outside it, still show it: the
auditor's verification (HTTP and `certcenter audit verify`) names the first checkpoint that
disagrees. A checkpoint forged in the published file to match does not verify, and OpenSSL
checks a published checkpoint with the public key alone."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from certcenter.audit import content_hash, entry_hash, verify_chain
from certcenter.audit.checkpoint_log import CHECKPOINT_FILE, PUBLIC_KEY_FILE
from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from certcenter.entities import AuditEntry
from certcenter.storage.tables import audit_checkpoints, audit_head, audit_log
from tests.conftest import LiveServer


@pytest.fixture
def auditor(center: Center, api: LiveServer) -> httpx.Client:
    token = center.operators.create("kim", ["operator", "auditor"])
    return httpx.Client(
        base_url=f"{api.url}/v1/operator", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def _activity(auditor: httpx.Client, searches: int) -> None:
    """Operator work the trail records: each customer search is an entry."""
    for i in range(searches):
        assert auditor.get("/customers", params={"q": f"C00{i % 9 + 1}"}).is_success


def _checkpoint(auditor: httpx.Client) -> dict[str, Any]:
    made = auditor.post("/audit/checkpoints")
    assert made.status_code == 200, made.text
    checkpoint = made.json()["checkpoint"]
    assert checkpoint is not None
    return dict(checkpoint)


def _rewrite_history(center: Center, seq: int) -> None:
    """The attack, in SQL: change entry ``seq`` (its content hash recomputed), recompute every
    later sealed hash and the head."""
    with center.engine.begin() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).mappings().all()
        previous = None
        for row in rows:
            entry = AuditEntry(**dict(row))
            if entry.seq == seq:
                entry.outcome = "ok"
                entry.details = {**entry.details, "results": []}  # the search found no one
                if entry.content_hash is not None:
                    entry.content_hash = content_hash(entry)
            if entry.entry_hash is None:  # not sealed yet: the sealer will link it
                continue
            if previous is not None:
                entry.prev_hash = previous
            if entry.seq >= seq:
                entry.entry_hash = entry_hash(entry)
                conn.execute(
                    update(audit_log)
                    .where(audit_log.c.seq == entry.seq)
                    .values(
                        outcome=entry.outcome,
                        details=entry.details,
                        content_hash=entry.content_hash,
                        prev_hash=entry.prev_hash,
                        entry_hash=entry.entry_hash,
                    )
                )
            previous = entry.entry_hash
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(entry_hash=previous))


def _cli_env(center: Center) -> dict[str, str]:
    s = center.settings
    return {
        "CERTCENTER_DATA_DIR": str(s.data_dir),
        "CERTCENTER_DATABASE_URL": s.database_url,
        "CERTCENTER_KEY_DIR": str(s.keys_path),
        "CERTCENTER_CA_DIR": str(s.ca_path),
        "CERTCENTER_KEY_PASSPHRASE": "test-passphrase",
        "CERTCENTER_LANG": "en",
    }


@pytest.mark.parametrize("stored", ["kept", "deleted"])
def test_a_rewritten_history_fails_verification_at_the_first_disagreeing_checkpoint(
    center: Center, auditor: httpx.Client, stored: str
) -> None:
    with auditor:
        _activity(auditor, 6)
        first = _checkpoint(auditor)
        _activity(auditor, 6)
        second = _checkpoint(auditor)
        _activity(auditor, 3)
        assert first["seq"] < second["seq"]
        intact = auditor.get("/audit/verify").json()
        assert intact["ok"] is True and intact["checkpoints"] == 2, intact

        target = first["seq"] + 2  # an entry after the first checkpoint, before the second
        _rewrite_history(center, target)
        if stored == "deleted":  # the attacker also removes the checkpoints in the database
            with center.engine.begin() as conn:
                conn.execute(delete(audit_checkpoints))
        with center.uow_factory() as uow:  # the chain alone cannot tell: it is consistent
            assert verify_chain(uow).ok

        found = auditor.get("/audit/verify").json()
        assert found["ok"] is False
        assert found["code"] == "AUDIT_CHECKPOINT_MISMATCH"
        assert found["checkpoint"] == second["seq"]  # the first that disagrees
        assert found["first_broken_seq"] == second["seq"]
        assert f"checkpoint {second['seq']}" in found["reason"]
        assert f"after checkpoint {first['seq']}" in found["reason"]
        assert found["error"]["code"] == "AUDIT_CHECKPOINT_MISMATCH"
        assert found["error"]["message"]["ko"] and found["error"]["remedy"]["en"]

    result = CliRunner().invoke(cli, ["audit", "verify"], env=_cli_env(center))
    assert result.exit_code == 1
    assert "[AUDIT_CHECKPOINT_MISMATCH]" in result.output
    assert f"Checkpoint {second['seq']} no longer matches" in result.output
    assert "Traceback" not in result.output


def test_a_checkpoint_forged_in_the_published_file_does_not_verify(
    center: Center, auditor: httpx.Client
) -> None:
    with auditor:
        _activity(auditor, 4)
        made = _checkpoint(auditor)
        _rewrite_history(center, 2)
        with center.engine.begin() as conn:
            conn.execute(delete(audit_checkpoints))
            head = conn.execute(select(audit_head.c.entry_hash)).scalar_one()
        # the published line is edited to name the rewritten head, statement and all
        path = center.settings.audit_checkpoint_path / CHECKPOINT_FILE
        document = json.loads(path.read_text())
        document["statement"] = document["statement"].replace(made["head_hash"], head)
        document["head"] = head
        path.write_text(json.dumps(document) + "\n")

        found = auditor.get("/audit/verify").json()
        assert found["ok"] is False
        assert found["code"] == "AUDIT_CHECKPOINT_INVALID"
        assert found["checkpoint"] == made["seq"]
        assert "line 1" in found["reason"] and "signature does not verify" in found["reason"]


def _openssl_verify(directory: Path, statement: bytes, signature: bytes) -> int:
    (directory / "statement.txt").write_bytes(statement)
    (directory / "sig.der").write_bytes(signature)
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-binary", str(directory / "statement.txt")],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout
    (directory / "statement.sha256").write_bytes(digest)
    checked = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            str(directory / "key.pem"),
            "-in",
            str(directory / "statement.sha256"),
            "-sigfile",
            str(directory / "sig.der"),
        ],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return checked.returncode


def test_openssl_verifies_a_published_checkpoint_with_the_public_key_alone(
    center: Center, auditor: httpx.Client, tmp_path: Path
) -> None:
    with auditor:
        _activity(auditor, 3)
        made = _checkpoint(auditor)
    published = center.settings.audit_checkpoint_path
    line = json.loads((published / CHECKPOINT_FILE).read_text().splitlines()[-1])
    assert line["seq"] == made["seq"] and line["head"] == made["head_hash"]
    outside = tmp_path / "auditor"
    outside.mkdir()
    (outside / "key.pem").write_bytes((published / PUBLIC_KEY_FILE).read_bytes())
    statement = line["statement"].encode("ascii")
    signature = base64.b64decode(line["signature"])
    assert f"seq: {made['seq']}\n" in line["statement"]
    assert f"head: {made['head_hash']}\n" in line["statement"]

    assert _openssl_verify(outside, statement, signature) == 0
    forged = statement.replace(b"seq: ", b"seq: 1")
    assert _openssl_verify(outside, forged, signature) != 0
