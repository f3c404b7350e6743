"""Reading the straightened card's text (문자 인식), behind a Protocol so that a commercial
OCR engine can take Tesseract's place.

    reader = TesseractReader()
    text = reader.read_text(card)          # every line, Korean and Latin
    zone = reader.read_mrz(card)           # the passport's two MRZ lines, or ()

:class:`TesseractReader` runs Debian's Tesseract 5 (tesseract-ocr, tesseract-ocr-kor) with
the image piped in on standard input and the text read from standard output: the image is
never written to a file. (pytesseract, the usual wrapper, writes it to a temporary file
first, which the rule "the photo is never kept" does not allow.) ``OMP_THREAD_LIMIT=1`` keeps
each call on one core, so that two photos read at once use two.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

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


def tesseract_available(binary: str = "tesseract") -> bool:
    """Is Tesseract installed with its Korean data?"""
    path = shutil.which(binary)
    if path is None:
        return False
    try:
        listed = subprocess.run(  # noqa: S603 - our fixed arguments
            [path, "--list-langs"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "kor" in listed.stdout.split()


def _png(card: Image) -> bytes:
    gray = np.asarray(cv2.cvtColor(card, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    ok, encoded = cv2.imencode(".png", gray)
    if not ok:
        raise CertCenterError("ID_PHOTO_UNREADABLE", detail="the card cannot be encoded")
    return bytes(encoded.tobytes())


class TesseractReader:
    """Tesseract 5 with the Korean and English models; ``timeout`` seconds per call."""

    def __init__(
        self, *, languages: str = "kor+eng", timeout: float = 30.0, binary: str = "tesseract"
    ) -> None:
        self.languages = languages
        self.timeout = timeout
        self.binary = binary

    def _run(self, image: bytes, *, lang: str, options: list[str]) -> str:
        path = shutil.which(self.binary)
        if path is None:
            raise CertCenterError(
                "SERVICE_UNAVAILABLE", detail="the ID text reader is not available"
            )
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            done = subprocess.run(  # noqa: S603 - our fixed arguments, the image on stdin
                [path, "stdin", "stdout", "-l", lang, *options],
                input=image,
                capture_output=True,
                timeout=self.timeout,
                check=False,
                env=env,
            )
        except subprocess.TimeoutExpired:
            raise CertCenterError("ID_PHOTO_UNREADABLE", detail="reading took too long") from None
        except OSError:
            raise CertCenterError(
                "SERVICE_UNAVAILABLE", detail="the ID text reader is not available"
            ) from None
        if done.returncode != 0:
            raise CertCenterError(
                "SERVICE_UNAVAILABLE", detail="the ID text reader is not available"
            )
        return done.stdout.decode("utf-8", errors="replace")

    def read_text(self, card: Image, *, sparse: bool = False) -> str:
        mode = "11" if sparse else "3"
        return self._run(_png(card), lang=self.languages, options=["--psm", mode])

    def read_mrz(self, card: Image) -> tuple[str, ...]:
        height = card.shape[0]
        zone = card[int(height * 0.72) :, :]
        text = self._run(
            _png(zone),
            lang="eng",
            options=["--psm", "6", "-c", f"tessedit_char_whitelist={_MRZ_CHARS}"],
        )
        lines = ["".join(line.split()) for line in text.splitlines()]
        return tuple(line for line in lines if len(line) >= 30)
