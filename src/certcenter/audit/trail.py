"""The audit trail (감사 기록): who did what to which subject, hash-chained, personal data redacted.

A domain service records inside *its own* unit of work, just before it commits, so the entry
and the change it describes commit together (or not at all):

    trail = AuditTrail(clock)
    with uow_factory() as uow:
        ...                                   # the change: revoke, suspend, register, …
        trail.record(uow, actor_kind=Actor.OPERATOR, actor="op-kim",
                     action="certificate.revoke", subject_kind="certificate", subject=serial,
                     details={"reason": "keyCompromise"})
        uow.commit()

    with uow_factory() as uow:
        result = trail.verify(uow)            # AuditVerification(ok=True, checked=…, …)

Each entry commits to the one before it: ``entry_hash = SHA-256(prev_hash ‖ canonical JSON of
the entry's other fields)`` (see :func:`entry_hash`). ``record`` locks the chain's head row
(:meth:`~certcenter.ports.AuditRepository.lock_head`) until the caller's transaction ends, so
entries form one chain across threads and processes; call it last, just before ``commit``,
to hold that lock briefly. :meth:`AuditTrail.verify` walks the whole chain and reports the
first entry that is missing, altered, re-linked or not covered by the head.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from certcenter.audit.redaction import iso_utc, redact_details, redact_text
from certcenter.clock import Clock, as_utc
from certcenter.entities import Actor, AuditEntry
from certcenter.ports import UnitOfWork

__all__ = [
    "CHAIN_BROKEN",
    "CHECKPOINT_INVALID",
    "CHECKPOINT_MISMATCH",
    "GENESIS_HASH",
    "AuditTrail",
    "AuditVerification",
    "CheckpointBatches",
    "canonical_json",
    "entry_hash",
    "verify_chain",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first entry (and the head's hash while the trail is empty)."""

MAX_DETAILS_BYTES = 16 * 1024

# Column widths of audit_log (storage/tables.py): checked here so both databases behave alike.
_LIMITS = {
    "actor_kind": 20,
    "actor": 80,
    "action": 60,
    "subject_kind": 30,
    "subject": 80,
    "outcome": 80,
}
_NAME_RE = re.compile(r"[A-Za-z0-9_.:-]+", re.ASCII)
_ACTOR_KINDS = frozenset(a.value for a in Actor)
log = logging.getLogger(__name__)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant white space, UTF-8, no NaN: the same bytes every time."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def entry_hash(entry: AuditEntry) -> str:
    """The hash ``entry`` must carry, from its ``prev_hash`` and its other fields.

    ``SHA-256(prev_hash as UTF-8 ‖ canonical_json({"seq", "at", "actor_kind", "actor",
    "action", "subject_kind", "subject", "outcome", "source_ip", "details"}))`` as lowercase
    hex, with ``at`` as ISO 8601 UTC with microseconds (``2026-11-23T01:00:00.000000Z``).
    """
    document = {
        "seq": entry.seq,
        "at": iso_utc(as_utc(entry.at)),
        "actor_kind": entry.actor_kind,
        "actor": entry.actor,
        "action": entry.action,
        "subject_kind": entry.subject_kind,
        "subject": entry.subject,
        "outcome": entry.outcome,
        "source_ip": entry.source_ip,
        "details": entry.details,
    }
    digest = hashlib.sha256(entry.prev_hash.encode("utf-8"))
    digest.update(canonical_json(document))
    return digest.hexdigest()


CHAIN_BROKEN = "AUDIT_CHAIN_BROKEN"
CHECKPOINT_MISMATCH = "AUDIT_CHECKPOINT_MISMATCH"
CHECKPOINT_INVALID = "AUDIT_CHECKPOINT_INVALID"


@dataclass(frozen=True)
class AuditVerification:
    """The result of walking the chain. ``first_broken_seq`` is the first position (entry
    number) that is missing or fails a check; ``checked`` counts the entries that passed.
    ``last_seq``/``last_hash`` are the last verified entry's: publish them as an anchor.

    ``code`` is the catalog code of a failure: ``AUDIT_CHAIN_BROKEN`` (the chain itself),
    ``AUDIT_CHECKPOINT_MISMATCH`` (an anchor or signed checkpoint, named by ``checkpoint``,
    no longer matches), ``AUDIT_CHECKPOINT_INVALID`` (a checkpoint whose signature does not
    verify). ``checkpoints`` counts the signed checkpoints checked
    (:class:`certcenter.audit.checkpoints.AuditCheckpoints`)."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str | None = None
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    code: str | None = None
    checkpoint: int | None = None
    checkpoints: int = 0


class CheckpointBatches(Protocol):
    """Who signs a checkpoint of the trail every ``every`` entries (``after_batch`` runs
    once the transaction that wrote entry ``every``, ``2 * every``, … has committed)."""

    @property
    def every(self) -> int: ...

    def after_batch(self) -> None: ...


class AuditTrail:
    """Records audit entries in the caller's unit of work and verifies the chain.

    With ``batches``, the entry whose number is a multiple of ``batches.every`` asks for a
    signed checkpoint once its transaction commits: one signature per batch of entries,
    none on the way of the others (:mod:`certcenter.audit.checkpoints`).
    """

    def __init__(self, clock: Clock, batches: CheckpointBatches | None = None) -> None:
        self.clock = clock
        self.batches = batches

    def record(
        self,
        uow: UnitOfWork,
        *,
        actor_kind: Actor | str,
        actor: str,
        action: str,
        subject_kind: str,
        subject: str,
        outcome: str = "ok",
        source_ip: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry in ``uow`` (no commit: it commits with the caller's change).

        Personal data is masked (see :mod:`certcenter.audit.redaction`); a value that is not
        JSON-safe, an unknown actor kind, a malformed action or subject kind or a field too
        long for its column raise ``ValueError``/``TypeError`` before anything is locked or
        written. ``source_ip`` is stored in normal form (``None`` if it is no IP address).
        """
        fields = {
            "actor_kind": str(actor_kind),
            "actor": redact_text(actor),
            "action": action,
            "subject_kind": subject_kind,
            "subject": redact_text(subject),
            "outcome": redact_text(outcome),
        }
        if fields["actor_kind"] not in _ACTOR_KINDS:
            raise ValueError(f"actor_kind must be one of {sorted(_ACTOR_KINDS)}")
        for name in ("action", "subject_kind"):
            if not _NAME_RE.fullmatch(fields[name]):
                raise ValueError(f"{name} must be letters, digits and _ . : - (got {name!r})")
        for name, limit in _LIMITS.items():
            if not fields[name] or len(fields[name]) > limit:
                raise ValueError(f"{name} must be 1 to {limit} characters")
        ip = _normal_ip(source_ip)
        cleaned = redact_details(details)
        if len(canonical_json(cleaned)) > MAX_DETAILS_BYTES:
            raise ValueError(f"details exceed {MAX_DETAILS_BYTES} bytes")

        seq, prev_hash = uow.audit.lock_head()
        entry = AuditEntry(
            seq=seq + 1,
            at=self.clock.now(),
            prev_hash=prev_hash,
            entry_hash="",
            source_ip=ip,
            details=cleaned,
            actor_kind=fields["actor_kind"],
            actor=fields["actor"],
            action=fields["action"],
            subject_kind=fields["subject_kind"],
            subject=fields["subject"],
            outcome=fields["outcome"],
        )
        entry.entry_hash = entry_hash(entry)
        uow.audit.append(entry)
        if self.batches is not None and entry.seq % self.batches.every == 0:
            uow.after_commit(self.batches.after_batch)
        return entry

    def verify(
        self,
        uow: UnitOfWork,
        *,
        batch_size: int = 1000,
        anchors: Mapping[int, str] | None = None,
    ) -> AuditVerification:
        """Walk the whole chain: see :func:`verify_chain`."""
        return verify_chain(uow, batch_size=batch_size, anchors=anchors)


def verify_chain(
    uow: UnitOfWork,
    *,
    batch_size: int = 1000,
    anchors: Mapping[int, str] | None = None,
) -> AuditVerification:
    """Walk the whole chain in batches and report the first broken entry.

    Checked for every entry, in order: its number follows the previous one (a gap is a
    deleted entry, reported as the missing number), its ``prev_hash`` is the previous
    entry's hash, its ``entry_hash`` matches its content, and — for numbers given in
    ``anchors`` (hashes published earlier: signed checkpoints) — its hash is the anchored
    one. At the end, the head must name the last entry (a deleted last entry leaves the head
    pointing past the end; an entry added behind the trail's back is not covered by the head).

    A rewrite of entry *n* that also recomputes its hash is caught at entry *n + 1*
    (whose ``prev_hash`` no longer links), unless every later entry and the head were
    rewritten too: only an anchor kept outside the database catches that, reported as
    ``AUDIT_CHECKPOINT_MISMATCH`` at the anchor's number.

    Entries appended while verification runs (PostgreSQL) are checked if seen, never
    reported as broken.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    anchors = dict(anchors or {})
    start_seq, start_hash = uow.audit.head()
    last_seq, last_hash, checked = 0, GENESIS_HASH, 0

    def broken(
        seq: int, reason: str, code: str = CHAIN_BROKEN, checkpoint: int | None = None
    ) -> AuditVerification:
        return AuditVerification(
            False, checked, seq, reason, last_seq, last_hash, code=code, checkpoint=checkpoint
        )

    while True:
        batch = uow.audit.entries(after_seq=last_seq, limit=batch_size)
        if not batch:
            break
        for entry in batch:
            expected = last_seq + 1
            if entry.seq != expected:
                return broken(expected, f"entry {expected} is missing (next is {entry.seq})")
            if entry.prev_hash != last_hash:
                previous = f"entry {last_seq}" if last_seq else "the genesis hash"
                return broken(
                    entry.seq,
                    f"prev_hash does not link to {previous}: "
                    f"entry {last_seq} or entry {entry.seq} was rewritten",
                )
            if entry_hash(entry) != entry.entry_hash:
                return broken(entry.seq, "content does not match entry_hash (altered)")
            anchored = anchors.get(entry.seq)
            if anchored is not None and anchored != entry.entry_hash:
                return broken(
                    entry.seq,
                    "entry_hash differs from the anchored hash",
                    CHECKPOINT_MISMATCH,
                    entry.seq,
                )
            if entry.seq == start_seq and entry.entry_hash != start_hash:
                return broken(entry.seq, "entry_hash differs from the head")
            last_seq, last_hash = entry.seq, entry.entry_hash
            checked += 1

    if last_seq < start_seq:
        return broken(
            last_seq + 1,
            f"entry {last_seq + 1} is missing: the head names entry {start_seq} "
            f"but the trail ends at {last_seq}",
        )
    if start_seq == 0 and start_hash != GENESIS_HASH:
        return broken(1, "the head of an empty trail is not the genesis hash")
    beyond = [seq for seq in anchors if seq > last_seq]
    if beyond:
        return broken(
            last_seq + 1,
            f"anchored entry {min(beyond)} is missing",
            CHECKPOINT_MISMATCH,
            min(beyond),
        )
    end_seq, end_hash = uow.audit.head()
    if end_seq < last_seq:
        return broken(
            end_seq + 1, f"entry {end_seq + 1} is not covered by the head (added outside)"
        )
    if end_seq == last_seq and end_hash != last_hash:
        return broken(last_seq, "entry_hash differs from the head")
    return AuditVerification(True, checked, None, None, last_seq, last_hash)


def _normal_ip(source_ip: str | None) -> str | None:
    """The address in its normal form; something that is not an IP address (a test client's
    name, a Unix socket) is recorded as no address rather than failing the caller's change."""
    if not source_ip:
        return None
    try:
        text = str(ipaddress.ip_address(source_ip.strip()))
    except ValueError:
        log.warning("audit: source_ip is not an IP address; recorded without one")
        return None
    return text if len(text) <= 45 else None
