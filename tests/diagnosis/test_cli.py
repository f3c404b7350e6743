"""``certcenter customers diagnose``: the operator's checklist on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from certcenter.cli.main import cli


def test_the_operator_reads_the_checklist(tmp_path: Path) -> None:
    env = {"CERTCENTER_DATA_DIR": str(tmp_path / "var"), "CERTCENTER_LANG": "en"}
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0

    fine = runner.invoke(cli, ["customers", "diagnose", "C001"], env=env)
    assert fine.exit_code == 0, fine.output
    assert fine.output.startswith("C001: nothing stops issuance")
    assert "Phone in own name" in fine.output and "PROBLEM" not in fine.output

    mother = runner.invoke(cli, ["customers", "diagnose", "C004"], env=env)
    assert mother.exit_code == 2, mother.output  # something stops issuance
    assert "C004: issuance fails (1 problem)" in mother.output
    assert "[PHONE_NOT_OWN_NAME] The phone is not in your own name." in mother.output
    assert "What to do: Use a phone in your own name" in mother.output

    korean = runner.invoke(cli, ["--lang", "ko", "customers", "diagnose", "C015"], env=env)
    assert korean.exit_code == 0
    assert "주의" in korean.output and "[PHONE_SMS_SPAM_BLOCKED]" in korean.output

    abroad = runner.invoke(
        cli, ["customers", "diagnose", "C013", "--client-ip", "203.0.113.9", "--json"], env=env
    )
    assert abroad.exit_code == 2
    document = json.loads(abroad.output)
    assert document["problems"] == [{"key": "overseas_access", "code": "FOREIGN_IP_BLOCKED"}]

    unknown = runner.invoke(cli, ["customers", "diagnose", "C999"], env=env)
    assert unknown.exit_code == 1 and "[CUSTOMER_UNKNOWN]" in unknown.output
    assert "Traceback" not in unknown.output
