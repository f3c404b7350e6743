"""Is the photo good enough to read? (촬영 품질 검사) Each problem is a catalog code whose
remedy tells the customer exactly what to do differently.

    report = PhotoQuality().check(photo, finder.find(photo), straighten)
    report.problems        # ('ID_PHOTO_GLARE',) — in the order the customer should fix them

| problem | measured | code |
|---|---|---|
| too dark | mean brightness of the frame | ``ID_PHOTO_TOO_DARK`` |
| no card | no card-shaped outline at all | ``ID_PHOTO_NO_CARD`` |
| cut off | the card's outline reaches the frame's edge | ``ID_PHOTO_CARD_CUT_OFF`` |
| too small | the share of the frame the card covers | ``ID_PHOTO_CARD_TOO_SMALL`` |
| blurred | variance of the Laplacian of the straightened card | ``ID_PHOTO_BLURRED`` |
| glare | the largest saturated (near-white, colourless) patch on the card | ``ID_PHOTO_GLARE`` |

Blur and glare are measured on the straightened card at a fixed width, so a card close to
the lens and one further away are judged alike. The thresholds are :class:`QualityLimits`;
the figures behind the defaults are in docs/identity-documents.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from certcenter.identity.documents.detection import FoundCard
from certcenter.identity.documents.image import Image, Photo

__all__ = ["PROBLEMS", "PhotoQuality", "QualityCheck", "QualityLimits", "QualityReport"]

#: Every quality problem, in the order a customer should fix them.
PROBLEMS = (
    "ID_PHOTO_TOO_DARK",
    "ID_PHOTO_NO_CARD",
    "ID_PHOTO_CARD_CUT_OFF",
    "ID_PHOTO_CARD_TOO_SMALL",
    "ID_PHOTO_BLURRED",
    "ID_PHOTO_GLARE",
)


@dataclass(frozen=True)
class QualityLimits:
    """Where each measure turns into a refusal."""

    min_brightness: float = 55.0  # mean grey level of the frame, 0-255
    min_card_share: float = 0.18  # the card covers at least this share of the frame
    min_sharpness: float = 60.0  # variance of the Laplacian, card straightened to 1200 px
    max_glare_share: float = 0.004  # largest saturated patch, as a share of the card
    glare_level: int = 250  # a pixel this bright in every channel is saturated


@dataclass(frozen=True)
class QualityReport:
    """The measures and the problems they show; ``card`` is the straightened card when one
    was found whole."""

    problems: tuple[str, ...]
    brightness: float
    card_share: float | None = None
    sharpness: float | None = None
    glare_share: float | None = None
    card: Image | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problems


@runtime_checkable
class QualityCheck(Protocol):
    """Judges a photo before anything is read from it."""

    def check(
        self,
        photo: Photo,
        found: FoundCard | None,
        straighten: Callable[[Photo, FoundCard], Image],
    ) -> QualityReport: ...


def sharpness(card: Image) -> float:
    """Variance of the Laplacian of the card in grey: low when edges are soft."""
    gray = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def glare_share(card: Image, level: int) -> float:
    """The largest connected patch of saturated, colourless pixels, as a share of the card."""
    saturated = np.all(card >= level, axis=2).astype(np.uint8) * 255
    saturated = cv2.morphologyEx(saturated, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(saturated, connectivity=8)
    if count <= 1:
        return 0.0
    largest = int(stats[1:, cv2.CC_STAT_AREA].max())
    return largest / float(card.shape[0] * card.shape[1])


class PhotoQuality:
    """The checks of the table above, with :class:`QualityLimits`."""

    def __init__(self, limits: QualityLimits | None = None) -> None:
        self.limits = limits or QualityLimits()

    def check(
        self,
        photo: Photo,
        found: FoundCard | None,
        straighten: Callable[[Photo, FoundCard], Image],
    ) -> QualityReport:
        limits = self.limits
        brightness = float(photo.gray.mean())
        if brightness < limits.min_brightness:
            return QualityReport(("ID_PHOTO_TOO_DARK",), brightness)
        if found is None:
            return QualityReport(("ID_PHOTO_NO_CARD",), brightness)
        problems: list[str] = []
        if found.touches_edge:
            problems.append("ID_PHOTO_CARD_CUT_OFF")
        if found.area_share < limits.min_card_share:
            problems.append("ID_PHOTO_CARD_TOO_SMALL")
        if problems:
            return QualityReport(tuple(problems), brightness, card_share=found.area_share)
        card = straighten(photo, found)
        sharp = sharpness(card)
        glare = glare_share(card, limits.glare_level)
        if sharp < limits.min_sharpness:
            problems.append("ID_PHOTO_BLURRED")
        if glare > limits.max_glare_share:
            problems.append("ID_PHOTO_GLARE")
        return QualityReport(
            tuple(problems),
            brightness,
            card_share=found.area_share,
            sharpness=sharp,
            glare_share=glare,
            card=card,
        )
