"""Key backends: where the CA keys and the PIN pepper live, chosen by ``settings.key_backend``.

    backend = load_key_backend(settings)
    backend.ensure_secret("pin-pepper")
    tag = backend.mac("pin-pepper", b"123456")

Private keys never leave a backend: callers ask it to sign (see :class:`KeyBackend`).
``software`` keeps them in encrypted files, ``pkcs11`` in an HSM's token. To add a backend
(a cloud KMS), register a factory in :data:`BACKENDS`.
"""

from __future__ import annotations

from collections.abc import Callable

from certcenter.config import Settings
from certcenter.keys.backend import (
    KEY_KINDS,
    KeyBackend,
    KeyKind,
    check_label,
    describe_key_kind,
    describe_public_key,
    hash_for_curve,
    hash_for_kind,
    key_kind_of,
)
from certcenter.keys.hsm import Pkcs11KeyBackend
from certcenter.keys.software import SoftwareKeyBackend

__all__ = [
    "BACKENDS",
    "KEY_KINDS",
    "KeyBackend",
    "KeyKind",
    "Pkcs11KeyBackend",
    "SoftwareKeyBackend",
    "check_label",
    "describe_key_kind",
    "describe_public_key",
    "hash_for_curve",
    "hash_for_kind",
    "key_kind_of",
    "load_key_backend",
]

BackendFactory = Callable[[Settings], KeyBackend]


def _software(settings: Settings) -> KeyBackend:
    return SoftwareKeyBackend(settings.keys_path, settings.passphrase())


def _pkcs11(settings: Settings) -> KeyBackend:
    return Pkcs11KeyBackend(
        settings.pkcs11_module, settings.pkcs11_token_label, settings.pkcs11_user_pin()
    )


# name (the value of settings.key_backend) -> factory
BACKENDS: dict[str, BackendFactory] = {
    "software": _software,
    "pkcs11": _pkcs11,
}


def load_key_backend(settings: Settings) -> KeyBackend:
    """The backend ``settings.key_backend`` names; :class:`ValueError` for an unknown name."""
    try:
        factory = BACKENDS[settings.key_backend]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(
            f"unknown key backend {settings.key_backend!r} "
            f"(CERTCENTER_KEY_BACKEND); known backends: {known}"
        ) from None
    backend = factory(settings)
    if not isinstance(backend, KeyBackend):
        raise TypeError(
            f"key backend {settings.key_backend!r} gave {type(backend).__name__}, "
            "which does not implement KeyBackend"
        )
    return backend
