"""The app's login: the device signs a login challenge after the PIN (or pattern, or with
the biometric-bound key) and keeps the session token, private to this user, for later commands.

    with logged_in_client(keystore_dir, url) as client:   # logs in when needed (asks the PIN)
        client.call("GET", "/v1/transfers")
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.keystore import Keystore

SESSION_FILE = "session.json"


def login(
    client: CenterClient,
    store: Keystore,
    *,
    method: str = "pin",
    pin: str | None = None,
    pattern: list[int] | None = None,
) -> dict[str, Any]:
    """Log in from this keystore's device; sets ``client.token`` to the session token."""
    device = store.device()
    if device is None or store.certificate() is None:
        raise click.ClickException("no certificate on this device: run `certcenter app enroll`")
    client.token = None
    issued = client.call("POST", "/v1/login/challenges", {"device_id": device.device_id})
    key = "biometric" if method == "biometric" else "certificate"
    body: dict[str, Any] = {
        "device_id": device.device_id,
        "challenge": issued["challenge"],
        "signature": store.sign(issued["sign"].encode(), key=key),
        "method": method,
    }
    if method == "pin":
        body["pin"] = pin
    elif method == "pattern":
        body["pattern"] = pattern
    session: dict[str, Any] = client.call("POST", "/v1/login", body)
    client.token = session["token"]
    return session


def save_session(store: Keystore, session: dict[str, Any]) -> None:
    path = store.directory / SESSION_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"token": session["token"], "customer": session["customer_number"]}, handle)


def forget_session(store: Keystore) -> None:
    (store.directory / SESSION_FILE).unlink(missing_ok=True)


def logged_in_client(keystore: Path, url: str, *, lang: str = "ko") -> CenterClient:
    """A client holding a live session: the saved one if it is still good, else a new login
    (the PIN is asked for)."""
    store = Keystore(keystore)
    client = CenterClient(url, locale=lang)
    saved = store.directory / SESSION_FILE
    if saved.exists():
        try:
            client.token = json.loads(saved.read_text("utf-8"))["token"]
            client.call("GET", "/v1/session")
            return client
        except (ApiError, ValueError, KeyError):
            client.token = None
    pin = str(click.prompt("간편비밀번호 (PIN)", hide_input=sys.stdin.isatty()))
    session = login(client, store, method="pin", pin=pin)
    save_session(store, session)
    return client
