"""Races, restarts and crashes never leave two usable certificates or a half-made one."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from certcenter.bootstrap import Center, build_center
from certcenter.cli.client import ApiError
from certcenter.clock import FrozenClock
from certcenter.entities import CertificateStatus
from certcenter.pki.issuer import Issuer
from tests.conftest import LiveServer
from tests.support.flow import Flow, FlowFactory


def _usable(center: Center, number: str) -> tuple[list[Any], list[Any]]:
    with center.uow_factory() as uow:
        customer = uow.customers.by_number(number)
        assert customer is not None
        certs = uow.certificates.for_customer(customer.id, statuses=["active", "suspended"])
        devices = [d for d in uow.devices.for_customer(customer.id) if d.status == "active"]
    return list(certs), devices


def _submit_all(flows: list[Flow]) -> list[str]:
    def submit(flow: Flow) -> str:
        try:
            flow.csr()
        except ApiError as err:
            return err.code
        return "issued"

    with ThreadPoolExecutor(max_workers=len(flows)) as pool:
        return list(pool.map(submit, flows))


def test_concurrent_enrollments_of_one_customer_issue_one_certificate(
    new_flow: FlowFactory, center: Center, clock: FrozenClock
) -> None:
    flows = [new_flow("C001", keystore=f"phone-{i}") for i in range(4)]
    for flow in flows:
        flow.through("credentials")
        clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    outcomes = _submit_all(flows)
    assert outcomes.count("issued") == 1, outcomes
    assert set(outcomes) - {"issued"} <= {
        "CERTIFICATE_ALREADY_ACTIVE",
        "DEVICE_ALREADY_REGISTERED",
        "ISSUANCE_IN_PROGRESS",  # another one was signing at that moment
    }
    certs, devices = _usable(center, "C001")
    assert len(certs) == 1 and len(devices) == 1
    assert certs[0].device_id == devices[0].device_id


def test_concurrent_moves_leave_exactly_one_usable_certificate(
    new_flow: FlowFactory, center: Center, clock: FrozenClock
) -> None:
    flows = [new_flow("C012", keystore=f"new-phone-{i}") for i in range(3)]
    for flow in flows:
        flow.through("credentials", move=True)
        clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    outcomes = _submit_all(flows)
    assert "issued" in outcomes, outcomes
    certs, devices = _usable(center, "C012")
    assert len(certs) == 1 and len(devices) == 1
    assert devices[0].device_id != "demo-old-phone-c012"  # the old phone was deregistered


def test_moving_the_certificate_supersedes_the_old_one(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C012")
    flow.through("csr", move=True)
    assert flow.issued is not None
    assert flow.issued["moved_from_device"] == "demo-old-phone-c012"
    texts = [m["body"] for m in flow.messages("01020000012")]
    assert any("이용 기기로 등록되었습니다" in t for t in texts)  # told about the new phone
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C012")
        assert customer is not None
        statuses = sorted(c.status for c in uow.certificates.for_customer(customer.id))
        assert statuses == ["active", "superseded"]


def test_reissue_on_the_same_device_supersedes_the_previous_certificate(
    new_flow: FlowFactory, center: Center, clock: FrozenClock
) -> None:
    first = new_flow("C001")
    first.through("csr")
    clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    again = new_flow("C001")  # same keystore, so the same device
    again.through("csr")
    certs, devices = _usable(center, "C001")
    assert [c.serial for c in certs] == [again.issued["serial"]]  # type: ignore[index]
    assert len(devices) == 1


def test_a_restart_mid_flow_resumes_where_it_stopped(
    new_flow: FlowFactory, center: Center, api: LiveServer
) -> None:
    flow = new_flow("C001")
    flow.through("account_verify")
    center.close()
    restarted = build_center(center.settings, center.clock)  # a new process would do this
    api.serve(restarted)
    try:
        assert flow.client.status()["state"] == "account_verified"
        flow.id()
        flow.credentials()
        flow.csr()
        assert flow.issued is not None
    finally:
        restarted.close()


def test_a_crash_while_signing_leaves_a_record_and_the_step_can_be_retried(
    new_flow: FlowFactory, center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = new_flow("C001")
    flow.through("credentials")
    real_sign = Issuer.sign
    calls = {"n": 0}

    def crash_once(self: Issuer, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("the process died while the CA was signing")
        return real_sign(self, *args, **kwargs)

    monkeypatch.setattr(Issuer, "sign", crash_once)
    err = flow.refused("csr")
    assert err.status == 500 and err.code == "INTERNAL_ERROR"
    assert "RuntimeError" not in str(err.problem) and "Traceback" not in str(err.problem)
    assert flow.client.status()["state"] == "signing"
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        pending = uow.certificates.for_customer(customer.id)
        assert [c.status for c in pending] == [CertificateStatus.PENDING]
        assert pending[0].tbs and pending[0].der is None  # the intent was written ahead

    flow.csr()  # the app sends the CSR again
    assert flow.issued is not None
    with center.uow_factory() as uow:
        statuses = sorted(c.status for c in uow.certificates.for_customer(customer.id))
    assert statuses == ["abandoned", "active"]


def test_a_second_issuance_while_another_is_stuck_signing_says_so_and_when_it_may_start(
    new_flow: FlowFactory, center: Center, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = new_flow("C001")
    first.through("credentials")

    def crash(self: Issuer, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the process died while the CA was signing")

    with monkeypatch.context() as patch:
        patch.setattr(Issuer, "sign", crash)
        assert first.refused("csr").code == "INTERNAL_ERROR"
    assert first.client.status()["state"] == "signing"

    clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    second = new_flow("C001")  # the customer starts again in another window
    second.through("credentials")
    err = second.refused("csr")
    # not "you already hold an active certificate": nothing was issued
    assert (err.status, err.code) == (409, "ISSUANCE_IN_PROGRESS")
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        assert not uow.certificates.for_customer(customer.id, statuses=["active"])
        stuck = uow.enrollments.get(str(first.client.enrollment_id))
        assert stuck is not None
        expires = stuck.expires_at
    assert "(KST)" in str(err.problem)

    clock.set(expires + timedelta(seconds=1))  # the first flow expired: it no longer blocks
    third = new_flow("C001")
    third.through("credentials")
    third.csr()
    assert third.issued is not None
