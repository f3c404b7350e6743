"""The KISA VID of a joint certificate: its layout as OpenSSL reads it, and its hash checked
by OpenSSL's own DER builder and digest rather than by our code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given
from hypothesis import strategies as st

from certcenter.errors import CertCenterError
from certcenter.pki.vid import (
    ID_KISA_IDENTIFY_DATA,
    RANDOM_NUM_BYTES,
    new_random_num,
    read_identity,
    vid_matches,
    vid_other_name,
    virtual_id,
)
from tests.support.throwaway_ca import ThrowawayCa

RRN = "900101-1234567"
OTHER_RRN = "900101-1234568"
RANDOM = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f00112233f")


@pytest.fixture(scope="module")
def ca() -> ThrowawayCa:
    return ThrowawayCa.make()


@pytest.fixture(scope="module")
def certificate(ca: ThrowawayCa) -> x509.Certificate:
    return ca.issue("홍길동", vid=vid_other_name("홍길동", RRN, RANDOM)).certificate


def _asn1parse(der: bytes, tmp_path: Path, *extra: str) -> str:
    path = tmp_path / "value.der"
    path.write_bytes(der)
    done = subprocess.run(
        ["openssl", "asn1parse", "-inform", "DER", "-in", str(path), "-i", *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_the_right_number_and_random_value_match(certificate: x509.Certificate) -> None:
    assert vid_matches(certificate, RRN, RANDOM)
    assert vid_matches(certificate, "9001011234567", RANDOM)
    assert vid_matches(certificate, " 900101 1234567 ", RANDOM)


def test_another_number_or_random_value_does_not_match(certificate: x509.Certificate) -> None:
    assert not vid_matches(certificate, OTHER_RRN, RANDOM)
    assert not vid_matches(certificate, RRN, bytes(RANDOM_NUM_BYTES))
    assert not vid_matches(certificate, RRN, RANDOM[:-1] + b"\x00")
    assert not vid_matches(certificate, RRN, b"short")


def test_a_certificate_without_a_vid_matches_nothing(ca: ThrowawayCa) -> None:
    plain = ca.issue("홍길동").certificate
    assert read_identity(plain) is None
    assert not vid_matches(plain, RRN, RANDOM)


@pytest.mark.parametrize(
    "rrn", ["", "900101-123456", "90010112345678", "ㅇ00101-1234567", "9001011２34567"]
)
def test_a_malformed_resident_number_is_refused(certificate: x509.Certificate, rrn: str) -> None:
    with pytest.raises(CertCenterError) as refused:
        vid_matches(certificate, rrn, RANDOM)
    assert refused.value.code == "RRN_INVALID"
    with pytest.raises(CertCenterError):
        vid_other_name("홍길동", rrn, RANDOM)


def test_the_identity_is_read_back(certificate: x509.Certificate) -> None:
    identity = read_identity(certificate)
    assert identity is not None
    assert identity.real_name == "홍길동"
    assert identity.hash_algorithm == "sha256"
    assert identity.virtual_id == virtual_id(RRN, RANDOM)


def test_openssl_reads_the_kisa_layout(certificate: x509.Certificate, tmp_path: Path) -> None:
    """identifyData as KISA's certificates carry it: UTF8String name, id-VID, sha256 without
    parameters, the virtual ID as [0] EXPLICIT OCTET STRING of 32 bytes."""
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    (name,) = san.value.get_values_for_type(x509.OtherName)
    assert name.type_id.dotted_string == ID_KISA_IDENTIFY_DATA
    # openssl prints "offset:d=depth hl=… l=… prim: TYPE :value"; keep the type and the value
    shapes = [
        " ".join(line.split("prim:" if "prim:" in line else "cons:")[-1].split())
        for line in _asn1parse(name.value, tmp_path).splitlines()
    ]
    assert shapes[0] == "SEQUENCE"
    assert shapes[1] == "UTF8STRING :홍길동"
    assert shapes[4] == "OBJECT :1.2.410.200004.10.1.1.1"
    assert shapes[6] == "SEQUENCE"
    assert shapes[7] == "OBJECT :sha256"
    assert shapes[8] == "cont [ 0 ]"
    assert shapes[9].startswith("OCTET STRING [HEX DUMP]:")
    assert len(shapes) == 10  # nothing else: no NULL parameters, nothing after the VID
    assert shapes[9].endswith(virtual_id(RRN, RANDOM).hex().upper())


def test_openssl_computes_the_same_virtual_id(
    certificate: x509.Certificate, tmp_path: Path
) -> None:
    """HashContent built by OpenSSL's ASN1_generate_nconf and hashed twice by openssl dgst."""
    config = tmp_path / "hashcontent.cnf"
    config.write_text(
        "asn1 = SEQUENCE:hash_content\n"
        "[hash_content]\n"
        "idn = PRINTABLESTRING:9001011234567\n"
        f"random_num = FORMAT:HEX,BITSTRING:{RANDOM.hex()}\n"
    )
    content = tmp_path / "hashcontent.der"
    subprocess.run(
        ["openssl", "asn1parse", "-genconf", str(config), "-noout", "-out", str(content)],
        check=True,
        capture_output=True,
    )
    inner = tmp_path / "inner.bin"
    subprocess.run(
        ["openssl", "dgst", "-sha256", "-binary", "-out", str(inner), str(content)],
        check=True,
        capture_output=True,
    )
    outer = subprocess.run(
        ["openssl", "dgst", "-sha256", "-binary", str(inner)], check=True, capture_output=True
    ).stdout
    identity = read_identity(certificate)
    assert identity is not None
    assert identity.virtual_id == outer


def test_openssl_reads_the_certificate(certificate: x509.Certificate, tmp_path: Path) -> None:
    path = tmp_path / "signCert.der"
    path.write_bytes(certificate.public_bytes(Encoding.DER))
    shown = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-in", str(path), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "othername" in shown.lower()


def test_a_sha1_vid_of_older_certificates_is_checked(ca: ThrowawayCa) -> None:
    from asn1crypto import core

    from certcenter.pki import vid as module

    old = module._Vid(
        {"hash_alg": {"algorithm": "sha1"}, "virtual_id": virtual_id(RRN, RANDOM, "sha1")}
    )
    data = module._IdentifyData(
        {
            "real_name": "홍길동",
            "user_infos": [{"id_type": module.ID_KISA_VID, "id_value": core.Any(old)}],
        }
    )
    name = x509.OtherName(x509.ObjectIdentifier(ID_KISA_IDENTIFY_DATA), data.dump())
    certificate = ca.issue("홍길동", vid=name).certificate
    assert vid_matches(certificate, RRN, RANDOM)
    assert not vid_matches(certificate, OTHER_RRN, RANDOM)


def test_a_fresh_random_value_is_twenty_bytes_and_new() -> None:
    assert len(new_random_num()) == RANDOM_NUM_BYTES
    assert new_random_num() != new_random_num()


@given(value=st.binary(max_size=200))
def test_unreadable_identify_data_is_no_identity(value: bytes) -> None:
    from certcenter.pki.vid import _parse

    parsed = _parse(value)
    assert parsed is None or isinstance(parsed.real_name, str)
