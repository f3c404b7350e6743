"""``certcenter app joint login|sign|transfer`` from an NPKI folder, with the prompts the
customer answers (the certificate password, hidden; the account password at tier two)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner

from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from tests.conftest import LiveServer
from tests.joint.support import rrn_of
from tests.joint_usage.support import PASSWORD, joint_holder
from tests.usage.support import ACCOUNT_PASSWORD, C001_SAVINGS, PAYEE


def test_login_sign_and_transfer_from_the_npki_folder(
    api: LiveServer, center: Center, tmp_path: Path
) -> None:
    holder = joint_holder(center, tmp_path)
    runner = CliRunner()
    base = ["--lang", "en", "app", "joint"]
    where = ["--npki", str(holder.npki), "--url", api.url]

    logged = runner.invoke(
        cli, [*base, "login", *where, "--identity"], input=f"{PASSWORD}\n{rrn_of('C001')}\n"
    )
    assert logged.exit_code == 0, logged.output
    assert "logged in with the joint certificate" in logged.output
    assert "identity checked" in logged.output

    wrong = runner.invoke(cli, [*base, "login", *where], input="not-the-password\n")
    assert wrong.exit_code != 0 and "NPKI" in wrong.output, wrong.output

    document = tmp_path / "contract.txt"
    document.write_text("계약서: 2026년 12월\n", encoding="utf-8")
    out = tmp_path / "contract.txt.p7s"
    signed = runner.invoke(
        cli, [*base, "sign", str(document), *where, "--out", str(out)], input=f"{PASSWORD}\n"
    )
    assert signed.exit_code == 0, signed.output
    (tmp_path / "root.pem").write_text(center.chain_pem()[-1])
    verified = subprocess.run(
        [
            *("openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(out)),
            *("-content", str(document), "-CAfile", str(tmp_path / "root.pem")),
            *("-out", "/dev/null"),
        ],
        capture_output=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr

    bank, number = C001_SAVINGS
    sent = runner.invoke(
        cli,
        [
            *(*base, "transfer", *where, "--from-bank", bank, "--from", number),
            *("--to-bank", PAYEE[0], "--to", PAYEE[1], "--amount", "3000000", "--yes"),
        ],
        input=f"{PASSWORD}\n{ACCOUNT_PASSWORD}\n",
    )
    assert sent.exit_code == 0, sent.output
    assert "amount-krw: 3000000" in sent.output and "3,000,000 KRW" in sent.output
    assert center.sim_store.statement(*PAYEE)[0]["amount"] == 3_000_000
