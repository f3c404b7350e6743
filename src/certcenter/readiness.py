"""Readiness (준비 상태): can the center take a request that changes something, right now?

    readiness = Readiness({
        "storage": storage_check(uow_factory, clock),    # a heartbeat row must commit
        "audit": audit_check(uow_factory, checkpoints),  # the head names a sound last entry
        "keys": key_check(keys, "audit-checkpoint"),     # the backend signs, and it verifies
        "ca": hierarchy,                                 # the CA certificates are there
    })
    report = readiness.run()      # report.ok; report.failures: {"storage": STORAGE_READ_ONLY}

Each check is a callable that returns when its part works and raises the catalog's refusal
when it does not: ``STORAGE_READ_ONLY`` (the database refuses writes), ``STORAGE_UNAVAILABLE``,
``AUDIT_CHAIN_BROKEN``, ``AUDIT_CHECKPOINT_MISMATCH``/``_INVALID``, the key backend's own
``KEY_…`` codes or ``KEY_BACKEND_UNAVAILABLE``, ``CA_NOT_INITIALISED``. A reading that only
proves the database answers is not enough: a read-only database answers every read and
refuses every change, so the storage check writes and commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.clock import Clock
from certcenter.errors import CertCenterError
from certcenter.keys import SigningKeys, hash_for_curve
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AuditHead",
    "Check",
    "Readiness",
    "ReadinessReport",
    "audit_check",
    "key_check",
    "storage_check",
]

Check = Callable[[], object]
PROBE = "readyz"
_PROBE_DATA = b"certcenter readiness probe"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReadinessReport:
    """Each check's refusal, or None where it passed, in the order the checks were given."""

    results: dict[str, CertCenterError | None]

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
        for name, check in self.checks.items():
            try:
                check()
            except CertCenterError as error:
                results[name] = error
            else:
                results[name] = None
        if not all(error is None for error in results.values()):
            log.warning(
                "not ready: %s",
                ", ".join(f"{n} {e.code}" for n, e in results.items() if e is not None),
            )
        return ReadinessReport(results)


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
