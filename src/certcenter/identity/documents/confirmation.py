"""The ID step's fields, typed or read from a photo and confirmed: the document they name,
and what the customer corrected. The mobile flow's ID step (the app) and the financial
certificate's ID document (the web center) take them alike.

    >>> from datetime import date
    >>> fields = {"kind": "passport", "name": "홍길동", "birth_date": "1990-01-01",
    ...           "number": "M123A4567", "expiry": "2031-05-01",
    ...           "source": "photo", "corrected": ["name"]}
    >>> photo_confirmation(fields)
    ('photo', ['name'])
    >>> parse_document(fields, today=date(2026, 12, 5)).number
    'M123A4567'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from certcenter.errors import CertCenterError
from certcenter.identity.documents import DriverLicence, Passport, ResidentCard
from certcenter.identity.rrn import parse_rrn

if TYPE_CHECKING:  # the pipeline loads OpenCV: only when a photo is read
    from certcenter.identity.documents.pipeline import PhotoReader, PhotoReading

__all__ = ["CORRECTABLE", "KINDS", "corrections", "parse_document", "photo_confirmation"]

#: The document kinds, and the fields of each (as the ID step takes them).
KINDS: dict[str, tuple[str, ...]] = {
    "resident_card": ("name", "rrn", "issue_date"),
    "driver_licence": ("name", "birth_date", "number", "serial"),
    "passport": ("name", "birth_date", "number", "expiry"),
}
CORRECTABLE = frozenset(name for names in KINDS.values() for name in names)


def photo_confirmation(fields: dict[str, Any]) -> tuple[str, list[str]]:
    """Where the fields came from (``typed`` or ``photo``) and which the customer corrected;
    both are taken out of ``fields``."""
    source = fields.pop("source", None) or "typed"
    corrected = fields.pop("corrected", None) or []
    if source not in ("typed", "photo"):
        raise CertCenterError("ID_DETAILS_INVALID", detail="source must be typed or photo")
    if not isinstance(corrected, list) or not set(corrected) <= CORRECTABLE:
        raise CertCenterError("ID_DETAILS_INVALID", detail="corrected names unknown fields")
    if corrected and source != "photo":
        raise CertCenterError("ID_DETAILS_INVALID", detail="corrections follow a photo")
    fields.pop("romanized", None)
    return source, sorted(set(corrected))


def corrections(read: Mapping[str, str], confirmed: Mapping[str, str]) -> list[str]:
    """The names of the fields the customer changed from what the photo gave (spaces at the
    ends and a resident number's hyphen do not count as a change)."""

    def plain(name: str, value: str) -> str:
        text = str(value or "").strip()
        return text.replace("-", "") if name == "rrn" else text

    kind = str(read.get("kind", ""))
    return sorted(
        name
        for name in KINDS.get(kind, ())
        if plain(name, read.get(name, "")) != plain(name, confirmed.get(name, ""))
    )


def parse_document(
    fields: Mapping[str, Any], *, today: date
) -> ResidentCard | DriverLicence | Passport:
    """The document the fields name, each field checked for its format (``ID_DETAILS_INVALID``,
    ``RRN_INVALID``); whether it is genuine is the registry's question."""
    kind = fields.get("kind")
    try:
        if kind == "resident_card":
            return ResidentCard.parse(
                name=fields["name"],
                rrn=parse_rrn(fields["rrn"], today=today),
                issue_date=_date(fields["issue_date"]),
                today=today,
            )
        if kind == "driver_licence":
            return DriverLicence.parse(
                name=fields["name"],
                birth_date=_date(fields["birth_date"]),
                number=fields["number"],
                serial=fields["serial"],
            )
        if kind == "passport":
            return Passport.parse(
                name=fields["name"],
                birth_date=_date(fields["birth_date"]),
                number=fields["number"],
                expiry=_date(fields["expiry"]),
            )
    except KeyError as missing:
        raise CertCenterError("ID_DETAILS_INVALID", detail=f"missing {missing}") from None
    raise CertCenterError(
        "ID_DETAILS_INVALID", detail="kind must be resident_card, driver_licence or passport"
    )


def _date(text: str) -> date:
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise CertCenterError("ID_DETAILS_INVALID", detail="dates are YYYY-MM-DD") from None


def masked_fields(kind: str, fields: dict[str, str]) -> dict[str, str]:
    """The fields as the screen shows them: the resident number's last six digits hidden
    (주민등록번호 뒷자리 마스킹)."""
    shown = dict(fields)
    rrn = shown.get("rrn")
    if rrn is not None:
        digits = "".join(ch for ch in rrn if ch.isdigit())
        shown["rrn"] = f"{digits[:6]}-{digits[6:7]}******"
    return shown


class DeferredPhotoReader:
    """The ID photo pipeline (OpenCV and Tesseract), loaded when the first photo arrives: a
    process that never reads a photo never loads OpenCV."""

    def __init__(self, *, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._reader: PhotoReader | None = None

    def read(self, data: bytes, *, today: date) -> PhotoReading:
        if self._reader is None:
            from certcenter.identity.documents.pipeline import DocumentPhotoReader

            self._reader = DocumentPhotoReader(max_bytes=self._max_bytes)
        return self._reader.read(data, today=today)


def photo_answer(reading: PhotoReading) -> dict[str, Any]:
    """A flow's answer to a photo read: the document, the fields as the screen shows them
    (``display``) and in full (``fields``, with ``kind``), for the customer to confirm or
    correct and send back."""
    return {
        "document": reading.kind,
        "display": reading.display,
        "fields": {
            "kind": reading.kind,
            **{k: v for k, v in reading.fields.items() if k != "romanized"},
        },
    }
