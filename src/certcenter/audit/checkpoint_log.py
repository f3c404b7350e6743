"""The audit checkpoints' append-only file: one signed checkpoint a line, outside the database.

    log = FileCheckpointLog(Path("var/audit-checkpoints"))
    log.publish(checkpoint, public_key_pem)   # appends a line, flushed to disk
    log.read()                                # [PublishedCheckpoint(where, checkpoint), …]

In the directory (0700, files 0600):

``audit-checkpoints.jsonl``
    One JSON object a line (:func:`~certcenter.audit.checkpoints.checkpoint_document`):
    ``seq``, ``head``, ``count``, ``at``, ``key``, the ``statement`` exactly as signed and
    the ``signature`` (base64 DER). Lines are only ever appended; a line torn by a crash is
    closed before the next one is written.
``audit-checkpoint.pub.pem``
    The checkpoint key's public key, for outside tools (``openssl dgst -verify``). The
    center itself verifies against the key backend's key, never against this file.

Keep a copy elsewhere (ship the file to a WORM store or a log server): a checkpoint only
shows a rewrite while its copy is out of reach of whoever can write the database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from certcenter.audit.checkpoints import (
    PublishedCheckpoint,
    checkpoint_document,
    checkpoint_from_document,
)
from certcenter.entities import AuditCheckpoint
from certcenter.keys.atomic import ensure_directory, write_replacing

__all__ = ["CHECKPOINT_FILE", "PUBLIC_KEY_FILE", "FileCheckpointLog"]

CHECKPOINT_FILE = "audit-checkpoints.jsonl"
PUBLIC_KEY_FILE = "audit-checkpoint.pub.pem"
_PRIVATE_FILE = 0o600


class FileCheckpointLog:
    """Publishes checkpoints to an append-only file and reads them back."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"FileCheckpointLog({str(self.directory)!r})"

    @property
    def path(self) -> Path:
        return self.directory / CHECKPOINT_FILE

    @property
    def public_key_path(self) -> Path:
        return self.directory / PUBLIC_KEY_FILE

    def publish(self, checkpoint: AuditCheckpoint, public_key_pem: bytes) -> None:
        ensure_directory(self.directory, 0o700)
        try:
            current = self.public_key_path.read_bytes()
        except FileNotFoundError:
            current = b""
        if current != public_key_pem:
            write_replacing(self.public_key_path, public_key_pem, _PRIVATE_FILE)
        line = json.dumps(checkpoint_document(checkpoint), sort_keys=True, ensure_ascii=True)
        data = line.encode("ascii") + b"\n"
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, _PRIVATE_FILE)
        try:
            if os.fstat(fd).st_mode & 0o777 != _PRIVATE_FILE:
                os.fchmod(fd, _PRIVATE_FILE)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # close a line a crash left torn
            while data:
                written = os.write(fd, data)
                data = data[written:]
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> list[PublishedCheckpoint]:
        """Every line, in order; a line that cannot be read comes back with its problem."""
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            return []
        found = []
        for number, raw in enumerate(content.split(b"\n"), 1):
            if not raw.strip():
                continue
            where = f"{self.path} line {number}"
            try:
                checkpoint = checkpoint_from_document(json.loads(raw))
            except (ValueError, UnicodeDecodeError) as exc:
                found.append(PublishedCheckpoint(where, None, f"cannot be read ({exc})"))
                continue
            found.append(PublishedCheckpoint(where, checkpoint))
        return found
