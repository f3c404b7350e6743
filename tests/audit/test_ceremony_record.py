"""A key ceremony's record is signed by the audit checkpoint key, written to the trail, and a
changed record no longer verifies (in code and with ``certcenter keys verify-record``)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from certcenter.audit.ceremony import CEREMONY_ACTION, record_problem
from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from tests.lifecycle.test_audit_cli import _env


def test_a_record_is_signed_written_to_the_trail_and_checked(center: Center) -> None:
    record = center.ceremonies.record(
        ceremony="rotate-ocsp-signer", operator="cli:kim", details={"family": "mobile"}
    )
    document = record.document()
    public = center.ceremonies.public_key()
    assert record_problem(document, public) is None

    with center.uow_factory() as uow:
        entries = [e for e in uow.audit.entries() if e.action == CEREMONY_ACTION]
    assert len(entries) == 1
    assert entries[0].subject == "rotate-ocsp-signer"
    assert entries[0].details["signature"] == document["signature"]

    assert record_problem({**document, "details": {"family": "financial"}}, public) == (
        "the signature does not verify"
    )
    assert record_problem({**document, "format": "other"}, public) == "unknown format 'other'"
    assert record_problem({"ceremony": "x"}, public) == "not a key ceremony record"


def test_verify_record_command(center: Center, tmp_path: Path) -> None:
    record = center.ceremonies.record(ceremony="init-root", operator="cli:kim", details={})
    good = tmp_path / "record.json"
    good.write_text(json.dumps(record.document()), encoding="utf-8")
    runner = CliRunner()
    ok = runner.invoke(cli, ["keys", "verify-record", str(good)], env=_env(center))
    assert ok.exit_code == 0, ok.output
    assert "record of init-root" in ok.output and "verifies" in ok.output

    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**record.document(), "operator": "cli:lee"}), encoding="utf-8")
    bad = runner.invoke(cli, ["keys", "verify-record", str(forged)], env=_env(center))
    assert bad.exit_code == 1
    assert "the signature does not verify" in bad.output

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    broken = runner.invoke(cli, ["keys", "verify-record", str(garbage)], env=_env(center))
    assert broken.exit_code == 1 and "not a ceremony record" in broken.output
