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

Writing and sealing are apart. ``record`` writes the entry under the next number the database
gives (PostgreSQL: a sequence) with its own content hash (:func:`content_hash`) and touches
no shared row, so concurrent writers never wait on each other for the trail. The sealer
(:meth:`certcenter.audit.checkpoints.AuditCheckpoints.seal`, about every second) links the
committed entries in number order: ``entry_hash = SHA-256(prev_hash ‖ seq ‖ ":" ‖
content_hash)`` (:func:`link_hash`), moves the head and signs a checkpoint over the batch.
Entries written before sealing existed carry ``entry_hash = SHA-256(prev_hash ‖ canonical
JSON of the entry)`` from their write and no content hash; both forms verify.
:func:`verify_chain` walks the trail and reports the first entry that is missing, altered,
re-linked or not covered by the head; entries not sealed yet are counted as such.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from certcenter.audit import merkle
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
    "canonical_json",
    "content_hash",
    "entry_hash",
    "link_hash",
    "link_problem",
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


def _document(entry: AuditEntry, *, with_seq: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
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
    if with_seq:
        document["seq"] = entry.seq
    return document


def content_hash(entry: AuditEntry) -> str:
    """``SHA-256(canonical_json({"at", "actor_kind", "actor", "action", "subject_kind",
    "subject", "outcome", "source_ip", "details"}))`` as lowercase hex, with ``at`` as ISO
    8601 UTC with microseconds (``2026-11-23T01:00:00.000000Z``). The number is not in it:
    the database gives it as the entry is written, and the link binds it."""
    return hashlib.sha256(canonical_json(_document(entry, with_seq=False))).hexdigest()


def link_hash(prev_hash: str, seq: int, content: str) -> str:
    """The sealed entry's hash: ``SHA-256(prev_hash ‖ seq in decimal ‖ ":" ‖ content_hash)``
    over ASCII, lowercase hex."""
    return hashlib.sha256(f"{prev_hash}{seq}:{content}".encode("ascii")).hexdigest()


def entry_hash(entry: AuditEntry) -> str:
    """The hash ``entry`` must carry, from its ``prev_hash`` and its content.

    An entry with a content hash: :func:`link_hash` of its ``prev_hash``, number and
    :func:`content_hash` (recomputed, so a changed field shows). An entry written before
    sealing existed (no content hash): ``SHA-256(prev_hash as UTF-8 ‖ canonical_json({"seq",
    "at", …, "details"}))``.
    """
    prev = entry.prev_hash or ""
    if entry.content_hash is not None:
        return link_hash(prev, entry.seq, content_hash(entry))
    digest = hashlib.sha256(prev.encode("utf-8"))
    digest.update(canonical_json(_document(entry, with_seq=True)))
    return digest.hexdigest()


def link_problem(entry: AuditEntry, prev_hash: str) -> str | None:
    """Why ``entry`` is not a sound sealed link after an entry whose hash is ``prev_hash``;
    None when it is."""
    if entry.entry_hash is None:
        return "the entry is not sealed"
    if entry.content_hash is not None and content_hash(entry) != entry.content_hash:
        return "content does not match content_hash (altered)"
    if entry.prev_hash != prev_hash:
        return "prev_hash does not link"
    if entry_hash(entry) != entry.entry_hash:
        return "content does not match entry_hash (altered)"
    return None


CHAIN_BROKEN = "AUDIT_CHAIN_BROKEN"
CHECKPOINT_MISMATCH = "AUDIT_CHECKPOINT_MISMATCH"
CHECKPOINT_INVALID = "AUDIT_CHECKPOINT_INVALID"


@dataclass(frozen=True)
class AuditVerification:
    """The result of walking the trail. ``first_broken_seq`` is the first position (entry
    number) that is missing or fails a check; ``checked`` counts the sealed entries that
    passed. ``last_seq``/``last_hash`` are the last verified entry's. ``unsealed`` counts the
    entries written but not sealed yet (the sealer's next batch): they are neither checked
    against the chain nor reported as broken.

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
    unsealed: int = 0


class AuditTrail:
    """Records audit entries in the caller's unit of work and verifies the trail."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

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
        """Write one entry in ``uow`` (no commit: it commits with the caller's change).

        Personal data is masked (see :mod:`certcenter.audit.redaction`); a value that is not
        JSON-safe, an unknown actor kind, a malformed action or subject kind or a field too
        long for its column raise ``ValueError``/``TypeError`` before anything is written.
        ``source_ip`` is stored in normal form (``None`` if it is no IP address). The entry
        is written at once under the database's next number and locks no shared row; it is
        sealed into the chain after it commits.
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
        entry = AuditEntry(
            seq=0,
            at=self.clock.now(),
            prev_hash=None,
            entry_hash=None,
            source_ip=ip,
            details=cleaned,
            actor_kind=fields["actor_kind"],
            actor=fields["actor"],
            action=fields["action"],
            subject_kind=fields["subject_kind"],
            subject=fields["subject"],
            outcome=fields["outcome"],
        )
        entry.content_hash = content_hash(entry)
        uow.audit.append(entry)
        return entry

    def verify(
        self,
        uow: UnitOfWork,
        *,
        batch_size: int = 1000,
        anchors: Mapping[int, str] | None = None,
    ) -> AuditVerification:
        """Walk the whole trail: see :func:`verify_chain`."""
        return verify_chain(uow, batch_size=batch_size, anchors=anchors)


def verify_chain(
    uow: UnitOfWork,
    *,
    batch_size: int = 1000,
    anchors: Mapping[int, str] | None = None,
    roots: Mapping[int, tuple[int, str]] | None = None,
) -> AuditVerification:
    """Walk the trail in batches and report the first broken entry.

    Sealed entries (up to the head) are checked, in order: each number follows the previous
    one (a gap is a deleted entry, reported as the missing number; an entry the sealer found
    never committed is there as its ``audit.skip`` entry), its content matches its content
    hash, its ``prev_hash`` is the previous entry's hash, its ``entry_hash`` matches, and —
    for numbers given in ``anchors`` (hashes published earlier: signed checkpoints) — its hash
    is the anchored one. ``roots`` (checkpoint number → (count, Merkle tree hash)) are the
    signed trees over batches of entry hashes (:mod:`certcenter.audit.merkle`): each batch's
    recomputed tree must give the signed root. The head must name the last sealed entry (a
    deleted last entry leaves it pointing past the end; a sealed-looking entry added behind
    the trail's back is not covered by it).

    Entries after the head are the unsealed tail: counted in ``unsealed`` (an entry whose
    content no longer matches its content hash is reported as altered). Entries sealed while
    the walk runs (PostgreSQL) are checked if seen in order, never reported as broken.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    anchors = dict(anchors or {})
    start_seq, start_hash = uow.audit.head()
    last_seq, last_hash, checked, unsealed = 0, GENESIS_HASH, 0, 0
    in_tail = False  # an entry after the sealed ones was seen
    late_sealed: list[int] = []  # sealed entries seen after the tail began
    # Merkle batches: end → (start, leaves collected)
    roots = dict(roots or {})
    batches: dict[int, tuple[int, list[bytes]]] = {
        end: (end - count, []) for end, (count, _root) in roots.items()
    }

    def broken(
        seq: int, reason: str, code: str = CHAIN_BROKEN, checkpoint: int | None = None
    ) -> AuditVerification:
        return AuditVerification(
            False,
            checked,
            seq,
            reason,
            last_seq,
            last_hash,
            code=code,
            checkpoint=checkpoint,
            unsealed=unsealed,
        )

    after = 0
    while True:
        batch = uow.audit.entries(after_seq=after, limit=batch_size)
        if not batch:
            break
        after = batch[-1].seq
        for entry in batch:
            if in_tail or (entry.seq > start_seq and entry.entry_hash is None):
                in_tail = True
                if entry.entry_hash is not None:
                    late_sealed.append(entry.seq)
                    continue
                if entry.content_hash is None or content_hash(entry) != entry.content_hash:
                    return broken(
                        entry.seq, "unsealed entry: content does not match content_hash (altered)"
                    )
                unsealed += 1
                continue
            expected = last_seq + 1
            if entry.seq != expected:
                return broken(expected, f"entry {expected} is missing (next is {entry.seq})")
            if entry.entry_hash is None:
                return broken(entry.seq, "entry is not sealed, but the head is past it (inserted)")
            problem = link_problem(entry, last_hash)
            if problem == "prev_hash does not link":
                previous = f"entry {last_seq}" if last_seq else "the genesis hash"
                return broken(
                    entry.seq,
                    f"prev_hash does not link to {previous}: "
                    f"entry {last_seq} or entry {entry.seq} was rewritten",
                )
            if problem is not None:
                return broken(entry.seq, problem)
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
            for end, (begin, leaves) in batches.items():
                if begin < entry.seq <= end:
                    leaves.append(bytes.fromhex(entry.entry_hash))
                    if entry.seq == end and merkle.tree_hash(leaves).hex() != roots[end][1]:
                        return broken(
                            end,
                            f"the Merkle tree of entries {begin + 1} to {end} is not the "
                            "signed root",
                            CHECKPOINT_MISMATCH,
                            end,
                        )
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
    outside = [seq for seq in late_sealed if seq > end_seq]
    if outside:
        return broken(outside[0], f"entry {outside[0]} is not covered by the head (added outside)")
    return AuditVerification(
        True, checked, None, None, last_seq, last_hash, unsealed=unsealed + len(late_sealed)
    )


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
