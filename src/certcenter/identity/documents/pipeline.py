"""신분증 촬영 인식: a photo of an ID document, from bytes to the fields the ID step takes.

    reader = DocumentPhotoReader()                      # OpenCV + Tesseract, the defaults
    reading = reader.read(jpeg_bytes, today=date(2026, 12, 5))
    reading.kind, reading.display   # ('resident_card', {'rrn': '870227-2******', …})

The stages, each replaceable behind its Protocol (a commercial OCR vendor plugs in as a
:class:`~certcenter.identity.documents.ocr.TextReader`):

1. decode (:func:`decode_photo`): JPEG or PNG, size-limited, in memory only;
2. find the card (:class:`CardFinder`) and judge the photo (:class:`QualityCheck`): the first
   problem refuses it with its own code and remedy (``ID_PHOTO_GLARE``, …);
3. straighten the card (perspective correction) and read its text (:class:`TextReader`);
4. extract the fields (:func:`extract_fields`), checking the passport's MRZ digits.

The image is never written anywhere: it lives in this call's memory and is gone when the
call returns. Whether the document is genuine is the registry's question, asked by the ID
step with the fields the customer confirmed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import cv2
import numpy as np

from certcenter.errors import CertCenterError
from certcenter.identity.documents.confirmation import masked_fields
from certcenter.identity.documents.detection import (
    CardFinder,
    ContourCardFinder,
    straighten,
    straighten_as,
)
from certcenter.identity.documents.fields import ReadFields, extract_fields
from certcenter.identity.documents.image import DEFAULT_MAX_BYTES, Image, decode_photo
from certcenter.identity.documents.ocr import TesseractReader, TextReader
from certcenter.identity.documents.quality import PhotoQuality, QualityCheck

__all__ = ["DocumentPhotoReader", "PhotoReader", "PhotoReading", "masked_fields"]


@dataclass(frozen=True)
class PhotoReading:
    """What was read from a photo: the kind, the fields (in full, for the customer to confirm
    and send back) and the measures of its quality."""

    kind: str
    fields: dict[str, str] = field(repr=False)
    measures: dict[str, float] = field(default_factory=dict)

    @property
    def display(self) -> dict[str, str]:
        return masked_fields(self.kind, self.fields)

    def __repr__(self) -> str:
        return f"PhotoReading(kind={self.kind!r}, display={self.display!r})"


class PhotoReader(Protocol):
    """Reads an ID photo: the whole pipeline, replaceable by a vendor's in one piece."""

    def read(self, data: bytes, *, today: date) -> PhotoReading: ...


class DocumentPhotoReader:
    """The pipeline of the module docstring, its stages passed in."""

    def __init__(
        self,
        *,
        finder: CardFinder | None = None,
        quality: QualityCheck | None = None,
        text: TextReader | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.finder = finder or ContourCardFinder()
        self.quality = quality or PhotoQuality()
        self.text = text or TesseractReader()
        self.max_bytes = max_bytes

    def read(self, data: bytes, *, today: date) -> PhotoReading:
        photo = decode_photo(data, max_bytes=self.max_bytes)
        found = self.finder.find(photo)
        report = self.quality.check(photo, found, straighten)
        if report.problems:
            raise CertCenterError(report.problems[0])
        if found is None or report.card is None:  # a check that passes has found the card
            raise CertCenterError("ID_PHOTO_NO_CARD")
        card = report.card
        text = self.text.read_text(card)
        says_passport = "PASSPORT" in text.upper() or "여권" in text
        if says_passport != found.passport_shaped:
            card = straighten_as(photo, found, passport=says_passport)
            text = self.text.read_text(card)
        mrz = self.text.read_mrz(card) if says_passport else ()
        read = self._extract(card, text, mrz, today)
        measures = {
            "brightness": round(report.brightness, 1),
            "card_share": round(report.card_share or 0.0, 3),
            "sharpness": round(report.sharpness or 0.0, 1),
        }
        return PhotoReading(kind=read.kind, fields=read.fields, measures=measures)

    def _extract(self, card: Image, text: str, mrz: tuple[str, ...], today: date) -> ReadFields:
        """The fields from the first reading that has them all: the card as photographed,
        then its ink alone (the printed background and the portrait dropped), then scattered
        words. Each try costs one more OCR call, so a clean card costs one."""
        tries: tuple[Callable[[], str], ...] = (
            lambda: text,
            lambda: self.text.read_text(ink_only(card)),
            lambda: self.text.read_text(card, sparse=True),
        )
        failure: CertCenterError | None = None
        for read_text in tries:
            try:
                return extract_fields(read_text(), mrz, today=today)
            except CertCenterError as refusal:
                if refusal.code != "ID_PHOTO_UNREADABLE":
                    raise
                failure = refusal
        assert failure is not None  # noqa: S101 - the loop ran at least once
        raise failure


def ink_only(card: Image) -> Image:
    """The card with only its ink: pixels darker than halfway between the darkest text and
    the typical background become black, the rest white (the security print's pattern and
    the grey portrait disappear)."""
    gray = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
    darkest, typical = float(np.percentile(gray, 1)), float(np.median(gray))
    ink = np.where(gray > (darkest + typical) / 2, 255, 0).astype(np.uint8)
    return np.asarray(cv2.cvtColor(ink, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
