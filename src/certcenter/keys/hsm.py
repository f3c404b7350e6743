"""A key backend in a hardware security module, spoken to through PKCS#11 (python-pkcs11).

    backend = Pkcs11KeyBackend(Path("/usr/lib/softhsm/libsofthsm2.so"), "certcenter", pin)
    backend.verify_passphrase()               # loads the module, finds the token, logs in
    backend.generate_key("root-ca", "ec-p384")
    certificate = backend.sign_certificate("root-ca", builder)

Every key is made inside the token and stays there: private keys are ``CKA_SENSITIVE`` and
not ``CKA_EXTRACTABLE``, secrets likewise. The token signs (``CKM_ECDSA`` over the digest of
the curve's hash, ``CKM_SHA256_RSA_PKCS``), computes HMACs (``CKM_SHA256_HMAC``) and seals
(``CKM_AES_GCM``); certificates, CRLs and OCSP responses are assembled around its signature
(:mod:`certcenter.keys.signed_der`).

Objects carry the label as ``CKA_LABEL``. A key is a private and a public key object; a
secret is two secret keys under one label, a generic secret for HMAC and an AES-256 key for
sealing (a token will not run both mechanisms with one key type). Two processes that make
the same object at the same moment leave two; both then use the one with the lowest
``CKA_ID``, which is random.

The module, token and PIN are opened at first use (or by :meth:`verify_passphrase` at
start-up). What goes wrong there is a catalog error: ``KEY_TOKEN_MODULE_MISSING``,
``KEY_TOKEN_NOT_FOUND``, ``KEY_TOKEN_PIN_MISSING``, ``KEY_TOKEN_PIN_WRONG``; a token that
stops answering later is ``KEY_TOKEN_UNAVAILABLE`` (503), and the next call opens it again:
the sessions are dropped, the module restarted (C_Finalize, C_Initialize) and the token
logged in to anew. A search that finds nothing asks the token for its information first, so
a token that went away (SoftHSM2 with its directory moved finds no object, and fails
C_GetTokenInfo) is never taken for a missing key.
Login is per token and per process in PKCS#11, so the backends of one process that name the
same module and token share one :class:`TokenConnection` and its pool of sessions: one by
default (operations take turns; SoftHSM2 is not safe with more), ``pkcs11_sessions`` for an
HSM whose module runs several at once.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding
from cryptography.x509 import ocsp
from pkcs11 import Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11.constants import DEFAULT
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

from certcenter.errors import CertCenterError
from certcenter.keys import signed_der
from certcenter.keys.backend import (
    RSA_BITS,
    RSA_PUBLIC_EXPONENT,
    KeyKind,
    WrappedKey,
    check_label,
    hash_for_kind,
    key_kind_of,
)

__all__ = ["Pkcs11KeyBackend", "TokenConnection", "connection"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_CURVE_NAMES: dict[KeyKind, str] = {"ec-p256": "secp256r1", "ec-p384": "secp384r1"}
_SECRET_BITS = 256
_ID_BYTES = 16
_GCM_FORMAT = b"\x02"  # sealed by the token (the software backend's own are b"\x01")
_GCM_FORMATS = (_GCM_FORMAT, b"\x01")  # the software backend's AES-256-GCM, same layout
_GCM_NONCE = 12
_GCM_TAG_BITS = 128
# SoftHSM2 (2.6) fails now and then (CKR_GENERAL_ERROR) when sessions of one process make,
# use and destroy session objects at the same time, as unwrapping a customer key does: one
# session (every operation in turn) unless the configuration allows more for an HSM that can
DEFAULT_SESSIONS = 1

# errors after which the sessions are gone (the token was removed, the module restarted)
_LOST = (
    pkcs11.exceptions.DeviceRemoved,
    pkcs11.exceptions.DeviceError,
    pkcs11.exceptions.SessionClosed,
    pkcs11.exceptions.SessionHandleInvalid,
    pkcs11.exceptions.TokenNotPresent,
    pkcs11.exceptions.TokenNotRecognised,
    pkcs11.exceptions.UserNotLoggedIn,
)
_PIN_REFUSED = (
    pkcs11.exceptions.PinIncorrect,
    pkcs11.exceptions.PinInvalid,
    pkcs11.exceptions.PinLenRange,
)


class _TokenGoneError(Exception):
    """The token stopped answering for a session that worked: raised inside an operation
    (:func:`_check_present`) so that :meth:`TokenConnection.run` starts over."""


class _Module:
    """A PKCS#11 module loaded into this process, shared by its connections.

    ``generation`` counts the module's restarts (C_Finalize, C_Initialize): a session opened
    in an earlier generation is gone, and its handle may since name another session, so it
    is forgotten, never closed. A restart happens once for each loss, however many
    connections saw it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.generation = 0
        self._library: Any = None
        self._lock = threading.Lock()

    def loaded(self) -> tuple[Any, int]:
        """The initialised library and its generation; initialised again if a restart left
        it down (SoftHSM2 does not start while its token directory is missing)."""
        with self._lock:
            if self._library is None:
                self._library = self._load()
            elif not self._library.initialized:
                try:
                    self._library.initialize()
                except pkcs11.exceptions.PKCS11Error as exc:
                    raise _unavailable("C_Initialize", exc) from None
            return self._library, self.generation

    def restart(self, generation: int) -> None:
        """C_Finalize and C_Initialize, unless another connection already did since
        ``generation``; a module that does not start again is started by the next use."""
        with self._lock:
            if generation != self.generation or self._library is None:
                return
            self.generation += 1
            with contextlib.suppress(pkcs11.exceptions.PKCS11Error):
                self._library.finalize()
            try:
                self._library.initialize()
            except pkcs11.exceptions.PKCS11Error as exc:
                log.warning("PKCS#11 module %s did not start again: %s", self.path, _describe(exc))

    def _load(self) -> Any:
        path = self.path
        if not path.is_file():
            raise CertCenterError(
                "KEY_TOKEN_MODULE_MISSING", module=str(path), detail="no such file"
            )
        try:
            return pkcs11.lib(str(path))
        except pkcs11.exceptions.PKCS11Error as exc:
            if type(exc) is not pkcs11.exceptions.PKCS11Error:  # loaded; C_Initialize failed
                raise _unavailable("C_Initialize", exc) from None
            raise CertCenterError(  # not a PKCS#11 library
                "KEY_TOKEN_MODULE_MISSING", module=str(path), detail=_describe(exc)
            ) from None
        except (OSError, RuntimeError) as exc:
            raise CertCenterError(
                "KEY_TOKEN_MODULE_MISSING", module=str(path), detail=_describe(exc)
            ) from None


_modules: dict[str, _Module] = {}
_modules_lock = threading.Lock()


def _module(path: Path) -> _Module:
    with _modules_lock:
        found = _modules.get(str(path))
        if found is None:
            found = _modules[str(path)] = _Module(path)
        return found


class TokenConnection:
    """One module, one token, logged in once: a pool of sessions for the threads."""

    def __init__(
        self, module: Path | None, token_label: str, sessions: int = DEFAULT_SESSIONS
    ) -> None:
        self.module = module
        self.token_label = token_label
        self.sessions = max(1, sessions)
        self._pin_digest: bytes | None = None
        self._idle: list[pkcs11.Session] = []
        self._members: set[int] = set()  # the sessions opened since the last reset
        self._open = 0
        self._login: pkcs11.Session | None = None
        self._generation = -1  # the module's generation the sessions were opened in
        self._seen = False  # logged in once: a token not found now has gone away
        self._lock = threading.Condition()

    def __repr__(self) -> str:
        return f"TokenConnection({str(self.module)!r}, {self.token_label!r})"

    def run(self, pin: str | None, work: Callable[[pkcs11.Session], T]) -> T:
        """``work`` with a logged-in session of this thread's own.

        When the sessions turn out lost (the token was removed, the module restarted, or a
        failed operation finds the token no longer answering C_GetTokenInfo) they are
        dropped, the module is restarted (C_Finalize, C_Initialize: SoftHSM2, for one, sees a
        token directory again only then) and ``work`` runs once more on a new session,
        logged in again; a second failure is ``KEY_TOKEN_UNAVAILABLE``. A token that is
        away stays ``KEY_TOKEN_UNAVAILABLE`` until it answers again: every call tries."""
        for attempt in (1, 2):
            session, generation = self._take(pin)
            try:
                result = work(session)
            except (*_LOST, _TokenGoneError) as exc:
                lost: BaseException = exc
            except pkcs11.exceptions.PKCS11Error as exc:
                if generation == self._module().generation and _present(session):
                    self._give_back(session)
                    raise CertCenterError("KEY_TOKEN_UNAVAILABLE", detail=_describe(exc)) from None
                lost = exc
            except BaseException:
                self._give_back(session)
                raise
            else:
                self._give_back(session)
                return result
            self._reset(close=False)  # the module's restart closes them
            self._module().restart(generation)
            if attempt == 2:
                raise CertCenterError("KEY_TOKEN_UNAVAILABLE", detail=_describe(lost)) from None
            log.warning("PKCS#11 sessions lost (%s); opening new ones", _describe(lost))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Log out and close every session (they open again when next asked for)."""
        self._reset(close=True)

    # ------------------------------------------------------------------ internals

    def _module(self) -> _Module:
        if self.module is None:
            raise CertCenterError(
                "KEY_TOKEN_MODULE_MISSING", module="(none)", detail="no module is configured"
            )
        return _module(self.module)

    def _take(self, pin: str | None) -> tuple[pkcs11.Session, int]:
        with self._lock:
            self._check_pin(pin)
            library, generation = self._module().loaded()
            if self._login is not None and generation != self._generation:
                self._reset(close=False, locked=True)  # another connection restarted it
            while True:
                if self._login is None:
                    self._login = self._log_in(library, pin)
                    self._members = {id(self._login)}
                    self._open = 1
                    # finding the token may have restarted the module
                    self._generation = generation = self._module().generation
                    return self._login, generation
                if self._idle:
                    return self._idle.pop(), generation
                if self._open < self.sessions:
                    session = self._guarded(self._token(library).open, rw=True)
                    self._members.add(id(session))
                    self._open += 1
                    return session, generation
                self._lock.wait()

    def _give_back(self, session: pkcs11.Session) -> None:
        with self._lock:
            if id(session) in self._members:  # not one from before a reset
                self._idle.append(session)
                self._lock.notify()

    def _check_pin(self, pin: str | None) -> None:
        if not pin:
            raise CertCenterError("KEY_TOKEN_PIN_MISSING", token=self.token_label)
        digest = hashlib.sha256(pin.encode("utf-8")).digest()
        if self._pin_digest is not None and not hmac.compare_digest(digest, self._pin_digest):
            # the token is logged in with another PIN: this one was never tried, and is
            # refused rather than taken on trust
            raise CertCenterError("KEY_TOKEN_PIN_WRONG", token=self.token_label)

    def _log_in(self, library: Any, pin: str | None) -> pkcs11.Session:
        token = self._token(library)
        try:
            session = token.open(rw=True, user_pin=pin)
        except _PIN_REFUSED:
            raise CertCenterError("KEY_TOKEN_PIN_WRONG", token=self.token_label) from None
        except pkcs11.exceptions.PinLocked:
            raise CertCenterError(
                "KEY_TOKEN_UNAVAILABLE", detail="the token's user PIN is locked"
            ) from None
        except pkcs11.exceptions.UserAlreadyLoggedIn:
            # logged in by an earlier connection of this process that was reset
            session = self._guarded(token.open, rw=True)
        except pkcs11.exceptions.PKCS11Error as exc:
            raise CertCenterError("KEY_TOKEN_UNAVAILABLE", detail=_describe(exc)) from None
        self._pin_digest = hashlib.sha256(str(pin).encode("utf-8")).digest()
        self._seen = True
        return session

    def _token(self, library: Any) -> pkcs11.Token:
        try:
            token: pkcs11.Token = library.get_token(token_label=self.token_label)
        except pkcs11.exceptions.NoSuchToken:
            pass
        except pkcs11.exceptions.PKCS11Error as exc:
            raise CertCenterError("KEY_TOKEN_UNAVAILABLE", detail=_describe(exc)) from None
        else:
            return token
        # a token put back since the module was started is seen only after a new C_Initialize
        module = self._module()
        module.restart(module.generation)
        library, _ = module.loaded()
        try:
            token = library.get_token(token_label=self.token_label)
        except pkcs11.exceptions.NoSuchToken:
            if self._seen:  # it was here: removed, not misconfigured
                raise CertCenterError(
                    "KEY_TOKEN_UNAVAILABLE", detail=f"token '{self.token_label}' is not present"
                ) from None
            raise CertCenterError("KEY_TOKEN_NOT_FOUND", token=self.token_label) from None
        except pkcs11.exceptions.PKCS11Error as exc:
            raise CertCenterError("KEY_TOKEN_UNAVAILABLE", detail=_describe(exc)) from None
        return token

    def _guarded(self, opener: Any, **options: Any) -> pkcs11.Session:
        try:
            session: pkcs11.Session = opener(**options)
        except pkcs11.exceptions.PKCS11Error as exc:
            raise CertCenterError("KEY_TOKEN_UNAVAILABLE", detail=_describe(exc)) from None
        return session

    def _reset(self, *, close: bool, locked: bool = False) -> None:
        """Drop every session; ``close`` them only while the module has not been restarted
        since they were opened (after a restart their handles may name new sessions)."""
        with contextlib.nullcontext() if locked else self._lock:
            sessions = [*self._idle]
            login, self._login = self._login, None
            self._idle.clear()
            self._members = set()
            self._open = 0
            self._lock.notify_all()
            same = self.module is not None and self._generation == _module(self.module).generation
        if not (close and same):
            return
        for session in [*sessions, *([login] if login is not None else [])]:
            with contextlib.suppress(pkcs11.exceptions.PKCS11Error):  # gone with the token
                session.close()


def _present(session: pkcs11.Session) -> bool:
    """Whether the session's token still answers C_GetTokenInfo."""
    try:
        session.token.slot.get_token()
    except pkcs11.exceptions.PKCS11Error:
        return False
    return True


def _check_present(session: pkcs11.Session) -> None:
    """:class:`_TokenGoneError` when the token no longer answers. SoftHSM2 with its token
    directory moved away finds no object at all (C_FindObjects succeeds, empty) and fails
    C_GetTokenInfo (CKR_GENERAL_ERROR): an empty search is checked with it before it is
    taken for a missing key."""
    if not _present(session):
        raise _TokenGoneError(f"token '{session.token.label}' no longer answers C_GetTokenInfo")


def _unavailable(step: str, exc: BaseException) -> CertCenterError:
    return CertCenterError(
        "KEY_TOKEN_UNAVAILABLE", detail=f"the module did not start ({step}: {_describe(exc)})"
    )


_connections: dict[tuple[str, str], TokenConnection] = {}
_connections_lock = threading.Lock()


def connection(
    module: Path | None, token_label: str, sessions: int = DEFAULT_SESSIONS
) -> TokenConnection:
    """This process's connection to ``token_label`` through ``module`` (shared; at most
    ``sessions`` sessions at once, the most any of its backends asked for)."""
    key = (str(module), token_label)
    with _connections_lock:
        found = _connections.get(key)
        if found is None:
            found = _connections[key] = TokenConnection(module, token_label, sessions)
        found.sessions = max(found.sessions, sessions)
        return found


class Pkcs11KeyBackend:
    """Keys and secrets inside a PKCS#11 token, found by label."""

    name = "pkcs11"

    def __init__(
        self,
        module: Path | None,
        token_label: str,
        pin: str | None,
        *,
        sessions: int = DEFAULT_SESSIONS,
    ) -> None:
        self.module = module
        self.token_label = token_label
        self._pin = pin
        self._connection = connection(module, token_label, sessions)
        self._public: dict[str, PublicKeyTypes] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Pkcs11KeyBackend({str(self.module)!r}, token={self.token_label!r})"

    def _run(self, work: Callable[[pkcs11.Session], T]) -> T:
        return self._connection.run(self._pin, work)

    # ------------------------------------------------------------------ keys

    def has_key(self, label: str) -> bool:
        check_label(label)
        return self._run(lambda session: _find(session, ObjectClass.PRIVATE_KEY, label) is not None)

    def generate_key(self, label: str, kind: KeyKind = "ec-p256") -> PublicKeyTypes:
        check_label(label)
        if kind not in _CURVE_NAMES and kind not in RSA_BITS:
            raise ValueError(f"unknown key kind {kind!r}")
        with self._lock:
            key = self._run(lambda session: _generate_pair(session, label, kind))
            self._public[label] = key
        return key

    def public_key(self, label: str) -> PublicKeyTypes:
        check_label(label)
        with self._lock:
            cached = self._public.get(label)
        if cached is not None:
            return cached

        def read(session: pkcs11.Session) -> PublicKeyTypes:
            found = _find(session, ObjectClass.PUBLIC_KEY, label)
            if found is None:
                raise CertCenterError("KEY_NOT_FOUND", label=label)
            return _public_key(found)

        key = self._run(read)
        with self._lock:
            self._public[label] = key
        return key

    def delete_key(self, label: str) -> bool:
        check_label(label)

        def destroy(session: pkcs11.Session) -> bool:
            private = _find(session, ObjectClass.PRIVATE_KEY, label)
            public = _find(session, ObjectClass.PUBLIC_KEY, label)
            for found in (private, public):
                if found is not None:
                    found.destroy()
            return private is not None

        with self._lock:
            self._public.pop(label, None)
            return self._run(destroy)

    def sign_certificate(self, label: str, builder: x509.CertificateBuilder) -> x509.Certificate:
        return signed_der.sign_certificate(builder, self._kind(label), self._tbs_signer(label))

    def sign_crl(
        self, label: str, builder: x509.CertificateRevocationListBuilder
    ) -> x509.CertificateRevocationList:
        return signed_der.sign_crl(builder, self._kind(label), self._tbs_signer(label))

    def sign_ocsp(self, label: str, builder: ocsp.OCSPResponseBuilder) -> ocsp.OCSPResponse:
        return signed_der.sign_ocsp(builder, self._kind(label), self._tbs_signer(label))

    def sign(self, label: str, data: bytes) -> bytes:
        kind = self._kind(label)

        def sign(session: pkcs11.Session) -> bytes:
            private = _find(session, ObjectClass.PRIVATE_KEY, label)
            if private is None:
                raise CertCenterError("KEY_NOT_FOUND", label=label)
            return _sign_with(private, kind, data)

        return self._run(sign)

    # ------------------------------------------------------------------ wrapped keys

    def ensure_wrapping_key(self, label: str) -> None:
        check_label(label)

        def ensure(session: pkcs11.Session) -> None:
            if _find(session, ObjectClass.SECRET_KEY, label, KeyType.AES) is None:
                session.generate_key(
                    KeyType.AES,
                    _SECRET_BITS,
                    id=os.urandom(_ID_BYTES),
                    label=label,
                    store=True,
                    capabilities=MechanismFlag.WRAP | MechanismFlag.UNWRAP,
                    template=dict(_HELD),
                )

        with self._lock:
            self._run(ensure)

    def generate_wrapped_key(self, wrapping_label: str, kind: KeyKind = "ec-p256") -> WrappedKey:
        """The pair is made in the token as session objects (gone at the end of the call),
        the private one sensitive and extractable only to be wrapped
        (``CKM_AES_KEY_WRAP_PAD``)."""
        check_label(wrapping_label)
        kind_byte = _WRAPPED_KINDS.index(kind).to_bytes(1, "big")

        def make(session: pkcs11.Session) -> WrappedKey:
            kek = self._secret(session, wrapping_label, KeyType.AES)
            public, private = _session_pair(session, kind)
            try:
                wrapped = bytes(kek.wrap_key(private, mechanism=Mechanism.AES_KEY_WRAP_PAD))
                return WrappedKey(_public_key(public), _WRAP_FORMAT + kind_byte + wrapped)
            finally:
                private.destroy()
                public.destroy()

        return self._run(make)

    def sign_wrapped(self, wrapping_label: str, wrapped: bytes, data: bytes) -> bytes:
        check_label(wrapping_label)
        if len(wrapped) < 3 or wrapped[:1] != _WRAP_FORMAT or wrapped[1] >= len(_WRAPPED_KINDS):
            raise CertCenterError("KEY_NOT_FOUND", label=wrapping_label)
        kind = _WRAPPED_KINDS[wrapped[1]]
        key_type = KeyType.RSA if kind in RSA_BITS else KeyType.EC

        def sign(session: pkcs11.Session) -> bytes:
            kek = self._secret(session, wrapping_label, KeyType.AES)
            try:
                private = kek.unwrap_key(
                    ObjectClass.PRIVATE_KEY,
                    key_type,
                    wrapped[2:],
                    mechanism=Mechanism.AES_KEY_WRAP_PAD,
                    store=False,
                    capabilities=MechanismFlag.SIGN,
                    template=dict(_UNWRAPPED),
                )
            except _DOES_NOT_UNWRAP:
                raise CertCenterError("KEY_NOT_FOUND", label=wrapping_label) from None
            try:
                return _sign_with(private, kind, data)
            finally:
                private.destroy()

        return self._run(sign)

    def rewrap(self, old_label: str, new_label: str, wrapped: bytes) -> bytes:
        """Unwrap under ``old_label`` into a session object (sensitive: it leaves the token
        only wrapped), wrap it under ``new_label`` (``CKM_AES_KEY_WRAP_PAD``), destroy it.
        Also takes the software backend's blobs (``b"\\x01"``, no kind byte) when their
        key-encryption key was imported (``certcenter keys migrate``)."""
        check_label(old_label)
        check_label(new_label)
        if len(wrapped) >= 3 and wrapped[:1] == _WRAP_FORMAT and wrapped[1] < len(_WRAPPED_KINDS):
            kind = _WRAPPED_KINDS[wrapped[1]]
            key_types = [KeyType.RSA if kind in RSA_BITS else KeyType.EC]
            body = wrapped[2:]
        elif len(wrapped) >= 2 and wrapped[:1] == _SOFTWARE_WRAP_FORMAT:
            key_types, body = [KeyType.EC, KeyType.RSA], wrapped[1:]
        else:
            raise CertCenterError("KEY_NOT_FOUND", label=old_label)

        def rewrap(session: pkcs11.Session) -> bytes:
            old = self._secret(session, old_label, KeyType.AES)
            new = self._secret(session, new_label, KeyType.AES)
            for key_type in key_types:
                try:
                    private = old.unwrap_key(
                        ObjectClass.PRIVATE_KEY,
                        key_type,
                        body,
                        mechanism=Mechanism.AES_KEY_WRAP_PAD,
                        store=False,
                        capabilities=MechanismFlag.SIGN,
                        template={**_UNWRAPPED, Attribute.EXTRACTABLE: True},
                    )
                except _DOES_NOT_UNWRAP:
                    continue
                try:
                    kind = _kind_of_private(private)
                    again = bytes(new.wrap_key(private, mechanism=Mechanism.AES_KEY_WRAP_PAD))
                finally:
                    private.destroy()
                return _WRAP_FORMAT + _WRAPPED_KINDS.index(kind).to_bytes(1, "big") + again
            raise CertCenterError("KEY_NOT_FOUND", label=old_label)

        return self._run(rewrap)

    def delete_wrapping_key(self, label: str) -> bool:
        check_label(label)

        def destroy(session: pkcs11.Session) -> bool:
            found = list(
                session.get_objects(
                    {
                        Attribute.CLASS: ObjectClass.SECRET_KEY,
                        Attribute.LABEL: label,
                        Attribute.KEY_TYPE: KeyType.AES,
                    }
                )
            )
            for item in found:
                item.destroy()
            return bool(found)

        with self._lock:
            return self._run(destroy)

    # ------------------------------------------------------------------ secrets taken in

    def import_secret(self, label: str, value: bytes, *, wrapping: bool = False) -> None:
        """A secret of another backend made a token object (``C_CreateObject``): sensitive,
        not extractable, private; a generic secret for HMAC and an AES key for sealing, or
        (``wrapping``) one AES key that only unwraps. An object already under ``label`` is
        kept when it holds the same value (checked by using it), else
        ``KEY_MIGRATION_CONFLICT``."""
        check_label(label)
        if len(value) != _SECRET_BITS // 8:
            raise ValueError("a secret to import is 32 bytes")
        parts = [(KeyType.AES, _UNWRAP_ONLY)] if wrapping else list(_IMPORTED_PARTS)

        def store(session: pkcs11.Session) -> None:
            for key_type, usage in parts:
                found = _find(session, ObjectClass.SECRET_KEY, label, key_type)
                if found is not None:
                    if not _holds(found, key_type, value, wrapping=wrapping):
                        raise CertCenterError("KEY_MIGRATION_CONFLICT", label=label)
                    continue
                session.create_object(
                    {
                        Attribute.CLASS: ObjectClass.SECRET_KEY,
                        Attribute.KEY_TYPE: key_type,
                        Attribute.VALUE: value,
                        Attribute.LABEL: label,
                        Attribute.ID: os.urandom(_ID_BYTES),
                        Attribute.TOKEN: True,
                        **_HELD,
                        **usage,
                    }
                )

        with self._lock:
            self._run(store)

    # ------------------------------------------------------------------ secrets

    def ensure_secret(self, label: str) -> None:
        check_label(label)

        def ensure(session: pkcs11.Session) -> None:
            for key_type, capabilities in _SECRET_PARTS:
                if _find(session, ObjectClass.SECRET_KEY, label, key_type) is None:
                    session.generate_key(
                        key_type,
                        _SECRET_BITS,
                        id=os.urandom(_ID_BYTES),
                        label=label,
                        store=True,
                        capabilities=capabilities,
                        template=dict(_HELD),
                    )

        with self._lock:
            self._run(ensure)

    def delete_secret(self, label: str) -> bool:
        """Destroy every secret key object under ``label`` (its HMAC and AES parts)."""
        check_label(label)

        def destroy(session: pkcs11.Session) -> bool:
            found = list(
                session.get_objects(
                    {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label}
                )
            )
            for item in found:
                item.destroy()
            return bool(found)

        with self._lock:
            return self._run(destroy)

    def mac(self, label: str, data: bytes) -> bytes:
        check_label(label)

        def mac(session: pkcs11.Session) -> bytes:
            secret = self._secret(session, label, KeyType.GENERIC_SECRET)
            return bytes(secret.sign(data, mechanism=Mechanism.SHA256_HMAC))

        return self._run(mac)

    def encrypt(self, label: str, plaintext: bytes, context: bytes) -> bytes:
        check_label(label)
        nonce = os.urandom(_GCM_NONCE)

        def seal(session: pkcs11.Session) -> bytes:
            secret = self._secret(session, label, KeyType.AES)
            parameters = pkcs11.GCMParams(nonce, context, _GCM_TAG_BITS)
            return bytes(
                secret.encrypt(plaintext, mechanism=Mechanism.AES_GCM, mechanism_param=parameters)
            )

        return _GCM_FORMAT + nonce + self._run(seal)

    def decrypt(self, label: str, sealed: bytes, context: bytes) -> bytes:
        check_label(label)
        head = len(_GCM_FORMAT) + _GCM_NONCE
        # b"\x01": sealed by the software backend with the same secret, imported here
        if len(sealed) < head + _GCM_TAG_BITS // 8 or sealed[:1] not in _GCM_FORMATS:
            raise CertCenterError("KEY_NOT_FOUND", label=label)

        def open_(session: pkcs11.Session) -> bytes:
            secret = self._secret(session, label, KeyType.AES)
            parameters = pkcs11.GCMParams(sealed[1:head], context, _GCM_TAG_BITS)
            try:
                return bytes(
                    secret.decrypt(
                        sealed[head:], mechanism=Mechanism.AES_GCM, mechanism_param=parameters
                    )
                )
            except _DOES_NOT_OPEN:
                raise CertCenterError("KEY_NOT_FOUND", label=label) from None

        return self._run(open_)

    # ------------------------------------------------------------------ start-up check

    def verify_passphrase(self) -> None:
        """Load the module, find the token and log in, so a problem shows at start."""
        self._run(_check_present)

    def close(self) -> None:
        """Close this process's sessions with the token (they reopen when next needed)."""
        self._connection.close()

    # ------------------------------------------------------------------ internals

    def _kind(self, label: str) -> KeyKind:
        kind = key_kind_of(self.public_key(label))
        if kind is None:
            raise ValueError(f"key {label!r} in the token is of a kind we do not sign with")
        return kind

    def _tbs_signer(self, label: str) -> signed_der.TbsSigner:
        return lambda tbs: self.sign(label, tbs)

    @staticmethod
    def _secret(session: pkcs11.Session, label: str, key_type: KeyType) -> Any:
        secret = _find(session, ObjectClass.SECRET_KEY, label, key_type)
        if secret is None:
            raise CertCenterError("KEY_NOT_FOUND", label=label)
        return secret


# every private key and secret: usable inside the token only
_HELD: dict[Attribute, Any] = {
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.PRIVATE: True,
}
_DOES_NOT_OPEN = (
    pkcs11.exceptions.EncryptedDataInvalid,
    pkcs11.exceptions.EncryptedDataLenRange,
    pkcs11.exceptions.FunctionFailed,
    pkcs11.exceptions.GeneralError,
)

_WRAP_FORMAT = b"\x02"  # kind byte, then PKCS#8 under CKM_AES_KEY_WRAP_PAD in the token
_SOFTWARE_WRAP_FORMAT = b"\x01"  # the software backend's: PKCS#8 under RFC 5649, no kind
_WRAPPED_KINDS: tuple[KeyKind, ...] = ("ec-p256", "ec-p384", "rsa-2048")
# an unwrapped private key: sensitive, never extractable, for signing only (attributes a
# private key does not have are left out of the template, not set false)
_UNWRAPPED: dict[Attribute, Any] = {
    **_HELD,
    Attribute.ENCRYPT: DEFAULT,
    Attribute.VERIFY: DEFAULT,
    Attribute.WRAP: DEFAULT,
    Attribute.DERIVE: DEFAULT,
}
_DOES_NOT_UNWRAP = (
    pkcs11.exceptions.WrappedKeyInvalid,
    pkcs11.exceptions.WrappedKeyLenRange,
    pkcs11.exceptions.EncryptedDataInvalid,
    pkcs11.exceptions.FunctionFailed,
    pkcs11.exceptions.GeneralError,
    pkcs11.exceptions.TemplateInconsistent,
)

# what an imported secret may do: nothing else is set true
_NO_USE: dict[Attribute, Any] = {
    Attribute.SIGN: False,
    Attribute.VERIFY: False,
    Attribute.ENCRYPT: False,
    Attribute.DECRYPT: False,
    Attribute.WRAP: False,
    Attribute.UNWRAP: False,
    Attribute.DERIVE: False,
}
_IMPORTED_PARTS = (
    (KeyType.GENERIC_SECRET, {**_NO_USE, Attribute.SIGN: True, Attribute.VERIFY: True}),
    (KeyType.AES, {**_NO_USE, Attribute.ENCRYPT: True, Attribute.DECRYPT: True}),
)
_UNWRAP_ONLY: dict[Attribute, Any] = {**_NO_USE, Attribute.UNWRAP: True}

_SECRET_PARTS = (
    (KeyType.GENERIC_SECRET, MechanismFlag.SIGN | MechanismFlag.VERIFY),
    (KeyType.AES, MechanismFlag.ENCRYPT | MechanismFlag.DECRYPT),
)


def _find(
    session: pkcs11.Session,
    object_class: ObjectClass,
    label: str,
    key_type: KeyType | None = None,
) -> Any:
    """The object of that class (and key type) under ``label``: the lowest CKA_ID of
    several, None when there is none."""
    attributes: dict[Attribute, Any] = {Attribute.CLASS: object_class, Attribute.LABEL: label}
    if key_type is not None:
        attributes[Attribute.KEY_TYPE] = key_type
    found = list(session.get_objects(attributes))
    if not found:
        _check_present(session)  # nothing found, or nothing left to search?
        return None
    if len(found) == 1:
        return found[0]
    return min(found, key=lambda item: bytes(item[Attribute.ID]))


def _generate_pair(session: pkcs11.Session, label: str, kind: KeyKind) -> PublicKeyTypes:
    """A key pair made in the token under ``label``; ``KEY_ALREADY_EXISTS`` if taken."""
    if _find(session, ObjectClass.PRIVATE_KEY, label) is not None:
        raise CertCenterError("KEY_ALREADY_EXISTS", label=label)
    options: dict[str, Any] = {
        "id": os.urandom(_ID_BYTES),
        "label": label,
        "store": True,
        "capabilities": MechanismFlag.SIGN | MechanismFlag.VERIFY,
        "private_template": dict(_HELD),
    }
    if kind in _CURVE_NAMES:
        parameters = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters(_CURVE_NAMES[kind])},
            local=True,
        )
        public, _ = parameters.generate_keypair(**options)
    else:
        exponent = RSA_PUBLIC_EXPONENT.to_bytes(3, "big")
        public, _ = session.generate_keypair(
            KeyType.RSA,
            RSA_BITS[kind],
            public_template={Attribute.PUBLIC_EXPONENT: exponent},
            **options,
        )
    return _public_key(public)


def _session_pair(session: pkcs11.Session, kind: KeyKind) -> tuple[Any, Any]:
    """A pair that lives as long as the session or until destroyed, to be wrapped."""
    options: dict[str, Any] = {
        "store": False,
        "capabilities": MechanismFlag.SIGN | MechanismFlag.VERIFY,
        "private_template": {**_HELD, Attribute.EXTRACTABLE: True},
    }
    if kind in _CURVE_NAMES:
        parameters = session.create_domain_parameters(
            KeyType.EC,
            {Attribute.EC_PARAMS: encode_named_curve_parameters(_CURVE_NAMES[kind])},
            local=True,
        )
        return parameters.generate_keypair(**options)
    exponent = RSA_PUBLIC_EXPONENT.to_bytes(3, "big")
    return session.generate_keypair(
        KeyType.RSA,
        RSA_BITS[kind],
        public_template={Attribute.PUBLIC_EXPONENT: exponent},
        **options,
    )


def _sign_with(private: Any, kind: KeyKind, data: bytes) -> bytes:
    """ECDSA (DER) over the digest with the curve's hash; RSASSA-PKCS1-v1_5 with SHA-256."""
    if kind in RSA_BITS:
        return bytes(private.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS))
    algorithm = hash_for_kind(kind)
    digest = hashlib.new(algorithm.name, data).digest()
    raw = bytes(private.sign(digest, mechanism=Mechanism.ECDSA))
    half = len(raw) // 2
    return encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )


def _public_key(public: Any) -> PublicKeyTypes:
    if public.key_type == KeyType.RSA:
        modulus = int.from_bytes(public[Attribute.MODULUS], "big")
        exponent = int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big")
        return rsa.RSAPublicNumbers(exponent, modulus).public_key()
    return serialization.load_der_public_key(encode_ec_public_key(public))


def _kind_of_private(private: Any) -> KeyKind:
    """The kind of an unwrapped private key, read from its public attributes."""
    if private.key_type == KeyType.RSA:
        bits = len(bytes(private[Attribute.MODULUS])) * 8
        for kind, size in RSA_BITS.items():
            if size == bits:
                return kind
    elif private.key_type == KeyType.EC:
        parameters = bytes(private[Attribute.EC_PARAMS])
        for kind, curve in _CURVE_NAMES.items():
            if encode_named_curve_parameters(curve) == parameters:
                return kind
    raise ValueError("a wrapped key of a kind we do not sign with")


def _holds(found: Any, key_type: KeyType, value: bytes, *, wrapping: bool) -> bool:
    """Whether the token's secret ``found`` is ``value``, found by using both on a probe."""
    probe = os.urandom(32)
    try:
        if wrapping:
            # a throwaway key wrapped here with ``value`` must unwrap in the token
            throwaway = ec.generate_private_key(ec.SECP256R1()).private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            unwrapped = found.unwrap_key(
                ObjectClass.PRIVATE_KEY,
                KeyType.EC,
                aes_key_wrap_with_padding(value, throwaway),
                mechanism=Mechanism.AES_KEY_WRAP_PAD,
                store=False,
                capabilities=MechanismFlag.SIGN,
                template=dict(_UNWRAPPED),
            )
            unwrapped.destroy()
            return True
        if key_type == KeyType.GENERIC_SECRET:
            mac = bytes(found.sign(probe, mechanism=Mechanism.SHA256_HMAC))
            return hmac.compare_digest(mac, hmac.new(value, probe, hashlib.sha256).digest())
        nonce = os.urandom(_GCM_NONCE)
        sealed = bytes(
            found.encrypt(
                probe,
                mechanism=Mechanism.AES_GCM,
                mechanism_param=pkcs11.GCMParams(nonce, b"", _GCM_TAG_BITS),
            )
        )
        return AESGCM(value).decrypt(nonce, sealed, b"") == probe
    except (*_DOES_NOT_UNWRAP, InvalidTag):
        return False


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, _TokenGoneError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
