"""``certcenter app otp``: the app registers a mobile OTP, keeps its secret sealed in its
keystore, shows codes the center accepts, and cancels it."""

from __future__ import annotations

import base64
import re
import stat
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from click.testing import CliRunner

from certcenter.bootstrap import Center
from certcenter.cli.client import CenterClient
from certcenter.cli.main import cli
from certcenter.clock import FrozenClock
from certcenter.media.otp import totp
from certcenter.simulators.world import DEMO_ACCOUNT_PASSWORD
from tests.conftest import LiveServer
from tests.media.test_otp_algorithm import png_size
from tests.media.test_otp_service import APP_PIN, app_device, customer


def test_the_app_registers_shows_codes_and_cancels(
    api: LiveServer,
    center: Center,
    clock: FrozenClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import certcenter.cli.app_session as app_session

    who = customer(center, "C001")
    token = center.sessions.open(
        customer_id=who.id,
        device_id=app_device(center, who, "dev-otp-cli"),
        certificate_serial="5E55",
        method="pin",
    ).token

    def logged_in(keystore: Path, url: str, *, lang: str = "ko") -> CenterClient:
        made = CenterClient(url, locale=lang)
        made.token = token
        return made

    monkeypatch.setattr(app_session, "logged_in_client", logged_in)
    runner = CliRunner()
    env = {"CERTCENTER_LANG": "en"}
    keystore = tmp_path / "app"
    store = ["--keystore", str(keystore), "--url", api.url]
    qr = tmp_path / "otp.png"

    registered = runner.invoke(
        cli,
        ["app", "otp", "register", "--auto-codes", "--qr", str(qr), *store],
        input=f"{DEMO_ACCOUNT_PASSWORD}\n",
        env=env,
    )
    assert registered.exit_code == 0, registered.output
    uri = re.search(r"otpauth://totp/\S+", registered.output)
    assert uri is not None
    secret32 = parse_qs(urlsplit(uri.group(0)).query)["secret"][0]
    secret = base64.b32decode(secret32 + "=" * (-len(secret32) % 8))
    assert png_size(qr.read_bytes())[0] > 0
    kept = keystore / "otp.json"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert secret32 not in kept.read_text() and secret.hex() not in kept.read_text()

    at = ["--at", clock.now().isoformat()]
    shown = runner.invoke(cli, ["app", "otp", "code", "--keystore", str(keystore), *at], env=env)
    assert shown.exit_code == 0, shown.output
    code = shown.stdout.strip()
    assert code == totp(secret, clock.now())

    accepted = runner.invoke(cli, ["app", "otp", "verify", code, *store], env=env)
    assert accepted.exit_code == 0, accepted.output
    replayed = runner.invoke(cli, ["app", "otp", "verify", code, *store], env=env)
    assert replayed.exit_code == 1 and "[AUTH_FAILED]" in replayed.output

    status = runner.invoke(cli, ["app", "otp", "status", *store], env=env)
    assert status.exit_code == 0, status.output
    assert "mobile OTP: active" in status.output and "this app holds it" in status.output
    assert secret32 not in status.output

    again = runner.invoke(cli, ["app", "otp", "register", "--auto-codes", *store], env=env)
    assert again.exit_code == 1 and "[OTP_ALREADY_REGISTERED]" in again.output

    cancelled = runner.invoke(cli, ["app", "otp", "cancel", *store], input=f"{APP_PIN}\n", env=env)
    assert cancelled.exit_code == 0 and "revoked" in cancelled.output
    assert not kept.exists()
    status = runner.invoke(cli, ["app", "otp", "status", *store], env=env)
    assert "not registered" in status.output
    nothing = runner.invoke(cli, ["app", "otp", "code", "--keystore", str(keystore)], env=env)
    assert nothing.exit_code == 1 and "certcenter app otp register" in nothing.output
