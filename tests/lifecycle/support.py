"""Helpers for lifecycle tests: a customer holding a certificate on their app, acting on it."""

from __future__ import annotations

from typing import Any

from certcenter.cli.client import ApiError
from tests.support.flow import Flow

PIN = "591734"


def act(flow: Flow, purpose: str, *, pin: str = PIN, reason: str | None = None) -> Any:
    """Do a device-authorised action from the flow's app; returns the API's answer."""
    assert flow.issued is not None
    device = flow.device.device_id
    serial = flow.current_serial()
    paths = {
        "revoke": f"/v1/certificates/{serial}/revoke",
        "renew": f"/v1/certificates/{serial}/renew",
        "release": f"/v1/certificates/{serial}/release",
        "deregister": f"/v1/devices/{device}/deregister",
    }
    extra = {"reason": reason} if reason else None
    return flow.client.device_action(
        device,
        purpose,
        flow.keystore.sign,
        pin,
        paths[purpose],
        extra,
        send_device_id=purpose != "deregister",
    )


def refused(work: Any) -> ApiError:
    try:
        work()
    except ApiError as err:
        return err
    raise AssertionError("not refused")
