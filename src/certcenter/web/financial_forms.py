"""What the financial-certificate pages (issue, login, transfer) share: form values cleaned
the way a bank's forms accept them, the browser's device key, the JSON answer of a polling
script, the additional medium's choices and question (``financial/medium.html``), and the flow
state each page keeps in the web session.

    born = birth_date("19900315")                  # "1990-03-15" (or INVALID_REQUEST)
    phone = digits("010-2000 0001")                # "01020000001" (a NUL: INVALID_REQUEST)
    spki = device_public_key(form_value)           # WEB_DEVICE_KEY_MISSING when the JS sent none
    flow = Stash(request, "fin_issue")             # a dict in the signed session cookie
    flow.put(id=started.enrollment_id, token=started.token); flow.get("token"); flow.clear()
    return json_refusal(request, exc)              # {"state": "error", "message": …} + status

The session cookie is signed, not encrypted: it may hold bearer tokens of the browser's own
flows (as the API hands them to the app) and ids, never a PIN, a password or a one-time code.
Codes shown on a page (ARS, approval) are rendered into that page's answer only.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import JSONResponse
from starlette.requests import HTTPConnection, Request

from certcenter.errors import CertCenterError, term
from certcenter.financial.media import MEDIA, MediumAnswer
from certcenter.http_common.edge import single_line
from certcenter.web.context import center_of, locale_of
from certcenter.web.rendering import translator


def code_expiry(request: HTTPConnection, flow_id: str, purpose: str) -> datetime | None:
    """When the newest SMS code of the flow ``flow_id`` (``purpose``) expires, as the center
    stored it: what the code page's countdown counts to. None before any code."""
    if not flow_id:
        return None
    with center_of(request).uow_factory(read_only=True) as uow:
        code = uow.codes.latest(flow_id, purpose)
    return code.expires_at if code is not None else None


_BIRTH = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")
MAX_SPKI_TEXT = 700


def digits(value: str, field: str = "number") -> str:
    """``010-2000 0001`` → ``01020000001``: what a person types, without separators
    (``INVALID_REQUEST`` for a control character)."""
    return "".join(ch for ch in single_line(str(value), field) if ch not in " -")


def birth_date(value: str) -> str:
    """``1990-03-15`` or ``19900315`` as ``YYYY-MM-DD``; ``INVALID_REQUEST`` otherwise."""
    found = _BIRTH.fullmatch(str(value).strip())
    if found is not None:
        text = "-".join(found.groups())
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise CertCenterError("INVALID_REQUEST", detail=term("form.birth_date"))


def device_public_key(value: str) -> bytes:
    """The browser's WebCrypto public key (SPKI DER, base64) from the hidden form field that
    static/js/device-key.js fills; ``WEB_DEVICE_KEY_MISSING`` when it is empty (no script,
    no WebCrypto), ``FINANCIAL_DEVICE_KEY_INVALID`` when it is not base64."""
    text = str(value or "").strip()
    if not text:
        raise CertCenterError("WEB_DEVICE_KEY_MISSING")
    try:
        if len(text) > MAX_SPKI_TEXT:
            raise ValueError("too long")
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CertCenterError("FINANCIAL_DEVICE_KEY_INVALID", detail="not base64") from None


_SHOWN = re.compile(r"[0-9]{1,10}")  # a code rendered back for display only, never checked


def shown_code(value: str) -> str | None:
    """A code the page showed (an approval code), rendered back for display only."""
    return value if _SHOWN.fullmatch(value or "") else None


def media_choices(
    request: HTTPConnection, held: Sequence[str] | None = None
) -> list[dict[str, str]]:
    """The additional media to choose from, in the page's language: all of them, or only
    those in ``held`` (the ones the customer can use now; the financial issuance adds the ID
    document, ``id_document``, where the policy offers it)."""
    t = translator(locale_of(request))
    names = MEDIA if held is None else [m for m in (*MEDIA, "id_document") if m in held]
    return [
        {"name": m, "label": t(f"issue.medium.{m}"), "hint": t(f"issue.medium.{m}_hint")}
        for m in names
    ]


def medium_context(detail: dict[str, Any]) -> dict[str, Any]:
    """A medium step's answer as the template's values: the masked accounts, the security
    card's slots, the code to approve in the app."""
    context: dict[str, Any] = {"medium": detail.get("medium")}
    if detail.get("accounts"):
        context["accounts"] = list(detail["accounts"])
    if detail.get("security_card"):
        context["card"] = dict(detail["security_card"])
    if detail.get("approval_code"):
        context["approval_code"] = str(detail["approval_code"])
        context["approval_expires_at"] = detail.get("approval_expires_at")
    return context


_Secret = Annotated[str, Form(max_length=20)]


def medium_answer(
    account_number: Annotated[str, Form(max_length=30)] = "",
    account_password: _Secret = "",
    otp_code: _Secret = "",
    card_challenge_id: Annotated[str, Form(max_length=64)] = "",
    card_answer: _Secret = "",
) -> MediumAnswer:
    """The medium form's fields as the answer the flows take (a route takes it as
    ``answer: MediumForm``)."""
    return MediumAnswer(
        account_number=digits(account_number) or None,
        account_password=account_password or None,
        otp_code=digits(otp_code) or None,
        card_challenge_id=card_challenge_id or None,
        card_answer=digits(card_answer) or None,
    )


MediumForm = Annotated[MediumAnswer, Depends(medium_answer)]


def sims_phone(request: HTTPConnection, phone: str | None) -> str | None:
    """The phone number for a link to its demo page, only where the simulators are on."""
    if not phone or not center_of(request).settings.sims_enabled:
        return None
    return phone


def json_refusal(request: Request, error: CertCenterError) -> JSONResponse:
    """A refusal for a polling script: the catalog's words in the page's language."""
    locale = locale_of(request)
    return JSONResponse(
        {
            "state": "error",
            "code": error.code,
            "message": error.message(locale),
            "cause": error.cause(locale),
            "remedy": error.remedy(locale),
        },
        status_code=error.http_status,
    )


class Stash:
    """One flow's values in the web session under ``key`` (ids, bearer tokens, flags)."""

    def __init__(self, request: HTTPConnection, key: str) -> None:
        self.request = request
        self.key = key

    @property
    def values(self) -> dict[str, Any]:
        found = self.request.session.get(self.key)
        return dict(found) if isinstance(found, dict) else {}

    def get(self, name: str) -> Any:
        return self.values.get(name)

    def text(self, name: str) -> str:
        value = self.values.get(name)
        return value if isinstance(value, str) else ""

    def put(self, **values: Any) -> None:
        self.request.session[self.key] = {**self.values, **values}

    def start(self, **values: Any) -> None:
        self.request.session[self.key] = dict(values)

    def clear(self) -> None:
        self.request.session.pop(self.key, None)
