"""Sealing the audit trail in batches, and its signed checkpoints (감사 기록 체크포인트),
published outside the database.

Writers only write their entry (:meth:`certcenter.audit.trail.AuditTrail.record`); nothing on
their way is shared. The sealer, one at a time across processes (it holds the head row, which
only sealers lock), takes the committed entries after the head in number order, links each to
the one before (:func:`~certcenter.audit.trail.link_hash`), computes the RFC 6962 Merkle tree
hash over the batch's entry hashes (:mod:`certcenter.audit.merkle`), moves the head and signs
a checkpoint with the checkpoint key (a key of its own in the key backend, made at first start
like the CA keys) — all in one transaction. The signed statement is kept in the database *and*
published outside it (an append-only file, :mod:`certcenter.audit.checkpoint_log`; an e-mail or
webhook publisher plugs in beside it as a :class:`CheckpointPublisher`). A trail rewritten
later no longer matches its checkpoints, and nobody without the key can sign new ones.

    checkpoints = AuditCheckpoints(uow_factory, keys, clock, publishers=[log], published=log,
                                   every=1000, gap=timedelta(seconds=10))
    checkpoints.seal()                  # seal what has committed (the server: every second)
    checkpoints.checkpoint()            # the same, on demand; the latest checkpoint
    with uow_factory() as uow:
        result = checkpoints.verify(uow)            # the trail and every checkpoint

Numbers are given as entries are written, so on PostgreSQL a later number can commit before
an earlier one, and a rolled-back transaction leaves its number unused. The sealer never
seals past a number that may still commit: at a gap it stops, unless the first entry after the
gap was written ``gap`` ago or longer. Then it takes the missing number for an ``audit.skip``
entry (``INSERT … ON CONFLICT DO NOTHING``: a writer that still holds the number is waited for,
briefly, and its entry is sealed if it commits; one that has not written yet can no longer
commit its entry under that number). The skip is sealed and signed like any entry, so a gap is
never silent. At most ``every`` entries go into one checkpoint.

The signed statement (:func:`statement`) is plain text, so an outside tool checks it with the
public key alone (ECDSA P-256, SHA-256, DER signature)::

    certcenter audit checkpoint v2
    seq: 1200                          (tree size: entries 1 to 1200 are sealed)
    head: 9f2c…                        (entry 1200's hash, 64 hex)
    count: 200                         (entries in this batch: 1001 to 1200)
    root: 51d0…                        (Merkle tree hash over their entry hashes, 64 hex)
    previous: 77ab…                    (entry 1000's hash: the checkpoint before's head)
    at: 2026-11-23T01:00:00.000000Z
    key: 3b7a…                         (SHA-256 of the key's SubjectPublicKeyInfo, 64 hex)

    openssl dgst -sha256 -verify audit-checkpoint.pub.pem -signature sig.der statement.txt

Checkpoints signed before sealing existed (``v1``: the same lines without ``root`` and
``previous``) still verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certcenter.audit import merkle
from certcenter.audit.redaction import iso_utc
from certcenter.audit.trail import (
    CHECKPOINT_INVALID,
    CHECKPOINT_MISMATCH,
    GENESIS_HASH,
    AuditVerification,
    content_hash,
    link_hash,
    link_problem,
    verify_chain,
)
from certcenter.clock import Clock, as_utc
from certcenter.entities import AuditCheckpoint, AuditEntry
from certcenter.errors import CertCenterError
from certcenter.keys import SigningKeys, hash_for_curve
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "CHECKPOINT_KEY_LABEL",
    "DOCUMENT_FORMAT",
    "STATEMENT_TITLE",
    "AuditCheckpoints",
    "CheckpointPublisher",
    "PublishedCheckpoint",
    "PublishedCheckpoints",
    "checkpoint_document",
    "checkpoint_from_document",
    "ensure_checkpoint_key",
    "key_id",
    "signature_problem",
    "statement",
]

CHECKPOINT_KEY_LABEL = "audit-checkpoint"
STATEMENT_TITLE = "certcenter audit checkpoint v2"
DOCUMENT_FORMAT = "certcenter-audit-checkpoint-v2"
_TITLES = {1: "certcenter audit checkpoint v1", 2: STATEMENT_TITLE}
_FORMATS = {"certcenter-audit-checkpoint-v1": 1, DOCUMENT_FORMAT: 2}
SKIP_ACTION = "audit.skip"
LOCK_WAIT_SECONDS = 2.0  # how long a sealer waits for a writer that still holds a number
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
log = logging.getLogger(__name__)


# ---------------------------------------------------------------- the signed statement


def key_id(public_key: PublicKeyTypes) -> str:
    """SHA-256 of the key's DER SubjectPublicKeyInfo, lowercase hex."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def statement(checkpoint: AuditCheckpoint) -> bytes:
    """The exact bytes the checkpoint key signs (ASCII lines, each ending in ``\\n``)."""
    lines = [
        _TITLES[checkpoint.version],
        f"seq: {checkpoint.seq}",
        f"head: {checkpoint.head_hash}",
        f"count: {checkpoint.count}",
    ]
    if checkpoint.version >= 2:
        lines += [f"root: {checkpoint.root_hash}", f"previous: {checkpoint.previous_hash}"]
    lines += [f"at: {iso_utc(as_utc(checkpoint.at))}", f"key: {checkpoint.key_id}"]
    return ("\n".join(lines) + "\n").encode("ascii")


def signature_problem(checkpoint: AuditCheckpoint, public_key: PublicKeyTypes) -> str | None:
    """Why ``checkpoint`` is not one ``public_key`` signed; None when it is."""
    if checkpoint.key_id != key_id(public_key):
        return f"signed by another key ({checkpoint.key_id[:16]}…), not the checkpoint key"
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        return "the checkpoint key is not an EC key"
    try:
        public_key.verify(
            checkpoint.signature, statement(checkpoint), ec.ECDSA(hash_for_curve(public_key.curve))
        )
    except (InvalidSignature, ValueError):
        return "the signature does not verify under the checkpoint key"
    return None


def checkpoint_document(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """The published form: the fields, the statement as signed, the signature (base64 DER)."""
    document: dict[str, Any] = {
        "format": next(f for f, v in _FORMATS.items() if v == checkpoint.version),
        "seq": checkpoint.seq,
        "head": checkpoint.head_hash,
        "count": checkpoint.count,
        "at": iso_utc(as_utc(checkpoint.at)),
        "key": checkpoint.key_id,
        "statement": statement(checkpoint).decode("ascii"),
        "signature": base64.b64encode(checkpoint.signature).decode("ascii"),
    }
    if checkpoint.version >= 2:
        document["root"] = checkpoint.root_hash
        document["previous"] = checkpoint.previous_hash
    return document


def checkpoint_from_document(document: Any) -> AuditCheckpoint:
    """Read :func:`checkpoint_document`'s form back (v1 or v2); :class:`ValueError` names what
    is wrong (the signature is not checked here: :func:`signature_problem`)."""
    version = _FORMATS.get(str(document.get("format"))) if isinstance(document, dict) else None
    if version is None:
        raise ValueError(f"not a {DOCUMENT_FORMAT} document")
    seq, count = document.get("seq"), document.get("count")
    if type(seq) is not int or type(count) is not int or not 1 <= count <= seq:
        raise ValueError("seq and count must be whole numbers with 1 <= count <= seq")
    names = ["head", "key"] + (["root", "previous"] if version >= 2 else [])
    for name in names:
        value = document.get(name)
        if not (isinstance(value, str) and _HEX64.fullmatch(value)):
            raise ValueError(f"{name} must be 64 lowercase hex characters")
    at_text = document.get("at")
    if not isinstance(at_text, str) or not at_text.endswith("Z"):
        raise ValueError("at must be an ISO 8601 UTC time ending in Z")
    at = datetime.fromisoformat(at_text.removesuffix("Z") + "+00:00").astimezone(UTC)
    try:
        signature = base64.b64decode(str(document.get("signature")), validate=True)
    except binascii.Error:
        raise ValueError("signature is not base64") from None
    checkpoint = AuditCheckpoint(
        seq=seq,
        head_hash=document["head"],
        count=count,
        at=at,
        key_id=document["key"],
        signature=signature,
        version=version,
        root_hash=document.get("root") if version >= 2 else None,
        previous_hash=document.get("previous") if version >= 2 else None,
    )
    if document.get("statement") != statement(checkpoint).decode("ascii"):
        raise ValueError("the statement does not match the document's fields")
    return checkpoint


# ---------------------------------------------------------------- publishing


class CheckpointPublisher(Protocol):
    """Sends a signed checkpoint outside the database (a file, the audit office's e-mail, a
    webhook). Called by the sealer while it holds the head, before the batch commits: be
    quick, or hand the work off (an e-mail publisher would queue the message). An exception
    leaves the batch unsealed; the next pass seals it again."""

    def publish(self, checkpoint: AuditCheckpoint, public_key_pem: bytes) -> None: ...


@dataclass(frozen=True)
class PublishedCheckpoint:
    """One published checkpoint as read back: where it is, and the checkpoint (None with a
    ``problem`` when the record cannot be read)."""

    where: str
    checkpoint: AuditCheckpoint | None
    problem: str | None = None


class PublishedCheckpoints(Protocol):
    """A publication that can be read back, so ``verify`` checks against it."""

    def read(self) -> list[PublishedCheckpoint]: ...


def ensure_checkpoint_key(keys: SigningKeys, label: str = CHECKPOINT_KEY_LABEL) -> bool:
    """Make the checkpoint key (EC P-256) unless it exists; True if it was made now."""
    if keys.has_key(label):
        return False
    try:
        keys.generate_key(label, "ec-p256")
    except CertCenterError as exc:
        if exc.code != "KEY_ALREADY_EXISTS":
            raise
        return False  # made meanwhile by another process
    log.info("audit: made the checkpoint key %r", label)
    return True


# ---------------------------------------------------------------- the service


class AuditCheckpoints:
    """Seals the trail in batches; makes, publishes and verifies its signed checkpoints."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        keys: SigningKeys,
        clock: Clock,
        *,
        publishers: Sequence[CheckpointPublisher] = (),
        published: PublishedCheckpoints | None = None,
        every: int = 1000,
        gap: timedelta = timedelta(seconds=10),
        lock_wait_seconds: float = LOCK_WAIT_SECONDS,
        label: str = CHECKPOINT_KEY_LABEL,
    ) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        self.uow_factory = uow_factory
        self.keys = keys
        self.clock = clock
        self.publishers = tuple(publishers)
        self.published = published
        self.every = every
        self.gap = gap
        self.lock_wait_seconds = lock_wait_seconds
        self.label = label

    def seal(self, *, wait: bool = True) -> AuditCheckpoint | None:
        """Seal every committed entry that can be sealed now, in batches of at most
        :attr:`every`, each with its signed checkpoint; the last checkpoint made (None when
        nothing was waiting, or — ``wait=False`` — another sealer holds the head)."""
        made = None
        while True:
            batch, full = self._seal_batch(wait=wait)
            if batch is None:
                return made
            made = batch
            if not full:
                return made

    def checkpoint(self) -> AuditCheckpoint | None:
        """On demand (``certcenter audit checkpoint``): seal what has committed, waiting for a
        sealer at work; the latest checkpoint (None while nothing was ever sealed)."""
        made = self.seal(wait=True)
        if made is not None:
            return made
        with self.uow_factory() as uow:
            return uow.audit.last_checkpoint()

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        """The server's sealer: a pass at once (the tail a crash left), then every
        ``interval`` seconds until stopped; a pass that finds another sealer at work skips."""
        while not stop.is_set():
            try:
                self.seal(wait=False)
            except CertCenterError as error:
                if error.http_status != 503:
                    log.exception("audit: sealing failed; the next pass tries again")
                else:  # the key backend or the database is away for now: one line
                    log.warning("audit: sealing waits: %s (%s)", error.code, error.cause("en"))
            except Exception:
                log.exception("audit: sealing failed; the next pass tries again")
            stop.wait(interval)

    def _skip_entry(self, seq: int, now: datetime) -> AuditEntry:
        entry = AuditEntry(
            seq=seq,
            at=now,
            actor_kind="system",
            actor="audit-sealer",
            action=SKIP_ACTION,
            subject_kind="audit_entry",
            subject=str(seq),
            outcome="skipped",
            prev_hash=None,
            entry_hash=None,
            details={
                "reason": "the number was never committed",
                "gap_seconds": int(self.gap.total_seconds()),
            },
        )
        entry.content_hash = content_hash(entry)
        return entry

    def _seal_batch(self, *, wait: bool) -> tuple[AuditCheckpoint | None, bool]:
        """One batch in one transaction: (its checkpoint, whether the batch was full)."""
        public = self.keys.public_key(self.label)
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with self.uow_factory() as uow:
            locked = uow.audit.lock_head(wait=wait)
            if locked is None:
                return None, False
            head_seq, head_hash = locked
            now = self.clock.now()
            links: list[tuple[int, str, str]] = []
            position, prev = head_seq, head_hash

            def link(entry: AuditEntry) -> None:
                nonlocal position, prev
                if entry.entry_hash is not None:
                    raise _broken(entry.seq, "a sealed entry after the head (added outside)")
                if entry.content_hash is None or content_hash(entry) != entry.content_hash:
                    raise _broken(entry.seq, "content does not match content_hash (altered)")
                sealed = link_hash(prev, entry.seq, entry.content_hash)
                links.append((entry.seq, prev, sealed))
                position, prev = entry.seq, sealed

            for entry in uow.audit.entries(after_seq=head_seq, limit=self.every):
                while entry.seq > position + 1 and len(links) < self.every:
                    if now - as_utc(entry.at) < self.gap:
                        break  # the missing number may still commit
                    taken = uow.audit.take_number(
                        self._skip_entry(position + 1, now), wait_seconds=self.lock_wait_seconds
                    )
                    if taken is None:
                        break  # its writer still holds it: the next pass
                    link(taken)
                if entry.seq != position + 1 or len(links) >= self.every:
                    break
                link(entry)
            if not links:
                return None, False
            uow.audit.seal(links)

            last = uow.audit.last_checkpoint()
            since = last.seq if last is not None else 0
            if since > head_seq:
                raise _broken(head_seq, f"checkpoint {since} is past the head {head_seq}")
            earlier = uow.audit.sealed_hashes(after_seq=since, up_to=head_seq)
            if [seq for seq, _ in earlier] != list(range(since + 1, head_seq + 1)) or any(
                h is None for _, h in earlier
            ):
                raise _broken(since + 1, "the sealed entries before the head are not whole")
            leaves = [bytes.fromhex(h or "") for _, h in earlier]
            leaves += [bytes.fromhex(h) for _, _, h in links]
            made = AuditCheckpoint(
                seq=position,
                head_hash=prev,
                count=position - since,
                at=now,
                key_id=key_id(public),
                signature=b"",
                version=2,
                root_hash=merkle.tree_hash(leaves).hex(),
                previous_hash=last.head_hash if last is not None else GENESIS_HASH,
            )
            made.signature = self.keys.sign(self.label, statement(made))
            uow.audit.move_head(position, prev)
            uow.audit.add_checkpoint(made)
            uow.flush()  # stored (its number is free) before anything leaves the database
            for publisher in self.publishers:
                publisher.publish(made, pem)
            uow.commit()
        log.debug("audit: sealed entries %d to %d", head_seq + 1, made.seq)
        return made, len(links) >= self.every

    def verify(self, uow: UnitOfWork, *, batch_size: int = 1000) -> AuditVerification:
        """Walk the chain (:func:`~certcenter.audit.trail.verify_chain`) against every
        checkpoint, published and stored, each of which must carry a valid signature.

        The first checkpoint the recomputed chain disagrees with is reported
        (``AUDIT_CHECKPOINT_MISMATCH``, ``checkpoint`` = its number): the trail was rewritten
        between the checkpoint before it, which still agrees, and it. A checkpoint that does
        not verify is ``AUDIT_CHECKPOINT_INVALID``; a broken chain ``AUDIT_CHAIN_BROKEN``.
        """
        found = list(self.published.read()) if self.published is not None else []
        found += [PublishedCheckpoint(f"database checkpoint {c.seq}", c) for c in self._stored(uow)]
        public = self.keys.public_key(self.label) if found else None
        anchors: dict[int, AuditCheckpoint] = {}
        for item in found:
            problem = item.problem
            checkpoint = item.checkpoint
            if checkpoint is not None and problem is None and public is not None:
                problem = signature_problem(checkpoint, public)
            if checkpoint is None or problem is not None:
                return AuditVerification(
                    False,
                    0,
                    None,
                    f"{item.where}: {problem}",
                    code=CHECKPOINT_INVALID,
                    checkpoint=checkpoint.seq if checkpoint is not None else None,
                )
            known = anchors.setdefault(checkpoint.seq, checkpoint)
            if known.head_hash != checkpoint.head_hash:
                return AuditVerification(
                    False,
                    0,
                    checkpoint.seq,
                    f"two signed checkpoints name different hashes for entry {checkpoint.seq}",
                    code=CHECKPOINT_MISMATCH,
                    checkpoint=checkpoint.seq,
                )
        hashes = {seq: c.head_hash for seq, c in anchors.items()}
        roots: dict[int, tuple[int, str]] = {}
        for checkpoint in anchors.values():
            if checkpoint.version < 2 or checkpoint.root_hash is None:
                continue
            roots[checkpoint.seq] = (checkpoint.count, checkpoint.root_hash)
            before = checkpoint.seq - checkpoint.count
            named = hashes.setdefault(before, checkpoint.previous_hash or "") if before else None
            if (before == 0 and checkpoint.previous_hash != GENESIS_HASH) or (
                before and named != checkpoint.previous_hash
            ):
                return AuditVerification(
                    False,
                    0,
                    checkpoint.seq,
                    f"checkpoint {checkpoint.seq} names another hash for entry {before} "
                    "than the checkpoint before it",
                    code=CHECKPOINT_MISMATCH,
                    checkpoint=checkpoint.seq,
                )
        result = verify_chain(uow, batch_size=batch_size, anchors=hashes, roots=roots)
        result = replace(result, checkpoints=len(anchors))
        if result.code != CHECKPOINT_MISMATCH or result.checkpoint not in anchors:
            return result
        disagreeing = anchors[result.checkpoint]
        agreeing = max((seq for seq in anchors if seq < disagreeing.seq), default=0)
        since = f"checkpoint {agreeing}" if agreeing else "the first entry"
        signed = iso_utc(as_utc(disagreeing.at))
        if result.reason is not None and result.reason.startswith("the Merkle tree"):
            return replace(result, reason=f"checkpoint {disagreeing.seq}: {result.reason}")
        if result.first_broken_seq != disagreeing.seq:
            what = f"entry {disagreeing.seq} it names no longer exists (the trail was cut)"
        else:
            what = f"entry {disagreeing.seq} no longer has the hash it signed"
        reason = (
            f"checkpoint {disagreeing.seq} (signed {signed}): {what}; the trail was "
            f"rewritten after {since}, in entries {agreeing + 1} to {disagreeing.seq}"
        )
        return replace(result, reason=reason)

    def check_head(self, uow: UnitOfWork) -> None:
        """The quick check behind readiness: the head names the last entry, whose hash
        matches its content and links to the one before, and the newest stored checkpoint is
        signed by the checkpoint key and still matches its entry. Raises the catalog's
        ``AUDIT_CHAIN_BROKEN``, ``AUDIT_CHECKPOINT_MISMATCH`` or ``AUDIT_CHECKPOINT_INVALID``.

        Reads only entries up to the head, which never change: appends and sealing running
        meanwhile cannot make it fail.
        """
        seq, head_hash = uow.audit.head()
        tail = {e.seq: e for e in uow.audit.entries(after_seq=max(seq - 2, 0), limit=2)}
        last, before = tail.get(seq), tail.get(seq - 1)
        problem = None
        if seq == 0 and head_hash != GENESIS_HASH:
            problem = "the head of an empty trail is not the genesis hash"
        elif seq and last is None:
            problem = f"the head names entry {seq}, which does not exist"
        elif last is not None and last.entry_hash is None:
            problem = "the head names an entry that is not sealed"
        elif last is not None and link_problem(last, last.prev_hash or "") is not None:
            problem = "its content does not match its hash"
        elif last is not None and last.entry_hash != head_hash:
            problem = "the head's hash is not the last entry's"
        elif last is not None and (
            (seq > 1 and (before is None or last.prev_hash != before.entry_hash))
            or (seq == 1 and last.prev_hash != GENESIS_HASH)
        ):
            problem = f"it does not link to entry {seq - 1}"
        if problem is not None:
            raise CertCenterError("AUDIT_CHAIN_BROKEN", entry=seq or 1, detail=problem)
        newest = uow.audit.last_checkpoint()
        if newest is None:
            return
        invalid = signature_problem(newest, self.keys.public_key(self.label))
        if invalid is not None:
            raise CertCenterError(
                "AUDIT_CHECKPOINT_INVALID", detail=f"database checkpoint {newest.seq}: {invalid}"
            )
        signed = uow.audit.entries(after_seq=newest.seq - 1, limit=1)
        if not signed or signed[0].seq != newest.seq or signed[0].entry_hash != newest.head_hash:
            raise CertCenterError(
                "AUDIT_CHECKPOINT_MISMATCH",
                checkpoint=newest.seq,
                detail=f"entry {newest.seq} no longer has the hash the checkpoint signed",
            )

    def _stored(self, uow: UnitOfWork) -> list[AuditCheckpoint]:
        stored: list[AuditCheckpoint] = []
        while batch := uow.audit.checkpoints(after_seq=stored[-1].seq if stored else 0):
            stored.extend(batch)
        return stored


def _broken(seq: int, detail: str) -> CertCenterError:
    return CertCenterError("AUDIT_CHAIN_BROKEN", entry=seq, detail=detail)
