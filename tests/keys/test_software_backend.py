"""The software key backend: encrypted at rest, refuses what it must, signs and MACs."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from certcenter.errors import CertCenterError
from certcenter.keys import KeyBackend, SoftwareKeyBackend, pkcs8, software
from certcenter.keys.pkcs8 import Kdf, ScryptCost, kdf_of, seal_private_key

PASSPHRASE = "correct horse battery staple, but longer"


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def backend(directory: Path) -> SoftwareKeyBackend:
    return SoftwareKeyBackend(directory, PASSPHRASE)


def code_of(excinfo: pytest.ExceptionInfo[CertCenterError]) -> str:
    return excinfo.value.code


def test_is_a_key_backend(backend: SoftwareKeyBackend) -> None:
    assert isinstance(backend, KeyBackend)
    assert backend.name == "software"


def test_nothing_is_written_until_needed(backend: SoftwareKeyBackend, directory: Path) -> None:
    assert not backend.has_key("root-ca")
    backend.verify_passphrase()
    assert not directory.exists()


@pytest.mark.parametrize(
    ("kind", "curve", "algorithm"),
    [("ec-p256", ec.SECP256R1, hashes.SHA256), ("ec-p384", ec.SECP384R1, hashes.SHA384)],
)
def test_generate_and_sign(backend: SoftwareKeyBackend, kind, curve, algorithm) -> None:
    public = backend.generate_key("ca", kind)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert isinstance(public.curve, curve)
    assert backend.has_key("ca")
    assert backend.public_key("ca") == public

    signature = backend.sign("ca", b"to be signed")
    public.verify(signature, b"to be signed", ec.ECDSA(algorithm()))
    with pytest.raises(InvalidSignature):
        public.verify(signature, b"something else", ec.ECDSA(algorithm()))

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "t")])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cert = backend.sign_certificate(
        "ca",
        x509.CertificateBuilder()
        .serial_number(1)
        .issuer_name(name)
        .subject_name(name)
        .public_key(public)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1)),
    )
    assert isinstance(cert.signature_hash_algorithm, algorithm)
    cert.verify_directly_issued_by(cert)

    crl = backend.sign_crl(
        "ca",
        x509.CertificateRevocationListBuilder()
        .issuer_name(name)
        .last_update(now)
        .next_update(now + timedelta(days=1)),
    )
    assert isinstance(crl.signature_hash_algorithm, algorithm)
    assert crl.is_signature_valid(public)


def test_key_is_encrypted_at_rest(backend: SoftwareKeyBackend, directory: Path) -> None:
    backend.generate_key("root-ca", "ec-p384")
    path = directory / "root-ca.key.pem"
    pem = path.read_bytes()
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert b"BEGIN PRIVATE KEY" not in pem
    assert b"BEGIN EC PRIVATE KEY" not in pem
    with pytest.raises(TypeError):  # cryptography: "private key is encrypted"
        serialization.load_pem_private_key(pem, None)
    # the private scalar appears nowhere in the file, in binary or in the PEM's base64 body
    key = serialization.load_pem_private_key(pem, PASSPHRASE.encode())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    scalar = key.private_numbers().private_value.to_bytes(48, "big")
    body = base64.b64decode(b"".join(pem.splitlines()[1:-1]))
    assert scalar not in body
    assert scalar not in pem


def test_files_are_private(backend: SoftwareKeyBackend, directory: Path) -> None:
    backend.generate_key("root-ca")
    backend.ensure_secret("pin-pepper")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["pin-pepper.secret.json", "root-ca.key.pem"]  # no temporary files left
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_existing_loose_directory_is_tightened(directory: Path) -> None:
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    SoftwareKeyBackend(directory, PASSPHRASE).generate_key("k")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def _openssl_pkey(path: Path, passphrase: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["openssl", "pkey", "-in", str(path), "-passin", "env:CC_TEST_PASS", "-pubout"],
        env={**os.environ, "CC_TEST_PASS": passphrase},
        capture_output=True,
        check=False,
        timeout=30,
    )


def test_openssl_reads_the_key_with_the_passphrase_only(
    backend: SoftwareKeyBackend, directory: Path
) -> None:
    public = backend.generate_key("mobile-ca")
    path = directory / "mobile-ca.key.pem"

    right = _openssl_pkey(path, PASSPHRASE)
    assert right.returncode == 0, right.stderr
    assert right.stdout == public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    wrong = _openssl_pkey(path, PASSPHRASE + "!")
    assert wrong.returncode != 0
    assert b"PUBLIC KEY" not in wrong.stdout


def test_wrong_passphrase(backend: SoftwareKeyBackend, directory: Path) -> None:
    backend.generate_key("root-ca")
    backend.ensure_secret("pin-pepper")
    wrong = SoftwareKeyBackend(directory, "not the passphrase")
    for call in (lambda: wrong.public_key("root-ca"), lambda: wrong.sign("root-ca", b"x")):
        with pytest.raises(CertCenterError) as caught:
            call()
        assert caught.value.code == "KEY_PASSPHRASE_WRONG"
        assert caught.value.context == {"label": "root-ca"}
    with pytest.raises(CertCenterError) as caught:
        wrong.mac("pin-pepper", b"x")
    assert (caught.value.code, caught.value.context) == (
        "KEY_PASSPHRASE_WRONG",
        {"label": "pin-pepper"},
    )
    with pytest.raises(CertCenterError) as caught:
        wrong.ensure_secret("pin-pepper")  # an existing secret is opened, not replaced
    assert caught.value.code == "KEY_PASSPHRASE_WRONG"
    with pytest.raises(CertCenterError) as caught:
        wrong.verify_passphrase()
    assert caught.value.code == "KEY_PASSPHRASE_WRONG"
    backend.verify_passphrase()  # the right one passes


@pytest.mark.parametrize("passphrase", [None, ""])
def test_missing_passphrase(directory: Path, passphrase: str | None) -> None:
    SoftwareKeyBackend(directory, PASSPHRASE).generate_key("root-ca")
    SoftwareKeyBackend(directory, PASSPHRASE).ensure_secret("pin-pepper")
    locked = SoftwareKeyBackend(directory, passphrase)
    assert locked.has_key("root-ca")  # needs no passphrase
    calls = [
        lambda: locked.generate_key("other"),
        lambda: locked.public_key("root-ca"),
        lambda: locked.sign("root-ca", b"x"),
        lambda: locked.ensure_secret("pepper-2"),
        lambda: locked.mac("pin-pepper", b"x"),
        locked.verify_passphrase,
    ]
    for call in calls:
        with pytest.raises(CertCenterError) as caught:
            call()
        assert caught.value.code == "KEY_PASSPHRASE_MISSING"
    assert not (directory / "other.key.pem").exists()


def test_missing_passphrase_with_an_empty_store_verifies(directory: Path) -> None:
    SoftwareKeyBackend(directory, None).verify_passphrase()


def test_generate_twice_never_overwrites(backend: SoftwareKeyBackend, directory: Path) -> None:
    first = backend.generate_key("root-ca")
    before = (directory / "root-ca.key.pem").read_bytes()
    for again in (backend, SoftwareKeyBackend(directory, PASSPHRASE)):
        with pytest.raises(CertCenterError) as caught:
            again.generate_key("root-ca", "ec-p384")
        assert (caught.value.code, caught.value.context) == (
            "KEY_ALREADY_EXISTS",
            {"label": "root-ca"},
        )
    assert (directory / "root-ca.key.pem").read_bytes() == before
    assert SoftwareKeyBackend(directory, PASSPHRASE).public_key("root-ca") == first


def test_missing_key_and_secret(backend: SoftwareKeyBackend) -> None:
    for call in (
        lambda: backend.public_key("nope"),
        lambda: backend.sign("nope", b""),
        lambda: backend.mac("nope", b""),
    ):
        with pytest.raises(CertCenterError) as caught:
            call()
        assert (caught.value.code, caught.value.context) == ("KEY_NOT_FOUND", {"label": "nope"})


def test_mac_is_stable_across_instances_and_differs_by_secret(
    backend: SoftwareKeyBackend, directory: Path, tmp_path: Path
) -> None:
    backend.ensure_secret("pin-pepper")
    backend.ensure_secret("pin-pepper")  # idempotent
    tag = backend.mac("pin-pepper", b"123456")
    assert len(tag) == 32
    assert backend.mac("pin-pepper", b"123457") != tag

    fresh = SoftwareKeyBackend(directory, PASSPHRASE)
    assert fresh.mac("pin-pepper", b"123456") == tag
    fresh.ensure_secret("pin-pepper")
    assert fresh.mac("pin-pepper", b"123456") == tag

    backend.ensure_secret("other-pepper")
    assert backend.mac("other-pepper", b"123456") != tag
    elsewhere = SoftwareKeyBackend(tmp_path / "elsewhere", PASSPHRASE)
    elsewhere.ensure_secret("pin-pepper")
    assert elsewhere.mac("pin-pepper", b"123456") != tag


def test_mac_is_hmac_sha256_of_a_secret_not_stored_in_clear(
    backend: SoftwareKeyBackend, directory: Path
) -> None:
    backend.ensure_secret("pin-pepper")
    document = json.loads((directory / "pin-pepper.secret.json").read_text())
    assert document["kdf"]["name"] == "scrypt"
    assert document["cipher"] == "aes-256-gcm"
    secret = backend._secrets["pin-pepper"]  # white-box: the cached secret
    assert len(secret) == 32
    raw = (directory / "pin-pepper.secret.json").read_bytes()
    assert secret not in raw
    assert secret.hex().encode() not in raw
    assert base64.b64encode(secret) not in raw

    expected = hmac.HMAC(secret, hashes.SHA256())
    expected.update(b"data")
    assert backend.mac("pin-pepper", b"data") == expected.finalize()


def test_secret_file_is_bound_to_its_label(backend: SoftwareKeyBackend, directory: Path) -> None:
    backend.ensure_secret("pin-pepper")
    (directory / "pin-pepper.secret.json").rename(directory / "stolen.secret.json")
    with pytest.raises(CertCenterError) as caught:
        SoftwareKeyBackend(directory, PASSPHRASE).mac("stolen", b"x")
    assert caught.value.code == "KEY_PASSPHRASE_WRONG"


def test_damaged_secret_file_is_reported_as_damaged(
    backend: SoftwareKeyBackend, directory: Path
) -> None:
    backend.ensure_secret("pin-pepper")
    (directory / "pin-pepper.secret.json").write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match="damaged"):
        SoftwareKeyBackend(directory, PASSPHRASE).mac("pin-pepper", b"x")


def test_unlocked_keys_are_cached(backend: SoftwareKeyBackend, directory: Path) -> None:
    backend.generate_key("k")
    reader = SoftwareKeyBackend(directory, PASSPHRASE)
    public = reader.public_key("k")  # first use decrypts the file
    (directory / "k.key.pem").unlink()
    signature = reader.sign("k", b"still works from memory")
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, b"still works from memory", ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize(
    "label",
    ["", "Root-CA", "../etc", "a/b", "-x", ".hidden", "_x", "a" * 65, "키", "a b", "a\n", 7],
)
def test_bad_labels_are_refused(backend: SoftwareKeyBackend, label) -> None:
    for call in (
        lambda: backend.has_key(label),
        lambda: backend.generate_key(label),
        lambda: backend.public_key(label),
        lambda: backend.sign(label, b""),
        lambda: backend.ensure_secret(label),
        lambda: backend.mac(label, b""),
    ):
        with pytest.raises(ValueError, match="invalid key label"):
            call()


@pytest.mark.parametrize("label", ["a", "root-ca", "mobile-ca.2026", "x_y", "9" * 64])
def test_good_labels_are_taken(backend: SoftwareKeyBackend, label: str) -> None:
    backend.generate_key(label)
    assert backend.has_key(label)


def test_unknown_kind_is_refused(backend: SoftwareKeyBackend) -> None:
    with pytest.raises(ValueError, match="unknown EC key kind"):
        backend.generate_key("k", "rsa-4096")  # type: ignore[arg-type]
    assert not backend.has_key("k")


def _asn1parse(path: Path) -> str:
    parsed = subprocess.run(
        ["openssl", "asn1parse", "-in", str(path)],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return parsed.stdout.decode()


def test_key_files_are_encrypted_with_scrypt_at_the_product_cost(
    backend: SoftwareKeyBackend, directory: Path
) -> None:
    backend.generate_key("root-ca", "ec-p384")
    path = directory / "root-ca.key.pem"
    assert kdf_of(path.read_bytes()) == Kdf("scrypt", 2**14, 8, 2)
    structure = _asn1parse(path)  # as OpenSSL reads it: PBES2, scrypt, AES-256-CBC
    assert ":PBES2" in structure and ":scrypt" in structure and ":aes-256-cbc" in structure
    assert "PBKDF2" not in structure
    assert _openssl_pkey(path, PASSPHRASE).returncode == 0


def _pbkdf2_file(directory: Path, label: str) -> ec.EllipticCurvePrivateKey:
    """A key file as the center wrote it before: cryptography's BestAvailableEncryption."""
    key = ec.generate_private_key(ec.SECP256R1())
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = directory / f"{label}.key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(PASSPHRASE.encode()),
        )
    )
    path.chmod(0o600)
    return key


def test_an_older_pbkdf2_key_file_opens_and_is_rewritten_with_scrypt(directory: Path) -> None:
    key = _pbkdf2_file(directory, "mobile-ca")
    path = directory / "mobile-ca.key.pem"
    assert kdf_of(path.read_bytes()) == Kdf("pbkdf2", 2048)

    backend = SoftwareKeyBackend(directory, PASSPHRASE)
    assert backend.public_key("mobile-ca") == key.public_key()
    signature = backend.sign("mobile-ca", b"after the upgrade")
    key.public_key().verify(signature, b"after the upgrade", ec.ECDSA(hashes.SHA256()))

    assert kdf_of(path.read_bytes()).name == "scrypt"  # rewritten, the same key inside
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in directory.iterdir()) == ["mobile-ca.key.pem"]
    reopened = SoftwareKeyBackend(directory, PASSPHRASE).public_key("mobile-ca")
    assert reopened == key.public_key()
    right = _openssl_pkey(path, PASSPHRASE)
    assert right.returncode == 0, right.stderr


def test_an_older_key_file_with_the_wrong_passphrase_is_left_alone(directory: Path) -> None:
    _pbkdf2_file(directory, "root-ca")
    path = directory / "root-ca.key.pem"
    before = path.read_bytes()
    with pytest.raises(CertCenterError) as caught:
        SoftwareKeyBackend(directory, "not the passphrase").public_key("root-ca")
    assert caught.value.code == "KEY_PASSPHRASE_WRONG"
    assert path.read_bytes() == before


def test_an_older_key_file_in_a_read_only_directory_still_opens(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _pbkdf2_file(directory, "root-ca")
    path = directory / "root-ca.key.pem"
    before = path.read_bytes()

    def refuse(*_args: object) -> None:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(software, "write_replacing", refuse)
    assert SoftwareKeyBackend(directory, PASSPHRASE).public_key("root-ca") == key.public_key()
    assert path.read_bytes() == before


class _NoDerivation:
    """Stands in for scrypt while a test writes a file naming a cost nobody should pay."""

    def __init__(self, **_params: object) -> None:
        pass

    def derive(self, _passphrase: bytes) -> bytes:
        return bytes(32)


def test_a_key_file_whose_scrypt_cost_is_absurd_is_refused_before_deriving(
    directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    directory.mkdir(mode=0o700)
    path = directory / "k.key.pem"
    with monkeypatch.context() as patch:
        patch.setattr(pkcs8, "Scrypt", _NoDerivation)
        path.write_bytes(seal_private_key(key, PASSPHRASE.encode(), ScryptCost(2**24, 8, 1)))
    assert kdf_of(path.read_bytes()) == Kdf("scrypt", 2**24, 8, 1)
    with pytest.raises(ValueError, match="damaged"):
        SoftwareKeyBackend(directory, PASSPHRASE).public_key("k")


def test_rsa_2048_keys_sign_with_pkcs1_sha256(backend: SoftwareKeyBackend) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys

    from certcenter.keys.backend import signature_valid

    public = backend.generate_key("joint-test", "rsa-2048")
    assert isinstance(public, rsa_keys.RSAPublicKey) and public.key_size == 2048
    signature = backend.sign("joint-test", b"data")
    assert signature_valid(public, signature, b"data")
    assert not signature_valid(public, signature, b"other data")
    # read back from its file by a backend that did not make it
    again = SoftwareKeyBackend(backend.directory, PASSPHRASE)
    assert signature_valid(again.public_key("joint-test"), again.sign("joint-test", b"x"), b"x")
