"""Creating the financial certificate: a cloud key made and kept by the key backend, a
certificate OpenSSL and pkilint accept, one per person, refusals before anything is made."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.financial.cloud import WRAPPING_KEY_LABEL
from certcenter.lifecycle.service import ActorRef
from tests.financial.support import (
    PIN,
    Browser,
    cloud_keys,
    customer,
    events,
    issue,
    openssl,
    remote_sign,
    write,
)
from tests.support.pkilint import Linter


def test_create_makes_key_certificate_account_and_device(center: Center, tmp_path: Path) -> None:
    browser = Browser()
    holder = customer(center)
    issued = issue(center, browser)

    cert = issued.certificate
    assert f"{cert.serial_number:X}" == issued.serial
    # the financial profile: its CA, its policy, 3 years
    bank = center.settings.bank_name
    issuer_cn = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert issuer_cn == f"{bank} Financial Certificate CA"
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    arc = center.settings.bank_oid_arc
    assert [p.policy_identifier.dotted_string for p in policies] == [f"{arc}.1.2"]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=1095)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == holder.name
    assert Linter().errors(cert) == []

    # OpenSSL: the certificate chains to the root through the financial CA
    ca = center.settings.ca_path
    leaf = write(tmp_path / "leaf.pem", cert.public_bytes(serialization.Encoding.PEM))
    at = str(int(center.clock.now().timestamp()) + 60)
    verified = openssl(
        "verify",
        "-attime",
        at,
        "-CAfile",
        str(ca / "root-ca.pem"),
        "-untrusted",
        str(ca / "financial-ca.pem"),
        str(leaf),
    )
    assert verified.returncode == 0, verified.stderr

    # the key: made by the backend, stored only wrapped under its key-encryption key
    (label,) = cloud_keys(center)
    with center.uow_factory() as uow:
        account = uow.cloud_accounts.active_for_customer(holder.id)
        record = uow.certificates.get(issued.serial)
        devices = uow.browser_devices.active_for_customer(holder.id)
    assert account is not None and account.key_label == label
    assert account.wrapping_key_label == WRAPPING_KEY_LABEL and account.wrapped_key
    assert not list(center.settings.keys_path.glob("fin-*"))  # no key of its own there
    if center.settings.key_backend == "software":  # the KEK opens here (pkcs11: tests/hsm)
        kek = center.keys._secret(WRAPPING_KEY_LABEL)  # type: ignore[attr-defined]
        private = serialization.load_der_private_key(
            aes_key_unwrap_with_padding(kek, account.wrapped_key[1:]), None
        )
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        assert private.public_key() == cert.public_key()
        scalar = private.private_numbers().private_value.to_bytes(32, "big")
        for path in tmp_path.rglob("*"):  # the databases, the key directory, everything
            if path.is_file():
                content = path.read_bytes()
                assert scalar not in content, path
                assert b"PRIVATE KEY" not in content or path.parent == center.settings.keys_path
    assert account.pin_hash.startswith("$argon2id$") and PIN not in account.pin_hash
    assert record is not None and record.family == "financial" and record.status == "active"
    assert record.device_id is None  # the key is in the cloud, on no device
    assert [d.id for d in devices] == [issued.device_id]
    assert devices[0].label == "집 PC"
    assert "financial_issued" in events(center, holder.id)
    assert "financial_device_registered" in events(center, holder.id)


def test_one_per_person_reissue_supersedes_and_destroys_the_old_key(center: Center) -> None:
    browser = Browser()
    first = issue(center, browser)
    (first_key,) = cloud_keys(center)
    second = issue(center, browser, pin="591734")  # same browser: stays registered once
    (second_key,) = cloud_keys(center)
    assert second_key != first_key
    assert second.replaced == (first.serial,)
    assert second.device_id == first.device_id
    holder = customer(center)
    with center.uow_factory() as uow:
        old = uow.certificates.get(first.serial)
        accounts = [uow.cloud_accounts.active_for_customer(holder.id)]
        assert uow.browser_devices.count_active(holder.id) == 1
    assert old is not None and old.status == "superseded" and old.replaced_by == second.serial
    assert accounts[0] is not None and accounts[0].key_label == second_key
    # the old certificate's status says so to relying parties
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(
            first.certificate,
            center.hierarchy().issuing("financial").certificate,
            hashes.SHA256(),
        )
        .build()
    )
    answer = ocsp.load_der_ocsp_response(
        center.revocation.ocsp.respond(request.public_bytes(serialization.Encoding.DER))
    )
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    # the new PIN is the one that works
    signed = remote_sign(center, browser, second.device_id or "", b"data", pin="591734")
    assert signed.certificate_serial == second.serial


@pytest.mark.parametrize(
    ("pin", "code"),
    [
        ("123456", "PIN_WEAK"),
        ("900315", "PIN_WEAK"),
        ("12345", "PIN_FORMAT"),
        ("a23456", "PIN_FORMAT"),
    ],
)
def test_weak_or_malformed_pins_are_refused_before_a_key_is_made(
    center: Center, pin: str, code: str
) -> None:
    with pytest.raises(CertCenterError) as caught:
        issue(center, Browser(), pin=pin)
    assert caught.value.code == code
    assert cloud_keys(center) == []


def test_bad_device_keys_are_refused_before_a_key_is_made(center: Center) -> None:
    holder = customer(center)
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    for bad in (
        b"garbage",
        b"",
        rsa_key.public_bytes(serialization.Encoding.DER, spki),
        p384.public_bytes(serialization.Encoding.DER, spki),
    ):
        with pytest.raises(CertCenterError) as caught:
            center.cloud_certificates.create(
                holder.id,
                PIN,
                device_public_key=bad,
                device_label=None,
                actor=ActorRef.customer("C001", None),
                source_ip=None,
            )
        assert caught.value.code == "FINANCIAL_DEVICE_KEY_INVALID"
    assert cloud_keys(center) == []


def test_a_failed_issuance_leaves_no_key_and_no_usable_certificate(
    center: Center, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = center.issuer

    def broken_sign(*args: object, **kwargs: object) -> x509.Certificate:
        raise RuntimeError("the CA key backend went away")

    monkeypatch.setattr(type(issuer), "sign", broken_sign)
    with pytest.raises(RuntimeError):
        issue(center, Browser())
    assert cloud_keys(center) == []
    holder = customer(center)
    with center.uow_factory() as uow:
        records = uow.certificates.for_customer(holder.id, family="financial")
        assert uow.cloud_accounts.active_for_customer(holder.id) is None
    assert [r.status for r in records] == ["abandoned"]


def test_the_customer_deletes_the_certificate(center: Center) -> None:
    browser = Browser()
    issued = issue(center, browser)
    holder = customer(center)
    revoked = center.cloud_certificates.delete(holder.id, ActorRef.customer("C001", "127.0.0.1"))
    assert revoked == [issued.serial]
    assert cloud_keys(center) == []
    with center.uow_factory() as uow:
        record = uow.certificates.get(issued.serial)
        assert uow.browser_devices.count_active(holder.id) == 0
    assert record is not None and record.status == "revoked"
    with pytest.raises(CertCenterError) as caught:
        center.remote_signer.begin(issued.device_id or "", "document", b"x")
    assert caught.value.code == "FINANCIAL_DEVICE_NOT_REGISTERED"
    with pytest.raises(CertCenterError) as again:
        center.cloud_certificates.delete(holder.id, ActorRef.customer("C001", None))
    assert again.value.code == "FINANCIAL_CERTIFICATE_NOT_FOUND"
