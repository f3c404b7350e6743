"""``certcenter app overseas-access``: 해외 IP 차단 해제 from the app.

    $ certcenter app overseas-access --days 14      # asks for the PIN
    access from abroad allowed until 2026-12-07 19:00 KST
    $ certcenter app overseas-access --off
    access from abroad blocked

The device signs a fresh challenge with its certificate's key and the customer types the PIN:
the same confirmation as revoking or deregistering (see usage/overseas_access.py).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from certcenter.cli.client import CenterClient
from certcenter.cli.common import fail, handle_errors, keystore_option, language, url_option
from certcenter.cli.keystore import Keystore
from certcenter.clock import KST


def _shown(until: str | None, lang: str) -> str:
    if until is None:
        return {"ko": "해외 IP 접속이 차단되어 있습니다", "en": "access from abroad blocked"}[lang]
    local = datetime.fromisoformat(until).astimezone(KST).strftime("%Y-%m-%d %H:%M")
    return {
        "ko": f"{local} (KST)까지 해외 IP 차단이 해제되었습니다",
        "en": f"access from abroad allowed until {local} KST",
    }[lang]


@click.command("overseas-access")
@keystore_option
@url_option
@click.option(
    "--days",
    type=int,
    default=None,
    help="Allow access from abroad for this many days from now (asks for the PIN).",
)
@click.option("--off", is_flag=True, help="Block access from abroad again (asks for the PIN).")
@handle_errors
def app_overseas_access(keystore: Path, url: str, days: int | None, off: bool) -> None:
    """해외 IP 차단 해제: allow access from abroad for a number of days, or block it again."""
    if (days is None) == (not off):
        fail("choose one: --days N (allow for N days) or --off (block again)")
        return
    store = Keystore(keystore)
    device, cert = store.device(), store.certificate()
    if device is None or cert is None:
        fail("no certificate on this device: run `certcenter app enroll`")
        return
    pin = str(click.prompt("간편비밀번호 (PIN)", hide_input=sys.stdin.isatty()))
    path = f"/v1/devices/{device.device_id}/overseas-access"
    with CenterClient(url, locale=language()) as client:
        state = client.device_action(
            device.device_id,
            "overseas_access",
            store.sign,
            pin,
            path + ("/end" if off else ""),
            None if off else {"days": days},
            send_device_id=False,
        )
    click.echo(_shown(state["until"] if state["allowed"] else None, language()))
