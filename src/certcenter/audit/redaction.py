"""Redaction: personal data never enters the audit trail (or a webhook, or an error note).

Everything that is written to the trail goes through :func:`redact_details` (the ``details``
mapping) or :func:`redact_text` (the free-text fields: actor, subject, outcome).

    >>> redact_details({"pin": "591734", "phone": "010-2000-0001", "serial": "5F3A"})
    {'pin': '[redacted]', 'phone': '010-****-0001', 'serial': '5F3A'}
    >>> redact_text("문의: kim.minjun@example.org, 010 2000 0001")
    '문의: k***@example.org, 010-****-0001'

The rules (``docs/audit-and-notifications.md`` says the same):

1. **Secret keys** — a key one of whose words (split at ``_``, ``-``, ``.``, spaces and
   camelCase) is ``pin``, ``code``, ``otp``, ``password``, ``passwd``, ``passphrase``,
   ``secret``, ``token``, ``pattern``, ``rrn``, ``ssn``, ``resident``, ``jumin``, ``ci``,
   ``di``, ``cvc``, ``cvv``, ``pepper``, ``private``, ``credential(s)`` or ``birth``/``dob``:
   its value becomes ``"[redacted]"`` whatever it is (a boolean or ``None`` is kept: "pin
   set: yes" tells nothing). The catalog's refusal codes are not secrets: the keys
   ``error_code``, ``failure_code``, ``reason_code``, ``refusal_code``, ``status_code``,
   ``bank_code``, ``country_code`` and ``response_code`` keep their values.
2. **Personal keys** are masked, not dropped: ``phone``/``mobile``/``tel``/``msisdn`` →
   ``010-****-1234``; ``email``/``mail`` → ``k***@example.org``; ``name``,
   ``customer_name``, ``holder_name``, ``full_name``, ``real_name``, ``depositor_name`` →
   ``김*준``; ``account``, ``account_number``, ``account_no`` → ``****0001``.
3. **Every other string**, anywhere (keys, values, list items, the free-text fields), has
   what *looks like* personal data masked: a resident registration number (6+7 digits with a
   valid month and day, with or without hyphen, standing alone) → ``******-*******``; a
   Korean mobile number (``010…``, ``+82 10…``, with or without separators) →
   ``010-****-1234``; an e-mail address → first letter of the local part, ``***``, domain.
   An integer that reads as a resident number is replaced the same way.
4. **JSON-safe only**: ``str``, ``int``, ``bool``, ``None``, lists/tuples and mappings with
   ``str`` keys; aware ``datetime`` (→ ISO 8601 UTC) and ``date`` (→ ISO) are converted;
   floats (not canonical), bytes, naive datetimes and other objects raise ``TypeError`` /
   ``ValueError``. Strings may not contain NUL. Nesting is limited to 16 levels.

Masking is idempotent: redacting redacted data changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

__all__ = [
    "REDACTED",
    "JsonValue",
    "mask_account",
    "mask_email",
    "mask_name",
    "mask_phone",
    "redact_details",
    "redact_text",
    "redact_value",
]

JsonValue = str | int | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

REDACTED = "[redacted]"
RRN_MASK = "******-*******"
MAX_DEPTH = 16

_SECRET_WORDS = frozenset(
    {
        "pin",
        "pins",
        "code",
        "codes",
        "otp",
        "password",
        "passwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "tokens",
        "pattern",
        "rrn",
        "ssn",
        "resident",
        "jumin",
        "ci",
        "di",
        "cvc",
        "cvv",
        "pepper",
        "private",
        "credential",
        "credentials",
        "birth",
        "birthday",
        "dob",
    }
)
_NOT_SECRET_KEYS = frozenset(
    {
        "error_code",
        "failure_code",
        "reason_code",
        "refusal_code",
        "status_code",
        "bank_code",
        "country_code",
        "response_code",
    }
)
_PHONE_WORDS = frozenset({"phone", "mobile", "tel", "telephone", "msisdn", "cellphone"})
_EMAIL_WORDS = frozenset({"email", "mail"})
_NAME_KEYS = frozenset(
    {"name", "customer_name", "holder_name", "full_name", "real_name", "depositor_name"}
)
_ACCOUNT_KEYS = frozenset({"account", "account_number", "account_no"})

# Standing alone: not inside a longer word, number, hex serial or UUID.
_RRN_RE = re.compile(
    r"(?<![\w-])\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[- ]?\d{7}(?![\w-])", re.ASCII
)
_PHONE_RE = re.compile(
    r"(?<![\w-])(?:\+82[ -]?0?|0)(1[016789])[ .-]?\d{3,4}[ .-]?(\d{4})(?![\w-])", re.ASCII
)
_MASKED_PHONE_RE = re.compile(r"01[016789]-\*{4}-\d{4}", re.ASCII)
_EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9_.%+@*-])"  # not in the middle of a longer address or a masked one
    r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)
_WORD_SPLIT_RE = re.compile(r"[^0-9a-zA-Z]+|(?<=[a-z0-9])(?=[A-Z])")


def redact_text(text: str) -> str:
    """The text with resident numbers, mobile numbers and e-mail addresses masked."""
    text = _RRN_RE.sub(RRN_MASK, text)
    text = _PHONE_RE.sub(lambda m: f"0{m.group(1)}-****-{m.group(2)}", text)
    return _EMAIL_RE.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def mask_phone(value: str) -> str:
    """``01020000001`` → ``010-****-0001``; anything else keeps only its last 4 characters."""
    if _MASKED_PHONE_RE.fullmatch(value):
        return value
    match = _PHONE_RE.fullmatch(value.strip())
    if match is not None:
        return f"0{match.group(1)}-****-{match.group(2)}"
    return _mask_tail(value)


def mask_account(number: str) -> str:
    """An account number as a customer may see it: ``1234567890123`` → ``1234******123``."""
    return f"{number[:4]}{'*' * max(len(number) - 7, 0)}{number[-3:]}"


def mask_email(value: str) -> str:
    """``kim.minjun@example.org`` → ``k***@example.org``."""
    local, at, domain = value.strip().rpartition("@")
    if not at or not local:
        return REDACTED
    return f"{local[0]}***@{redact_text(domain)}"


def mask_name(value: str) -> str:
    """``김민준`` → ``김*준``, ``이준`` → ``이*``, ``Kim Minjun`` → ``K********n``."""
    value = value.strip()
    if len(value) <= 1:
        return "*" * len(value)
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def _mask_tail(value: str, keep: int = 4) -> str:
    value = value.strip()
    if len(value) <= keep:
        return "*" * len(value)
    return "*" * (len(value) - keep) + value[-keep:]


def _words(key: str) -> set[str]:
    return {w.lower() for w in _WORD_SPLIT_RE.split(key) if w}


def _normal_key(key: str) -> str:
    return "_".join(w.lower() for w in _WORD_SPLIT_RE.split(key) if w)


def redact_value(key: str | None, value: object, _depth: int = 0) -> JsonValue:
    """One value, made JSON-safe and redacted by the rules above (``key`` is its key, if any)."""
    if _depth > MAX_DEPTH:
        raise ValueError(f"details are nested more than {MAX_DEPTH} levels deep")
    if key is not None:
        normal = _normal_key(key)
        words = _words(key)
        if value is None or isinstance(value, bool) or value == REDACTED:
            return value
        if normal not in _NOT_SECRET_KEYS and words & _SECRET_WORDS:
            _check_json_safe(value, _depth)
            return REDACTED
        if words & _PHONE_WORDS:
            return mask_phone(value) if isinstance(value, str) else REDACTED
        if words & _EMAIL_WORDS:
            return mask_email(value) if isinstance(value, str) else REDACTED
        if normal in _NAME_KEYS:
            return mask_name(value) if isinstance(value, str) else REDACTED
        if normal in _ACCOUNT_KEYS:
            return _mask_tail(str(value)) if isinstance(value, str | int) else REDACTED
    return _plain(value, _depth)


def _plain(value: object, depth: int) -> JsonValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        as_text = str(int(value))
        return RRN_MASK if _RRN_RE.fullmatch(as_text) else int(value)
    if isinstance(value, float):
        raise TypeError("floats are not allowed in audit details: use an int or a string")
    if isinstance(value, str):
        text = str.__str__(value)
        if "\x00" in text:
            raise ValueError("strings in audit details may not contain NUL")
        return redact_text(text)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in audit details; use aware UTC times")
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [redact_value(None, item, depth + 1) for item in value]
    if isinstance(value, Mapping):
        return redact_details(value, _depth=depth + 1)
    raise TypeError(f"{type(value).__name__} is not allowed in audit details (JSON-safe only)")


def _check_json_safe(value: object, depth: int) -> None:
    """Refuse what is not JSON-safe even where the value is then dropped: a caller bug."""
    _plain(value, depth)


def redact_details(details: Mapping[str, Any] | None, *, _depth: int = 0) -> dict[str, JsonValue]:
    """A JSON-safe, redacted copy of ``details`` (keys are masked like any other string)."""
    if details is None:
        return {}
    if not isinstance(details, Mapping):
        raise TypeError("details must be a mapping with str keys")
    cleaned: dict[str, JsonValue] = {}
    for key, value in details.items():
        if not isinstance(key, str):
            raise TypeError(f"details keys must be strings, not {type(key).__name__}")
        if "\x00" in key:
            raise ValueError("keys in audit details may not contain NUL")
        cleaned[redact_text(str.__str__(key))] = redact_value(key, value, _depth)
    return cleaned


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds: ``2026-11-23T01:00:00.000000Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime; use aware UTC times")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
