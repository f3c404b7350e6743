"""Readiness (준비 상태): can the center take a request that changes something, right now?

    readiness = Readiness({
        "storage": storage_check(uow_factory, clock),    # a heartbeat row must commit
        "audit": audit_check(uow_factory, checkpoints),  # the head names a sound last entry
        "keys": key_backends_check([                     # every backend a purpose uses
            KeyProbe(("ocsp",), key_check(ocsp_keys, "audit-checkpoint")),  # signs, verifies
            KeyProbe(("ca", "secrets"), secret_check(hsm, "pepper")),        # answers
        ]),
        "ca": hierarchy,                                 # the CA certificates are there
    })
    report = readiness.run()      # report.ok; report.failures: {"storage": STORAGE_READ_ONLY}
    report.purposes               # {"keys": ("ca", "secrets")}: whose backend failed

Each check is a callable that returns when its part works and raises the catalog's refusal
when it does not: ``STORAGE_READ_ONLY`` (the database refuses writes), ``STORAGE_UNAVAILABLE``,
``AUDIT_CHAIN_BROKEN``, ``AUDIT_CHECKPOINT_MISMATCH``/``_INVALID``, the key backend's own
``KEY_…`` codes or ``KEY_BACKEND_UNAVAILABLE``, ``CA_NOT_INITIALISED``. A reading that only
proves the database answers is not enough: a read-only database answers every read and
refuses every change, so the storage check writes and commits.

The ``keys`` check probes each key backend a purpose uses once (:func:`key_backends_check`):
the OCSP purpose's signs with the audit checkpoint key and the signature is verified, any
other answers a cheap call that reaches its store (an HMAC with the pepper, a look-up of the
root CA's key). A failure names the purposes of the backend that failed. Its result is kept
for :data:`KEY_PROBE_SECONDS`, so a load balancer probing every worker often costs the
key backends (an HSM) at most one probe per worker in that time.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.clock import Clock
from certcenter.errors import CertCenterError
from certcenter.keys import Secrets, SigningKeys, hash_for_curve
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "KEY_PROBE_SECONDS",
    "AuditHead",
    "Check",
    "KeyProbe",
    "PartsFailedError",
    "Readiness",
    "ReadinessReport",
    "all_of",
    "audit_check",
    "key_backends_check",
    "key_check",
    "label_check",
    "secret_check",
    "storage_check",
]

Check = Callable[[], object]
PROBE = "readyz"
_PROBE_DATA = b"certcenter readiness probe"
KEY_PROBE_SECONDS = 2.0  # how long the key backends' probe result is kept
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadinessReport:
    """Each check's refusal, or None where it passed, in the order the checks were given."""

    results: dict[str, CertCenterError | None]
    # for a failed check made of parts (``keys``): the parts that failed (key purposes)
    purposes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(error is None for error in self.results.values())

    @property
    def failures(self) -> dict[str, CertCenterError]:
        return {name: error for name, error in self.results.items() if error is not None}


class Readiness:
    """Runs every check, each on its own; one that fails does not stop the others."""

    def __init__(self, checks: Mapping[str, Check]) -> None:
        self.checks = dict(checks)

    def run(self) -> ReadinessReport:
        results: dict[str, CertCenterError | None] = {}
        purposes: dict[str, tuple[str, ...]] = {}
        for name, check in self.checks.items():
            try:
                check()
            except PartsFailedError as failed:
                results[name] = failed.error
                purposes[name] = failed.purposes
            except CertCenterError as error:
                results[name] = error
            else:
                results[name] = None
        if not all(error is None for error in results.values()):
            log.warning(
                "not ready: %s",
                ", ".join(
                    f"{n} {e.code}" + (f" ({', '.join(purposes[n])})" if n in purposes else "")
                    for n, e in results.items()
                    if e is not None
                ),
            )
        return ReadinessReport(results, purposes)


class PartsFailedError(Exception):
    """A check made of parts failed: the first failure's refusal, and which parts failed."""

    def __init__(self, error: CertCenterError, purposes: tuple[str, ...]) -> None:
        super().__init__(f"{error.code} ({', '.join(purposes)})")
        self.error = error
        self.purposes = purposes


@dataclass(frozen=True)
class KeyProbe:
    """One key backend: the purposes that use it and the check that proves it answers."""

    purposes: tuple[str, ...]
    check: Check


def key_backends_check(
    probes: Sequence[KeyProbe],
    *,
    keep_seconds: float = KEY_PROBE_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> Check:
    """Every probe, each backend once; :class:`PartsFailedError` names the purposes of every
    backend that failed, with the first failure's refusal. The outcome is kept for
    ``keep_seconds``: callers meanwhile get it without probing (one probes at a time)."""
    lock = threading.Lock()
    kept: list[tuple[float, PartsFailedError | None]] = []

    def probe_all() -> PartsFailedError | None:
        failures: list[tuple[tuple[str, ...], CertCenterError]] = []
        for probe in probes:
            try:
                probe.check()
            except CertCenterError as error:
                failures.append((probe.purposes, error))
        if not failures:
            return None
        named = tuple(purpose for purposes, _ in failures for purpose in purposes)
        return PartsFailedError(failures[0][1], named)

    def check() -> None:
        with lock:
            now = monotonic()
            if not kept or now - kept[0][0] >= keep_seconds:
                kept[:] = [(now, probe_all())]
            failed = kept[0][1]
        if failed is not None:
            raise PartsFailedError(failed.error, failed.purposes)

    return check


class AuditHead(Protocol):
    """What the audit check needs (:class:`certcenter.audit.AuditCheckpoints`)."""

    def check_head(self, uow: UnitOfWork) -> None: ...


def storage_check(uow_factory: UnitOfWorkFactory, clock: Clock) -> Check:
    """Write the probe's heartbeat row and commit: ``STORAGE_READ_ONLY`` when the database
    refuses (storage maps the driver's error), ``STORAGE_UNAVAILABLE`` on any other fault."""

    def check() -> None:
        try:
            with uow_factory() as uow:
                uow.health.beat(PROBE, clock.now())
                uow.commit()
        except CertCenterError:
            raise
        except Exception as exc:
            log.exception("readiness: the storage probe failed")
            raise CertCenterError("STORAGE_UNAVAILABLE", detail=type(exc).__name__) from exc

    return check


def audit_check(uow_factory: UnitOfWorkFactory, trail: AuditHead) -> Check:
    """The audit trail's head and newest checkpoint are sound (``check_head``)."""

    def check() -> None:
        try:
            with uow_factory() as uow:
                trail.check_head(uow)
        except CertCenterError:
            raise
        except Exception as exc:
            log.exception("readiness: the audit probe failed")
            raise CertCenterError("STORAGE_UNAVAILABLE", detail=type(exc).__name__) from exc

    return check


def key_check(keys: SigningKeys, label: str) -> Check:
    """The key backend signs with ``label``'s key, and the signature verifies under its public
    key; its own refusals (``KEY_PASSPHRASE_WRONG``, ``KEY_NOT_FOUND``) come through."""

    def check() -> None:
        try:
            signature = keys.sign(label, _PROBE_DATA)
            public = keys.public_key(label)
            if not isinstance(public, ec.EllipticCurvePublicKey):
                raise CertCenterError("KEY_BACKEND_UNAVAILABLE", detail="not an EC key")
            public.verify(signature, _PROBE_DATA, ec.ECDSA(hash_for_curve(public.curve)))
        except CertCenterError:
            raise
        except InvalidSignature:
            raise CertCenterError(
                "KEY_BACKEND_UNAVAILABLE", detail="its signature does not verify"
            ) from None
        except Exception as exc:
            log.exception("readiness: the key probe failed")
            raise CertCenterError("KEY_BACKEND_UNAVAILABLE", detail=type(exc).__name__) from exc

    return check


def all_of(checks: Sequence[Check]) -> Check:
    """Each check in turn; the first refusal stops it."""

    def check() -> None:
        for each in checks:
            each()

    return check


def secret_check(keys: Secrets, label: str) -> Check:
    """The backend computes an HMAC with the secret ``label`` (the pepper): it answers."""

    def check() -> None:
        with _probing():
            keys.mac(label, _PROBE_DATA)

    return check


def label_check(keys: SigningKeys, label: str, *, required: bool = True) -> Check:
    """The backend looks ``label``'s key up in its store (a token: a search in it);
    ``KEY_NOT_FOUND`` if it must be there and is not."""

    def check() -> None:
        with _probing():
            found = keys.has_key(label)
        if required and not found:
            raise CertCenterError("KEY_NOT_FOUND", label=label)

    return check


@contextlib.contextmanager
def _probing() -> Iterator[None]:
    """A probe's refusal comes through; any other fault is ``KEY_BACKEND_UNAVAILABLE``."""
    try:
        yield
    except CertCenterError:
        raise
    except Exception as exc:
        log.exception("readiness: the key probe failed")
        raise CertCenterError("KEY_BACKEND_UNAVAILABLE", detail=type(exc).__name__) from exc
