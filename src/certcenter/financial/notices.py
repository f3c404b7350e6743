"""What the customer is told about their financial certificate (금융인증서), Korean and English.

Each function gives the ``notify`` arguments of one event, written to the outbox in the same
transaction as the change it announces:

    outbox.notify(uow, customer=customer, **notices.issued(bank, now, device="업무용 PC"))

Values never include a code, a PIN or a resident number; times are shown in Korean time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from certcenter.notifications.messages import format_value

__all__ = [
    "deleted",
    "device_registered",
    "device_removed",
    "inactivity_notice",
    "issued",
    "pin_reset",
    "renewed",
]

_REPORT = " 본인이 아니면 고객센터로 신고해 주세요."
_REPORT_EN = " If this was not you, call the customer centre."


def _notice(
    event: str, subject: str, ko: str, en: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "event": event,
        "subject": subject,
        "text_ko": ko,
        "text_en": en,
        "data": {k: format_value(v) for k, v in (data or {}).items()},
    }


def issued(bank: str, at: datetime, *, until: date, device: str | None) -> dict[str, Any]:
    where = f" ({device} 기기 등록)" if device else ""
    where_en = f" (device {device} registered)" if device else ""
    return _notice(
        "financial_issued",
        f"[{bank}] 금융인증서 발급 안내",
        f"[{bank}] 금융인증서가 {format_value(at)} 발급되었습니다{where}. "
        f"유효기간은 {format_value(until)}까지입니다." + _REPORT,
        f"[{bank}] Your financial certificate was issued at {format_value(at)} KST{where_en}; "
        f"it is valid until {format_value(until)}." + _REPORT_EN,
        {"until": until},
    )


def renewed(bank: str, at: datetime, *, until: date) -> dict[str, Any]:
    return _notice(
        "financial_renewed",
        f"[{bank}] 금융인증서 자동 갱신 안내",
        f"[{bank}] 금융인증서가 {format_value(at)} 자동 갱신되었습니다. 새 유효기간은 "
        f"{format_value(until)}까지입니다." + _REPORT,
        f"[{bank}] Your financial certificate was renewed at {format_value(at)} KST; it is now "
        f"valid until {format_value(until)}." + _REPORT_EN,
        {"until": until},
    )


def device_registered(bank: str, at: datetime, *, device: str) -> dict[str, Any]:
    return _notice(
        "financial_device_registered",
        f"[{bank}] 금융인증서 이용 기기 등록 안내",
        f"[{bank}] '{device}' 기기가 {format_value(at)} 금융인증서 이용 기기로 등록되었습니다."
        + _REPORT,
        f"[{bank}] Device '{device}' was registered for your financial certificate at "
        f"{format_value(at)} KST." + _REPORT_EN,
        {"device": device},
    )


def device_removed(bank: str, at: datetime, *, device: str) -> dict[str, Any]:
    return _notice(
        "financial_device_removed",
        f"[{bank}] 금융인증서 이용 기기 삭제 안내",
        f"[{bank}] '{device}' 기기가 {format_value(at)} 금융인증서 이용 기기에서 삭제되었습니다."
        + _REPORT,
        f"[{bank}] Device '{device}' was removed from your financial certificate at "
        f"{format_value(at)} KST." + _REPORT_EN,
        {"device": device},
    )


def inactivity_notice(bank: str, *, days: int, delete_on: date) -> dict[str, Any]:
    return _notice(
        "financial_inactivity_notice",
        f"[{bank}] 장기 미사용 금융인증서 삭제 예정 안내",
        f"[{bank}] 금융인증서를 오랫동안 사용하지 않아 {format_value(delete_on)}에 클라우드의 "
        f"인증서가 삭제될 예정입니다({days}일 미사용 시 삭제). 계속 이용하시려면 그 전에 "
        "금융인증서로 한 번 로그인해 주세요.",
        f"[{bank}] Your financial certificate has not been used for a long time: it will be "
        f"deleted from the cloud on {format_value(delete_on)} (after {days} days without use). "
        "To keep it, log in with it once before then.",
        {"delete_on": delete_on, "days": days},
    )


def deleted(bank: str, at: datetime, *, days: int | None) -> dict[str, Any]:
    if days is not None:
        why = f"{days}일 동안 사용하지 않아 "
        why_en = f" because it was not used for {days} days"
    else:
        why, why_en = "", ""
    return _notice(
        "financial_deleted",
        f"[{bank}] 금융인증서 삭제 안내",
        f"[{bank}] 금융인증서가 {why}{format_value(at)} 클라우드에서 삭제되고 폐기되었습니다. "
        "다시 이용하시려면 금융인증서를 새로 발급받아 주세요.",
        f"[{bank}] Your financial certificate was deleted from the cloud and revoked at "
        f"{format_value(at)} KST{why_en}. To use one again, have a new one issued.",
        {"days": days if days is not None else "-"},
    )


def pin_reset(bank: str, at: datetime) -> dict[str, Any]:
    return _notice(
        "financial_pin_reset",
        f"[{bank}] 금융인증서 비밀번호 재설정 안내",
        f"[{bank}] 본인확인 후 금융인증서 비밀번호가 {format_value(at)} 새로 설정되어 잠금이 "
        "해제되었습니다." + _REPORT,
        f"[{bank}] After identity verification, your financial certificate PIN was reset at "
        f"{format_value(at)} KST and the lock released." + _REPORT_EN,
    )
