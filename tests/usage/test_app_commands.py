"""The app on the command line: log in, send a transfer (tier two: account password + PIN),
sign a file — with the prompts a customer answers."""

from __future__ import annotations

import subprocess
from pathlib import Path

from click.testing import CliRunner

from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from tests.support.flow import FlowFactory
from tests.usage.support import ACCOUNT_PASSWORD, PAYEE, PIN, issued


def test_login_transfer_and_sign_from_the_command_line(
    new_flow: FlowFactory, center: Center, tmp_path: Path
) -> None:
    flow = issued(new_flow)
    url = str(flow.client.http.base_url)
    keystore = str(flow.keystore.directory)
    runner = CliRunner()
    logged = runner.invoke(
        cli,
        ["--lang", "en", "app", "login", "--keystore", keystore, "--url", url],
        input=f"{PIN}\n",
    )
    assert logged.exit_code == 0, logged.output
    assert "logged in with pin" in logged.output
    sent = runner.invoke(
        cli,
        [
            "--lang",
            "en",
            "app",
            "transfer",
            "--keystore",
            keystore,
            "--url",
            url,
            "--from",
            "12340100000101",
            "--to-bank",
            PAYEE[0],
            "--to",
            PAYEE[1],
            "--amount",
            "3000000",
            "--memo",
            "rent",
            "--yes",
        ],
        input=f"{ACCOUNT_PASSWORD}\n{PIN}\n",
    )
    assert sent.exit_code == 0, sent.output
    assert "amount-krw: 3000000" in sent.output and "3,000,000 KRW" in sent.output
    assert center.sim_store.statement(*PAYEE)[0]["amount"] == 3_000_000
    wrong = runner.invoke(
        cli,
        [
            "--lang",
            "en",
            "app",
            "transfer",
            "--keystore",
            keystore,
            "--url",
            url,
            "--from",
            "12340100000101",
            "--to-bank",
            PAYEE[0],
            "--to",
            PAYEE[1],
            "--amount",
            "10000",
            "--yes",
        ],
        input="000000\n",
    )
    assert wrong.exit_code == 1 and "[AUTH_FAILED]" in wrong.output
    assert "Traceback" not in wrong.output
    document = tmp_path / "letter.txt"
    document.write_text("동의합니다.\n", "utf-8")
    signature = tmp_path / "letter.p7s"
    signed = runner.invoke(
        cli,
        [
            "app",
            "sign",
            str(document),
            "--out",
            str(signature),
            "--keystore",
            keystore,
            "--url",
            url,
        ],
        input=f"{PIN}\n",
    )
    assert signed.exit_code == 0, signed.output
    root = tmp_path / "root.pem"
    root.write_text(center.chain_pem()[-1])
    verified = subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(signature),
            "-content",
            str(document),
            "-CAfile",
            str(root),
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr


def test_login_with_the_pattern_in_either_form_and_never_a_traceback(
    new_flow: FlowFactory, center: Center
) -> None:
    """The pattern as the enrolment shows it (0-1-2-5-8) or with commas logs in; a pattern
    that is not points, or biometrics on an app without a biometric key, is a catalog
    refusal with a way forward, not a traceback."""
    flow = issued(new_flow)
    base = ["--lang", "en", "app", "login", "--keystore", str(flow.keystore.directory)]
    base += ["--url", str(flow.client.http.base_url)]
    runner = CliRunner()
    for typed in ("0-1-2-5-8", "0,1,2,5,8"):
        logged = runner.invoke(cli, [*base, "--method", "pattern"], input=f"{typed}\n")
        assert logged.exit_code == 0, logged.output
        assert "logged in with pattern" in logged.output
    # an app that never registered biometrics (this one did at enrolment: forget its key)
    (flow.keystore.directory / "biometric.key.pem").unlink()
    refused = {
        "pattern": runner.invoke(cli, [*base, "--method", "pattern"], input="zero-one\n"),
        "biometric": runner.invoke(cli, [*base, "--method", "biometric"]),
    }
    for method, result in refused.items():
        assert result.exit_code == 1, (method, result.output)
        assert isinstance(result.exception, SystemExit), (method, result.exception)
        assert "Traceback" not in result.output
    assert "The pattern is not valid." in refused["pattern"].output
    assert "This app has no biometric key." in refused["biometric"].output
    assert "--method pin" in refused["biometric"].output
