"""load_key_backend: the backend named by settings.key_backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from certcenter.config import load_settings
from certcenter.keys import (
    BACKENDS,
    CaKeys,
    KeyBackend,
    Pkcs11KeyBackend,
    Secrets,
    SoftwareKeyBackend,
    load_key_backend,
    load_key_backends,
)


def test_software_backend_from_settings(tmp_path: Path) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, key_passphrase="pass phrase")
    backend = load_key_backend(settings)
    assert isinstance(backend, SoftwareKeyBackend)
    assert isinstance(backend, KeyBackend)
    assert backend.directory == settings.keys_path == tmp_path / "keys"
    backend.ensure_secret("pin-pepper")
    assert load_key_backend(settings).mac("pin-pepper", b"x") == backend.mac("pin-pepper", b"x")


def test_passphrase_from_file(tmp_path: Path) -> None:
    (tmp_path / "pass").write_text("from a file\n")
    settings = load_settings(environ={}, data_dir=tmp_path, key_passphrase_file=tmp_path / "pass")
    load_key_backend(settings).ensure_secret("s")
    assert SoftwareKeyBackend(tmp_path / "keys", "from a file").mac("s", b"") == (
        load_key_backend(settings).mac("s", b"")
    )


def test_unknown_backend_name_lists_the_known_ones(tmp_path: Path) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, key_backend="cloud-kms")
    with pytest.raises(
        ValueError, match=r"unknown key backend 'cloud-kms'.*known backends: pkcs11, software"
    ):
        load_key_backend(settings)


def test_factory_must_give_a_key_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "broken", lambda settings: object())
    settings = load_settings(environ={}, data_dir=tmp_path, key_backend="broken")
    with pytest.raises(TypeError, match="does not implement KeyBackend"):
        load_key_backend(settings)


def test_every_purpose_shares_the_default_backend(tmp_path: Path) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, key_passphrase="pass phrase")
    backends = load_key_backends(settings)
    assert isinstance(backends.default, SoftwareKeyBackend)
    for purpose in (backends.ca, backends.ocsp, backends.customer, backends.secrets):
        assert purpose is backends.default
    assert backends.distinct() == [backends.default]


def test_a_purpose_on_a_backend_of_its_own(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "CERTCENTER_KEY_BACKEND_CA": "pkcs11",
            "CERTCENTER_KEY_BACKEND_SECRETS": "pkcs11",
            "CERTCENTER_PKCS11_MODULE": "/usr/lib/softhsm/libsofthsm2.so",
            "CERTCENTER_PKCS11_TOKEN_LABEL": "certcenter",
        },
        data_dir=tmp_path,
        key_passphrase="pass phrase",
    )
    assert settings.key_backend_names() == {"software", "pkcs11"}
    backends = load_key_backends(settings)
    assert isinstance(backends.ca, Pkcs11KeyBackend)
    assert backends.secrets is backends.ca  # one name, one backend
    assert isinstance(backends.ocsp, SoftwareKeyBackend)
    assert backends.customer is backends.ocsp is backends.default
    assert len(backends.distinct()) == 2
    assert isinstance(backends.ca, CaKeys) and isinstance(backends.secrets, Secrets)


def test_only_the_backends_in_use_are_opened(tmp_path: Path) -> None:
    """The default backend unused by every purpose is not asked for its passphrase."""
    settings = load_settings(
        environ={
            "CERTCENTER_KEY_BACKEND_CA": "software",
            "CERTCENTER_KEY_BACKEND_OCSP": "software",
            "CERTCENTER_KEY_BACKEND_CUSTOMER": "software",
            "CERTCENTER_KEY_BACKEND_SECRETS": "software",
        },
        data_dir=tmp_path,
        key_backend="pkcs11",
        key_passphrase="pass phrase",
    )
    backends = load_key_backends(settings)
    assert isinstance(backends.default, Pkcs11KeyBackend)
    assert backends.in_use() == [backends.ca]
    backends.verify_passphrase()  # the token (no module configured) is never opened


def test_an_unknown_purpose_backend_names_its_variable(tmp_path: Path) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path, key_backend_ocsp="kms")
    with pytest.raises(
        ValueError, match=r"unknown key backend 'kms' \(CERTCENTER_KEY_BACKEND_OCSP\)"
    ):
        load_key_backends(settings)
