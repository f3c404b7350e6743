"""A photo as the document pipeline holds it: decoded in memory, never written anywhere.

    photo = decode_photo(upload_bytes, max_bytes=policy.id_photo_max_bytes)
    photo.gray.shape        # (height, width)

An upload that is not a JPEG or PNG, is larger than allowed or is too small to hold a
readable card is refused with ``ID_PHOTO_INVALID`` before any stage looks at it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from certcenter.errors import CertCenterError

__all__ = ["DEFAULT_MAX_BYTES", "MIN_SIDE", "Image", "Photo", "decode_photo"]

Image = NDArray[np.uint8]

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
#: The shorter side a photo needs for a card's text to be legible at all.
MIN_SIDE = 480
#: The longer side photos are scaled down to before any stage sees them (a 48-megapixel
#: phone photo costs the same as a 2-megapixel one).
WORKING_SIDE = 1600
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


@dataclass(frozen=True)
class Photo:
    """The decoded photo in colour (BGR, as OpenCV holds it) and in grey."""

    color: Image
    gray: Image

    @property
    def size(self) -> tuple[int, int]:
        height, width = self.gray.shape[:2]
        return int(width), int(height)


def _invalid(detail: str) -> CertCenterError:
    return CertCenterError("ID_PHOTO_INVALID", detail=detail)


def decode_photo(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Photo:
    """The photo in ``data`` (JPEG or PNG), scaled to at most :data:`WORKING_SIDE`."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise _invalid("no image")
    if len(data) > max_bytes:
        raise _invalid(f"larger than {max_bytes // (1024 * 1024)} MB")
    if not any(bytes(data[: len(magic)]) == magic for magic in _MAGIC):
        raise _invalid("not a JPEG or PNG image")
    buffer = np.frombuffer(bytes(data), dtype=np.uint8)
    color = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if color is None:
        raise _invalid("the image cannot be decoded")
    height, width = color.shape[:2]
    if min(height, width) < MIN_SIDE:
        raise _invalid(f"smaller than {MIN_SIDE} pixels on a side")
    longest = max(height, width)
    if longest > WORKING_SIDE:
        factor = WORKING_SIDE / longest
        color = cv2.resize(
            color, (round(width * factor), round(height * factor)), interpolation=cv2.INTER_AREA
        )
    gray = np.asarray(cv2.cvtColor(color, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    return Photo(color=np.ascontiguousarray(color, dtype=np.uint8), gray=gray)
