"""Idempotency keys of transfer requests (``Idempotency-Key``): a request sent again with the
same key gets the first answer, and never moves money twice.

    key = request_key("0f8e9c1a-6d0b-4c39-9a51-2f1d8e3b7c44")   # INVALID_REQUEST if malformed
    fingerprint("prepare", {"amount": 300_000_000, ...})            # what the key was used for

A key belongs to the customer who sent it, with the request it was first used for (a digest
of its fields: the same key with other fields is ``TRANSFER_IDEMPOTENCY_KEY_REUSED``). Secrets
a confirmation carries (PIN, account password, codes) enter the digest only through a keyed
MAC (:meth:`~certcenter.authn.hashing.SecretHasher.code_digest`), so the stored digest tells
nothing about them. A refusal that ended the transfer is kept with the key (its code and
values) and answered again; a refusal that changed nothing (a missing field, an ARS call not
answered yet) is not kept: the request, sent again, is simply asked again.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

from certcenter.errors import CertCenterError, Term, term

_KEY = re.compile(r"^[A-Za-z0-9._:-]{8,80}$")
PREPARE = "prepare"
CONFIRM = "confirm"


def request_key(key: str | None) -> str | None:
    """The key as sent, or None without one; INVALID_REQUEST when it is not 8 to 80 letters,
    digits, ``.``, ``_``, ``:`` or ``-`` (a UUID fits)."""
    if key is None:
        return None
    if not _KEY.match(key):
        raise CertCenterError(
            "INVALID_REQUEST", detail="Idempotency-Key: 8-80 of A-Z a-z 0-9 . _ : - (a UUID)"
        )
    return key


def fingerprint(operation: str, fields: Mapping[str, object]) -> str:
    """A digest of the request a key is used for (JSON with sorted keys, SHA-256)."""
    body = json.dumps({"operation": operation, **fields}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def refusal_answer(err: CertCenterError) -> dict[str, object]:
    """A refusal as kept with the key: its code and values (words by their text key)."""
    values: dict[str, object] = {}
    for name, value in err.context.items():
        if isinstance(value, Term):
            values[name] = {"term": value.key}
        elif isinstance(value, str | int | float | bool) or value is None:
            values[name] = value
        else:
            values[name] = str(value)
    return {"refusal": err.code, "context": values}


def refusal_of(answer: Mapping[str, object]) -> CertCenterError | None:
    """The refusal kept with a key, to raise again (None if none was kept)."""
    code = answer.get("refusal")
    if not isinstance(code, str):
        return None
    kept = answer.get("context")
    values: dict[str, object] = {}
    if isinstance(kept, Mapping):
        for name, value in kept.items():
            if isinstance(value, Mapping) and isinstance(value.get("term"), str):
                values[str(name)] = term(str(value["term"]))
            else:
                values[str(name)] = value
    return CertCenterError(code, **values)
