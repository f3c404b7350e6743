"""Reading the straightened card's text (문자 인식), behind a Protocol so that a commercial
OCR engine can take Tesseract's place.

    reader = TesseractReader()
    text = reader.read_text(card)          # every line, Korean and Latin
    zone = reader.read_mrz(card)           # the passport's two MRZ lines, or ()

:class:`TesseractReader` runs Debian's Tesseract (tesseract-ocr, tesseract-ocr-kor) through
pytesseract on the image in memory; no file is written.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import pytesseract

from certcenter.errors import CertCenterError
from certcenter.identity.documents.image import Image

__all__ = ["TesseractReader", "TextReader", "tesseract_available"]

_MRZ_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"


@runtime_checkable
class TextReader(Protocol):
    """Reads text from a straightened card."""

    def read_text(self, card: Image, *, sparse: bool = False) -> str:
        """The card's text, line by line; ``sparse``: a second try that looks for scattered
        words rather than a page layout."""
        ...

    def read_mrz(self, card: Image) -> tuple[str, ...]: ...


def tesseract_available() -> bool:
    """Is Tesseract installed with its Korean data?"""
    try:
        languages = pytesseract.get_languages(config="")
    except (pytesseract.TesseractNotFoundError, OSError, RuntimeError):
        return False
    return "kor" in languages


def _gray(card: Image) -> Image:
    return np.asarray(cv2.cvtColor(card, cv2.COLOR_BGR2GRAY), dtype=np.uint8)


class TesseractReader:
    """Tesseract 5 with the Korean and English models; ``timeout`` seconds per call."""

    def __init__(self, *, languages: str = "kor+eng", timeout: float = 20.0) -> None:
        self.languages = languages
        self.timeout = timeout

    def _run(self, image: Image, *, lang: str, config: str) -> str:
        try:
            text = pytesseract.image_to_string(
                image, lang=lang, config=config, timeout=self.timeout
            )
        except pytesseract.TesseractNotFoundError:
            raise CertCenterError("SERVICE_UNAVAILABLE") from None
        except RuntimeError:  # pytesseract's timeout
            raise CertCenterError("ID_PHOTO_UNREADABLE", detail="reading took too long") from None
        return str(text)

    def read_text(self, card: Image, *, sparse: bool = False) -> str:
        mode = "11" if sparse else "3"
        return self._run(_gray(card), lang=self.languages, config=f"--psm {mode}")

    def read_mrz(self, card: Image) -> tuple[str, ...]:
        height = card.shape[0]
        zone = _gray(card[int(height * 0.72) :, :])
        text = self._run(
            zone, lang="eng", config=f"--psm 6 -c tessedit_char_whitelist={_MRZ_CHARS}"
        )
        lines = ["".join(line.split()) for line in text.splitlines()]
        return tuple(line for line in lines if len(line) >= 30)
