"""Signed checkpoints of the audit trail (감사 기록 체크포인트), published outside the database.

The hash chain shows a changed entry, unless whoever changed it also recomputed every later
hash and the head. A checkpoint closes that gap: the checkpoint key (a key of its own in the
key backend, made at first start like the CA keys) signs "the trail held *seq* entries, the
last with hash *head*", and the signed statement is kept in the database *and* published
outside it (an append-only file, :mod:`certcenter.audit.checkpoint_log`; an e-mail or webhook
publisher plugs in beside it as a :class:`CheckpointPublisher`). A trail rewritten later no
longer matches its checkpoints, and nobody without the key can sign new ones.

    checkpoints = AuditCheckpoints(uow_factory, keys, clock, publishers=[log], published=log,
                                   every=1000, max_age=timedelta(hours=1))
    trail = AuditTrail(clock, batches=checkpoints)  # a checkpoint after each 1000th entry
    checkpoints.checkpoint()                        # one now (certcenter audit checkpoint)
    with uow_factory() as uow:
        result = checkpoints.verify(uow)            # the chain and every checkpoint

Checkpoints are batched: entry 1000, 2000, … asks for one once its transaction has committed
(one signature per batch), the job runner writes one when entries have waited longer than
``max_age``, and an operator can ask for one at any time.

The signed statement (:func:`statement`) is plain text, so an outside tool checks it with the
public key alone (ECDSA P-256, SHA-256, DER signature)::

    certcenter audit checkpoint v1
    seq: 1200
    head: 9f2c…                        (entry 1200's hash, 64 hex)
    count: 1000                        (entries since the checkpoint before)
    at: 2026-11-23T01:00:00.000000Z
    key: 3b7a…                         (SHA-256 of the key's SubjectPublicKeyInfo, 64 hex)

    openssl dgst -sha256 -verify audit-checkpoint.pub.pem -signature sig.der statement.txt
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certcenter.audit.redaction import iso_utc
from certcenter.audit.trail import (
    CHECKPOINT_INVALID,
    CHECKPOINT_MISMATCH,
    GENESIS_HASH,
    AuditVerification,
    entry_hash,
    verify_chain,
)
from certcenter.clock import Clock, as_utc
from certcenter.entities import AuditCheckpoint
from certcenter.errors import CertCenterError
from certcenter.keys import KeyBackend, hash_for_curve
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
STATEMENT_TITLE = "certcenter audit checkpoint v1"
DOCUMENT_FORMAT = "certcenter-audit-checkpoint-v1"
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
        STATEMENT_TITLE,
        f"seq: {checkpoint.seq}",
        f"head: {checkpoint.head_hash}",
        f"count: {checkpoint.count}",
        f"at: {iso_utc(as_utc(checkpoint.at))}",
        f"key: {checkpoint.key_id}",
    ]
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
    return {
        "format": DOCUMENT_FORMAT,
        "seq": checkpoint.seq,
        "head": checkpoint.head_hash,
        "count": checkpoint.count,
        "at": iso_utc(as_utc(checkpoint.at)),
        "key": checkpoint.key_id,
        "statement": statement(checkpoint).decode("ascii"),
        "signature": base64.b64encode(checkpoint.signature).decode("ascii"),
    }


def checkpoint_from_document(document: Any) -> AuditCheckpoint:
    """Read :func:`checkpoint_document`'s form back; :class:`ValueError` names what is wrong
    (the signature is not checked here: :func:`signature_problem`)."""
    if not isinstance(document, dict) or document.get("format") != DOCUMENT_FORMAT:
        raise ValueError(f"not a {DOCUMENT_FORMAT} document")
    seq, count = document.get("seq"), document.get("count")
    if type(seq) is not int or type(count) is not int or not 1 <= count <= seq:
        raise ValueError("seq and count must be whole numbers with 1 <= count <= seq")
    head, key = document.get("head"), document.get("key")
    if not (isinstance(head, str) and _HEX64.fullmatch(head)):
        raise ValueError("head must be 64 lowercase hex characters")
    if not (isinstance(key, str) and _HEX64.fullmatch(key)):
        raise ValueError("key must be 64 lowercase hex characters")
    at_text = document.get("at")
    if not isinstance(at_text, str) or not at_text.endswith("Z"):
        raise ValueError("at must be an ISO 8601 UTC time ending in Z")
    at = datetime.fromisoformat(at_text.removesuffix("Z") + "+00:00").astimezone(UTC)
    try:
        signature = base64.b64decode(str(document.get("signature")), validate=True)
    except binascii.Error:
        raise ValueError("signature is not base64") from None
    checkpoint = AuditCheckpoint(
        seq=seq, head_hash=head, count=count, at=at, key_id=key, signature=signature
    )
    if document.get("statement") != statement(checkpoint).decode("ascii"):
        raise ValueError("the statement does not match the document's fields")
    return checkpoint


# ---------------------------------------------------------------- publishing


class CheckpointPublisher(Protocol):
    """Sends a signed checkpoint outside the database (a file, the audit office's e-mail, a
    webhook). Called while the trail's head is locked, before the checkpoint commits: be
    quick, or hand the work off (an e-mail publisher would queue the message). An exception
    leaves the checkpoint unmade; the next one covers its entries."""

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


def ensure_checkpoint_key(keys: KeyBackend, label: str = CHECKPOINT_KEY_LABEL) -> bool:
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
    """Makes, publishes and verifies the trail's signed checkpoints."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        keys: KeyBackend,
        clock: Clock,
        *,
        publishers: Sequence[CheckpointPublisher] = (),
        published: PublishedCheckpoints | None = None,
        every: int = 1000,
        max_age: timedelta = timedelta(hours=1),
        label: str = CHECKPOINT_KEY_LABEL,
    ) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        self.uow_factory = uow_factory
        self.keys = keys
        self.clock = clock
        self.publishers = tuple(publishers)
        self.published = published
        self._every = every
        self.max_age = max_age
        self.label = label

    @property
    def every(self) -> int:
        return self._every

    def checkpoint(self) -> AuditCheckpoint | None:
        """Sign, keep and publish a checkpoint of the trail as it is now; the latest one when
        no entry was added since, None while the trail is empty.

        Holds the trail's head (so the checkpoint names committed entries and checkpoints
        are made one at a time, in order, across processes) while it signs, stores and
        publishes; a publisher that fails leaves nothing stored.
        """
        public = self.keys.public_key(self.label)
        pem = public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        with self.uow_factory() as uow:
            seq, head_hash = uow.audit.lock_head()
            last = uow.audit.last_checkpoint()
            if seq == 0 or (last is not None and last.seq >= seq):
                return last
            made = AuditCheckpoint(
                seq=seq,
                head_hash=head_hash,
                count=seq - (last.seq if last is not None else 0),
                at=self.clock.now(),
                key_id=key_id(public),
                signature=b"",
            )
            made.signature = self.keys.sign(self.label, statement(made))
            uow.audit.add_checkpoint(made)
            uow.flush()  # stored (its number is free) before anything leaves the database
            for publisher in self.publishers:
                publisher.publish(made, pem)
            uow.commit()
        log.info("audit: checkpoint of entry %d signed and published", made.seq)
        return made

    def after_batch(self) -> None:
        """The trail reached a multiple of :attr:`every` entries: sign a checkpoint."""
        self.checkpoint()

    def checkpoint_if_due(self) -> AuditCheckpoint | None:
        """The job runner's pass: a checkpoint when entries are waiting and either
        :attr:`every` of them or the oldest checkpoint age (``max_age``) is reached."""
        with self.uow_factory() as uow:
            seq, _ = uow.audit.head()
            last = uow.audit.last_checkpoint()
        waiting = seq - (last.seq if last is not None else 0)
        if waiting <= 0:
            return None
        young = last is not None and self.clock.now() - as_utc(last.at) < self.max_age
        if young and waiting < self.every:
            return None
        return self.checkpoint()

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
        result = verify_chain(
            uow,
            batch_size=batch_size,
            anchors={seq: c.head_hash for seq, c in anchors.items()},
        )
        result = replace(result, checkpoints=len(anchors))
        if result.code != CHECKPOINT_MISMATCH or result.checkpoint not in anchors:
            return result
        disagreeing = anchors[result.checkpoint]
        agreeing = max((seq for seq in anchors if seq < disagreeing.seq), default=0)
        since = f"checkpoint {agreeing}" if agreeing else "the first entry"
        signed = iso_utc(as_utc(disagreeing.at))
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

        Reads only entries up to the head, which never change: appends running meanwhile
        cannot make it fail.
        """
        seq, head_hash = uow.audit.head()
        tail = {e.seq: e for e in uow.audit.entries(after_seq=max(seq - 2, 0), limit=2)}
        last, before = tail.get(seq), tail.get(seq - 1)
        problem = None
        if seq == 0 and head_hash != GENESIS_HASH:
            problem = "the head of an empty trail is not the genesis hash"
        elif seq and last is None:
            problem = f"the head names entry {seq}, which does not exist"
        elif last is not None and entry_hash(last) != last.entry_hash:
            problem = "its content does not match its hash"
        elif last is not None and last.entry_hash != head_hash:
            problem = "the head's hash is not the last entry's"
        elif (
            last is not None and seq > 1 and (before is None or last.prev_hash != before.entry_hash)
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
