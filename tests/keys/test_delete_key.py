"""delete_key: a customer's cloud key is destroyed (file and memory), idempotently."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.errors import CertCenterError
from certcenter.keys import SoftwareKeyBackend

PASSPHRASE = "correct horse battery staple, but longer"


def test_delete_key_removes_the_file_and_the_key_in_memory(tmp_path: Path) -> None:
    directory = tmp_path / "keys"
    backend = SoftwareKeyBackend(directory, PASSPHRASE)
    label = "fin-0123456789abcdef0123456789abcdef"
    backend.generate_key(label, "ec-p256")
    backend.generate_key("keep-me", "ec-p256")
    assert backend.sign(label, b"data")  # loaded and cached

    assert backend.delete_key(label) is True
    assert not (directory / f"{label}.key.pem").exists()
    assert not backend.has_key(label)
    with pytest.raises(CertCenterError) as caught:
        backend.sign(label, b"data")  # not from the in-memory cache either
    assert caught.value.code == "KEY_NOT_FOUND"
    assert backend.delete_key(label) is False  # idempotent
    # another process's backend over the same directory does not find it either
    other = SoftwareKeyBackend(directory, PASSPHRASE)
    with pytest.raises(CertCenterError):
        other.public_key(label)
    assert isinstance(other.public_key("keep-me"), ec.EllipticCurvePublicKey)
    # the label can be used again (a new key, never the old one)
    fresh = backend.generate_key(label, "ec-p256")
    assert isinstance(fresh, ec.EllipticCurvePublicKey)


def test_delete_key_refuses_a_label_that_is_a_path(tmp_path: Path) -> None:
    backend = SoftwareKeyBackend(tmp_path / "keys", PASSPHRASE)
    (tmp_path / "outside.key.pem").write_text("not ours")
    with pytest.raises(ValueError, match="invalid key label"):
        backend.delete_key("../outside")
    assert (tmp_path / "outside.key.pem").exists()
