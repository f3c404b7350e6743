"""The app's lifecycle commands as a customer types them: revoking twice, renewing a revoked
certificate — each answered with what happened and the way on, never a dead end."""

from __future__ import annotations

from click.testing import CliRunner

from certcenter.cli.main import cli
from tests.support.flow import FlowFactory

PIN = "591734"


def _app(runner: CliRunner, command: str, keystore: str, url: str) -> tuple[int, str]:
    result = runner.invoke(
        cli,
        ["--lang", "en", "app", command, "--keystore", keystore, "--url", url],
        input=f"{PIN}\n",
    )
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_revoking_twice_and_renewing_a_revoked_certificate_from_the_app(
    new_flow: FlowFactory,
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    serial = flow.current_serial()
    url, keystore = str(flow.client.http.base_url), str(flow.keystore.directory)
    runner = CliRunner()

    code, output = _app(runner, "revoke", keystore, url)
    assert code == 0, output
    assert f"{serial}: revoked" in output

    code, output = _app(runner, "revoke", keystore, url)
    assert code == 1
    assert "[CERTIFICATE_ALREADY_REVOKED] The certificate has already been revoked." in output
    assert "DEVICE_NOT_REGISTERED" not in output

    code, output = _app(runner, "renew", keystore, url)
    assert code == 1
    assert "[CERTIFICATE_REVOKED]" in output and "DEVICE_NOT_REGISTERED" not in output
    assert "certcenter app enroll" in output  # the way to a new certificate
