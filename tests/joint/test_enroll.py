"""Registration (RA) → enroll through the authority the CMP server calls → confirm."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.pki.pem import certificate_pem
from certcenter.pki.vid import vid_matches
from tests.joint.support import Registrant, enroll, rrn_of, rsa_key, spki


def test_banking_registration_enroll_and_confirm(center: Center) -> None:
    registered = Registrant(center, "C001", "banking").all_steps()
    assert len(registered.reference) == 10 and registered.reference.isdigit()
    assert len(registered.code) == 16
    assert registered.detail["fee_krw"] == 0
    enrolled, tid = enroll(center, registered)
    certificate = enrolled.certificate
    assert len(enrolled.vid_random) == 20
    assert vid_matches(certificate, rrn_of("C001"), enrolled.vid_random)
    assert (
        certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
        .value[0]
        .policy_identifier.dotted_string.endswith(".1.3.4")
    )
    cn = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert isinstance(cn, str) and cn.startswith("김민준()")
    units = [
        a.value
        for a in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    ]
    assert units == ["personal4IB", "DemoBank"]
    assert [c.subject for c in enrolled.chain] == [
        center.hierarchy.issuing("joint").certificate.subject,
        center.hierarchy().root.certificate.subject,
    ]
    # the reference is spent
    with pytest.raises(CertCenterError) as used:
        center.joint_authority.shared_secret(registered.reference)
    assert used.value.code == "JOINT_REFERENCE_USED"
    center.joint_authority.confirm(tid, accepted=True)
    with center.uow_factory() as uow:
        row = uow.joint_registrations.by_reference(registered.reference)
        assert row is not None
        assert row.state == "confirmed" and row.vid_random_sealed is None
        assert row.authorization_sealed is not None
        assert registered.code.encode() not in bytes(row.authorization_sealed)
    with pytest.raises(CertCenterError) as again:
        center.joint_authority.confirm(tid, accepted=True)
    assert again.value.code == "JOINT_TRANSACTION_UNKNOWN"


def test_openssl_verifies_the_chain(center: Center, tmp_path: Path) -> None:
    enrolled, _ = enroll(center, Registrant(center, "C001").all_steps())
    leaf = tmp_path / "leaf.pem"
    leaf.write_text(certificate_pem(enrolled.certificate))
    ca = tmp_path / "ca.pem"
    ca.write_text(certificate_pem(enrolled.chain[0]))
    root = tmp_path / "root.pem"
    root.write_text(certificate_pem(enrolled.chain[1]))
    done = subprocess.run(
        [
            "openssl",
            "verify",
            "-x509_strict",
            "-CAfile",
            str(root),
            "-untrusted",
            str(ca),
            str(leaf),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(leaf)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "sha256WithRSAEncryption" in text and "Public-Key: (2048 bit)" in text
    issuer_text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(ca)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Public-Key: (2048 bit)" in issuer_text and "rsaEncryption" in issuer_text


def test_a_rejected_certificate_is_revoked(center: Center) -> None:
    enrolled, tid = enroll(center, Registrant(center, "C001").all_steps())
    center.joint_authority.confirm(tid, accepted=False)
    with center.uow_factory() as uow:
        record = uow.certificates.get(format(enrolled.certificate.serial_number, "X"))
        assert record is not None and record.status == "revoked"
        assert record.revocation_reason == "cessationOfOperation"


def test_refusals_of_the_reference(center: Center, clock: FrozenClock) -> None:
    authority = center.joint_authority
    with pytest.raises(CertCenterError) as unknown:
        authority.shared_secret("0000000000")
    assert unknown.value.code == "JOINT_REFERENCE_UNKNOWN"
    registered = Registrant(center, "C001").all_steps()
    # a key that is not RSA-2048
    with pytest.raises(CertCenterError) as small:
        authority.enroll(
            registered.reference,
            public_key_der=spki(rsa_key(0))[:-3],
            requested_subject=None,
            transaction_id=os.urandom(16),
        )
    assert small.value.code == "JOINT_KEY_NOT_RSA_2048"
    ec_der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(CertCenterError) as not_rsa:
        authority.enroll(
            registered.reference,
            public_key_der=ec_der,
            requested_subject=None,
            transaction_id=os.urandom(16),
        )
    assert not_rsa.value.code == "JOINT_KEY_NOT_RSA_2048"
    # another subject
    other = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "홍길동()00412345678901234")])
    with pytest.raises(CertCenterError) as mismatch:
        authority.enroll(
            registered.reference,
            public_key_der=spki(rsa_key(0)),
            requested_subject=other,
            transaction_id=os.urandom(16),
        )
    assert mismatch.value.code == "JOINT_SUBJECT_MISMATCH"
    # none of these spent it; five wrong codes lock it
    assert authority.shared_secret(registered.reference) == registered.code.encode()
    for _ in range(5):
        authority.record_bad_mac(registered.reference)
    with pytest.raises(CertCenterError) as locked:
        authority.shared_secret(registered.reference)
    assert locked.value.code == "JOINT_REFERENCE_LOCKED"
    # expiry
    clock.advance(seconds=60)  # the next SMS code may go out
    late = Registrant(center, "C001").all_steps()
    clock.advance(days=7)
    with pytest.raises(CertCenterError) as expired:
        authority.shared_secret(late.reference)
    assert expired.value.code == "JOINT_REFERENCE_EXPIRED"


def test_a_reference_issues_once(center: Center) -> None:
    registered = Registrant(center, "C001").all_steps()
    enroll(center, registered)
    with pytest.raises(CertCenterError) as again:
        center.joint_authority.enroll(
            registered.reference,
            public_key_der=spki(rsa_key(1)),
            requested_subject=None,
            transaction_id=os.urandom(16),
        )
    assert again.value.code == "JOINT_REFERENCE_USED"


def test_an_outside_npki_reader_reads_the_certificate(center: Center) -> None:
    """PyPinkSign (an NPKI library, not ours) reads the joint certificate's name and policy,
    and verifies a signature of the customer's key under it."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    from pypinksign import PinkSign

    enrolled, _ = enroll(center, Registrant(center, "C001").all_steps())
    der = enrolled.certificate.public_bytes(serialization.Encoding.DER)
    reader = PinkSign(pubkey_data=der)
    assert reader.cn().startswith("김민준()")
    assert reader.cert_type_oid().endswith(".1.3.4")
    signature = rsa_key(0).sign(b"transfer 10000", padding.PKCS1v15(), hashes.SHA256())
    assert reader.verify(signature, b"transfer 10000")
    assert not reader.verify(signature, b"transfer 99999")
