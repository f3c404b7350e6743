"""What a customer does from the app: revoke, lost phone and release, deregister, renew —
and what the center refuses."""

from __future__ import annotations

from cryptography import x509

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from tests.lifecycle.support import act, refused
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory


def _status(center: Center, serial: str) -> str:
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
    assert record is not None
    return record.status


def test_customer_revokes_from_the_app_and_it_is_idempotent(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    serial = flow.current_serial()
    answer = act(flow, "revoke", reason="keyCompromise")
    assert answer == {"serial": serial, "status": "revoked", "changed": True, "replaced_by": None}
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
        assert record is not None
        assert record.revocation_reason == "keyCompromise" and record.crl_entry
        trail = uow.audit.for_subject("certificate", serial)
        assert trail[0].action == "revoke"
        assert trail[0].actor_kind == "customer" and trail[0].actor == "C001"
    # Revoking again from the same app is told it is already revoked, and renewing that the
    # certificate is revoked (with the reason and the way to a new one), not that the phone is
    # unknown.
    again = refused(lambda: act(flow, "revoke"))
    assert_refusal(again, "CERTIFICATE_ALREADY_REVOKED")
    assert "keyCompromise" in str(again.problem)
    renewing = refused(lambda: act(flow, "renew"))
    assert_refusal(renewing, "CERTIFICATE_REVOKED")
    assert "keyCompromise" in str(renewing.problem)
    assert "certcenter app enroll" in renewing.text("en")


def test_a_second_revocation_already_under_way_is_told_it_is_already_revoked(
    new_flow: FlowFactory,
) -> None:
    """Two taps on 폐기: both challenges were issued while the phone was registered; the
    second proof reaches the revocation after the first revoked the certificate."""
    flow = new_flow("C002")
    flow.through("csr")
    device, serial, client = flow.device.device_id, flow.current_serial(), flow.client
    proofs = []
    for _ in range(2):
        issued = client._send("POST", f"/v1/devices/{device}/challenges", {"purpose": "revoke"})
        proofs.append(
            {
                "device_id": device,
                "challenge": issued["challenge"],
                "signature": flow.keystore.sign(issued["sign"].encode()),
                "pin": "591734",
            }
        )
    first = client._send("POST", f"/v1/certificates/{serial}/revoke", proofs[0])
    assert first["status"] == "revoked" and first["changed"] is True
    err = refused(lambda: client._send("POST", f"/v1/certificates/{serial}/revoke", proofs[1]))
    assert_refusal(err, "CERTIFICATE_ALREADY_REVOKED")
    assert err.status == 409


def test_revoking_frees_the_customer_to_enrol_a_new_phone(
    new_flow: FlowFactory, center: Center, clock: FrozenClock
) -> None:
    """The phone leaves with its revoked certificate (1인 1기기): a new phone enrols without
    moving anything, where it was refused DEVICE_ALREADY_REGISTERED before."""
    old = new_flow("C001")
    old.through("csr")
    serial = old.current_serial()
    act(old, "revoke", reason="keyCompromise")
    with center.uow_factory() as uow:
        assert uow.devices.active_by_device_id(old.device.device_id) is None
        trail = uow.audit.for_subject("device", old.device.device_id)
        assert [e.action for e in trail] == ["deregister_device"]
        assert trail[0].details["certificate"] == serial
    clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    new = new_flow("C001", keystore="new-phone")
    new.through("csr")
    assert new.issued is not None and new.issued["moved_from_device"] is None


def test_wrong_pin_or_signature_counts_towards_the_lock_without_saying_which(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    for left in (4, 3, 2):
        err = refused(lambda: act(flow, "revoke", pin="000000"))
        assert_refusal(err, "DEVICE_AUTH_FAILED")
        assert err.problem["context"]["tries_left"] == left
    # the customer is warned before the last try
    assert_refusal(refused(lambda: act(flow, "revoke", pin="000000")), "AUTH_LAST_TRY")
    assert_refusal(refused(lambda: act(flow, "revoke", pin="000000")), "PIN_LOCKED")
    assert_refusal(refused(lambda: act(flow, "revoke")), "PIN_LOCKED")  # even the right PIN
    assert _status(center, flow.current_serial()) == "active"


def test_challenges_are_single_use_bound_and_expire(
    new_flow: FlowFactory, clock: FrozenClock
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    device = flow.device.device_id
    serial = flow.current_serial()
    client = flow.client
    issued = client._send("POST", f"/v1/devices/{device}/challenges", {"purpose": "renew"})
    proof = {
        "device_id": device,
        "challenge": issued["challenge"],
        "signature": flow.keystore.sign(issued["sign"].encode()),
        "pin": "591734",
    }
    # Used for another purpose than it was issued for:
    err = refused(lambda: client._send("POST", f"/v1/certificates/{serial}/revoke", proof))
    assert_refusal(err, "CHALLENGE_INVALID")
    # Expired:
    issued = client._send("POST", f"/v1/devices/{device}/challenges", {"purpose": "renew"})
    proof.update(
        challenge=issued["challenge"], signature=flow.keystore.sign(issued["sign"].encode())
    )
    clock.advance(seconds=121)
    err = refused(lambda: client._send("POST", f"/v1/certificates/{serial}/renew", proof))
    assert_refusal(err, "CHALLENGE_INVALID")
    # Signed by another key:
    other = new_flow("C002")
    other.through("csr")
    issued = client._send("POST", f"/v1/devices/{device}/challenges", {"purpose": "renew"})
    proof.update(
        challenge=issued["challenge"], signature=other.keystore.sign(issued["sign"].encode())
    )
    err = refused(lambda: client._send("POST", f"/v1/certificates/{serial}/renew", proof))
    assert_refusal(err, "DEVICE_AUTH_FAILED")
    # Used once, then replayed:
    issued = client._send("POST", f"/v1/devices/{device}/challenges", {"purpose": "renew"})
    proof.update(
        challenge=issued["challenge"], signature=flow.keystore.sign(issued["sign"].encode())
    )
    client._send("POST", f"/v1/certificates/{serial}/renew", proof)
    err = refused(lambda: client._send("POST", f"/v1/certificates/{serial}/renew", proof))
    assert_refusal(err, "CHALLENGE_INVALID")


def test_lost_phone_report_confirmed_with_the_account_suspends_and_the_found_phone_releases(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    serial = flow.current_serial()
    started = flow.client.lost_phone(
        carrier="SKT", name="김민준", rrn_front="900315-1", phone="01020000001"
    )
    assert set(started) == {"report_id", "expires_at", "media"}
    assert _status(center, serial) == "active"  # the details alone suspend nothing
    answer = flow.client.lost_phone_confirm(
        started["report_id"],
        "account",
        account_number="12340100000001",
        account_password="2580",
    )
    assert answer == [
        {"serial": serial, "status": "suspended", "changed": True, "replaced_by": None}
    ]
    assert _status(center, serial) == "suspended"
    # Someone else's details start a report like any other, which never confirms.
    other = flow.client.lost_phone(
        carrier="SKT", name="최유진", rrn_front="920505-2", phone="01020000001"
    )
    assert set(other) == set(started) and other["media"] == started["media"]
    err = refused(
        lambda: flow.client.lost_phone_confirm(
            other["report_id"],
            "account",
            account_number="12340100000001",
            account_password="2580",
        )
    )
    assert_refusal(err, "AUTH_FAILED")
    assert_refusal(refused(lambda: act(flow, "renew")), "CERTIFICATE_SUSPENDED")
    released = act(flow, "release")
    assert released["status"] == "active"
    assert _status(center, serial) == "active"


def test_deregistering_the_device_revokes_and_frees_the_customer_for_a_new_phone(
    new_flow: FlowFactory, center: Center, clock: FrozenClock
) -> None:
    old = new_flow("C001")
    old.through("csr")
    serial = old.current_serial()
    [outcome] = act(old, "deregister")
    assert outcome["status"] == "revoked"
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
        assert record is not None and record.revocation_reason == "cessationOfOperation"
    clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    new = new_flow("C001", keystore="new-phone")  # no "move" needed now
    new.through("csr")
    assert new.issued is not None and new.issued["moved_from_device"] is None


def test_customer_renews_the_same_key_for_a_new_validity(
    new_flow: FlowFactory, center: Center, clock: FrozenClock
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    first = flow.keystore.certificate()
    assert first is not None
    clock.advance(days=400)
    answer = act(flow, "renew")
    assert answer["status"] == "superseded" and answer["replaced_by"]
    shown = flow.client.certificate(answer["replaced_by"])
    renewed = x509.load_pem_x509_certificate(shown["certificate"].encode())
    assert renewed.public_key() == first.public_key()
    assert renewed.not_valid_after_utc > first.not_valid_after_utc
    assert shown["status"] == "active"
    assert _status(center, f"{first.serial_number:X}") == "superseded"


def test_shortened_reissue_from_the_registered_device_skips_proofing(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    old_serial = flow.current_serial()
    proof = flow.client.reissue_proof(flow.device.device_id, flow.keystore.sign, "591734")
    started = flow.client.start(flow.device, reissue=proof)
    assert (started["state"], started["next_step"]) == ("id_verified", "credentials")
    assert_refusal(refused(lambda: flow.phone()), "ENROLLMENT_STEP_OUT_OF_ORDER")
    flow.credentials(pin="382916")  # a new PIN with the new key
    flow.csr()
    new_serial = flow.current_serial()
    assert new_serial != old_serial
    assert _status(center, old_serial) == "superseded"
    assert _status(center, new_serial) == "active"


def test_shortened_reissue_needs_the_device_proof(new_flow: FlowFactory) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    proof = flow.client.reissue_proof(flow.device.device_id, flow.keystore.sign, "000000")
    err = refused(lambda: flow.client.start(flow.device, reissue=proof))
    assert_refusal(err, "DEVICE_AUTH_FAILED")
    stranger = new_flow("C002")  # a device with no certificate cannot take the short way
    stranger.keystore.ensure_device(platform="android", model="x", app_version="5.2.0")
    err = refused(
        lambda: stranger.client._send(
            "POST", f"/v1/devices/{stranger.device.device_id}/challenges", {"purpose": "reissue"}
        )
    )
    assert_refusal(err, "DEVICE_NOT_REGISTERED")
