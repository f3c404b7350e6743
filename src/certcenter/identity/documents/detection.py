"""Finding the card in the photo and straightening it (원근 보정).

    found = ContourCardFinder().find(photo)          # where the card lies, or None
    card = straighten(photo, found)                  # the card alone, flat, 1200 px wide

The card is the largest bright, four-cornered shape in the frame: the photo is thresholded
(Otsu), closed, and the largest outline is reduced to four corners; the perspective
transform maps them onto a rectangle of the card's own proportions: ID-1 (주민등록증,
운전면허증, 85.6 × 54 mm) or the passport's ID-3 data page (125 × 88 mm), whichever the
corners are closer to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from certcenter.identity.documents.image import Image, Photo

__all__ = [
    "ID1_RATIO",
    "ID3_RATIO",
    "CardFinder",
    "ContourCardFinder",
    "FoundCard",
    "straighten",
    "straighten_as",
]

ID1_RATIO = 85.6 / 54.0
ID3_RATIO = 125.0 / 88.0
CARD_WIDTH = 1200
#: Corners this close to the frame's edge (in pixels) mean the card runs out of the frame.
EDGE_MARGIN = 4


@dataclass(frozen=True)
class FoundCard:
    """The card's four corners (top-left, top-right, bottom-right, bottom-left, in pixels of
    the photo), the share of the frame it covers and whether its outline reaches the edge."""

    corners: tuple[tuple[float, float], ...]
    area_share: float
    touches_edge: bool

    @property
    def ratio(self) -> float:
        tl, tr, br, bl = (np.array(c) for c in self.corners)
        width = (np.linalg.norm(tr - tl) + np.linalg.norm(br - bl)) / 2
        height = (np.linalg.norm(bl - tl) + np.linalg.norm(br - tr)) / 2
        return float(width / height) if height else 0.0

    @property
    def passport_shaped(self) -> bool:
        """Closer to the passport page's proportions than to a card's."""
        return abs(self.ratio - ID3_RATIO) < abs(self.ratio - ID1_RATIO)


@runtime_checkable
class CardFinder(Protocol):
    """Where is the document in this photo? None when nothing card-like is there."""

    def find(self, photo: Photo) -> FoundCard | None: ...


def _ordered(points: np.ndarray) -> tuple[tuple[float, float], ...]:
    """Corners as top-left, top-right, bottom-right, bottom-left."""
    pts = points.reshape(4, 2).astype(np.float64)
    sums, diffs = pts.sum(axis=1), np.diff(pts, axis=1).ravel()
    order = [
        int(np.argmin(sums)),
        int(np.argmin(diffs)),
        int(np.argmax(sums)),
        int(np.argmax(diffs)),
    ]
    return tuple((float(pts[i][0]), float(pts[i][1])) for i in order)


class ContourCardFinder:
    """The largest bright quadrilateral, by Otsu threshold and contour approximation."""

    #: Outlines smaller than this share of the frame are not considered a card at all.
    min_share = 0.02
    #: An "outline" this large is the background itself (a frame of one colour).
    max_share = 0.9

    def find(self, photo: Photo) -> FoundCard | None:
        gray = cv2.GaussianBlur(photo.gray, (5, 5), 0)
        _, mask = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (15, 15))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        if not contours:
            return None
        outline = max(contours, key=cv2.contourArea)
        width, height = photo.size
        frame_area = float(width * height)
        area = float(cv2.contourArea(outline))
        if not self.min_share * frame_area <= area <= self.max_share * frame_area:
            return None
        hull = cv2.convexHull(outline)
        perimeter = cv2.arcLength(hull, True)
        quad = None
        for epsilon in (0.02, 0.03, 0.05, 0.08):
            approx = cv2.approxPolyDP(hull, epsilon * perimeter, True)
            if len(approx) == 4:
                quad = approx
                break
        if quad is None:
            quad = cv2.boxPoints(cv2.minAreaRect(hull))
        xs, ys = outline[:, 0, 0], outline[:, 0, 1]
        touches = bool(
            xs.min() <= EDGE_MARGIN
            or ys.min() <= EDGE_MARGIN
            or xs.max() >= width - 1 - EDGE_MARGIN
            or ys.max() >= height - 1 - EDGE_MARGIN
        )
        return FoundCard(
            corners=_ordered(np.asarray(quad)),
            area_share=area / frame_area,
            touches_edge=touches,
        )


def straighten(photo: Photo, found: FoundCard) -> Image:
    """The card alone, perspective-corrected to :data:`CARD_WIDTH` pixels wide, in the
    proportions its corners are closer to."""
    return straighten_as(photo, found, passport=found.passport_shaped)


def straighten_as(photo: Photo, found: FoundCard, *, passport: bool) -> Image:
    """As :func:`straighten`, with the proportions of the kind the text named."""
    ratio = ID3_RATIO if passport else ID1_RATIO
    width, height = CARD_WIDTH, round(CARD_WIDTH / ratio)
    source = np.array(found.corners, dtype=np.float32)
    target = np.array(
        [(0, 0), (width - 1, 0), (width - 1, height - 1), (0, height - 1)], dtype=np.float32
    )
    matrix = cv2.getPerspectiveTransform(source, target)
    return np.ascontiguousarray(
        cv2.warpPerspective(photo.color, matrix, (width, height), flags=cv2.INTER_CUBIC)
    )
