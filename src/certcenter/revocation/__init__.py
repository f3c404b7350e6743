"""Certificate status for relying parties: the OCSP responder and the CRL publisher.

    status = RevocationStatus(uow_factory=center.uow_factory, backend=center.keys,
                              hierarchy=center.hierarchy, settings=settings, clock=clock,
                              change_feed=center.uow_factory)
    status.ocsp.respond(request_der)        # GET/POST /ocsp
    status.ocsp.held(request_der)           # the same, from memory only (or None)
    status.crls.current("mobile", 3)        # GET /crl/mobile-3.crl
    status.publish("mobile", 3)             # lifecycle, right after a status change
    status.refresh()                        # job runner, every pass

The domain side only: storage through :mod:`certcenter.ports`, keys through the key
backend. Message formats are in :mod:`certcenter.pki.ocsp` and :mod:`certcenter.pki.crl`.
See ``docs/revocation.md`` for what relying parties see.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import CrlRecord
from certcenter.keys.backend import CaKeys, OcspKeys
from certcenter.pki.hierarchy import CaHierarchy
from certcenter.ports import OcspChangeFeed, UnitOfWorkFactory
from certcenter.revocation.crl_publisher import CrlPublisher, Partition
from certcenter.revocation.ocsp_responder import OcspAnswer, OcspResponder, certificate_answer

__all__ = [
    "CrlPublisher",
    "OcspAnswer",
    "OcspResponder",
    "Partition",
    "RevocationStatus",
    "certificate_answer",
]

log = logging.getLogger(__name__)


class RevocationStatus:
    """Both status services over one set of parts; what the lifecycle and the job runner
    are given (``publish(family, shard)``, ``refresh()``)."""

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        backend: CaKeys,
        hierarchy: Callable[[], CaHierarchy],
        settings: Settings,
        clock: Clock,
        change_feed: OcspChangeFeed | None = None,
        ocsp_backend: OcspKeys | None = None,
    ) -> None:
        self._clock = clock
        self.ocsp = OcspResponder(
            uow_factory=uow_factory,
            backend=ocsp_backend if ocsp_backend is not None else _whole(backend),
            ca_backend=backend,
            hierarchy=hierarchy,
            settings=settings,
            clock=clock,
            change_feed=change_feed,
        )
        self.crls = CrlPublisher(
            uow_factory=uow_factory,
            backend=backend,
            hierarchy=hierarchy,
            settings=settings,
            clock=clock,
        )

    def publish(self, family: str, shard: int) -> CrlRecord:
        """Publish the CRL partition now (after a revocation, suspension or release in it)."""
        return self.crls.publish(family, shard)

    def refresh(self) -> dict[str, int]:
        """One job-runner pass: CRLs due or out of date, OCSP responses near their end.
        Both run even if one fails; the first failure is raised after."""
        now = self._clock.now()
        report = {"crls_published": 0, "ocsp_refreshed": 0}
        failure: Exception | None = None
        try:
            report["crls_published"] = len(self.crls.publish_due(now))
        except Exception as exc:  # reported below, after the OCSP part ran
            log.exception("CRL publication pass failed")
            failure = exc
        try:
            report["ocsp_refreshed"] = self.ocsp.refresh_due(now)
        except Exception as exc:  # same
            log.exception("OCSP refresh pass failed")
            failure = failure or exc
        if failure is not None:
            raise failure
        return report


def _whole(backend: CaKeys) -> OcspKeys:
    """The CAs' backend as the OCSP responders' too, when none of their own is given."""
    if not isinstance(backend, OcspKeys):
        raise TypeError(f"{type(backend).__name__} cannot sign OCSP responses: give ocsp_backend")
    return backend
