"""Operators act with tokens and roles; the job runner applies the policies over time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef
from certcenter.storage.uow import SqlUnitOfWork
from tests.conftest import LiveServer
from tests.support.flow import FlowFactory


@pytest.fixture
def tokens(center: Center) -> dict[str, str]:
    return {
        "operator": center.operators.create("kim", ["operator"]),
        "auditor": center.operators.create("lee", ["auditor"]),
    }


def _op(api: LiveServer, token: str | None, method: str, path: str, **kw: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{api.url}/v1/operator{path}", headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


def test_operator_names_are_unique_and_checked(center: Center, tokens: dict[str, str]) -> None:
    from certcenter.errors import CertCenterError

    with pytest.raises(CertCenterError) as taken:
        center.operators.create("kim", ["auditor"])
    assert taken.value.code == "OPERATOR_EXISTS"
    with pytest.raises(CertCenterError) as bad:
        center.operators.create("Kim Lee", ["operator"])
    assert bad.value.code == "INVALID_REQUEST"
    with pytest.raises(CertCenterError) as role:
        center.operators.create("park", ["root"])
    assert role.value.code == "INVALID_REQUEST"


def test_operator_tokens_and_roles(api: LiveServer, tokens: dict[str, str]) -> None:
    assert _op(api, None, "GET", "/customers?q=C001").json()["code"] == "OPERATOR_TOKEN_INVALID"
    assert _op(api, "cco_wrong", "GET", "/customers?q=C001").status_code == 401
    forbidden = _op(api, tokens["auditor"], "GET", "/customers?q=C001")
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "OPERATOR_FORBIDDEN"
    found = _op(api, tokens["operator"], "GET", "/customers?q=김민")
    assert found.status_code == 200 and [c["number"] for c in found.json()] == ["C001"]
    assert _op(api, tokens["operator"], "GET", "/audit/verify").status_code == 403


def test_operator_revokes_suspends_releases_and_everything_is_audited(
    api: LiveServer, tokens: dict[str, str], new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    serial = flow.current_serial()
    op = tokens["operator"]
    assert _op(api, op, "POST", f"/certificates/{serial}/suspend").json()["status"] == "suspended"
    assert _op(api, op, "POST", f"/certificates/{serial}/release").json()["status"] == "active"
    not_suspended = _op(api, op, "POST", f"/certificates/{serial}/release")
    assert not_suspended.status_code == 409
    assert not_suspended.json()["code"] == "CERTIFICATE_NOT_SUSPENDED"
    bad = _op(api, op, "POST", f"/certificates/{serial}/revoke", json={"reason": "certificateHold"})
    assert bad.status_code == 422
    first = _op(api, op, "POST", f"/certificates/{serial}/revoke", json={"reason": "keyCompromise"})
    again = _op(api, op, "POST", f"/certificates/{serial}/revoke", json={"reason": "keyCompromise"})
    assert first.json()["changed"] is True and again.json()["changed"] is False  # idempotent
    suspended = _op(api, op, "POST", f"/certificates/{serial}/suspend")
    assert suspended.status_code == 409 and suspended.json()["code"] == "CERTIFICATE_REVOKED"

    view = _op(api, op, "GET", "/customers/C001").json()
    assert view["certificates"][0]["status"] == "revoked"
    assert {n["event"] for n in view["notifications"]} >= {
        "issued",
        "suspended",
        "released",
        "revoked",
    }

    trail = _op(
        api, tokens["auditor"], "GET", f"/audit?subject_kind=certificate&subject={serial}"
    ).json()
    actions = [(e["actor"], e["action"]) for e in trail]
    assert ("kim", "revoke") in actions and ("kim", "suspend") in actions
    verified = _op(api, tokens["auditor"], "GET", "/audit/verify").json()
    assert verified["ok"] is True and verified["unsealed"] > 5  # written, the sealer not run
    sealed = _op(api, tokens["auditor"], "POST", "/audit/checkpoints").json()["checkpoint"]
    assert sealed["root_hash"] and sealed["count"] > 5
    verified = _op(api, tokens["auditor"], "GET", "/audit/verify").json()
    assert verified["ok"] is True and verified["checked"] > 5


def test_operator_unlocks_a_locked_pin(
    api: LiveServer, tokens: dict[str, str], new_flow: FlowFactory
) -> None:
    from tests.lifecycle.support import act, refused

    flow = new_flow("C001")
    flow.through("csr")
    for _ in range(5):
        refused(lambda: act(flow, "revoke", pin="000000"))
    assert refused(lambda: act(flow, "revoke")).code == "PIN_LOCKED"
    assert _op(api, tokens["operator"], "POST", "/customers/C001/unlock-pin").status_code == 204
    assert act(flow, "revoke")["status"] == "revoked"


def test_unused_certificates_are_revoked_after_a_year_and_told_so(
    new_flow: FlowFactory, center: Center, clock: FrozenClock
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    serial = flow.current_serial()
    clock.advance(days=364)
    assert center.jobs.run_once().revoked_inactive == []
    clock.advance(days=2)
    report = center.jobs.run_once()
    assert serial in report.revoked_inactive  # (so is the demo world's C012 on its old phone)
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
        assert record is not None and record.revocation_reason == "cessationOfOperation"
    assert center.jobs.run_once().revoked_inactive == []  # idempotent
    messages = flow.messages("01020000001")
    assert "사용하지 않아" in messages[0]["body"]  # told so, with what to do
    from tests.lifecycle.support import act, refused
    from tests.mobile_enrollment.test_refusals import assert_refusal

    assert_refusal(refused(lambda: act(flow, "renew")), "INACTIVE_CERTIFICATE_REVOKED")


def test_certificates_used_in_their_last_year_are_renewed_once_even_by_concurrent_runners(
    new_flow: FlowFactory, center: Center, clock: FrozenClock
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    serial = flow.current_serial()
    clock.advance(days=200)
    center.lifecycle.record_use(serial)  # used in the first year: nothing to do
    assert center.jobs.run_once().renewed == {}
    clock.advance(days=200)  # now in its last year
    center.lifecycle.record_use(serial)
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(lambda _: center.jobs.run_once(), range(3)))
    renewed = [r.renewed for r in reports if r.renewed]
    assert len(renewed) == 1 and serial in renewed[0]
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        certs = uow.certificates.for_customer(customer.id)
        usable = [c for c in certs if c.status == "active"]
        assert len(usable) == 1 and usable[0].renewed_from == serial
        assert usable[0].last_used_at is not None  # the use carries over: no revocation next


def test_expired_certificates_are_marked(
    center: Center, clock: FrozenClock, new_flow: FlowFactory
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    serial = flow.current_serial()
    center.lifecycle.record_use(serial)
    clock.advance(days=731)
    center.lifecycle.record_use(serial)  # even used, it cannot be renewed after its end
    report = center.jobs.run_once()
    assert serial in report.expired
    assert center.lifecycle.certificate(serial).status == "expired"


def test_operator_actor_and_cli_actor_are_named_in_the_trail(
    center: Center, new_flow: FlowFactory
) -> None:
    flow = new_flow("C002")
    flow.through("csr")
    serial = flow.current_serial()
    center.lifecycle.suspend(serial, ActorRef.operator("cli:root", None))
    with center.uow_factory() as uow:
        [entry, *_] = uow.audit.for_subject("certificate", serial)
    assert (entry.actor_kind, entry.actor, entry.action) == ("operator", "cli:root", "suspend")


def test_an_intent_whose_flow_can_never_finish_is_abandoned_by_the_jobs(
    center: Center, clock: FrozenClock, new_flow: FlowFactory
) -> None:
    """What a server killed while it signed leaves behind: the intent pending, the flow in
    ``signing``. While the flow may still finish it stays; past the flow's expiry the job
    runner abandons it (the customer may never come back to send the CSR again)."""
    flow = new_flow("C001")
    flow.through("csr")
    serial = flow.current_serial()
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial, for_update=True)
        assert record is not None and record.enrollment_id is not None
        enrollment_id = record.enrollment_id
        record.status = "pending"
        enrollment = uow.enrollments.get(enrollment_id, for_update=True)
        assert enrollment is not None
        enrollment.state = "signing"
        uow.commit()
    with center.uow_factory() as uow:  # not expired yet: the flow may still finish
        enrollment = uow.enrollments.get(enrollment_id, for_update=True)
        assert enrollment is not None
        enrollment.expires_at = clock.now() + timedelta(minutes=5)
        uow.commit()
    assert center.jobs.run_once().intents_abandoned == []
    assert center.lifecycle.certificate(serial).status == "pending"
    clock.advance(minutes=5)  # the flow has just ended, however young its intent
    report = center.jobs.run_once()
    assert report.intents_abandoned == [serial]
    assert center.lifecycle.certificate(serial).status == "abandoned"
    assert center.jobs.run_once().intents_abandoned == []  # once


def _challenges(center: Center) -> set[str]:
    with center.uow_factory(read_only=True) as uow:
        assert isinstance(uow, SqlUnitOfWork) and uow.session is not None
        rows = uow.session.execute(text("SELECT challenge FROM device_challenges"))
        return {row[0] for row in rows}


def _use(center: Center, device_id: str) -> str:
    """A login challenge for ``device_id``, issued and used now; its value."""
    issued = center.login.challenge(device_id)
    with center.uow_factory() as uow:
        center.login.authenticator.take_challenge(
            uow, device_id=device_id, purpose="login", challenge=issued.challenge
        )
        uow.commit()
    return issued.challenge


def test_device_challenges_are_deleted_a_day_past_their_expiry(
    center: Center, clock: FrozenClock, new_flow: FlowFactory
) -> None:
    """A challenge is stored only once used, as a row per use (one per login): the jobs
    delete those a day past their expiry and keep the rest; once deleted, a challenge is
    still refused (it carries its expiry)."""
    flow = new_flow("C001")
    flow.through("csr")
    device = flow.keystore.device()
    assert device is not None
    unused = center.login.challenge(device.device_id)  # issued, never answered: no row
    old = _use(center, device.device_id)
    assert unused.challenge not in _challenges(center)
    assert old in _challenges(center)
    clock.advance(days=1)
    recent = _use(center, device.device_id)  # expires a day after the first one
    clock.advance(seconds=center.settings.policy.challenge_ttl_seconds + 1)
    report = center.jobs.run_once()
    assert report.challenges_purged >= 1
    assert "spent device challenges deleted" in report.summary()
    assert _challenges(center) == {recent}
    with center.uow_factory() as uow, pytest.raises(CertCenterError) as refused:
        center.login.authenticator.take_challenge(
            uow, device_id=device.device_id, purpose="login", challenge=old
        )
    assert refused.value.code == "CHALLENGE_INVALID"
