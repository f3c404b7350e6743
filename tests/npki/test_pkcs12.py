"""The .pfx: read by openssl pkcs12 (no -legacy) and PyPinkSign, OpenSSL's own exports
imported, the VID random value kept inside the encrypted key bag, and every bad file or
password refused with a catalog code."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pypinksign
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    pkcs12,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from certcenter.errors import CertCenterError
from certcenter.npki.folder import read_folder, write_folder
from certcenter.npki.keyfile import KeyFileForm
from certcenter.npki.pkcs12 import (
    export_folder_as_pfx,
    export_pfx,
    import_pfx,
    import_pfx_into_folder,
)
from certcenter.pki.vid import vid_matches
from tests.npki.conftest import OTHER_PASSWORD, OTHER_RRN, PASSWORD, RRN, Holder

OPENSSL_PASSWORD = "Pass-word#1"


@pytest.fixture(scope="module")
def pfx(holder: Holder) -> bytes:
    return export_pfx(
        holder.certificate,
        holder.key,
        PASSWORD,
        random_num=holder.random_num,
        chain=(holder.ca.certificate,),
    )


def _openssl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["openssl", *args], capture_output=True, check=False)


def test_the_random_value_survives_the_round_trip(holder: Holder, pfx: bytes) -> None:
    bundle = import_pfx(pfx, PASSWORD)
    assert bundle.certificate == holder.certificate
    assert bundle.key.private_numbers() == holder.key.private_numbers()
    assert bundle.random_num == holder.random_num
    assert bundle.chain == (holder.ca.certificate,)
    assert vid_matches(bundle.certificate, RRN, bundle.random_num)
    assert not vid_matches(bundle.certificate, OTHER_RRN, bundle.random_num)


def test_openssl_reads_our_pfx_without_legacy(holder: Holder, pfx: bytes, tmp_path: Path) -> None:
    path = tmp_path / "joint.pfx"
    path.write_bytes(pfx)
    done = _openssl("pkcs12", "-info", "-in", str(path), "-passin", f"pass:{PASSWORD}", "-noenc")
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode("utf-8", "replace")
    err = done.stderr.decode("utf-8", "replace")
    assert "MAC: sha256, Iteration 100000" in err  # openssl checked our MAC
    assert (
        "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 100000, PRF hmacWithSHA256" in err
    )
    assert "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC" in err
    # the random value is a key attribute, inside the encrypted key bag, not a bag attribute
    hex_random = " ".join(f"{b:02X}" for b in holder.random_num)
    assert f"Key Attributes\n    1.2.410.200004.10.1.1.3: {hex_random}" in out
    bag_attributes = out.split("Key Attributes")[0].split("Bag Attributes")[-1]
    assert "1.2.410.200004.10.1.1.3" not in bag_attributes
    assert out.count("BEGIN CERTIFICATE") == 2
    key_pem = "-----BEGIN PRIVATE KEY-----" + out.split("-----BEGIN PRIVATE KEY-----")[1]
    key_path = tmp_path / "key.pem"
    key_path.write_text(key_pem)
    modulus = _openssl("rsa", "-in", str(key_path), "-noout", "-modulus").stdout.decode()
    assert modulus.strip() == f"Modulus={holder.key.public_key().public_numbers().n:X}"


def test_openssl_refuses_our_pfx_with_a_wrong_password(pfx: bytes, tmp_path: Path) -> None:
    path = tmp_path / "joint.pfx"
    path.write_bytes(pfx)
    done = _openssl(
        "pkcs12", "-info", "-in", str(path), "-passin", f"pass:{OTHER_PASSWORD}", "-noenc"
    )
    assert done.returncode != 0
    assert b"mac verify error" in done.stderr.lower()


def test_pypinksign_opens_our_pfx_and_signs(holder: Holder, pfx: bytes) -> None:
    signer = pypinksign.PinkSign(p12_data=pfx, prikey_password=PASSWORD.encode())
    signature = signer.sign(b"pfx")
    holder.certificate.public_key().verify(  # type: ignore[call-arg]
        signature, b"pfx", padding.PKCS1v15(), hashes.SHA256()
    )


def _openssl_export(holder: Holder, tmp_path: Path, *extra: str) -> bytes:
    key = tmp_path / "key.pem"
    key.write_bytes(holder.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    cert = tmp_path / "cert.pem"
    cert.write_bytes(holder.certificate.public_bytes(Encoding.PEM))
    out = tmp_path / "openssl.pfx"
    done = _openssl(
        "pkcs12",
        "-export",
        *extra,
        "-inkey",
        str(key),
        "-in",
        str(cert),
        "-out",
        str(out),
        "-passout",
        f"pass:{OPENSSL_PASSWORD}",
    )
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


@pytest.mark.parametrize("extra", [(), ("-legacy",)], ids=["openssl-default", "openssl-legacy"])
def test_we_import_what_openssl_exports(
    holder: Holder, tmp_path: Path, extra: tuple[str, ...]
) -> None:
    data = _openssl_export(holder, tmp_path, *extra)
    bundle = import_pfx(data, OPENSSL_PASSWORD)
    assert bundle.certificate == holder.certificate
    assert bundle.key.private_numbers() == holder.key.private_numbers()
    assert bundle.random_num is None  # OpenSSL writes no PKCS#8 attributes
    with pytest.raises(CertCenterError) as refused:
        import_pfx(data, PASSWORD)
    assert refused.value.code == "PKCS12_PASSWORD_WRONG"


def test_the_random_value_is_read_from_a_triple_des_key_bag(holder: Holder) -> None:
    """PKCS#12's own pbeWithSHAAnd3-KeyTripleDES-CBC key bag (older exports) is opened here too:
    the key decrypted with our PKCS#12 key derivation is the key cryptography reads."""
    from asn1crypto import pkcs12 as asn1_pkcs12

    from certcenter.npki.pkcs12 import _bag_value, _decrypt_key_bag, _key_bags

    legacy = pkcs12.serialize_key_and_certificates(
        b"x",
        holder.key,
        holder.certificate,
        None,
        PrivateFormat.PKCS12.encryption_builder()
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .build(OPENSSL_PASSWORD.encode()),
    )
    ((_, _, bag),) = _key_bags(asn1_pkcs12.Pfx.load(legacy))
    plain = _decrypt_key_bag(_bag_value(bag), OPENSSL_PASSWORD.encode())
    assert plain == holder.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())


def test_a_wrong_password_is_refused(pfx: bytes) -> None:
    for password in (OTHER_PASSWORD, "", "kb-joint#2026"):
        with pytest.raises(CertCenterError) as refused:
            import_pfx(pfx, password)
        assert refused.value.code == "PKCS12_PASSWORD_WRONG"


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[:-1], id="last byte cut"),
        pytest.param(lambda d: d[: len(d) // 2], id="cut in half"),
        pytest.param(lambda d: d + b"\x00", id="a byte after the end"),
        pytest.param(lambda d: _flip(d, 1), id="outer length"),
        pytest.param(lambda d: _flip(d, len(d) // 3), id="inside the encrypted certificates"),
        pytest.param(lambda d: _flip(d, len(d) - 30), id="the MAC value"),
        pytest.param(lambda d: _flip(d, len(d) - 60), id="the MAC algorithm"),
        pytest.param(lambda d: _flip(d, len(d) - 10), id="the MAC salt"),
        pytest.param(lambda d: b"", id="empty"),
        pytest.param(lambda d: b"PK\x03\x04 a zip file", id="not PKCS#12"),
    ],
)
def test_a_damaged_pfx_is_refused_as_invalid(pfx: bytes, damage: object) -> None:
    with pytest.raises(CertCenterError) as refused:
        import_pfx(damage(pfx), PASSWORD)  # type: ignore[operator]
    assert refused.value.code == "PKCS12_FILE_INVALID"


def test_a_pfx_without_its_key_is_refused(holder: Holder) -> None:
    only_certificates = pkcs12.serialize_key_and_certificates(
        None,
        None,
        None,
        [holder.certificate],
        PrivateFormat.PKCS12.encryption_builder().build(PASSWORD.encode()),
    )
    with pytest.raises(CertCenterError) as refused:
        import_pfx(only_certificates, PASSWORD)
    assert refused.value.code == "PKCS12_FILE_INVALID"


def test_a_weak_export_password_is_refused(holder: Holder) -> None:
    with pytest.raises(CertCenterError) as refused:
        export_pfx(holder.certificate, holder.key, "12345678", random_num=holder.random_num)
    assert refused.value.code == "NPKI_PASSWORD_TOO_WEAK"


def test_an_npki_folder_to_pfx_and_back(holder: Holder, tmp_path: Path) -> None:
    """Import an NPKI folder (as a .pfx), and a .pfx into a new NPKI folder."""
    folder = write_folder(
        tmp_path / "from",
        holder.certificate,
        holder.key,
        PASSWORD,
        random_num=holder.random_num,
        form=KeyFileForm.SEED_CBC_WITH_SHA1,
    )
    data = export_folder_as_pfx(folder, PASSWORD, OTHER_PASSWORD)
    assert import_pfx(data, OTHER_PASSWORD).random_num == holder.random_num
    again = import_pfx_into_folder(data, OTHER_PASSWORD, tmp_path / "to", PASSWORD)
    opened = read_folder(again, PASSWORD)
    assert opened.certificate == holder.certificate
    assert opened.key.random_num == holder.random_num
    assert opened.key.form is KeyFileForm.PBES2
    with pytest.raises(CertCenterError) as refused:
        export_folder_as_pfx(folder, OTHER_PASSWORD, OTHER_PASSWORD)
    assert refused.value.code == "NPKI_PASSWORD_WRONG"


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=3000))
def test_any_bytes_are_refused_with_a_catalog_code(data: bytes) -> None:
    with pytest.raises(CertCenterError) as refused:
        import_pfx(data, PASSWORD)
    assert refused.value.code in {"PKCS12_FILE_INVALID", "PKCS12_PASSWORD_WRONG"}


def test_a_pfx_that_asks_for_millions_of_rounds_is_refused_before_deriving(pfx: bytes) -> None:
    """A file from outside cannot hold the CPU: 8,388,607 MAC rounds are refused unread."""
    assert pfx.endswith(b"\x02\x03\x01\x86\xa0")  # the MAC's iterations: 100000
    costly = pfx[:-3] + b"\x7f\xff\xff"
    with pytest.raises(CertCenterError) as refused:
        import_pfx(costly, PASSWORD)
    assert refused.value.code == "PKCS12_FILE_INVALID"
