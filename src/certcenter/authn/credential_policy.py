"""Rules for a new PIN (간편비밀번호, 6 digits) and a new unlock pattern (패턴, 3×3 grid).

The customer chooses both while the certificate is issued; only their hashes are kept
(:mod:`certcenter.authn.hashing`). Refusals name a reason but never the PIN or pattern.

    >>> from datetime import date
    >>> check_new_pin("480213", "480213", birth_date=date(1990, 1, 1))
    >>> check_new_pin("123456", "123456", birth_date=None)
    Traceback (most recent call last):
        ...
    certcenter.errors.CertCenterError: PIN_WEAK: This PIN is too easy to guess.
    >>> pattern_to_text(check_new_pattern([0, 1, 2, 5]))
    '0-1-2-5'

A PIN is weak when it is

* one digit six times (``111111``);
* a run of consecutive digits up or down (``123456``, ``654321``). Runs wrap around
  through 9→0 and 0→9 (``890123``, ``098765``, ``901234``): on a keypad and in people's
  heads 0 follows 9, so these are as guessable as the plain runs;
* a repeated pair or triple (``121212``, ``123123``);
* the customer's birth date as ``YYMMDD``, ``MMDDYY``, ``DDMMYY`` or the last 6 digits of
  ``YYYYMMDD`` (which is the same as ``YYMMDD``: ``900101`` for 1990-01-01).

A pattern joins 4 to 9 distinct points of the grid, numbered row by row::

    0 1 2
    3 4 5
    6 7 8

A straight move that passes over a point not yet joined (``0→2`` over ``1``, ``0→8`` over
``4``) is refused rather than completed: phones add the middle point themselves, so a
sequence without it is not one a phone can produce, and silently adding it would store a
pattern different from what the client sent. Passing over a point already joined is
allowed, as on phones; so are knight's moves (``0→5``), which pass over no point.
"""

from __future__ import annotations

import hmac
import itertools
import re
from collections.abc import Sequence
from datetime import date, datetime

from certcenter.errors import CertCenterError

__all__ = [
    "GRID_POINTS",
    "MIN_PATTERN_POINTS",
    "PIN_LENGTH",
    "check_new_pattern",
    "check_new_pin",
    "parse_pattern",
    "pattern_to_text",
    "weak_pin_reason",
]

PIN_LENGTH = 6
MIN_PATTERN_POINTS = 4
GRID_POINTS = 9


def _is_pin_format(pin: object) -> bool:
    return isinstance(pin, str) and len(pin) == PIN_LENGTH and pin.isascii() and pin.isdigit()


def _birth_date_forms(born: date) -> set[str]:
    yyyy, mm, dd = f"{born.year:04d}", f"{born.month:02d}", f"{born.day:02d}"
    yy = yyyy[-2:]
    return {yy + mm + dd, mm + dd + yy, dd + mm + yy, (yyyy + mm + dd)[-6:]}


def weak_pin_reason(pin: str, *, birth_date: date | None) -> str | None:
    """Why a 6-digit PIN is too easy to guess, or None if it is not (``PIN_FORMAT`` if it
    is not 6 digits)."""
    if not _is_pin_format(pin):
        raise CertCenterError("PIN_FORMAT")
    digits = [int(d) for d in pin]
    steps = {(b - a) % 10 for a, b in itertools.pairwise(digits)}
    if steps == {0}:
        return "all digits the same"
    if steps in ({1}, {9}):
        return "consecutive digits"
    if pin == pin[:2] * 3 or pin == pin[:3] * 2:
        return "repeated digit group"
    if birth_date is not None:
        born = birth_date.date() if isinstance(birth_date, datetime) else birth_date
        if pin in _birth_date_forms(born):
            return "birth date"
    return None


def check_new_pin(pin: str, confirmation: str, *, birth_date: date | None) -> None:
    """Refuse a new PIN: ``PIN_FORMAT`` unless exactly 6 ASCII digits,
    ``PIN_CONFIRMATION_MISMATCH`` if the second entry differs, ``PIN_WEAK`` if guessable."""
    if not _is_pin_format(pin):
        raise CertCenterError("PIN_FORMAT")
    if not isinstance(confirmation, str) or not hmac.compare_digest(
        pin.encode("utf-8"), confirmation.encode("utf-8", "surrogatepass")
    ):
        raise CertCenterError("PIN_CONFIRMATION_MISMATCH")
    reason = weak_pin_reason(pin, birth_date=birth_date)
    if reason is not None:
        raise CertCenterError("PIN_WEAK", reason=reason)


def _invalid(reason: str) -> CertCenterError:
    return CertCenterError("PATTERN_INVALID", reason=reason)


def _grid_points(points: Sequence[int]) -> tuple[int, ...]:
    """The points as a tuple of ints 0..8; refuses anything else (bools included)."""
    if isinstance(points, str | bytes) or not isinstance(points, Sequence):
        raise _invalid("not a list of points")
    checked: list[int] = []
    for point in points:
        if isinstance(point, bool) or not isinstance(point, int):
            raise _invalid("points must be numbers 0-8")
        if not 0 <= point < GRID_POINTS:
            raise _invalid("point outside the 3x3 grid")
        checked.append(int(point))
    return tuple(checked)


def _passed_over(a: int, b: int) -> int | None:
    """The grid point a straight move from ``a`` to ``b`` passes over, if any."""
    (ra, ca), (rb, cb) = divmod(a, 3), divmod(b, 3)
    if (ra + rb) % 2 or (ca + cb) % 2:
        return None
    middle = (ra + rb) // 2 * 3 + (ca + cb) // 2
    return None if middle in (a, b) else middle


def check_new_pattern(points: Sequence[int]) -> tuple[int, ...]:
    """Refuse an invalid new pattern with ``PATTERN_INVALID``; return it as a tuple."""
    pattern = _grid_points(points)
    if len(pattern) < MIN_PATTERN_POINTS:
        raise _invalid("fewer than 4 points")
    if len(set(pattern)) != len(pattern):
        raise _invalid("a point is used twice")
    for i in range(1, len(pattern)):
        middle = _passed_over(pattern[i - 1], pattern[i])
        if middle is not None and middle not in pattern[:i]:
            raise _invalid("line passes over a point not yet joined")
    return pattern


def parse_pattern(text: str) -> list[int]:
    """A pattern as a customer types it: the points 0-8 joined by ``-`` (``"0-1-2-5-8"``,
    the form the enrolment shows) or by commas or spaces (``"0,1,2,5,8"``). Anything else is
    refused with ``PATTERN_INVALID``; whether the points make a pattern is checked where the
    pattern is used.

    >>> parse_pattern(" 0-1-2-5-8 "), parse_pattern("0, 1, 2, 5")
    ([0, 1, 2, 5, 8], [0, 1, 2, 5])
    """
    parts = [part for part in re.split(r"[-,\s]+", text.strip()) if part]
    if not parts or not all(part.isascii() and part.isdigit() and len(part) == 1 for part in parts):
        raise _invalid("points 0-8 joined by '-' or ','")
    return [int(part) for part in parts]


def pattern_to_text(points: Sequence[int]) -> str:
    """The pattern as text for hashing, ``"0-1-2-5"``.

    Checks only that every point is on the grid (``PATTERN_INVALID`` otherwise), not the
    rules for new patterns: an entered pattern that breaks them simply will not match.
    """
    return "-".join(str(point) for point in _grid_points(points))
