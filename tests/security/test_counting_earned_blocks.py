"""A block must be earned: requests from another address that only name C001's device id never
get C001's real device a 24-hour block, and a device not registered yet is blocked only at the
address its failures came from."""

from __future__ import annotations

import httpx

from certcenter.bootstrap import Center
from certcenter.risk.rules import DEVICE_AT_ADDRESS, device_at
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


def test_counting_naming_an_unregistered_device_id_blocks_it_only_where_it_failed(
    new_flow: FlowFactory, center: Center
) -> None:
    """The attack on a device not registered yet: another client names its id in failing
    starts until the block. The block holds for that client's address only; the device's own
    first flow, from its own address, starts."""
    victim = new_flow("C002")  # has a device id, not registered to anyone
    device = victim.device
    url = str(victim.client.http.base_url)
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
    attacker = "198.51.100.23"
    with httpx.Client(base_url=url, headers={"X-Forwarded-For": attacker}) as http:
        codes = [http.post("/v1/enrollments", json=body).json()["code"] for _ in range(limit + 3)]
    # the failures were the attacker's: their own address is blocked for that id
    assert codes == ["DEVICE_ROOTED"] * limit + ["TOO_MANY_ATTEMPTS"] * 3, codes
    now = center.clock.now()
    with center.uow_factory() as uow:
        assert uow.devices.active_by_device_id(device.device_id) is None
        assert uow.blocks.active("device", device.device_id, now) is None
        scoped = uow.blocks.active(DEVICE_AT_ADDRESS, device_at(device.device_id, attacker), now)
        assert scoped is not None
    # the device itself, from its own address, starts and goes on
    assert victim.client.start(device)["enrollment_id"]
    victim.terms()
