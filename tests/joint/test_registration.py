"""The registration's steps and their refusals; the 범용 fee charged and given back."""

from __future__ import annotations

import pytest
from cryptography import x509

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.joint.registration import MediumAnswer
from certcenter.media.otp import totp
from tests.joint.support import Registrant, account_of, enroll, rrn_of
from tests.media.test_otp_service import register as register_otp
from tests.media.test_otp_service import secret_of


def refused(work) -> CertCenterError:  # type: ignore[no-untyped-def]
    with pytest.raises(CertCenterError) as caught:
        work()
    return caught.value


def balance(center: Center, person: str) -> int:
    row = center.sim_store.account(*account_of(person))
    assert row is not None
    return int(row["balance"])


def statement_texts(center: Center, person: str) -> list[tuple[str, int]]:
    return [
        (str(r["description"]), int(r["amount"]))
        for r in center.sim_store.statement(*account_of(person))
    ]


def test_general_registration_charges_the_fee(center: Center) -> None:
    before = balance(center, "C001")
    registrant = Registrant(center, "C001", "general")
    registered = registrant.all_steps()
    assert registered.detail["fee_krw"] == 4400
    assert balance(center, "C001") == before - 4400
    assert ("공동인증서 수수료", -4400) in statement_texts(center, "C001")
    enrolled, tid = enroll(center, registered)
    policies = enrolled.certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    policy = policies.value[0].policy_identifier.dotted_string
    assert policy.endswith(".1.3.1")
    center.joint_authority.confirm(tid, accepted=True)
    with center.uow_factory() as uow:
        row = uow.joint_registrations.by_reference(registered.reference)
        assert row is not None and row.fee_state == "kept"


def test_the_fee_is_refunded_when_the_reference_expires(center: Center, clock: FrozenClock) -> None:
    before = balance(center, "C001")
    registered = Registrant(center, "C001", "general").all_steps()
    assert center.joint_fees.refund_expired() == 0  # not expired yet
    clock.advance(days=7)
    report = center.jobs.run_once()
    assert report.joint_refunded == 1
    assert balance(center, "C001") == before
    assert ("공동인증서 수수료 환불", 4400) in statement_texts(center, "C001")
    with center.uow_factory() as uow:
        row = uow.joint_registrations.by_reference(registered.reference)
        assert row is not None
        assert (row.state, row.fee_state) == ("expired", "refunded")
        assert row.vid_random_sealed is None
    assert center.joint_fees.refund_expired() == 0  # once
    assert balance(center, "C001") == before


def test_the_fee_is_refunded_when_the_certificate_is_rejected(center: Center) -> None:
    before = balance(center, "C001")
    registered = Registrant(center, "C001", "general").all_steps()
    _, tid = enroll(center, registered)
    center.joint_authority.confirm(tid, accepted=False)
    assert balance(center, "C001") == before


def test_general_needs_an_own_account(center: Center) -> None:
    registrant = Registrant(center, "C001", "general")
    registrant.start()
    registrant.identify()
    registrant.card()
    registrant.sms()
    assert refused(lambda: registrant.register(("004", ""))).code == "JOINT_FEE_ACCOUNT_REQUIRED"
    other = account_of("C004")
    assert refused(lambda: registrant.register(other)).code == "ACCOUNT_NOT_OWN"
    registered = registrant.register()
    assert registered.detail["fee_krw"] == 4400


def test_refusals_of_the_steps(center: Center, clock: FrozenClock) -> None:
    service = center.joint_registrations
    assert (
        refused(
            lambda: service.start(
                "gold", service.policy.joint_required_terms, client_ip="211.36.1.1"
            )
        ).code
        == "JOINT_KIND_INVALID"
    )
    assert (
        refused(lambda: service.start("banking", [], client_ip="211.36.1.1")).code
        == "TERMS_NOT_ACCEPTED"
    )
    registrant = Registrant(center, "C001")
    ref = registrant.start()
    wrong_rrn = refused(lambda: registrant.identify("900315-1512542"))
    assert wrong_rrn.code in ("JOINT_IDENTITY_NOT_CONFIRMED", "RRN_INVALID")
    other_rrn = rrn_of("C004")  # a real person, not the one the user ID names
    assert refused(lambda: registrant.identify(other_rrn)).code == "JOINT_IDENTITY_NOT_CONFIRMED"
    registrant.identify()
    # a medium the joint certificate does not take
    assert refused(lambda: service.choose_medium(ref, "account")).code == "JOINT_MEDIUM_NOT_ALLOWED"
    # the wrong card answer
    assert refused(lambda: registrant.card(wrong=True)).code in ("AUTH_FAILED", "AUTH_LAST_TRY")
    registrant.card()
    # the wrong SMS code
    service.send_code(ref)
    assert refused(lambda: service.verify_code(ref, "000000")).code == "CODE_INVALID"
    # out of order: no reference before the code is right
    assert refused(lambda: service.register(ref)).code == "ENROLLMENT_STEP_OUT_OF_ORDER"
    clock.advance(seconds=60)
    registrant.sms()
    registered = registrant.register()
    # the flow is closed now
    assert refused(lambda: service.register(ref)).code == "ENROLLMENT_CLOSED"
    assert registered.reference
    with center.uow_factory() as uow:
        row = uow.joint_registrations.get(ref.enrollment_id)
        assert row is not None
        assert registered.code.encode() not in bytes(row.authorization_sealed or b"")
        assert "900315" not in str(row.data)


def test_an_expired_flow_is_refused(center: Center, clock: FrozenClock) -> None:
    registrant = Registrant(center, "C001")
    registrant.start()
    clock.advance(minutes=31)
    assert refused(registrant.identify).code == "ENROLLMENT_EXPIRED"


def test_the_mobile_otp_as_the_medium(center: Center, clock: FrozenClock) -> None:
    _, made = register_otp(center, "C001")
    clock.advance(seconds=60)  # a new time step, and the next SMS may go out
    registrant = Registrant(center, "C001")
    ref = registrant.start()
    registrant.identify()
    service = center.joint_registrations
    asked = service.choose_medium(ref, "otp")
    assert asked.state == "medium_pending"
    wrong = refused(lambda: service.verify_medium(ref, MediumAnswer(otp_code="000000")))
    assert wrong.code in ("AUTH_FAILED", "AUTH_LAST_TRY")
    done = service.verify_medium(ref, MediumAnswer(otp_code=totp(secret_of(made), clock.now())))
    assert done.state == "medium_verified"
    registrant.sms()
    assert registrant.register().reference
