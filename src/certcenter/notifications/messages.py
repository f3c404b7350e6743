"""The texts of the lifecycle notifications, in one place (Korean first, English beside it).

Callers name an :class:`Event` and give the few values its template needs; the bank's name,
the report number and the time are filled in here:

    >>> from datetime import UTC, datetime
    >>> rendered = render(Event.ISSUED, values={"device": "SM-S928N"}, bank_name="데모은행",
    ...                   sender_number="1588-9999", inactivity_days=365,
    ...                   now=datetime(2026, 11, 23, 1, 0, tzinfo=UTC))
    >>> for sentence in rendered.text_ko.split(". "):
    ...     print(sentence)
    [데모은행] 국민인증서가 SM-S928N 기기에서 2026-11-23 10:00 발급되었습니다
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
from datetime import date, datetime, timedelta, timezone

__all__ = [
    "KST",
    "TEMPLATES",
    "Event",
    "MessageTemplate",
    "RenderedMessage",
    "format_value",
    "render",
    "required_values",
]

KST = timezone(timedelta(hours=9), "KST")

_REPORT = " 본인이 아니면 {sender}로 신고해 주세요."
_REPORT_REQUEST = " 본인이 요청하지 않았다면 {sender}로 신고해 주세요."
_REPORT_EN = " If this was not you, call {sender}."
_REPORT_REQUEST_EN = " If you did not ask for this, call {sender}."


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


TEMPLATES: Mapping[str, MessageTemplate] = {
    Event.ISSUED: MessageTemplate(
        subject_ko="[{bank}] 국민인증서 발급 안내",
        text_ko="[{bank}] 국민인증서가 {device} 기기에서 {time} 발급되었습니다." + _REPORT,
        text_en="[{bank}] Your mobile certificate was issued on device {device} at {time} KST."
        + _REPORT_EN,
    ),
    Event.RENEWED: MessageTemplate(
        subject_ko="[{bank}] 국민인증서 갱신 안내",
        text_ko="[{bank}] 국민인증서가 {time} 갱신되었습니다. 새 유효기간은 {until}까지입니다."
        + _REPORT,
        text_en="[{bank}] Your mobile certificate was renewed at {time} KST; it is now valid "
        "until {until}." + _REPORT_EN,
    ),
    Event.REVOKED: MessageTemplate(
        subject_ko="[{bank}] 국민인증서 폐기 안내",
        text_ko="[{bank}] 국민인증서가 {time} 폐기되었습니다." + _REPORT_REQUEST,
        text_en="[{bank}] Your mobile certificate was revoked at {time} KST." + _REPORT_REQUEST_EN,
    ),
    Event.SUSPENDED: MessageTemplate(
        subject_ko="[{bank}] 국민인증서 이용 정지 안내",
        text_ko="[{bank}] 국민인증서 이용이 {time} 정지되었습니다." + _REPORT_REQUEST,
        text_en="[{bank}] Your mobile certificate was suspended at {time} KST."
        + _REPORT_REQUEST_EN,
    ),
    Event.RELEASED: MessageTemplate(
        subject_ko="[{bank}] 국민인증서 정지 해제 안내",
        text_ko="[{bank}] 국민인증서 이용 정지가 {time} 해제되어 다시 이용하실 수 있습니다."
        + _REPORT,
        text_en="[{bank}] The suspension of your mobile certificate was lifted at {time} KST; "
        "you can use it again." + _REPORT_EN,
    ),
    Event.DEVICE_REGISTERED: MessageTemplate(
        subject_ko="[{bank}] 인증서 이용 기기 등록 안내",
        text_ko="[{bank}] {device} 기기가 {time} 국민인증서 이용 기기로 등록되었습니다." + _REPORT,
        text_en="[{bank}] Device {device} was registered for your mobile certificate at "
        "{time} KST." + _REPORT_EN,
    ),
    Event.DEVICE_DEREGISTERED: MessageTemplate(
        subject_ko="[{bank}] 인증서 이용 기기 해제 안내",
        text_ko="[{bank}] {device} 기기의 국민인증서 이용 기기 등록이 {time} 해제되었습니다."
        + _REPORT,
        text_en="[{bank}] Device {device} was deregistered from your mobile certificate at "
        "{time} KST." + _REPORT_EN,
    ),
    Event.AUTO_REVOKED: MessageTemplate(
        subject_ko="[{bank}] 장기 미사용 국민인증서 폐기 안내",
        text_ko="[{bank}] 국민인증서를 {inactivity_days}일 동안 사용하지 않아 {time} "
        "폐기되었습니다. 계속 이용하시려면 앱에서 다시 발급받아 주세요.",
        text_en="[{bank}] Your mobile certificate was revoked at {time} KST because it was not "
        "used for {inactivity_days} days. To keep using it, get a new one in the app.",
    ),
}

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
    template = _template(event)
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
    shown = {name: format_value(value) for name, value in context.items()}
    return RenderedMessage(
        subject=template.subject_ko.format(**shown),
        text_ko=template.text_ko.format(**shown),
        text_en=template.text_en.format(**shown),
    )
