"""Pre-signed OCSP responses as files, for a static web server (``certcenter ocsp publish``).

    written = publish_responses(center.revocation.ocsp, Path("/srv/ocsp"))

First the stored responses near their nextUpdate are re-signed (:meth:`OcspResponder.
refresh_due`), then every stored response that is still fresh is written to
``DIR/<issuer key hash>-<serial>.der`` (lower-case hex, as in the response's own CertID: the
SHA-1 hash of the issuing CA's key for SHA-1 CertIDs). A file is replaced atomically (written
beside it, then renamed), so a web server never serves half a response. Files of
certificates whose response is no longer stored (revoked meanwhile and not asked about since,
expired, gone) are removed; other files in ``DIR`` are left alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.x509 import ocsp

from certcenter.revocation.ocsp_responder import OcspResponder

__all__ = ["PublishedResponses", "publish_responses", "response_file_name"]

SUFFIX = ".der"


@dataclass(frozen=True)
class PublishedResponses:
    written: int
    refreshed: int
    removed: int


def response_file_name(der: bytes) -> str | None:
    """``<issuer key hash>-<serial>.der`` for a successful single response, else None."""
    try:
        response = ocsp.load_der_ocsp_response(der)
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            return None
        return f"{response.issuer_key_hash.hex()}-{response.serial_number:x}{SUFFIX}"
    except ValueError:
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def publish_responses(
    responder: OcspResponder, directory: Path, now: datetime | None = None
) -> PublishedResponses:
    """Write every fresh stored response into ``directory`` (see the module docstring)."""
    directory.mkdir(parents=True, exist_ok=True)
    refreshed = responder.refresh_due(now)
    names: set[str] = set()
    for entry in responder.stored_fresh(now):
        name = response_file_name(bytes(entry.der))
        if name is None or name in names:
            continue
        names.add(name)
        _write_atomically(directory / name, bytes(entry.der))
    removed = 0
    for path in directory.glob(f"*-*{SUFFIX}"):
        if path.name not in names and response_file_name(path.read_bytes()) is not None:
            path.unlink()
            removed += 1
    return PublishedResponses(written=len(names), refreshed=refreshed, removed=removed)
