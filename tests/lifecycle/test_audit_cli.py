"""`certcenter audit verify` finds a changed or deleted audit row, as an operator runs it."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text

from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from tests.conftest import key_backend_env
from tests.support.flow import FlowFactory


def _env(center: Center) -> dict[str, str]:
    s = center.settings
    return {
        "CERTCENTER_DATA_DIR": str(s.data_dir),
        "CERTCENTER_DATABASE_URL": s.database_url,
        "CERTCENTER_KEY_DIR": str(s.keys_path),
        "CERTCENTER_CA_DIR": str(s.ca_path),
        "CERTCENTER_KEY_PASSPHRASE": "test-passphrase",
        "CERTCENTER_LANG": "en",
        **key_backend_env(),
    }


def test_verify_reports_the_first_changed_or_deleted_entry(
    new_flow: FlowFactory, center: Center
) -> None:
    new_flow("C001").through("csr")  # a whole issuance writes a dozen entries
    runner = CliRunner()
    unsealed = runner.invoke(cli, ["audit", "verify"], env=_env(center))
    assert unsealed.exit_code == 0, unsealed.output  # written, not sealed yet: not broken
    assert "audit trail intact: 0 entries" in unsealed.output
    assert "not sealed yet" in unsealed.output
    sealed = runner.invoke(cli, ["audit", "seal"], env=_env(center))
    assert sealed.exit_code == 0, sealed.output
    assert "sealed up to entry" in sealed.output
    again = runner.invoke(cli, ["audit", "seal"], env=_env(center))
    assert again.exit_code == 0 and "nothing to seal" in again.output, again.output
    intact = runner.invoke(cli, ["audit", "verify"], env=_env(center))
    assert intact.exit_code == 0, intact.output
    assert "audit trail intact" in intact.output and "1 signed checkpoints agree" in intact.output

    with center.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET outcome = 'ok-forged' WHERE seq = 3"))
    changed = runner.invoke(cli, ["audit", "verify"], env=_env(center))
    assert changed.exit_code == 1
    assert "[AUDIT_CHAIN_BROKEN]" in changed.output
    assert "does not hold at entry 3:" in changed.output

    with center.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET outcome = 'ok' WHERE seq = 3"))
        conn.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    deleted = runner.invoke(cli, ["audit", "verify"], env=_env(center))
    assert deleted.exit_code == 1
    assert "[AUDIT_CHAIN_BROKEN]" in deleted.output
    assert "does not hold at entry 5:" in deleted.output
