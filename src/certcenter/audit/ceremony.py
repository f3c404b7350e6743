"""Key ceremony records (키 생성·교체 기록): what a key ceremony did, signed, in the audit trail.

A key ceremony (making the root, certifying an issuing CA, rotating the OCSP signer or the
pepper, …) ends with a record that an auditor can check without trusting the database:

    record = ceremonies.record(ceremony="rotate-ocsp-signer", operator="cli:kim",
                               details={"family": "mobile", "new_key_id": "…"})
    print(json.dumps(record.document(), ensure_ascii=False, indent=2))

The record's statement is the canonical JSON of ``{format, ceremony, at, operator, details,
key}`` (:func:`certcenter.audit.trail.canonical_json`); the audit checkpoint key (the OCSP
purpose's ``audit-checkpoint``) signs it with ECDSA. The same record is written to the audit
trail (action ``key.ceremony``, subject the ceremony's name, details the record's fields and
the statement's SHA-256), so the trail's seal covers it too. :func:`record_problem` checks a
printed record against the checkpoint key's public key.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from certcenter.audit.checkpoints import CHECKPOINT_KEY_LABEL, key_id
from certcenter.audit.redaction import iso_utc
from certcenter.audit.trail import AuditTrail, canonical_json
from certcenter.clock import Clock, as_utc
from certcenter.entities import Actor
from certcenter.keys.backend import SigningKeys, signature_valid
from certcenter.ports import UnitOfWork

__all__ = ["CEREMONY_ACTION", "RECORD_FORMAT", "CeremonyRecord", "KeyCeremonies", "record_problem"]

RECORD_FORMAT = "certcenter-key-ceremony-v1"
CEREMONY_ACTION = "key.ceremony"


@dataclass(frozen=True)
class CeremonyRecord:
    """One ceremony: its name, when, who, what it did (labels, key ids, certificates'
    SHA-256; never a secret), and the signature over :meth:`statement`."""

    ceremony: str
    at: datetime
    operator: str
    details: Mapping[str, Any]
    key: str  # key id (SHA-256 of the SPKI) of the key that signed the record
    signature: bytes = field(repr=False)

    def fields(self) -> dict[str, Any]:
        return {
            "format": RECORD_FORMAT,
            "ceremony": self.ceremony,
            "at": iso_utc(as_utc(self.at)),
            "operator": self.operator,
            "details": dict(self.details),
            "key": self.key,
        }

    def statement(self) -> bytes:
        """The exact bytes signed: canonical JSON of :meth:`fields`."""
        return canonical_json(self.fields())

    def document(self) -> dict[str, Any]:
        """The printed form: the fields and the signature (base64 DER)."""
        return {**self.fields(), "signature": base64.b64encode(self.signature).decode("ascii")}


def record_problem(document: Mapping[str, Any], public_key: Any) -> str | None:
    """Why ``document`` (a printed record) is not one signed by ``public_key``; None if it is."""
    try:
        fields = {
            k: document[k] for k in ("format", "ceremony", "at", "operator", "details", "key")
        }
        signature = base64.b64decode(document["signature"], validate=True)
    except (KeyError, TypeError, ValueError):
        return "not a key ceremony record"
    if fields["format"] != RECORD_FORMAT:
        return f"unknown format {fields['format']!r}"
    if fields["key"] != key_id(public_key):
        return "signed by another key, not the audit checkpoint key"
    if not signature_valid(public_key, signature, canonical_json(fields)):
        return "the signature does not verify"
    return None


class KeyCeremonies:
    """Signs ceremony records with the audit checkpoint key and writes them to the trail."""

    def __init__(
        self,
        uow_factory: Callable[[], UnitOfWork],
        trail: AuditTrail,
        keys: SigningKeys,
        clock: Clock,
        *,
        label: str = CHECKPOINT_KEY_LABEL,
    ) -> None:
        self._uow_factory = uow_factory
        self._trail = trail
        self._keys = keys
        self._clock = clock
        self._label = label

    def public_key(self) -> Any:
        return self._keys.public_key(self._label)

    def sign(self, *, ceremony: str, operator: str, details: Mapping[str, Any]) -> CeremonyRecord:
        """The signed record, not yet in the trail (for :meth:`write` in the caller's unit
        of work, when the ceremony changes the database too)."""
        unsigned = CeremonyRecord(
            ceremony=ceremony,
            at=self._clock.now(),
            operator=operator,
            details=dict(details),
            key=key_id(self.public_key()),
            signature=b"",
        )
        signature = self._keys.sign(self._label, unsigned.statement())
        return CeremonyRecord(**{**unsigned.__dict__, "signature": signature})

    def write(self, uow: UnitOfWork, record: CeremonyRecord) -> None:
        """Write ``record`` to the audit trail in ``uow`` (the caller commits)."""
        self._trail.record(
            uow,
            actor_kind=Actor.OPERATOR,
            actor=record.operator,
            action=CEREMONY_ACTION,
            subject_kind="key-ceremony",
            subject=record.ceremony,
            details={
                **record.fields(),
                "statement_sha256": hashlib.sha256(record.statement()).hexdigest(),
                "signature": base64.b64encode(record.signature).decode("ascii"),
            },
        )

    def record(self, *, ceremony: str, operator: str, details: Mapping[str, Any]) -> CeremonyRecord:
        """Sign the record and write it to the trail in a unit of work of its own."""
        made = self.sign(ceremony=ceremony, operator=operator, details=details)
        with self._uow_factory() as uow:
            self.write(uow, made)
            uow.commit()
        return made
