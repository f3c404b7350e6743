"""Codes are single use and expire; steps run once each, in order; tokens belong to a flow."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509 import CertificateSigningRequestBuilder, Name, NameAttribute
from cryptography.x509.oid import NameOID

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError
from certcenter.clock import FrozenClock
from certcenter.entities import EnrollmentState
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory


def test_sms_code_expires_after_the_policy_time(new_flow: FlowFactory, clock: FrozenClock) -> None:
    flow = new_flow("C001")
    flow.through("phone")
    code = flow.sms_code()
    clock.advance(seconds=181)  # policy: 180 s
    assert_refusal(flow.refused("phone_verify", code), "CODE_EXPIRED")
    flow.client.step("phone/resend")  # a new code works
    flow.phone_verify()


def test_one_won_code_is_valid_for_fifteen_minutes(
    new_flow: FlowFactory, clock: FrozenClock
) -> None:
    flow = new_flow("C001")
    flow.through("account")
    clock.advance(seconds=14 * 60)
    flow.account_verify()  # still valid at 14 minutes

    late = new_flow("C002")
    late.through("account")
    clock.advance(seconds=15 * 60 + 1)
    assert_refusal(late.refused("account_verify"), "CODE_EXPIRED")


def test_a_used_code_cannot_be_used_again(new_flow: FlowFactory, center: Center) -> None:
    flow = new_flow("C001")
    flow.through("phone")
    code = flow.sms_code()
    flow.phone_verify(code)
    # The step is over: replaying it is refused, and so is the code itself.
    assert_refusal(flow.refused("phone_verify", code), "ENROLLMENT_STEP_OUT_OF_ORDER")
    with center.uow_factory() as uow:
        stored = uow.codes.latest(flow.client.enrollment_id or "", "phone")
        assert stored is not None and stored.consumed_at is not None
        assert uow.codes.consume(stored.id, center.clock.now()) is False


def test_resent_code_replaces_the_old_one(new_flow: FlowFactory, clock: FrozenClock) -> None:
    flow = new_flow("C001")
    flow.through("phone")
    old = flow.sms_code()
    clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    flow.client.step("phone/resend")
    new = flow.sms_code()
    if new != old:  # one time in a million the two codes are equal
        assert_refusal(flow.refused("phone_verify", old), "CODE_INVALID")
    flow.phone_verify(new)


def test_wrong_codes_use_up_the_tries_then_even_the_right_code_is_refused(
    new_flow: FlowFactory,
) -> None:
    flow = new_flow("C001")
    flow.through("phone")
    right = flow.sms_code()
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2, 1):
        err = flow.refused("phone_verify", wrong)
        assert_refusal(err, "CODE_INVALID")
        assert err.problem["context"]["tries_left"] == left
    assert_refusal(flow.refused("phone_verify", wrong), "CODE_TRIES_EXCEEDED")
    assert_refusal(flow.refused("phone_verify", right), "CODE_TRIES_EXCEEDED")


def test_resends_are_limited(new_flow: FlowFactory, clock: FrozenClock) -> None:
    flow = new_flow("C001")
    flow.through("phone")
    for _ in range(3):  # policy: 3 resends, 30 s apart
        clock.advance(seconds=30)
        flow.client.step("phone/resend")
    clock.advance(seconds=30)  # the flow's own limit, not the wait, refuses the fourth
    with pytest.raises(ApiError) as refused:
        flow.client.step("phone/resend")
    assert_refusal(refused.value, "CODE_RESEND_LIMIT")
    flow.phone_verify()  # the last code sent still works


def test_steps_cannot_be_skipped(new_flow: FlowFactory) -> None:
    flow = new_flow("C001")
    flow.start()
    assert_refusal(flow.refused("phone"), "ENROLLMENT_STEP_OUT_OF_ORDER")  # terms first
    flow.terms()
    assert_refusal(flow.refused("account"), "ENROLLMENT_STEP_OUT_OF_ORDER")
    assert_refusal(flow.refused("credentials"), "ENROLLMENT_STEP_OUT_OF_ORDER")
    assert_refusal(flow.refused("csr"), "ENROLLMENT_STEP_OUT_OF_ORDER")
    flow.phone()
    assert_refusal(flow.refused("id"), "ENROLLMENT_STEP_OUT_OF_ORDER")
    assert flow.client.status()["state"] == EnrollmentState.PHONE_CODE_SENT


def test_finished_flow_cannot_be_replayed(new_flow: FlowFactory) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    assert_refusal(flow.refused("csr"), "ENROLLMENT_CLOSED")
    assert_refusal(flow.refused("terms"), "ENROLLMENT_CLOSED")


def test_token_belongs_to_its_flow(new_flow: FlowFactory) -> None:
    flow = new_flow("C001")
    flow.start()
    other = new_flow("C002")
    other.start()
    flow.client.token = other.client.token  # someone else's token
    assert_refusal(flow.refused("terms"), "ENROLLMENT_TOKEN_INVALID")
    flow.client.token = None
    assert_refusal(flow.refused("terms"), "ENROLLMENT_TOKEN_INVALID")
    flow.client.enrollment_id = "00000000-0000-0000-0000-000000000000"
    flow.client.token = other.client.token
    assert_refusal(flow.refused("terms"), "ENROLLMENT_NOT_FOUND")


def test_flow_expires(new_flow: FlowFactory, clock: FrozenClock) -> None:
    flow = new_flow("C001")
    flow.through("phone_verify")
    clock.advance(minutes=31)  # policy: 30 minutes
    assert_refusal(flow.refused("account"), "ENROLLMENT_EXPIRED")
    assert_refusal(flow.refused("account"), "ENROLLMENT_CLOSED")


def _csr(key: object) -> str:
    builder = CertificateSigningRequestBuilder().subject_name(
        Name([NameAttribute(NameOID.COMMON_NAME, "x")])
    )
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM).decode()  # type: ignore[arg-type]


def _bad_signature_csr() -> str:
    der = bytearray(
        CertificateSigningRequestBuilder()
        .subject_name(Name([NameAttribute(NameOID.COMMON_NAME, "x")]))
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    der[-5] ^= 0x01  # inside the signature value
    body = base64.encodebytes(bytes(der)).decode()
    return f"-----BEGIN CERTIFICATE REQUEST-----\n{body}-----END CERTIFICATE REQUEST-----\n"


def test_bad_csrs_are_refused_and_the_step_can_be_retried(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C001")
    flow.through("credentials")
    cases = [
        ("not a csr at all", "CSR_MALFORMED"),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            "CSR_MALFORMED",
        ),
        (_bad_signature_csr(), "CSR_SIGNATURE_INVALID"),
        (
            _csr(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "CSR_KEY_TYPE_NOT_ALLOWED",
        ),
        (_csr(ed25519.Ed25519PrivateKey.generate()), "CSR_KEY_TYPE_NOT_ALLOWED"),
        (_csr(ec.generate_private_key(ec.SECP384R1())), "CSR_KEY_TYPE_NOT_ALLOWED"),
    ]
    for pem, code in cases:
        assert_refusal(flow.refused("csr", pem), code)
    assert flow.client.status()["state"] == "credentials_set"
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        assert uow.certificates.for_customer(customer.id) == []  # nothing was signed
    flow.csr()
    assert flow.issued is not None
