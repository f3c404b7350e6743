"""signPri.key: both encryption forms written and read, judged by PyPinkSign (an NPKI reader
that is not ours), and every broken file refused with a catalog code."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pypinksign
import pytest
from asn1crypto import core
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from hypothesis import given, settings
from hypothesis import strategies as st
from pyasn1.codec.der.encoder import encode as pyasn1_encode
from pypinksign.pypinksign import (
    ID_SEED_CBC,
    AlgorithmIdentifier,
    AlgorithmIdentifierData,
    NPKIPrivateKey,
    pbkdf1,
    seed_cbc_128_encrypt,
)

from certcenter.errors import CertCenterError
from certcenter.npki.asn1 import EncryptedPrivateKeyInfo, Pbes2Params, Pbkdf2Params
from certcenter.npki.keyfile import (
    OID_HMAC_SHA256,
    OID_PBES2,
    OID_SEED_CBC,
    OID_SEED_CBC_WITH_SHA1,
    KeyFileForm,
    NpkiKey,
    read_key_file,
    write_key_file,
)
from certcenter.pki.vid import vid_matches
from tests.npki.conftest import OTHER_PASSWORD, OTHER_RRN, PASSWORD, RRN, Holder

FORMS = [
    pytest.param(KeyFileForm.SEED_CBC_WITH_SHA1, "sha1", id="seedCBCWithSHA1"),
    pytest.param(KeyFileForm.PBES2, "sha256", id="pbes2-hmac-sha256"),
    pytest.param(KeyFileForm.PBES2, "sha1", id="pbes2-hmac-sha1"),
]
# what PyPinkSign 0.5.4 opens: its PBES2 reader derives with HMAC-SHA1 whatever the prf says
PINKSIGN_FORMS = [p for p in FORMS if p.id != "pbes2-hmac-sha256"]


def _pinksign(holder: Holder, key_file: bytes, password: str) -> pypinksign.PinkSign:
    signer = pypinksign.PinkSign(pubkey_data=holder.cert_der)
    signer.load_prikey(prikey_data=key_file, prikey_password=password.encode())
    return signer


def _plain_pkcs8(holder: Holder) -> bytes:
    return holder.key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())


@pytest.mark.parametrize(("form", "prf"), FORMS)
def test_our_reader_opens_what_we_write(holder: Holder, form: KeyFileForm, prf: str) -> None:
    data = write_key_file(holder.key, PASSWORD, random_num=holder.random_num, form=form, prf=prf)
    opened = read_key_file(data, PASSWORD)
    assert opened.key.private_numbers() == holder.key.private_numbers()
    assert opened.random_num == holder.random_num
    assert opened.form is form
    assert opened.prf == (prf if form is KeyFileForm.PBES2 else None)


def test_the_forms_are_what_they_say(holder: Holder) -> None:
    legacy = EncryptedPrivateKeyInfo.load(
        write_key_file(holder.key, PASSWORD, random_num=None, form=KeyFileForm.SEED_CBC_WITH_SHA1)
    )
    assert legacy["encryption_algorithm"]["algorithm"].dotted == OID_SEED_CBC_WITH_SHA1
    newer = EncryptedPrivateKeyInfo.load(write_key_file(holder.key, PASSWORD, random_num=None))
    algorithm = newer["encryption_algorithm"]
    assert algorithm["algorithm"].dotted == OID_PBES2
    params = Pbes2Params.load(algorithm["parameters"].dump())
    assert params["encryption_scheme"]["algorithm"].dotted == OID_SEED_CBC
    kdf = Pbkdf2Params.load(params["key_derivation_func"]["parameters"].dump())
    assert kdf["prf"]["algorithm"].dotted == OID_HMAC_SHA256
    assert kdf["iterations"].native == 100_000


@pytest.mark.parametrize(("form", "prf"), PINKSIGN_FORMS)
def test_pypinksign_opens_our_key_file_and_signs(
    holder: Holder, form: KeyFileForm, prf: str
) -> None:
    data = write_key_file(holder.key, PASSWORD, random_num=holder.random_num, form=form, prf=prf)
    signer = _pinksign(holder, data, PASSWORD)
    signature = signer.sign(b"transfer 10,000 KRW")
    # the certificate's public key, read by cryptography, checks PyPinkSign's signature
    holder.certificate.public_key().verify(  # type: ignore[call-arg]
        signature, b"transfer 10,000 KRW", padding.PKCS1v15(), hashes.SHA256()
    )
    assert signer.verify(signature, b"transfer 10,000 KRW")


@pytest.mark.parametrize(("form", "prf"), PINKSIGN_FORMS)
def test_the_random_value_pypinksign_reads_checks_the_vid(
    holder: Holder, form: KeyFileForm, prf: str
) -> None:
    """PyPinkSign has no VID check of its own: it reads the random value from the key file, and
    the VID is checked with that value (here and, hash by hash, by OpenSSL in tests/pki)."""
    data = write_key_file(holder.key, PASSWORD, random_num=holder.random_num, form=form, prf=prf)
    read_by_pinksign = _pinksign(holder, data, PASSWORD)._rand_num.asOctets()
    assert read_by_pinksign == holder.random_num
    assert vid_matches(holder.certificate, RRN, read_by_pinksign)
    assert not vid_matches(holder.certificate, OTHER_RRN, read_by_pinksign)


def test_pypinksign_does_not_open_pbes2_with_hmac_sha256(holder: Holder) -> None:
    """PyPinkSign 0.5.4 derives PBES2 keys with HMAC-SHA1 and ignores the prf: the SHA-256 form
    is for readers that follow RFC 8018 (docs/npki.md says so)."""
    data = write_key_file(holder.key, PASSWORD, random_num=holder.random_num, prf="sha256")
    with pytest.raises(ValueError, match="padding"):
        _pinksign(holder, data, PASSWORD)


def test_pypinksign_refuses_our_file_with_a_wrong_password(holder: Holder) -> None:
    data = write_key_file(
        holder.key, PASSWORD, random_num=None, form=KeyFileForm.SEED_CBC_WITH_SHA1
    )
    with pytest.raises(ValueError):  # noqa: PT011  # PyPinkSign raises a bare padding error
        _pinksign(holder, data, OTHER_PASSWORD)


def test_our_reader_opens_a_key_file_pypinksign_wrote(holder: Holder) -> None:
    plain = base64.b64encode(_plain_pkcs8(holder)).decode()
    with_random = pypinksign.inject_rand_in_plain_prikey(plain, holder.random_num)
    data = base64.b64decode(pypinksign.encrypt_decrypted_prikey(with_random, PASSWORD.encode()))
    opened = read_key_file(data, PASSWORD)
    assert opened.form is KeyFileForm.SEED_CBC_WITH_SHA1
    assert opened.iterations == 2048
    assert opened.key.private_numbers() == holder.key.private_numbers()
    assert opened.random_num == holder.random_num
    with pytest.raises(CertCenterError) as refused:
        read_key_file(data, OTHER_PASSWORD)
    assert refused.value.code == "NPKI_PASSWORD_WRONG"


def test_our_reader_opens_the_oldest_seed_cbc_form(holder: Holder) -> None:
    """``seedCBC`` with PBES1 parameters and the fixed IV, assembled with PyPinkSign's parts."""
    salt = bytes(range(8))
    derived = pbkdf1(PASSWORD.encode(), salt, 2048, 20)
    encrypted = seed_cbc_128_encrypt(derived[:16], _plain_pkcs8(holder), b"0123456789012345")
    parameters = AlgorithmIdentifierData()
    parameters["salt"] = salt
    parameters["iteration"] = 2048
    algorithm = AlgorithmIdentifier()
    algorithm["oid"] = ID_SEED_CBC
    algorithm["data"] = parameters
    key_file = NPKIPrivateKey()
    key_file["meta"] = algorithm
    key_file["ciphertext"] = encrypted
    opened = read_key_file(pyasn1_encode(key_file), PASSWORD)
    assert opened.form is KeyFileForm.SEED_CBC
    assert opened.random_num is None
    assert opened.key.private_numbers() == holder.key.private_numbers()


def test_a_key_file_without_a_random_value(holder: Holder) -> None:
    opened = read_key_file(write_key_file(holder.key, PASSWORD, random_num=None), PASSWORD)
    assert opened.random_num is None


def test_openssl_reads_the_plain_private_key_info_with_the_random_value(
    holder: Holder, tmp_path: Path
) -> None:
    """The decrypted PrivateKeyInfo is standard PKCS#8 with the attribute OpenSSL names."""
    from certcenter.npki.keyfile import private_key_info

    path = tmp_path / "plain.der"
    path.write_bytes(private_key_info(holder.key, holder.random_num))
    parsed = subprocess.run(
        ["openssl", "asn1parse", "-inform", "DER", "-in", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "1.2.410.200004.10.1.1.3" in parsed
    assert "BIT STRING" in parsed.splitlines()[-1]
    subprocess.run(
        ["openssl", "pkey", "-inform", "DER", "-in", str(path), "-noout"],
        check=True,
        capture_output=True,
    )


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(("form", "prf"), FORMS)
@pytest.mark.parametrize("password", [OTHER_PASSWORD, "", "kb-joint#2026", PASSWORD + " "])
def test_a_wrong_password_is_refused(
    holder: Holder, form: KeyFileForm, prf: str, password: str
) -> None:
    data = write_key_file(holder.key, PASSWORD, random_num=holder.random_num, form=form, prf=prf)
    with pytest.raises(CertCenterError) as refused:
        read_key_file(data, password)
    assert refused.value.code == "NPKI_PASSWORD_WRONG"


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :]


@pytest.fixture(scope="module", params=[p.values for p in FORMS], ids=[p.id for p in FORMS])
def key_file(request: pytest.FixtureRequest, holder: Holder) -> bytes:
    form, prf = request.param
    return write_key_file(holder.key, PASSWORD, random_num=holder.random_num, form=form, prf=prf)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda d: d[:-1], id="last byte cut"),
        pytest.param(lambda d: d[:-16], id="last block cut"),
        pytest.param(lambda d: d[: len(d) // 2], id="cut in half"),
        pytest.param(lambda d: d[:40], id="only the header"),
        pytest.param(lambda d: d + b"\x00", id="a byte after the end"),
        pytest.param(lambda d: _flip(d, 0), id="outer tag flipped"),
        pytest.param(lambda d: _flip(d, 1), id="outer length flipped"),
        pytest.param(lambda d: _flip(d, len(d) // 2), id="a byte in the middle flipped"),
        pytest.param(lambda d: _flip(d, len(d) - 200), id="a byte in the key flipped"),
        pytest.param(lambda d: _flip(d, len(d) - 1), id="the last byte flipped"),
        pytest.param(lambda d: b"", id="empty"),
        pytest.param(lambda d: b"not a key file at all", id="text"),
    ],
)
def test_a_damaged_key_file_is_refused_as_corrupt(key_file: bytes, damage: object) -> None:
    with pytest.raises(CertCenterError) as refused:
        read_key_file(damage(key_file), PASSWORD)  # type: ignore[operator]
    assert refused.value.code == "NPKI_KEY_FILE_CORRUPT"


def test_a_file_damaged_in_the_first_cipher_block_reads_as_a_wrong_password(
    key_file: bytes,
) -> None:
    """Nothing in the format tells these apart; the refusal is still a catalog code."""
    encrypted_start = len(key_file) - len(
        EncryptedPrivateKeyInfo.load(key_file)["encrypted_data"].native
    )
    with pytest.raises(CertCenterError) as refused:
        read_key_file(_flip(key_file, encrypted_start + 3), PASSWORD)
    assert refused.value.code == "NPKI_PASSWORD_WRONG"


def test_an_encryption_npki_does_not_use_is_unsupported(holder: Holder) -> None:
    data = bytearray(
        write_key_file(holder.key, PASSWORD, random_num=None, form=KeyFileForm.SEED_CBC_WITH_SHA1)
    )
    marker = core.ObjectIdentifier(OID_SEED_CBC_WITH_SHA1).dump()
    at = bytes(data).index(marker)
    data[at + len(marker) - 1] = 0x63  # 1.2.410.200004.1.99
    with pytest.raises(CertCenterError) as refused:
        read_key_file(bytes(data), PASSWORD)
    assert refused.value.code == "NPKI_KEY_FILE_UNSUPPORTED"


def test_an_absurd_iteration_count_is_unsupported(holder: Holder) -> None:
    from certcenter.npki.asn1 import PbeParameter

    data = write_key_file(
        holder.key, PASSWORD, random_num=None, form=KeyFileForm.SEED_CBC_WITH_SHA1
    )
    tampered = EncryptedPrivateKeyInfo(
        {
            "encryption_algorithm": {
                "algorithm": OID_SEED_CBC_WITH_SHA1,
                "parameters": PbeParameter({"salt": b"12345678", "iterations": 2**40}),
            },
            "encrypted_data": EncryptedPrivateKeyInfo.load(data)["encrypted_data"].native,
        }
    )
    with pytest.raises(CertCenterError) as refused:
        read_key_file(tampered.dump(), PASSWORD)
    assert refused.value.code == "NPKI_KEY_FILE_UNSUPPORTED"


def test_a_weak_password_is_refused_before_anything_is_written(holder: Holder) -> None:
    with pytest.raises(CertCenterError) as refused:
        write_key_file(holder.key, "password12", random_num=holder.random_num)
    assert refused.value.code == "NPKI_PASSWORD_TOO_WEAK"


def test_a_key_that_is_not_rsa_is_unsupported() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    with pytest.raises(CertCenterError) as refused:
        write_key_file(ec.generate_private_key(ec.SECP256R1()), PASSWORD, random_num=None)  # type: ignore[arg-type]
    assert refused.value.code == "NPKI_KEY_FILE_UNSUPPORTED"


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=2000))
def test_any_bytes_are_refused_with_a_catalog_code(data: bytes) -> None:
    with pytest.raises(CertCenterError) as refused:
        read_key_file(data, PASSWORD)
    assert refused.value.code in {
        "NPKI_KEY_FILE_CORRUPT",
        "NPKI_KEY_FILE_UNSUPPORTED",
        "NPKI_PASSWORD_WRONG",
    }


@settings(max_examples=60, deadline=None)
@given(at=st.integers(min_value=0), value=st.integers(min_value=1, max_value=255))
def test_any_one_byte_change_is_refused_with_a_catalog_code_or_keeps_the_key(
    holder: Holder, at: int, value: int
) -> None:
    """A changed byte never escapes as a traceback: it is refused with a catalog code, or (a
    byte the format does not protect, such as one in the random value) the key is still the
    certificate's."""
    data = _legacy_file(holder)
    at %= len(data)
    changed = data[:at] + bytes([data[at] ^ value]) + data[at + 1 :]
    outcome = _read_or_code(changed)
    if isinstance(outcome, str):
        assert outcome.startswith("NPKI_")
    else:
        assert outcome.key.public_key().public_numbers() == holder.key.public_key().public_numbers()


def _read_or_code(data: bytes) -> NpkiKey | str:
    try:
        return read_key_file(data, PASSWORD)
    except CertCenterError as refused:
        return refused.code


_LEGACY: dict[int, bytes] = {}


def _legacy_file(holder: Holder) -> bytes:
    if id(holder) not in _LEGACY:
        _LEGACY[id(holder)] = write_key_file(
            holder.key, PASSWORD, random_num=holder.random_num, form=KeyFileForm.SEED_CBC_WITH_SHA1
        )
    return _LEGACY[id(holder)]
