"""A block must be earned: requests from another address that only name C001's device id never
get C001's real device a 24-hour block."""

from __future__ import annotations

import httpx

from certcenter.bootstrap import Center
from tests.support.flow import FlowFactory


def test_counting_naming_a_device_id_does_not_block_its_owner(
    new_flow: FlowFactory, center: Center
) -> None:
    owner = new_flow("C001")
    owner.through("csr")
    device = owner.device
    url = str(owner.client.http.base_url)
    body = {
        "device": {
            "device_id": device.device_id,
            "platform": "android",
            "model": "SM-S928N",
            "app_version": "5.2.0",
            "integrity": {"rooted": True},
        },
        "move_certificate": False,
    }
    limit = center.settings.policy.failure_max_in_window
    with httpx.Client(base_url=url, headers={"X-Forwarded-For": "198.51.100.23"}) as http:
        codes = [http.post("/v1/enrollments", json=body).json()["code"] for _ in range(limit + 3)]
    assert set(codes) == {"DEVICE_ROOTED"}, codes
    with center.uow_factory() as uow:
        assert uow.blocks.active("device", device.device_id, center.clock.now()) is None
    # the owner's real device still starts a flow
    assert owner.client.start(device)["enrollment_id"]
