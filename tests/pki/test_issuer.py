"""Issuer: prepare an intent without the CA key, then sign exactly that intent."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from certcenter.errors import CertCenterError
from certcenter.pki import (
    CaHierarchy,
    IssuanceIntent,
    Issuer,
    SubjectInfo,
    ensure_hierarchy,
    profile,
    public_key_sha256,
    validate_csr,
)

CUSTOMER = SubjectInfo(common_name="홍길동", customer_ref="C0012345")


@pytest.fixture
def issuer(backend, hierarchy: CaHierarchy, settings, clock) -> Issuer:
    return Issuer(backend, hierarchy, settings, clock)


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def issue(issuer: Issuer, key: ec.EllipticCurvePrivateKey, subject: SubjectInfo = CUSTOMER):
    intent = issuer.prepare("mobile", key.public_key(), subject)
    return intent, issuer.sign(intent, key.public_key())


def test_signed_certificate_is_exactly_the_intent(
    issuer: Issuer, key, hierarchy: CaHierarchy
) -> None:
    intent, cert = issue(issuer, key)
    assert cert.tbs_certificate_bytes == intent.tbs
    assert cert.serial_number == intent.serial
    assert cert.subject == intent.subject
    assert cert.not_valid_before_utc == intent.not_before
    assert cert.not_valid_after_utc == intent.not_after
    assert public_key_sha256(cert.public_key()) == intent.public_key_sha256
    assert intent.profile == "mobile"
    assert intent.issuer_key_label == "mobile-ca"
    cert.verify_directly_issued_by(hierarchy.issuing("mobile").certificate)


class _NoKeys:
    """A backend that must not be touched: prepare needs no CA key."""

    name = "none"

    def __getattr__(self, item: str):
        raise AssertionError(f"prepare used the key backend ({item})")


def test_prepare_does_not_use_the_ca_key(hierarchy, settings, clock, key) -> None:
    intent = Issuer(_NoKeys(), hierarchy, settings, clock).prepare(  # type: ignore[arg-type]
        "mobile", key.public_key(), CUSTOMER
    )
    assert intent.tbs


def test_serials_are_random_positive_and_at_least_64_bits(issuer: Issuer) -> None:
    serials = [
        issuer.prepare(
            "mobile", ec.generate_private_key(ec.SECP256R1()).public_key(), CUSTOMER
        ).serial
        for _ in range(12)
    ]
    assert len(set(serials)) == len(serials)
    for serial in serials:
        assert serial > 0
        assert serial.bit_length() >= 64  # a 159-bit random number is shorter with p ≈ 2^-95
        assert (serial.bit_length() + 8) // 8 <= 20  # DER INTEGER content ≤ 20 octets


def test_validity_follows_the_policy(make_settings, backend, clock, key) -> None:
    settings = make_settings(policy={"mobile_certificate_validity_days": 365})
    issuer = Issuer(backend, ensure_hierarchy(backend, settings, clock), settings, clock)
    _, cert = issue(issuer, key)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=365)
    # back-dated 5 minutes, whole seconds
    expected_start = (clock.now() - timedelta(minutes=5)).replace(microsecond=0)
    assert cert.not_valid_before_utc == expected_start


def test_default_validity_is_730_days(issuer: Issuer, key, settings) -> None:
    _, cert = issue(issuer, key)
    assert settings.policy.mobile_certificate_validity_days == 730
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=730)


def test_validity_never_outlasts_the_issuing_ca(issuer: Issuer, key, hierarchy, clock) -> None:
    ca_end = hierarchy.issuing().certificate.not_valid_after_utc
    clock.set(ca_end - timedelta(days=100))
    _, cert = issue(issuer, key)
    assert cert.not_valid_after_utc == ca_end
    clock.set(ca_end + timedelta(seconds=1))
    with pytest.raises(RuntimeError, match="not valid"):
        issuer.prepare("mobile", key.public_key(), CUSTOMER)


def test_subject(issuer: Issuer, key, settings) -> None:
    _, cert = issue(issuer, key)
    assert [(a.oid, a.value) for a in cert.subject] == [
        (NameOID.COUNTRY_NAME, "KR"),
        (NameOID.ORGANIZATION_NAME, settings.bank_name),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "personal"),
        (NameOID.COMMON_NAME, "홍길동"),
        (NameOID.SERIAL_NUMBER, "C0012345"),
    ]
    name = "홍길동".encode()
    assert bytes([0x0C, len(name)]) + name in cert.tbs_certificate_bytes  # UTF8String
    assert b"\x13\x08C0012345" in cert.tbs_certificate_bytes  # PrintableString
    assert b"\x13\x02KR" in cert.tbs_certificate_bytes


def test_no_resident_registration_number_anywhere(issuer: Issuer, key) -> None:
    _, cert = issue(issuer, key)
    text = cert.subject.rfc4514_string()
    assert not re.search(r"\d{6}-?\d{7}", text)
    assert not re.search(rb"\d{13}", cert.public_bytes(serialization.Encoding.DER))
    for subject in (
        SubjectInfo("홍길동", "9001011234567"),
        SubjectInfo("홍길동", "900101-1234567"),
        SubjectInfo("홍길동 9001011234567", "C0012345"),
        SubjectInfo("홍길동", "C00123456789012345"),
    ):
        with pytest.raises(ValueError, match="resident registration number"):
            issuer.prepare("mobile", key.public_key(), subject)


@pytest.mark.parametrize(
    "subject",
    [
        SubjectInfo("", "C1"),
        SubjectInfo("홍길동", ""),
        SubjectInfo("x" * 65, "C1"),
        SubjectInfo("홍길동", "고객1"),
        SubjectInfo("a\x00b", "C1"),
        SubjectInfo(" 홍", "C1"),
    ],
)
def test_bad_subjects_are_refused(issuer: Issuer, key, subject: SubjectInfo) -> None:
    with pytest.raises(ValueError, match=r"common_name|customer_ref"):
        issuer.prepare("mobile", key.public_key(), subject)


def test_extensions(issuer: Issuer, key, hierarchy, settings) -> None:
    _, cert = issue(issuer, key)
    ext = cert.extensions
    constraints = ext.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca is False
    usage = ext.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert usage.value.content_commitment
    assert not (usage.value.key_cert_sign)
    assert not (usage.value.crl_sign)
    assert not (usage.value.key_agreement)
    with pytest.raises(x509.ExtensionNotFound):
        ext.get_extension_for_class(x509.ExtendedKeyUsage)
    policies = ext.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [f"{settings.bank_oid_arc}.1.1"]
    assert ext.get_extension_for_class(x509.SubjectKeyIdentifier).value == (
        x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    )
    ca_ski = (
        hierarchy.issuing()
        .certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        .value
    )
    assert ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier == (
        ca_ski.digest
    )


def test_aia_and_crl_urls_come_from_settings(make_settings, backend, clock, key) -> None:
    settings = make_settings(public_base_url="https://cert.bank.example/")
    issuer = Issuer(backend, ensure_hierarchy(backend, settings, clock), settings, clock)
    intent, cert = issue(issuer, key)
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [(d.access_method, d.access_location.value) for d in aia] == [
        (AuthorityInformationAccessOID.OCSP, "https://cert.bank.example/ocsp"),
        (AuthorityInformationAccessOID.CA_ISSUERS, "https://cert.bank.example/ca/mobile-ca.der"),
    ]
    points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [n.value for p in points for n in p.full_name or []] == [
        f"https://cert.bank.example/crl/mobile-{intent.crl_shard}.crl"
    ]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda i: replace(i, not_after=i.not_after + timedelta(days=1)),
        lambda i: replace(i, not_after=i.not_after - timedelta(seconds=1)),
        lambda i: replace(i, not_before=i.not_before - timedelta(hours=1)),
        lambda i: replace(i, serial=i.serial + 1),
        lambda i: replace(i, subject=x509.Name([*i.subject][:-1])),
        lambda i: replace(i, tbs=i.tbs[:-1] + bytes([i.tbs[-1] ^ 1])),
    ],
    ids=["later-not-after", "earlier-not-after", "earlier-not-before", "serial", "subject", "tbs"],
)
def test_a_tampered_intent_is_not_signed(issuer: Issuer, key, tamper) -> None:
    intent = issuer.prepare("mobile", key.public_key(), CUSTOMER)
    with pytest.raises(RuntimeError, match="differs from its recorded intent"):
        issuer.sign(tamper(intent), key.public_key())
    issuer.sign(intent, key.public_key())  # the untouched one still signs


def test_sign_refuses_another_public_key_or_ca_label(issuer: Issuer, key) -> None:
    intent = issuer.prepare("mobile", key.public_key(), CUSTOMER)
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(ValueError, match="public_key_sha256"):
        issuer.sign(intent, other)
    with pytest.raises(ValueError, match="public_key_sha256"):
        issuer.sign(replace(intent, public_key_sha256=public_key_sha256(other)), key.public_key())
    with pytest.raises(RuntimeError, match="root-ca"):
        issuer.sign(replace(intent, issuer_key_label="root-ca"), key.public_key())


def test_settings_changed_between_prepare_and_sign_is_caught(
    backend, hierarchy, make_settings, clock, key
) -> None:
    before = Issuer(backend, hierarchy, make_settings(), clock)
    after = Issuer(
        backend, hierarchy, make_settings(public_base_url="https://moved.example"), clock
    )
    intent = before.prepare("mobile", key.public_key(), CUSTOMER)
    with pytest.raises(RuntimeError, match="differs"):
        after.sign(intent, key.public_key())


def test_intent_survives_a_database_round_trip(issuer: Issuer, key) -> None:
    intent = issuer.prepare("mobile", key.public_key(), CUSTOMER)
    record = intent.to_record()
    assert all(isinstance(v, str) for v in record.values())
    assert IssuanceIntent.from_record(record) == intent
    # SQLite hands datetimes back without a time zone
    naive = {
        **record,
        "not_before": intent.not_before.astimezone(UTC).replace(tzinfo=None).isoformat(),
        "not_after": intent.not_after.astimezone(UTC).replace(tzinfo=None).isoformat(),
    }
    restored = IssuanceIntent.from_record(naive)
    assert issuer.sign(restored, key.public_key()).tbs_certificate_bytes == intent.tbs


def test_the_clock_moving_between_prepare_and_sign_changes_nothing(issuer, key, clock) -> None:
    intent = issuer.prepare("mobile", key.public_key(), CUSTOMER)
    clock.advance(hours=5)
    assert issuer.sign(intent, key.public_key()).not_valid_before_utc == intent.not_before


def test_key_type_and_profile_checks(issuer: Issuer) -> None:
    for public in (
        ec.generate_private_key(ec.SECP384R1()).public_key(),
        ed25519.Ed25519PrivateKey.generate().public_key(),
    ):
        with pytest.raises(CertCenterError) as caught:
            issuer.prepare("mobile", public, CUSTOMER)
        assert caught.value.code == "CSR_KEY_TYPE_NOT_ALLOWED"
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    for name in ("root-ca", "issuing-ca"):
        with pytest.raises(ValueError, match="CA profile"):
            issuer.prepare(name, p256, CUSTOMER)
    with pytest.raises(ValueError, match="unknown certificate profile"):
        issuer.prepare("server", p256, CUSTOMER)


def test_from_csr_to_certificate(issuer: Issuer, make_csr, settings, key) -> None:
    csr = make_csr(key).public_bytes(serialization.Encoding.PEM)
    checked = validate_csr(csr, profile("mobile", settings).allowed_key_kinds)
    intent = issuer.prepare("mobile", checked.public_key, CUSTOMER)
    assert intent.public_key_sha256 == checked.public_key_sha256
    cert = issuer.sign(intent, checked.public_key)
    assert cert.public_key() == key.public_key()


@pytest.mark.parametrize(
    ("bank_name", "common_name"),
    [("국민은행", "홍길동"), ('A+B "Bank", Ltd; #1 <x>', "O'Brien, Jr. + =x"), ("#Bank", "a\\b")],
)
def test_record_round_trip_keeps_awkward_names(
    make_settings, backend, clock, key, bank_name: str, common_name: str
) -> None:
    settings = make_settings(bank_name=bank_name)
    issuer = Issuer(backend, ensure_hierarchy(backend, settings, clock), settings, clock)
    intent = issuer.prepare("mobile", key.public_key(), SubjectInfo(common_name, "C-1/2=3?"))
    restored = IssuanceIntent.from_record(intent.to_record())
    assert restored == intent
    assert issuer.sign(restored, key.public_key()).subject == intent.subject
