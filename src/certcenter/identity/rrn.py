"""Resident registration numbers (주민등록번호) and the front 7 digits typed in phone verification.

A resident registration number is ``YYMMDD-SNNNNNC``: the birth date, one digit ``S`` for
century, sex and nationality, then six more digits. Foreign residents' registration numbers
(외국인등록번호) have the same shape with ``S`` in 5–8. The number is personal data: this
module never puts it into an error, and its objects show only the front 7 digits.

    >>> from datetime import date
    >>> rrn = parse_rrn("900101-1234568", today=date(2026, 1, 1))
    >>> rrn.birth_date, rrn.gender, rrn.foreigner
    (datetime.date(1990, 1, 1), 'male', False)
    >>> rrn
    ResidentNumber('900101-1******')
    >>> parse_rrn_front("9001011", today=date(2026, 1, 1)).birth_date
    datetime.date(1990, 1, 1)

The 7th digit ``S``:

==========  ===========  ======================
digit       born         who
==========  ===========  ======================
9 / 0       1800–1899    male / female
1 / 2       1900–1999    male / female, Korean
3 / 4       2000–2099    male / female, Korean
5 / 6       1900–1999    male / female, foreigner
7 / 8       2000–2099    male / female, foreigner
==========  ===========  ======================

Check digit (13th digit). For Korean numbers the 13th digit is
``(11 - sum(d_i * w_i) % 11) % 10`` with weights 2,3,4,5,6,7,8,9,2,3,4,5. It is verified
only where it is known to hold:

* Since October 2020 new numbers are assigned without region code or check digit (the last
  six digits are arbitrary). Numbers of people born on or after 2020-10-01 are therefore
  never refused for their check digit. The rule goes by birth date, as the number itself
  does not say when it was assigned: a person born earlier who was given a number after
  October 2020 (naturalisation, a number changed after a leak) may hold a number without a
  valid check digit and would be refused here — the real-name registry is the authority.
* Foreign residents' numbers (7th digit 5–8) are never refused for their check digit. The
  formula ``(13 - sum % 11) % 10`` circulating for them is unofficial, and a production
  fintech found real foreigners' numbers that do not satisfy it (banksalad/rrn, PR #4 and
  issue #8: "the checksum rule for foreigners is not the same as for Koreans and caused
  problems in service"); the Korean formula does not hold for them either. Refusing a real
  customer is worse than letting a typo through to the registry, which refuses it anyway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from certcenter.errors import CertCenterError, term

__all__ = [
    "CHECK_DIGIT_CUTOFF",
    "Gender",
    "ResidentNumber",
    "RrnFront",
    "check_digit",
    "parse_rrn",
    "parse_rrn_front",
]

Gender = Literal["male", "female"]

#: Numbers of people born on or after this day carry no check digit.
CHECK_DIGIT_CUTOFF = date(2020, 10, 1)

_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_CENTURY = {
    "9": 1800,
    "0": 1800,
    "1": 1900,
    "2": 1900,
    "5": 1900,
    "6": 1900,
    "3": 2000,
    "4": 2000,
    "7": 2000,
    "8": 2000,
}
_FOREIGNER_DIGITS = frozenset("5678")

# Spaces or a hyphen between the two halves; ASCII digits only (no full-width or other
# scripts' digits, which int() would otherwise accept).
_RRN_RE = re.compile(r"([0-9]{6})[ \-]*([0-9]{7})", re.ASCII)
_FRONT_RE = re.compile(r"([0-9]{6})[ \-]*([0-9])", re.ASCII)
_FRONT_BAD_7TH_RE = re.compile(r"[0-9]{6}[ \-]*[^0-9 \-]", re.ASCII)


# What was wrong, for the customer (texts.toml ``rrn.reason.*``); ``detail`` stays for logs.
_REASONS = {
    "7th digit must be 0-9": "rrn.reason.seventh_digit",
    "not a real date": "rrn.reason.date",
    "must be 7 digits": "rrn.reason.back_digits",
    "must be 13 digits": "rrn.reason.digits",
    "check digit does not match": "rrn.reason.check_digit",
    "birth date is in the future": "rrn.reason.future",
}


def _invalid(detail: str) -> CertCenterError:
    return CertCenterError("RRN_INVALID", detail=detail, reason=term(_REASONS[detail]))


def _as_date(value: date) -> date:
    """A plain date (a ``datetime`` is a ``date`` too, but does not compare with one)."""
    if isinstance(value, datetime):
        return value.date()
    return value


def check_digit(first12: str) -> int:
    """The check digit of a pre-October-2020 Korean number, from its first 12 digits."""
    total = sum(int(d) * w for d, w in zip(first12, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def _birth_date(front7: str) -> date:
    """The birth date in ``YYMMDD`` + 7th digit; refuses impossible dates (Feb 29 too)."""
    century = _CENTURY.get(front7[6])
    if century is None:  # unreachable for ASCII digits; kept so the table stays the rule
        raise _invalid("7th digit must be 0-9")
    try:
        return date(century + int(front7[0:2]), int(front7[2:4]), int(front7[4:6]))
    except ValueError:
        raise _invalid("not a real date") from None


def _gender(digit: str) -> Gender:
    return "male" if int(digit) % 2 == 1 else "female"


def _is_digits(value: object, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and value.isascii() and value.isdigit()


def _check_front(digits: str) -> None:
    if not _is_digits(digits, 7):
        raise _invalid("must be 7 digits")
    _birth_date(digits)


def _check_full(digits: str) -> None:
    if not _is_digits(digits, 13):
        raise _invalid("must be 13 digits")
    born = _birth_date(digits[:7])
    if digits[6] in _FOREIGNER_DIGITS or born >= CHECK_DIGIT_CUTOFF:
        return
    if check_digit(digits[:12]) != int(digits[12]):
        raise _invalid("check digit does not match")


def _refuse_future(born: date, today: date) -> None:
    if born > _as_date(today):
        raise _invalid("birth date is in the future")


@dataclass(frozen=True, repr=False)
class RrnFront:
    """The first 7 digits of a resident number: birth date and the sex/century digit.

    This is what phone verification (휴대폰 본인확인) asks for. Building one directly
    validates the digits; :func:`parse_rrn_front` also accepts a hyphen and refuses future
    birth dates.
    """

    digits: str

    def __post_init__(self) -> None:
        _check_front(self.digits)

    @property
    def birth_date(self) -> date:
        return _birth_date(self.digits)

    @property
    def gender(self) -> Gender:
        return _gender(self.digits[6])

    @property
    def foreigner(self) -> bool:
        return self.digits[6] in _FOREIGNER_DIGITS

    def __str__(self) -> str:
        return f"{self.digits[:6]}-{self.digits[6]}"

    def __repr__(self) -> str:
        return f"RrnFront({str(self)!r})"


@dataclass(frozen=True, repr=False)
class ResidentNumber:
    """A whole resident registration number (13 digits), shown masked: ``900101-1******``.

    ``digits`` holds the full number for the code that must send it on (to a registry);
    ``str()``, ``repr()`` and f-strings never show more than the front 7 digits. Building
    one directly validates format, date and check digit; :func:`parse_rrn` also accepts the
    written forms and refuses future birth dates.
    """

    digits: str

    def __post_init__(self) -> None:
        _check_full(self.digits)

    @property
    def front7(self) -> str:
        """``YYMMDD`` followed by the 7th digit, without hyphen."""
        return self.digits[:7]

    @property
    def front(self) -> RrnFront:
        return RrnFront(self.front7)

    @property
    def birth_date(self) -> date:
        return _birth_date(self.digits[:7])

    @property
    def gender(self) -> Gender:
        return _gender(self.digits[6])

    @property
    def foreigner(self) -> bool:
        return self.digits[6] in _FOREIGNER_DIGITS

    @property
    def masked(self) -> str:
        return f"{self.digits[:6]}-{self.digits[6]}******"

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"ResidentNumber({self.masked!r})"


def parse_rrn(text: str, *, today: date) -> ResidentNumber:
    """Read ``"YYMMDD-SNNNNNC"`` or 13 digits (spaces and a hyphen between the halves are
    tolerated); refuse with ``RRN_INVALID`` otherwise, or if the birth date is after
    ``today``."""
    if not isinstance(text, str):
        raise _invalid("must be 13 digits")
    match = _RRN_RE.fullmatch(text.strip())
    if match is None:
        raise _invalid("must be 13 digits")
    number = ResidentNumber(match.group(1) + match.group(2))
    _refuse_future(number.birth_date, today)
    return number


def parse_rrn_front(text: str, *, today: date) -> RrnFront:
    """Read the front 7 digits as typed in phone verification: ``"900101-1"`` or
    ``"9001011"``; refuse with ``RRN_INVALID`` otherwise, or if the birth date is after
    ``today``."""
    if not isinstance(text, str):
        raise _invalid("must be 7 digits")
    stripped = text.strip()
    match = _FRONT_RE.fullmatch(stripped)
    if match is None:
        if _FRONT_BAD_7TH_RE.fullmatch(stripped):
            raise _invalid("7th digit must be 0-9")
        raise _invalid("must be 7 digits")
    front = RrnFront(match.group(1) + match.group(2))
    _refuse_future(front.birth_date, today)
    return front
