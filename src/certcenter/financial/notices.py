"""What the customer is told about their financial certificate (금융인증서), Korean and English.

Each function gives the ``notify`` arguments of one event, written to the outbox in the same
transaction as the change it announces:

    outbox.notify(uow, customer=customer, **notices.issued(bank, now, device="업무용 PC"))

The texts are ``[notice.financial_*]`` in ``errors/texts.toml``, filled by
:func:`~certcenter.notifications.messages.compose`. Values never include a code, a PIN or a
resident number; times are shown in Korean time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from certcenter.errors.catalog import term
from certcenter.notifications.messages import compose, format_value

__all__ = [
    "deleted",
    "device_registered",
    "device_removed",
    "inactivity_notice",
    "issued",
    "pin_changed",
    "pin_reset",
    "renewed",
]


def _notice(
    event: str, values: dict[str, object], data: dict[str, Any] | None = None
) -> dict[str, Any]:
    rendered = compose(event, values)
    return {
        "event": event,
        "subject": rendered.subject,
        "text_ko": rendered.text_ko,
        "text_en": rendered.text_en,
        "data": {k: format_value(v) for k, v in (data or {}).items()},
    }


def issued(bank: str, at: datetime, *, until: date, device: str | None) -> dict[str, Any]:
    where = term("notice.financial_issued.where", device=device) if device else ""
    return _notice(
        "financial_issued",
        {"bank": bank, "time": at, "until": until, "where": where},
        {"until": until},
    )


def renewed(bank: str, at: datetime, *, until: date) -> dict[str, Any]:
    return _notice(
        "financial_renewed", {"bank": bank, "time": at, "until": until}, {"until": until}
    )


def _from(event: str, source_ip: str | None) -> object:
    """ " (접속 IP …)" when the request's address is known."""
    shown = source_ip if source_ip and source_ip != "-" else None
    return term(f"notice.{event}.where", ip=shown) if shown else ""


def device_registered(
    bank: str, at: datetime, *, device: str, source_ip: str | None = None
) -> dict[str, Any]:
    """A browser was registered: the customer is asked to report it if it was not them."""
    return _notice(
        "financial_device_registered",
        {
            "bank": bank,
            "time": at,
            "device": device,
            "where": _from("financial_device_registered", source_ip),
        },
        {"device": device},
    )


def device_removed(bank: str, at: datetime, *, device: str) -> dict[str, Any]:
    return _notice(
        "financial_device_removed",
        {"bank": bank, "time": at, "device": device},
        {"device": device},
    )


def inactivity_notice(bank: str, *, days: int, delete_on: date) -> dict[str, Any]:
    return _notice(
        "financial_inactivity_notice",
        {"bank": bank, "days": days, "delete_on": delete_on},
        {"delete_on": delete_on, "days": days},
    )


def deleted(bank: str, at: datetime, *, days: int | None) -> dict[str, Any]:
    why = term("notice.financial_deleted.why", days=days) if days is not None else ""
    return _notice(
        "financial_deleted",
        {"bank": bank, "time": at, "why": why},
        {"days": days if days is not None else "-"},
    )


def pin_reset(bank: str, at: datetime, *, source_ip: str | None = None) -> dict[str, Any]:
    """The PIN was reset (or its lock released) after verifying the customer again."""
    return _notice(
        "financial_pin_reset",
        {"bank": bank, "time": at, "where": _from("financial_pin_reset", source_ip)},
    )


def pin_changed(bank: str, at: datetime, *, source_ip: str | None = None) -> dict[str, Any]:
    """The customer changed the PIN, proving the old one (비밀번호 변경)."""
    return _notice(
        "financial_pin_changed",
        {"bank": bank, "time": at, "where": _from("financial_pin_changed", source_ip)},
    )
