"""The PKCS#11 key backend against SoftHSM2: keys made in the token and held there, and
what it signs checked by OpenSSL."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pkcs11
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from pkcs11 import Attribute, ObjectClass

from certcenter.clock import FrozenClock
from certcenter.config import load_settings
from certcenter.errors import CertCenterError
from certcenter.keys import KEY_KINDS, KeyBackend, Pkcs11KeyBackend, key_kind_of
from certcenter.keys.backend import signature_valid
from certcenter.pki.hierarchy import FAMILIES, ensure_hierarchy
from tests.support.pkilint import Linter
from tests.support.softhsm import SOFTHSM_MODULE, USER_PIN, SoftHsm

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def _attributes(backend: Pkcs11KeyBackend, label: str, object_class: ObjectClass) -> dict:
    wanted = (
        Attribute.SENSITIVE,
        Attribute.EXTRACTABLE,
        Attribute.ALWAYS_SENSITIVE,
        Attribute.NEVER_EXTRACTABLE,
        Attribute.LOCAL,
        Attribute.TOKEN,
    )

    def read(session: pkcs11.Session) -> list[dict]:
        found = session.get_objects({Attribute.CLASS: object_class, Attribute.LABEL: label})
        return [{name: bool(item[name]) for name in wanted} for item in found]

    return backend._connection.run(USER_PIN, read)


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


def test_the_backend_implements_the_contract(token_backend: Pkcs11KeyBackend) -> None:
    assert isinstance(token_backend, KeyBackend)


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_private_keys_are_made_in_the_token_and_never_leave(
    blank_backend: Pkcs11KeyBackend, kind: str
) -> None:
    public = blank_backend.generate_key("held", kind)  # type: ignore[arg-type]
    assert key_kind_of(public) == kind
    (private,) = _attributes(blank_backend, "held", ObjectClass.PRIVATE_KEY)
    assert private == {
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.ALWAYS_SENSITIVE: True,
        Attribute.NEVER_EXTRACTABLE: True,
        Attribute.LOCAL: True,  # generated on the token, not imported
        Attribute.TOKEN: True,
    }
    signature = blank_backend.sign("held", b"transfer 1,000,000 KRW")
    assert signature_valid(public, signature, b"transfer 1,000,000 KRW")
    assert not signature_valid(public, signature, b"transfer 9,000,000 KRW")


def test_secrets_are_held_in_the_token(blank_backend: Pkcs11KeyBackend) -> None:
    blank_backend.ensure_secret("pepper")
    blank_backend.ensure_secret("pepper")  # twice: still one of each part
    parts = _attributes(blank_backend, "pepper", ObjectClass.SECRET_KEY)
    assert len(parts) == 2
    for part in parts:
        assert part[Attribute.SENSITIVE] and not part[Attribute.EXTRACTABLE]
    first = blank_backend.mac("pepper", b"123456")
    assert len(first) == 32
    assert blank_backend.mac("pepper", b"123456") == first
    assert blank_backend.mac("pepper", b"123457") != first
    blank_backend.ensure_secret("other")
    assert blank_backend.mac("other", b"123456") != first


def test_sealed_data_opens_with_its_context_only(blank_backend: Pkcs11KeyBackend) -> None:
    blank_backend.ensure_secret("data-seal")
    sealed = blank_backend.encrypt("data-seal", b"otp secret", b"token-1")
    assert b"otp secret" not in sealed
    assert blank_backend.decrypt("data-seal", sealed, b"token-1") == b"otp secret"
    for context, data in (
        (b"token-2", sealed),
        (b"token-1", sealed[:-1] + bytes([sealed[-1] ^ 1])),
        (b"token-1", sealed[:10]),
    ):
        with pytest.raises(CertCenterError) as refused:
            blank_backend.decrypt("data-seal", data, context)
        assert refused.value.code == "KEY_NOT_FOUND"


def test_missing_and_taken_labels(blank_backend: Pkcs11KeyBackend) -> None:
    for call in (
        lambda: blank_backend.sign("absent", b"x"),
        lambda: blank_backend.public_key("absent"),
        lambda: blank_backend.mac("absent", b"x"),
    ):
        with pytest.raises(CertCenterError) as missing:
            call()
        assert missing.value.code == "KEY_NOT_FOUND"
    assert not blank_backend.has_key("fin-1")
    blank_backend.generate_key("fin-1")
    assert blank_backend.has_key("fin-1")
    with pytest.raises(CertCenterError) as taken:
        blank_backend.generate_key("fin-1")
    assert taken.value.code == "KEY_ALREADY_EXISTS"
    assert blank_backend.delete_key("fin-1") is True
    assert blank_backend.delete_key("fin-1") is False
    assert not blank_backend.has_key("fin-1")
    with pytest.raises(ValueError, match="invalid key label"):
        blank_backend.has_key("../etc")


def test_hierarchy_signed_in_the_token_verifies_with_openssl(
    token_backend: Pkcs11KeyBackend, tmp_path: Path
) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, key_backend="pkcs11")
    hierarchy = ensure_hierarchy(token_backend, settings, FrozenClock(NOW))
    ca = settings.ca_path
    root = ca / "root-ca.pem"
    assert _openssl("verify", "-CAfile", root, root).returncode == 0
    linter = Linter()
    for spec in FAMILIES:
        issuing = ca / f"{spec.family}-ca.pem"
        checked = _openssl("verify", "-CAfile", root, issuing)
        assert checked.returncode == 0, checked.stderr
        assert checked.stdout.strip().endswith(": OK")
        responder = ca / f"{spec.family}-ocsp.pem"
        checked = _openssl("verify", "-CAfile", root, "-untrusted", issuing, responder)
        assert checked.returncode == 0, checked.stderr
    for ca_certificate in (hierarchy.root, *hierarchy.issuing_cas):
        assert linter.errors(ca_certificate.certificate) == []
    # the check is real: a certificate under another root does not verify
    assert _openssl("verify", "-CAfile", ca / "mobile-ca.pem", root).returncode != 0


def test_leaf_crl_and_ocsp_signed_in_the_token_verify_with_openssl(
    token_backend: Pkcs11KeyBackend, tmp_path: Path
) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, key_backend="pkcs11")
    hierarchy = ensure_hierarchy(token_backend, settings, FrozenClock(NOW))
    mobile = hierarchy.issuing("mobile")
    ca_file = settings.ca_path / f"{mobile.family}-ca.pem"
    root_file = settings.ca_path / "root-ca.pem"
    device_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    leaf = token_backend.sign_certificate(
        mobile.key_label,
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "홍길동")]))
        .issuer_name(mobile.certificate.subject)
        .public_key(device_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True),
    )
    leaf_file = tmp_path / "leaf.pem"
    leaf_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    checked = _openssl("verify", "-CAfile", root_file, "-untrusted", ca_file, leaf_file)
    assert checked.returncode == 0, checked.stderr

    crl = token_backend.sign_crl(
        mobile.key_label,
        x509.CertificateRevocationListBuilder()
        .issuer_name(mobile.certificate.subject)
        .last_update(now)
        .next_update(now + timedelta(days=1))
        .add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(leaf.serial_number)
            .revocation_date(now)
            .build()
        ),
    )
    crl_file = tmp_path / "mobile.crl"
    crl_file.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    checked = _openssl("crl", "-in", crl_file, "-CAfile", ca_file, "-noout")
    assert checked.returncode == 0, checked.stderr
    assert "verify OK" in checked.stdout + checked.stderr
    revoked = _openssl(
        "verify", "-crl_check", "-CAfile", root_file, "-untrusted", ca_file,
        "-CRLfile", crl_file, leaf_file,
    )  # fmt: skip
    assert revoked.returncode != 0
    assert "revoked" in revoked.stdout + revoked.stderr

    responder = hierarchy.ocsp_signer("mobile")
    assert responder is not None
    response = token_backend.sign_ocsp(
        responder.key_label,
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=leaf,
            issuer=mobile.certificate,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now,
            next_update=now + timedelta(hours=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, responder.certificate)
        .certificates([responder.certificate]),
    )
    response_file = tmp_path / "response.der"
    response_file.write_bytes(response.public_bytes(serialization.Encoding.DER))
    checked = _openssl(
        "ocsp", "-respin", response_file, "-CAfile", root_file, "-verify_other", ca_file,
        "-issuer", ca_file, "-sha256", "-cert", leaf_file, "-no_nonce",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "Response verify OK" in checked.stderr + checked.stdout
    assert f"{leaf_file}: good" in checked.stdout


# ---------------------------------------------------------------------- start-up refusals


def _refusal(backend: Pkcs11KeyBackend) -> CertCenterError:
    with pytest.raises(CertCenterError) as refused:
        backend.verify_passphrase()
    return refused.value


def test_a_wrong_pin_is_refused_by_code(softhsm: SoftHsm) -> None:
    refusal = _refusal(Pkcs11KeyBackend(SOFTHSM_MODULE, "pin-check", "000000"))
    assert refusal.code == "KEY_TOKEN_PIN_WRONG"
    assert refusal.http_status == 503
    assert "pin-check" in refusal.diagnostics("en")
    # the right PIN still opens it (one wrong try does not lock the token)
    Pkcs11KeyBackend(SOFTHSM_MODULE, "pin-check", USER_PIN).verify_passphrase()


def test_another_pin_than_the_logged_in_one_is_refused(token_backend: Pkcs11KeyBackend) -> None:
    token_backend.verify_passphrase()
    refusal = _refusal(Pkcs11KeyBackend(SOFTHSM_MODULE, "certcenter", "999999"))
    assert refusal.code == "KEY_TOKEN_PIN_WRONG"


def test_missing_pin_module_and_token(softhsm: SoftHsm, tmp_path: Path) -> None:
    assert _refusal(Pkcs11KeyBackend(SOFTHSM_MODULE, "certcenter", None)).code == (
        "KEY_TOKEN_PIN_MISSING"
    )
    missing = tmp_path / "libvendor-pkcs11.so"
    refusal = _refusal(Pkcs11KeyBackend(missing, "certcenter", USER_PIN))
    assert refusal.code == "KEY_TOKEN_MODULE_MISSING"
    assert str(missing) in refusal.diagnostics("en")
    assert _refusal(Pkcs11KeyBackend(None, "certcenter", USER_PIN)).code == (
        "KEY_TOKEN_MODULE_MISSING"
    )
    not_a_module = tmp_path / "not-a-module.so"
    not_a_module.write_text("this is not a shared library\n")
    assert _refusal(Pkcs11KeyBackend(not_a_module, "certcenter", USER_PIN)).code == (
        "KEY_TOKEN_MODULE_MISSING"
    )
    assert _refusal(Pkcs11KeyBackend(SOFTHSM_MODULE, "no-such-token", USER_PIN)).code == (
        "KEY_TOKEN_NOT_FOUND"
    )


# python-pkcs11's search object, begun on a session the restart closed, complains from its
# finaliser (C_FindObjectsFinal on a dead session); the backend has dropped that session.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_session_backend_goes_on_after_the_module_was_restarted(
    token_backend: Pkcs11KeyBackend,
) -> None:
    if not token_backend.has_key("restart-check"):
        token_backend.generate_key("restart-check")
    public = token_backend.public_key("restart-check")
    pkcs11.lib(str(SOFTHSM_MODULE)).reinitialize()  # every session of the process is gone
    assert signature_valid(public, token_backend.sign("restart-check", b"x"), b"x")


# ---------------------------------------------------------------------- wrapped customer keys


def _object_count(backend: Pkcs11KeyBackend) -> int:
    return backend._connection.run(USER_PIN, lambda session: len(list(session.get_objects())))


@pytest.mark.parametrize("kind", ["ec-p256", "rsa-2048"])
def test_customer_keys_leave_the_token_only_wrapped(
    blank_backend: Pkcs11KeyBackend, kind: str
) -> None:
    blank_backend.ensure_wrapping_key("customer-kek")
    blank_backend.ensure_wrapping_key("customer-kek")
    (kek,) = _attributes(blank_backend, "customer-kek", ObjectClass.SECRET_KEY)
    assert kek[Attribute.SENSITIVE] and not kek[Attribute.EXTRACTABLE] and kek[Attribute.TOKEN]
    objects = _object_count(blank_backend)
    made = blank_backend.generate_wrapped_key("customer-kek", kind)  # type: ignore[arg-type]
    assert key_kind_of(made.public_key) == kind
    signature = blank_backend.sign_wrapped("customer-kek", made.wrapped, b"transfer")
    assert signature_valid(made.public_key, signature, b"transfer")
    assert not signature_valid(made.public_key, signature, b"another transfer")
    # nothing of the customer's key stays in the token: only its wrapped form exists
    assert _object_count(blank_backend) == objects
    tampered = made.wrapped[:-1] + bytes([made.wrapped[-1] ^ 1])
    blank_backend.ensure_wrapping_key("other-kek")
    for label, blob in (("customer-kek", tampered), ("other-kek", made.wrapped)):
        with pytest.raises(CertCenterError) as refused:
            blank_backend.sign_wrapped(label, blob, b"x")
        assert refused.value.code == "KEY_NOT_FOUND"
    assert _object_count(blank_backend) == objects + 1  # the other KEK only


def test_wrapping_needs_the_key_encryption_key(blank_backend: Pkcs11KeyBackend) -> None:
    with pytest.raises(CertCenterError) as missing:
        blank_backend.generate_wrapped_key("customer-kek")
    assert missing.value.code == "KEY_NOT_FOUND"
