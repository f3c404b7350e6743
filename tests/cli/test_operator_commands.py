"""Operator commands, run as a person runs them (click's runner, real files and database)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from certcenter.cli.main import cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"CERTCENTER_DATA_DIR": str(tmp_path / "var"), "CERTCENTER_LANG": "en"}


def test_init_is_idempotent_and_lists_what_it_made(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["init"], env=env)
    assert first.exit_code == 0, first.output
    assert "demo world seeded" in first.output
    assert "passphrase written" in first.output
    root = (tmp_path / "var" / "ca" / "root-ca.pem").read_bytes()

    second = runner.invoke(cli, ["init"], env=env)
    assert second.exit_code == 0, second.output
    assert "seeded" not in second.output and "passphrase written" not in second.output
    assert (tmp_path / "var" / "ca" / "root-ca.pem").read_bytes() == root  # never re-created

    customers = runner.invoke(cli, ["customers", "list"], env=env)
    assert customers.exit_code == 0
    assert customers.output.count("\n") == 17  # C001-C016 and C018 are bank customers
    assert "C012" in customers.output and "demo-old-phone-c012" in customers.output

    certificates = runner.invoke(cli, ["certificates", "list", "--status", "active"], env=env)
    assert certificates.exit_code == 0
    assert "serialNumber=C012" in certificates.output


def test_wrong_or_missing_passphrase_is_a_clear_refusal(env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    wrong = runner.invoke(cli, ["init"], env={**env, "CERTCENTER_KEY_PASSPHRASE": "not it"})
    assert wrong.exit_code == 1
    assert "[KEY_PASSPHRASE_WRONG]" in wrong.output
    assert "Traceback" not in wrong.output

    production = runner.invoke(
        cli,
        ["init"],
        env={
            **env,
            "CERTCENTER_ENVIRONMENT": "production",
            "CERTCENTER_DATA_DIR": env["CERTCENTER_DATA_DIR"] + "-prod",
        },
    )
    assert production.exit_code == 1
    assert "[KEY_PASSPHRASE_MISSING]" in production.output


def test_errors_lists_the_catalog_in_the_chosen_language(env: dict[str, str]) -> None:
    result = CliRunner().invoke(cli, ["--lang", "ko", "errors"], env=env)
    assert result.exit_code == 0
    assert (
        "PHONE_NOT_OWN_NAME" in result.output and "본인 명의의 휴대폰이 아닙니다." in result.output
    )


def test_client_commands_explain_an_unreachable_center(env: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli, ["sim", "sms", "01020000001", "--url", "http://127.0.0.1:9"], env=env
    )
    assert result.exit_code == 1
    assert "[CENTER_UNREACHABLE]" in result.output and "certcenter serve" in result.output


def test_ocsp_publish_writes_into_the_directory_and_reports(
    env: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    (tmp_path / "not-a-dir").write_text("x")
    refused = runner.invoke(cli, ["ocsp", "publish", str(tmp_path / "not-a-dir")], env=env)
    assert refused.exit_code != 0

    out = tmp_path / "www" / "ocsp"
    result = runner.invoke(cli, ["ocsp", "publish", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "written": 0,  # nothing has been asked about yet: no stored response
        "refreshed": 0,
        "removed": 0,
        "directory": str(out),
    }
    assert out.is_dir()


def test_a_command_that_changes_a_certificate_sends_its_notice_before_it_ends(
    env: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    listed = runner.invoke(cli, ["certificates", "list", "--status", "active"], env=env)
    serial = next(line.split()[0] for line in listed.output.splitlines() if "C012" in line)

    suspended = runner.invoke(cli, ["certificates", "suspend", serial], env=env)

    assert suspended.exit_code == 0, suspended.output
    assert f"{serial}: suspended" in suspended.output
    # no server runs: the command sent the outbox itself, to the demo phone of C012
    with sqlite3.connect(tmp_path / "var" / "certcenter.db") as db:
        rows = db.execute("SELECT event, channel, status FROM outbox").fetchall()
    assert rows == [("suspended", "sms", "sent")]
    with sqlite3.connect(tmp_path / "var" / "simulators.db") as db:
        bodies = [b for (b,) in db.execute("SELECT body FROM sim_sms WHERE phone = '01020000012'")]
    assert any("정지되었습니다" in body for body in bodies)

    revoked = runner.invoke(cli, ["certificates", "revoke", serial], env=env)
    assert revoked.exit_code == 0 and f"{serial}: revoked" in revoked.output
    assert "already" not in revoked.output
    again = runner.invoke(
        cli, ["certificates", "revoke", serial, "--reason", "keyCompromise"], env=env
    )
    assert again.exit_code == 0, again.output  # idempotent, and says so
    assert f"{serial}: revoked (unchanged)" in again.output
    assert "The certificate has already been revoked." in again.output


PRODUCTION = {
    "CERTCENTER_ENVIRONMENT": "production",
    "CERTCENTER_KEY_PASSPHRASE": "a long production passphrase for the test",
}
BANK = {
    "CERTCENTER_BANK_NAME": "Example Bank",
    "CERTCENTER_BANK_OID_ARC": "1.2.410.999999.1",
    "CERTCENTER_PUBLIC_BASE_URL": "http://pki.bank.example",
    "CERTCENTER_CPS_URL": "http://pki.bank.example/cps",
}


def test_production_init_refuses_the_demo_identity(env: dict[str, str], tmp_path: Path) -> None:
    """No 20-year CA certificate with the demo bank's name, the documentation arc or
    loopback URLs: init names what is missing and makes nothing."""
    runner = CliRunner()
    refused = runner.invoke(cli, ["init"], env={**env, **PRODUCTION})
    assert refused.exit_code == 1, refused.output
    assert "[CA_IDENTITY_NOT_CONFIGURED]" in refused.output
    named_fields = ("bank_name", "bank_oid_arc", "RFC 5612", "public_base_url", "cps_url")
    for named in (*named_fields, "CERTCENTER_BANK_OID_ARC"):
        assert named in refused.output, named
    assert "Traceback" not in refused.output
    assert not (tmp_path / "var" / "ca" / "root-ca.pem").exists()

    for wrong, value in (
        ("CERTCENTER_PUBLIC_BASE_URL", "http://localhost:8000"),
        ("CERTCENTER_PUBLIC_BASE_URL", "https://[::1]"),
        ("CERTCENTER_PUBLIC_BASE_URL", "pki.bank.example"),
        ("CERTCENTER_BANK_OID_ARC", "1.3.6.1.4.1.32473.9"),
        ("CERTCENTER_BANK_OID_ARC", "not an oid"),
        ("CERTCENTER_CPS_URL", "http://127.0.0.2/cps"),
    ):
        one_wrong = runner.invoke(cli, ["init"], env={**env, **PRODUCTION, **BANK, wrong: value})
        assert one_wrong.exit_code == 1, (wrong, value)
        assert "[CA_IDENTITY_NOT_CONFIGURED]" in one_wrong.output, (wrong, value)
    assert not (tmp_path / "var" / "ca" / "root-ca.pem").exists()


def test_production_init_writes_the_banks_identity_and_its_cps(
    env: dict[str, str], tmp_path: Path
) -> None:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    made = CliRunner().invoke(cli, ["init"], env={**env, **PRODUCTION, **BANK})
    assert made.exit_code == 0, made.output
    ca = tmp_path / "var" / "ca"
    root = x509.load_pem_x509_certificate((ca / "root-ca.pem").read_bytes())
    assert root.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Example Bank"
    issuing = x509.load_pem_x509_certificate((ca / "mobile-ca.pem").read_bytes())
    (policy,) = issuing.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert policy.policy_identifier.dotted_string == "1.2.410.999999.1.1.1"
    assert policy.policy_qualifiers == ["http://pki.bank.example/cps"]
    (point,) = issuing.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert point.full_name is not None
    assert point.full_name[0].value == "http://pki.bank.example/crl/root.crl"
