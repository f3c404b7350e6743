"""Key backends: where the CA keys and the PIN pepper live, chosen by configuration.

    backends = load_key_backends(settings)       # one backend per purpose
    backends.secrets.ensure_secret("pin-pepper")
    tag = backends.secrets.mac("pin-pepper", b"123456")
    backends.ca.sign_certificate("root-ca", builder)

Private keys never leave a backend: callers ask it to sign (see :class:`KeyBackend`).
``software`` keeps them in encrypted files, ``pkcs11`` in an HSM's token. Each purpose
(``ca``, ``ocsp``, ``customer``, ``secrets``) uses the backend ``key_backend_<purpose>``
names, else ``key_backend``; a name used by several purposes is one backend object. To add
a backend (a cloud KMS), register a factory in :data:`BACKENDS`.

After CA keys were rolled over into an HSM (``certcenter keys ceremony rollover-ca`` with
``key_backend_ca = "pkcs11"``), the retired CA keys stay where they were made:
``key_backend_ca_retired = "software"`` names that backend, and the CA purpose's backend
(:class:`RetiredCaKeys`) signs with a key there when the token has none under its label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certcenter.config import KEY_PURPOSES, Settings
from certcenter.keys.backend import (
    KEY_KINDS,
    CaKeys,
    CustomerKeys,
    KeyBackend,
    KeyKind,
    OcspKeys,
    Secrets,
    SigningKeys,
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
    "CaKeys",
    "CustomerKeys",
    "KeyBackend",
    "KeyBackends",
    "KeyKind",
    "OcspKeys",
    "Pkcs11KeyBackend",
    "RetiredCaKeys",
    "Secrets",
    "SigningKeys",
    "SoftwareKeyBackend",
    "check_label",
    "describe_key_kind",
    "describe_public_key",
    "hash_for_curve",
    "hash_for_kind",
    "key_kind_of",
    "load_key_backend",
    "load_key_backends",
    "make_backend",
]

BackendFactory = Callable[[Settings], KeyBackend]


def _software(settings: Settings) -> KeyBackend:
    return SoftwareKeyBackend(settings.keys_path, settings.passphrase())


def _pkcs11(settings: Settings) -> KeyBackend:
    return Pkcs11KeyBackend(
        settings.pkcs11_module,
        settings.pkcs11_token_label,
        settings.pkcs11_user_pin(),
        sessions=settings.pkcs11_sessions,
    )


# name (the value of settings.key_backend) -> factory
BACKENDS: dict[str, BackendFactory] = {
    "software": _software,
    "pkcs11": _pkcs11,
}


@dataclass(frozen=True)
class KeyBackends:
    """The backend of each purpose (the same object where two purposes share a name)."""

    default: KeyBackend  # key_backend: every purpose not configured elsewhere
    ca: KeyBackend  # root and issuing CAs, the CMP responder: certificates and CRLs
    ocsp: KeyBackend  # the OCSP responders and the audit checkpoint key
    customer: KeyBackend  # the financial certificate's cloud keys
    secrets: KeyBackend  # pepper, code digests, sealing keys

    @classmethod
    def single(cls, backend: KeyBackend) -> KeyBackends:
        """Every purpose on one backend (the default configuration)."""
        return cls(backend, backend, backend, backend, backend)

    def distinct(self) -> list[KeyBackend]:
        """Each backend once, the default first."""
        found: list[KeyBackend] = []
        for backend in (self.default, self.ca, self.ocsp, self.customer, self.secrets):
            if all(backend is not other for other in found):
                found.append(backend)
        return found

    def in_use(self) -> list[KeyBackend]:
        """Each backend a purpose uses, once."""
        used = (self.ca, self.ocsp, self.customer, self.secrets)
        return [b for b in self.distinct() if any(b is u for u in used)]

    def verify_passphrase(self) -> None:
        """Open every backend a purpose uses: a wrong passphrase or PIN shows at start-up."""
        for backend in self.in_use():
            backend.verify_passphrase()


def _make(name: str, settings: Settings, setting: str) -> KeyBackend:
    try:
        factory = BACKENDS[name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        variable = f"CERTCENTER_{setting.upper()}"
        raise ValueError(
            f"unknown key backend {name!r} ({variable}); known backends: {known}"
        ) from None
    backend = factory(settings)
    if not isinstance(backend, KeyBackend):
        raise TypeError(
            f"key backend {name!r} gave {type(backend).__name__}, "
            "which does not implement KeyBackend"
        )
    return backend


def make_backend(name: str, settings: Settings) -> KeyBackend:
    """A new backend of the kind ``name`` (``pkcs11``) with the settings' options for it:
    the target of ``certcenter keys migrate``. :class:`ValueError` for an unknown name."""
    return _make(name, settings, "key_backend")


def load_key_backend(settings: Settings) -> KeyBackend:
    """The backend ``settings.key_backend`` names; :class:`ValueError` for an unknown name."""
    return _make(settings.key_backend, settings, "key_backend")


class RetiredCaKeys:
    """The CA purpose's backend with the keys a migration left behind: every operation goes
    to ``current``; signing with (or reading) a label it does not hold goes to ``retired``,
    where the CA keys that a rollover into the HSM retired still sign their CRLs and OCSP
    responders. New keys are always made in ``current``."""

    def __init__(self, current: KeyBackend, retired: KeyBackend) -> None:
        self.current = current
        self.retired = retired

    def _holder(self, label: str) -> KeyBackend:
        if self.current.has_key(label) or not self.retired.has_key(label):
            return self.current
        return self.retired

    def has_key(self, label: str) -> bool:
        return self.current.has_key(label) or self.retired.has_key(label)

    def generate_key(self, label: str, kind: KeyKind = "ec-p256") -> PublicKeyTypes:
        return self.current.generate_key(label, kind)

    def public_key(self, label: str) -> PublicKeyTypes:
        return self._holder(label).public_key(label)

    def sign(self, label: str, data: bytes) -> bytes:
        return self._holder(label).sign(label, data)

    def sign_certificate(self, label: str, builder: x509.CertificateBuilder) -> x509.Certificate:
        return self._holder(label).sign_certificate(label, builder)

    def sign_crl(
        self, label: str, builder: x509.CertificateRevocationListBuilder
    ) -> x509.CertificateRevocationList:
        return self._holder(label).sign_crl(label, builder)

    def __getattr__(self, name: str) -> Any:  # the rest of KeyBackend: the current one's
        return getattr(self.current, name)


def load_key_backends(settings: Settings) -> KeyBackends:
    """The backend of each purpose, each name made once; the CA purpose's joined by the
    backend of its retired keys when ``key_backend_ca_retired`` names one."""
    made: dict[str, KeyBackend] = {settings.key_backend: load_key_backend(settings)}
    chosen: dict[str, KeyBackend] = {}
    for purpose in KEY_PURPOSES:
        name = settings.key_backend_for(purpose)
        if name not in made:
            made[name] = _make(name, settings, f"key_backend_{purpose}")
        chosen[purpose] = made[name]
    retired = settings.key_backend_ca_retired
    if retired and retired != settings.key_backend_for("ca"):
        if retired not in made:
            made[retired] = _make(retired, settings, "key_backend_ca_retired")
        chosen["ca"] = cast(KeyBackend, RetiredCaKeys(chosen["ca"], made[retired]))
    return KeyBackends(default=made[settings.key_backend], **chosen)
