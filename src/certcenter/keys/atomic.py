"""Atomic file writes: a reader sees the old file or the whole new one, never half of one.

The content goes to a temporary file in the same directory (created 0600 by
:func:`tempfile.mkstemp`, then set to ``mode``), is flushed to disk, and is then published
under its name: :func:`write_new` never replaces an existing file (it links the temporary
file into place and fails if the name is taken), :func:`write_replacing` does
(``os.replace``). Used for keys and secrets (0600) and for CA certificates (0644).

    ensure_directory(keys_dir, 0o700)
    write_new(keys_dir / "root-ca.key.pem", pem, 0o600)   # FileExistsError if present
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["ensure_directory", "write_new", "write_replacing"]


def ensure_directory(path: Path, mode: int) -> None:
    """Create ``path`` (and parents) with ``mode``; take away bits ``mode`` does not grant."""
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    current = stat.S_IMODE(path.stat().st_mode)
    if current & ~mode:
        path.chmod(current & mode)


def _write_temporary(path: Path, data: bytes, mode: int) -> Path:
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _sync_directory(directory: Path) -> None:
    # Makes the new name durable; not every platform/filesystem allows opening a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_new(path: Path, data: bytes, mode: int) -> None:
    """Publish ``data`` at ``path`` unless it exists (then :class:`FileExistsError`)."""
    temporary = _write_temporary(path, data, mode)
    try:
        try:
            os.link(temporary, path)
        except FileExistsError:
            raise
        except OSError:
            # A filesystem without hard links: check, then rename (a narrow race remains).
            if path.exists():
                raise FileExistsError(str(path)) from None
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_directory(path.parent)


def write_replacing(path: Path, data: bytes, mode: int) -> None:
    """Publish ``data`` at ``path``, replacing what is there in one step."""
    temporary = _write_temporary(path, data, mode)
    try:
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)
