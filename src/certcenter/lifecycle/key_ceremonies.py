"""The CA's key ceremonies as the operator runs them: each does its work, then signs its
record with the audit checkpoint key and writes it to the audit trail.

    ceremonies = CaCeremonies(uow_factory=..., ca_keys=keys.ca, responder_keys=keys.ocsp,
                              root_keys=lambda: open_root_keys(settings, keys.ca),
                              records=center.ceremonies, settings=settings, clock=clock)
    record = ceremonies.issue_ca("mobile", operator="cli:kim")
    print(record.document())

The root key's backend is opened only by the ceremonies that need it (``root_keys`` is
called then): an offline root is absent from the running center. The work is in
:mod:`certcenter.pki.ceremonies`; the root's CRL (an ARL: the CA certificates the root
revoked) is published by a :class:`~certcenter.revocation.crl_publisher.CrlPublisher`
signing with the root key, stored and served like every other CRL (``/crl/root.crl``),
valid ``policy.root_crl_validity_days``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from certcenter.audit.ceremony import CeremonyRecord, KeyCeremonies
from certcenter.clock import Clock, as_utc
from certcenter.config import Settings
from certcenter.entities import CrlRecord
from certcenter.keys.backend import CaKeys, SigningKeys
from certcenter.pki.ceremonies import (
    CeremonyDone,
    init_root,
    issue_ca,
    rollover_ca,
    rotate_ocsp_signer_key,
)
from certcenter.pki.crl import ROOT_CRL_FAMILY
from certcenter.pki.hierarchy import backend_name, load_hierarchy, require_root_key
from certcenter.pki.pem import public_key_der
from certcenter.ports import UnitOfWorkFactory
from certcenter.revocation.crl_publisher import CrlPublisher

__all__ = ["CaCeremonies"]


class CaCeremonies:
    """``init-root``, ``issue-ca``, ``rollover-ca``, ``rotate ocsp-signer``,
    ``sign-root-crl``: each returns its signed record, already in the audit trail."""

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        ca_keys: CaKeys,
        responder_keys: SigningKeys,
        root_keys: Callable[[], CaKeys],
        records: KeyCeremonies,
        settings: Settings,
        clock: Clock,
    ) -> None:
        self._uow_factory = uow_factory
        self._ca_keys = ca_keys
        self._responder_keys = responder_keys
        self._root_keys = root_keys
        self._records = records
        self._settings = settings
        self._clock = clock

    def init_root(self, *, operator: str) -> CeremonyRecord:
        done = init_root(self._root_keys(), self._settings, self._clock)
        return self._record(done, operator)

    def issue_ca(self, family: str, *, operator: str) -> CeremonyRecord:
        done = issue_ca(
            self._ca_keys,
            self._root_keys(),
            self._settings,
            self._clock,
            family,
            responder_keys=self._responder_keys,
        )
        return self._record(done, operator)

    def rollover_ca(self, family: str, *, operator: str) -> CeremonyRecord:
        """A new key for ``family``'s issuing CA, certified by the root and cross-certified
        by the old key (:func:`certcenter.pki.ceremonies.rollover_ca`); the old key keeps
        signing the CRLs and OCSP responses of what it issued."""
        done = rollover_ca(
            self._ca_keys,
            self._root_keys(),
            self._settings,
            self._clock,
            family,
            responder_keys=self._responder_keys,
        )
        return self._record(done, operator)

    def rotate_ocsp_signer(self, family: str, *, operator: str) -> CeremonyRecord:
        done = rotate_ocsp_signer_key(
            self._ca_keys, self._responder_keys, self._settings, self._clock, family
        )
        return self._record(done, operator)

    def sign_root_crl(self, *, operator: str) -> tuple[CeremonyRecord, CrlRecord]:
        """Sign and publish the root's CRL now with the root key (``ROOT_KEY_NOT_PRESENT``
        without it)."""
        hierarchy = load_hierarchy(self._settings)
        root_keys = self._root_keys()
        require_root_key(root_keys, hierarchy.root.certificate)
        publisher = CrlPublisher(
            uow_factory=self._uow_factory,
            backend=root_keys,
            hierarchy=partial(load_hierarchy, self._settings),
            settings=self._settings,
            clock=self._clock,
            root_validity=timedelta(days=self._settings.policy.root_crl_validity_days),
        )
        crl = publisher.publish(ROOT_CRL_FAMILY, 0)
        details: dict[str, Any] = {
            "crl_number": int(crl.number),
            "entries": int(crl.entries),
            "this_update": as_utc(crl.this_update).isoformat(),
            "next_update": as_utc(crl.next_update).isoformat(),
            "crl_sha256": hashlib.sha256(bytes(crl.der)).hexdigest(),
            "distribution_point": crl.distribution_point,
            "root_key_id": hashlib.sha256(
                public_key_der(hierarchy.root.certificate.public_key())
            ).hexdigest(),
            "backend": backend_name(root_keys),
        }
        return self._record(CeremonyDone("sign-root-crl", details), operator), crl

    def _record(self, done: CeremonyDone, operator: str) -> CeremonyRecord:
        return self._records.record(ceremony=done.ceremony, operator=operator, details=done.details)
