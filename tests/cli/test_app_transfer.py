"""``certcenter app transfer`` as a customer meets it: every prompt says what it asks, the ARS
hint is a command that works, and ``--evidence`` writes the signed transfer that OpenSSL
verifies."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from tests.support.flow import Flow, FlowFactory

PIN = "591734"
ACCOUNT_PASSWORD = "2580"
PAYEE = ("088", "110000000002")
SAVINGS = "12340100000101"


def _logged_in(new_flow: FlowFactory) -> tuple[Flow, str, str]:
    flow = new_flow("C001")
    flow.through("csr")
    url, keystore = str(flow.client.http.base_url), str(flow.keystore.directory)
    logged = CliRunner().invoke(
        cli, ["app", "login", "--keystore", keystore, "--url", url], input=f"{PIN}\n"
    )
    assert logged.exit_code == 0, logged.output
    return flow, url, keystore


def _transfer_args(keystore: str, url: str, amount: int, *extra: str) -> list[str]:
    return [
        "--lang",
        "en",
        "app",
        "transfer",
        "--keystore",
        keystore,
        "--url",
        url,
        "--from",
        SAVINGS,
        "--to-bank",
        PAYEE[0],
        "--to",
        PAYEE[1],
        "--amount",
        str(amount),
        "--yes",
        *extra,
    ]


def test_transfer_names_each_prompt_and_writes_the_evidence(
    new_flow: FlowFactory, center: Center, tmp_path: Path
) -> None:
    _, url, keystore = _logged_in(new_flow)
    evidence = tmp_path / "transfer.p7m"
    sent = CliRunner().invoke(
        cli,
        _transfer_args(keystore, url, 3_000_000, "--evidence", str(evidence)),
        input=f"{ACCOUNT_PASSWORD}\n{PIN}\n",
    )
    assert sent.exit_code == 0, sent.output
    out = sent.output
    # What the amount needs is said first, in the order asked; each prompt says what it is.
    needs = out.index("this amount needs: 계좌 비밀번호 (account password) → 간편비밀번호 (PIN)")
    password = out.index(f"출금계좌 {SAVINGS} 비밀번호 4자리 (account password")
    pin = out.index("인증서 간편비밀번호 6자리 (certificate PIN)")
    assert needs < password < pin
    assert f"evidence (CMS SignedData, DER) → {evidence}" in out
    root = tmp_path / "root.pem"
    root.write_text(center.chain_pem()[-1])
    verified = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(evidence), "-CAfile", str(root)],
        capture_output=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert b"amount-krw: 3000000" in verified.stdout
    assert PAYEE[1].encode() in verified.stdout


def test_evidence_to_a_folder_is_refused_before_anything_is_sent(
    new_flow: FlowFactory, center: Center, tmp_path: Path
) -> None:
    _, url, keystore = _logged_in(new_flow)
    refused = CliRunner().invoke(
        cli, _transfer_args(keystore, url, 10_000, "--evidence", str(tmp_path)), input=f"{PIN}\n"
    )
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    assert "is a directory" in refused.output
    nowhere = CliRunner().invoke(
        cli,
        _transfer_args(keystore, url, 10_000, "--evidence", str(tmp_path / "no" / "t.p7m")),
        input=f"{PIN}\n",
    )
    assert nowhere.exit_code == 2 and "Traceback" not in nowhere.output
    assert "no folder" in nowhere.output
    assert all(e["amount"] != 10_000 for e in center.sim_store.statement(*PAYEE))


def test_the_ars_hint_is_a_command_that_answers_the_call(
    new_flow: FlowFactory, tmp_path: Path
) -> None:
    """Tier three (over 50,000,000 KRW): the hint names the customer's demo phone and the
    code; running it answers the call, and the transfer goes through."""
    _, url, keystore = _logged_in(new_flow)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    app = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from certcenter.cli.main import main; main()",
            *_transfer_args(keystore, url, 60_000_000),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert app.stdin is not None and app.stdout is not None
    app.stdin.write(f"{ACCOUNT_PASSWORD}\n{PIN}\n")
    app.stdin.flush()
    seen = []
    for line in app.stdout:
        seen.append(line)
        if "(demo: certcenter sim ars" in line:
            break
    hint = re.search(r"\(demo: certcenter (sim ars \S+ \S+)\)", "".join(seen))
    assert hint is not None, "".join(seen)
    assert hint.group(1).startswith("sim ars 01020000001 ")
    answered = CliRunner().invoke(cli, [*hint.group(1).split(), "--url", url])
    assert answered.exit_code == 0, answered.output
    rest, _ = app.communicate("\n", timeout=60)
    assert app.returncode == 0, "".join(seen) + rest
    assert "60,000,000 KRW" in rest and "Traceback" not in rest
