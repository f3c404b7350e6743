"""The notices customers are sent: their texts live in ``errors/texts.toml`` ([notice.*],
Korean and English) beside every other word of the center; :func:`compose` fills them.

Callers name an :class:`Event` and give the few values its template needs; the bank's name,
the report number and the time are filled in here:

    >>> from datetime import UTC, datetime
    >>> rendered = render(Event.ISSUED, values={"device": "SM-S928N"}, bank_name="데모은행",
    ...                   sender_number="1588-9999", inactivity_days=365,
    ...                   now=datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    >>> for sentence in rendered.text_ko.split(". "):
    ...     print(sentence)
    [데모은행] KB국민인증서가 SM-S928N 기기에서 2026-11-23 10:00 발급되었습니다
    본인이 아니면 1588-9999로 신고해 주세요.

Values given as ``datetime`` are shown in Korean time (``YYYY-MM-DD HH:MM``), ``date`` as
``YYYY-MM-DD``. Template values reach the customer's own phone and mailbox; by default they
are also the webhook's ``data`` (redacted), so pass things like a device model, a serial or a
date — never a resident number, a code or a PIN.
"""

from __future__ import annotations

import enum
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict

from certcenter.clock import KST
from certcenter.errors.catalog import Term, text, texts

__all__ = [
    "KST",
    "TEMPLATES",
    "Event",
    "MessageTemplate",
    "NoticeTexts",
    "RenderedMessage",
    "compose",
    "format_value",
    "notice",
    "render",
    "required_values",
]


class Event(enum.StrEnum):
    """The lifecycle events customers are told about."""

    ISSUED = "issued"
    RENEWED = "renewed"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    RELEASED = "released"
    DEVICE_REGISTERED = "device_registered"
    DEVICE_DEREGISTERED = "device_deregistered"
    AUTO_REVOKED = "auto_revoked"


@dataclass(frozen=True)
class MessageTemplate:
    subject_ko: str
    text_ko: str
    text_en: str


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text_ko: str
    text_en: str


class NoticeTexts(TypedDict):
    """The free-text arguments of ``Outbox.notify``."""

    subject: str
    text_ko: str
    text_en: str


def _from_texts(event: str) -> MessageTemplate:
    entries = texts()
    return MessageTemplate(
        subject_ko=entries[f"notice.{event}.subject"]["ko"],
        text_ko=entries[f"notice.{event}.text"]["ko"],
        text_en=entries[f"notice.{event}.text"]["en"],
    )


# The lifecycle notices of the mobile certificate, read from texts.toml [notice.<event>].
TEMPLATES: Mapping[str, MessageTemplate] = {event: _from_texts(event) for event in Event}

# Filled by render() itself; a caller may still give them (e.g. the event's own time).
_COMMON = frozenset({"bank", "sender", "time", "inactivity_days"})


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def required_values(event: str) -> frozenset[str]:
    """The values a caller must give for ``event`` (beyond bank, sender, time, days)."""
    template = _template(event)
    names = _names(template.subject_ko) | _names(template.text_ko) | _names(template.text_en)
    return frozenset(names - _COMMON)


def _template(event: str) -> MessageTemplate:
    try:
        return TEMPLATES[event]
    except KeyError:
        known = ", ".join(sorted(TEMPLATES))
        raise ValueError(f"no message template for event {event!r} (known: {known})") from None


def format_value(value: object) -> str:
    """How a value is shown in a message: datetimes in KST, dates as ISO, the rest as text."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in message values; use aware UTC times")
        return value.astimezone(KST).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def render(
    event: str,
    *,
    values: Mapping[str, object] | None,
    bank_name: str,
    sender_number: str,
    inactivity_days: int,
    now: datetime,
) -> RenderedMessage:
    """The subject and texts of ``event``; ``ValueError`` if the template does not exist or a
    value it needs is missing."""
    given = dict(values or {})
    missing = required_values(event) - given.keys()
    if missing:
        raise ValueError(f"event {event!r} needs the values {sorted(missing)}")
    context = {
        "bank": bank_name,
        "sender": sender_number,
        "time": now,
        "inactivity_days": inactivity_days,
        **given,
    }
    return compose(event, context)


def compose(event: str, values: Mapping[str, object]) -> RenderedMessage:
    """The subject and texts of the notice ``[notice.<event>]`` in texts.toml, filled from
    ``values`` (shown by :func:`format_value`; a :class:`~certcenter.errors.catalog.Term` in
    each text's own language). Every notice the center sends is made here."""
    shown = {k: v if isinstance(v, Term) else format_value(v) for k, v in values.items()}
    return RenderedMessage(
        subject=text(f"notice.{event}.subject", "ko", **shown),
        text_ko=text(f"notice.{event}.text", "ko", **shown),
        text_en=text(f"notice.{event}.text", "en", **shown),
    )


def notice(event: str, /, **values: object) -> NoticeTexts:
    """``subject``, ``text_ko`` and ``text_en`` of a notice that is not a lifecycle event, for
    ``Outbox.notify(uow, event=..., customer=..., **notice("transfer", payee=...))``."""
    rendered = compose(event, values)
    return {"subject": rendered.subject, "text_ko": rendered.text_ko, "text_en": rendered.text_en}
