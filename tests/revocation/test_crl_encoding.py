"""The hand-made DER of CRL entries and CRLs: cryptography and pkilint read it as intended."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.pki.crl import (
    FULL_CRL_SHARD,
    CrlContent,
    build_crl,
    crl_path,
    crl_shard_of,
    encode_crl_entry,
    parse_partition_name,
    partition_name,
)
from tests.revocation import lint
from tests.revocation.support import Ca

WHEN = datetime(2026, 11, 23, 5, 6, 7, 890123, tzinfo=UTC)


def _issuer(ca: Ca, family: str = "mobile") -> x509.Certificate:
    return ca.hierarchy.issuing(family).certificate


def _crl(
    ca: Ca, entries: list[bytes], *, when: datetime = WHEN, number: int = 1
) -> x509.CertificateRevocationList:
    issuer = _issuer(ca)
    content = CrlContent(
        issuer=issuer,
        number=number,
        this_update=when.replace(microsecond=0),
        next_update=when.replace(microsecond=0) + timedelta(hours=24),
        distribution_point="http://127.0.0.1:8000/crl/mobile-3.crl",
        scope="user",
    )
    der = build_crl(content, entries, lambda tbs: ca.backend.sign("mobile-ca", tbs))
    crl = x509.load_der_x509_crl(der)
    assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    return crl


@pytest.mark.parametrize(
    "reason",
    [
        x509.ReasonFlags.key_compromise,
        x509.ReasonFlags.affiliation_changed,
        x509.ReasonFlags.superseded,
        x509.ReasonFlags.cessation_of_operation,
        x509.ReasonFlags.certificate_hold,
        x509.ReasonFlags.privilege_withdrawn,
    ],
)
def test_an_entry_reads_back_with_its_reason(ca: Ca, reason: x509.ReasonFlags) -> None:
    serial = x509.random_serial_number()
    crl = _crl(ca, [encode_crl_entry(serial, WHEN, reason)])
    entry = crl.get_revoked_certificate_by_serial_number(serial)
    assert entry is not None
    assert entry.revocation_date_utc == WHEN.replace(microsecond=0)
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is reason
    assert lint.errors(lint.crl_findings(crl.public_bytes(Encoding.DER))) == []


def test_no_reason_and_unspecified_mean_no_extension(ca: Ca) -> None:
    assert encode_crl_entry(77, WHEN, None) == encode_crl_entry(
        77, WHEN, x509.ReasonFlags.unspecified
    )
    crl = _crl(ca, [encode_crl_entry(77, WHEN, None)])
    entry = crl.get_revoked_certificate_by_serial_number(77)
    assert entry is not None and len(entry.extensions) == 0
    with pytest.raises(ValueError, match="delta"):
        encode_crl_entry(77, WHEN, x509.ReasonFlags.remove_from_crl)
    with pytest.raises(ValueError, match="positive"):
        encode_crl_entry(0, WHEN, None)
    with pytest.raises(ValueError, match="timezone"):
        encode_crl_entry(77, WHEN.replace(tzinfo=None), None)


@pytest.mark.parametrize(
    "serial", [1, 127, 128, 255, 256, 2**63, 2**64 - 1, 2**158 + 12345, 2**159 - 1]
)
def test_serials_are_minimal_positive_integers(ca: Ca, serial: int) -> None:
    crl = _crl(ca, [encode_crl_entry(serial, WHEN, None)])
    assert [e.serial_number for e in crl] == [serial]


def test_times_are_utctime_until_2049_and_generalizedtime_after(ca: Ca) -> None:
    for year, tag in ((2049, 0x17), (2050, 0x18), (2126, 0x18)):
        when = WHEN.replace(year=year)
        entry = encode_crl_entry(5, when, None)
        assert entry[5] == tag  # SEQUENCE header (2), INTEGER 5 (3), then the time's tag
        crl = _crl(ca, [entry], when=when)
        assert crl.last_update_utc == when.replace(microsecond=0)
        revoked = crl.get_revoked_certificate_by_serial_number(5)
        assert revoked is not None
        assert revoked.revocation_date_utc == when.replace(microsecond=0)
    # Korean time is written as UTC
    kst = WHEN.astimezone(ZoneInfo("Asia/Seoul"))
    assert encode_crl_entry(5, kst, None) == encode_crl_entry(5, WHEN, None)


def test_an_empty_crl_has_no_revoked_certificates_field(ca: Ca) -> None:
    crl = _crl(ca, [], number=2**64)
    assert len(crl) == 0
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2**64
    assert lint.errors(lint.crl_findings(crl.public_bytes(Encoding.DER))) == []


def test_extensions_and_version(ca: Ca) -> None:
    crl = _crl(ca, [encode_crl_entry(9, WHEN, None)], number=42)
    issuer = _issuer(ca)
    assert crl.issuer == issuer.subject
    assert crl.next_update_utc == WHEN.replace(microsecond=0) + timedelta(hours=24)
    assert crl.signature_hash_algorithm is not None
    assert crl.signature_hash_algorithm.name == "sha256"
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 42
    idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    assert idp.critical
    assert idp.value.only_contains_user_certs
    assert not idp.value.only_contains_ca_certs


def test_the_root_crl_is_signed_with_sha384_and_is_complete(ca: Ca) -> None:
    root = ca.hierarchy.root.certificate
    content = CrlContent(root, 1, WHEN, WHEN + timedelta(days=1), "http://x/crl/root.crl", "all")
    der = build_crl(content, [], lambda tbs: ca.backend.sign("root-ca", tbs))
    crl = x509.load_der_x509_crl(der)
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    assert crl.signature_hash_algorithm is not None
    assert crl.signature_hash_algorithm.name == "sha384"
    assert [e.oid for e in crl.extensions] == [
        x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        x509.oid.ExtensionOID.CRL_NUMBER,
    ]
    assert lint.errors(lint.crl_findings(der)) == []


def test_a_wrong_key_does_not_verify(ca: Ca) -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    content = CrlContent(_issuer(ca), 1, WHEN, WHEN + timedelta(hours=1), "http://x/c", "user")
    der = build_crl(content, [], lambda tbs: other.sign(tbs, ec.ECDSA(hashes.SHA256())))
    crl = x509.load_der_x509_crl(der)
    assert not crl.is_signature_valid(_issuer(ca).public_key())  # type: ignore[arg-type]


def test_bad_content_is_refused(ca: Ca) -> None:
    content = CrlContent(_issuer(ca), 1, WHEN, WHEN, "http://x/c", "user")
    with pytest.raises(ValueError, match="nextUpdate"):
        build_crl(content, [], lambda tbs: b"")


def test_twenty_thousand_entries(ca: Ca) -> None:
    rng = random.Random(2026)  # noqa: S311 - reproducible test data
    serials = sorted({rng.getrandbits(159) | 1 for _ in range(20_000)})
    reasons = [None, x509.ReasonFlags.key_compromise, x509.ReasonFlags.certificate_hold]
    entries = [
        encode_crl_entry(serial, WHEN - timedelta(minutes=i), reasons[i % 3])
        for i, serial in enumerate(serials)
    ]
    crl = _crl(ca, entries)
    assert len(crl) == len(serials)
    assert [e.serial_number for e in crl] == serials
    for i in (0, 1, 2, 9_999, len(serials) - 1):
        entry = crl.get_revoked_certificate_by_serial_number(serials[i])
        assert entry is not None
        assert entry.revocation_date_utc == (WHEN - timedelta(minutes=i)).replace(microsecond=0)
    assert crl.get_revoked_certificate_by_serial_number(2) is None


def test_shards_and_names() -> None:
    assert crl_shard_of(35, 16) == 3
    assert crl_shard_of(2**159 - 1, 16) == 15
    assert crl_shard_of(12345, 1) == 0
    counts = [0] * 16
    for _ in range(3200):
        counts[crl_shard_of(x509.random_serial_number(), 16)] += 1
    assert min(counts) > 100  # random serials fill partitions evenly
    with pytest.raises(ValueError, match="shards"):
        crl_shard_of(5, 0)

    assert partition_name("mobile", 3) == "mobile-3"
    assert partition_name("mobile", FULL_CRL_SHARD) == "mobile"
    assert partition_name("root", 0) == "root"
    assert crl_path("mobile", 15) == "/crl/mobile-15.crl"
    assert parse_partition_name("mobile-15") == ("mobile", 15)
    assert parse_partition_name("mobile") == ("mobile", FULL_CRL_SHARD)
    assert parse_partition_name("root") == ("root", 0)
    for bad in ("root-1", "mobile-01", "mobile--1", "Mobile-1", "mobile-1000", "", "../x"):
        assert parse_partition_name(bad) is None, bad
