"""load_key_backend: the backend named by settings.key_backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from certcenter.config import load_settings
from certcenter.keys import BACKENDS, KeyBackend, SoftwareKeyBackend, load_key_backend


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
