"""The CMP server of the real center (``center.cmp``) over the joint certificate's authority:
a registration's reference number and authorization code get a certificate by ir, the
certConf confirms it, a wrong code is counted against the reference, kur renews and rr
revokes — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.joint.kinds import AUTHORIZATION_FACTOR
from tests.cmp.cmp_client import Answer, CmpClient, Mac, read
from tests.joint.support import Registered, Registrant, rsa_key


def send(center: Center, der: bytes) -> Answer:
    answer = center.cmp.handle(der)
    assert answer.http_status == 200
    return read(answer.der)


def issue(center: Center, key: rsa.RSAPrivateKey) -> tuple[Registered, x509.Certificate]:
    registered = Registrant(center, "C001").all_steps()
    code = registered.code.encode()
    client = CmpClient()
    sent = client.ir(registered.reference, Mac(code), key)
    ip = send(center, sent.der)
    assert ip.body == "ip", ip.texts
    assert ip.certificate is not None and ip.nonce is not None and ip.mac_ok(code)
    joint_ca = center.hierarchy.issuing("joint").certificate
    assert ip.certificate.issuer == joint_ca.subject
    assert ip.extra == center.hierarchy.chain("joint")
    conf = client.cert_conf(
        sent.transaction_id, ip.nonce, ip.certificate, mac=Mac(code), reference=registered.reference
    )
    assert send(center, conf.der).body == "pkiconf"
    with center.uow_factory(read_only=True) as uow:
        row = uow.joint_registrations.by_reference(registered.reference)
        assert row is not None and row.state == "confirmed"
        record = uow.certificates.get(f"{ip.certificate.serial_number:X}")
        assert record is not None and record.status == "active"
    return registered, ip.certificate


def test_ir_and_certconf_issue_a_joint_certificate(center: Center) -> None:
    issue(center, rsa_key(0))


def test_a_wrong_authorization_code_is_counted_against_the_reference(center: Center) -> None:
    registered = Registrant(center, "C001").all_steps()
    answer = send(center, CmpClient().ir(registered.reference, Mac(b"wrong"), rsa_key(0)).der)
    assert answer.failure == {"badMessageCheck"}
    with center.uow_factory(read_only=True) as uow:
        counter = uow.factors.get(registered.ref.enrollment_id, AUTHORIZATION_FACTOR)
    assert counter is not None and counter.failures == 1


def test_an_ec_key_is_refused_as_a_bad_template(center: Center) -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    registered = Registrant(center, "C001").all_steps()
    key = ec.generate_private_key(ec.SECP256R1())
    answer = send(
        center, CmpClient().ir(registered.reference, Mac(registered.code.encode()), key).der
    )
    assert answer.failure == {"badCertTemplate"}
    assert any("JOINT_KEY_NOT_RSA_2048" in text for text in answer.texts)


@pytest.mark.policy(joint_renewal_window_days=400)
def test_kur_renews_and_rr_revokes(center: Center) -> None:
    old_key = rsa_key(0)
    _, old = issue(center, old_key)
    client = CmpClient()
    new_key = rsa_key(1)
    sent = client.kur(old_key, old, new_key)
    kup = send(center, sent.der)
    assert kup.body == "kup", kup.texts
    assert kup.certificate is not None and kup.nonce is not None
    assert kup.signed_by(center.cmp.responder.current().certificate)
    conf = client.cert_conf(
        sent.transaction_id, kup.nonce, kup.certificate, key=old_key, signer=old
    )
    assert send(center, conf.der).body == "pkiconf"
    renewed = kup.certificate
    assert renewed.subject == old.subject
    revoked = send(center, CmpClient().rr(new_key, renewed, reason=1).der)
    assert revoked.body == "rp", revoked.texts
    with center.uow_factory(read_only=True) as uow:
        record = uow.certificates.get(f"{renewed.serial_number:X}")
        assert record is not None and record.status == "revoked"
    again = send(center, CmpClient().rr(new_key, renewed).der)
    assert again.failure == {"certRevoked"}


def test_the_job_runner_rejects_a_certificate_whose_certconf_never_came(
    center: Center, clock: FrozenClock
) -> None:
    registered = Registrant(center, "C001").all_steps()
    code = registered.code.encode()
    client = CmpClient()
    sent = client.ir(registered.reference, Mac(code), rsa_key(0))
    ip = send(center, sent.der)
    assert ip.certificate is not None and ip.nonce is not None
    serial = f"{ip.certificate.serial_number:X}"
    assert center.jobs.run_once().cmp_rejected == []  # still waiting
    clock.advance(seconds=center.settings.policy.cmp_confirm_wait_seconds)
    report = center.jobs.run_once()
    assert report.cmp_rejected == [sent.transaction_id.hex()]
    with center.uow_factory(read_only=True) as uow:
        record = uow.certificates.get(serial)
        assert record is not None and record.status == "revoked"
        row = uow.joint_registrations.by_reference(registered.reference)
        assert row is not None and row.state == "rejected"
    late = client.cert_conf(
        sent.transaction_id, ip.nonce, ip.certificate, mac=Mac(code), reference=registered.reference
    )
    assert send(center, late.der).failure == {"badRequest"}
