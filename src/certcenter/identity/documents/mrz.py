"""The passport's machine-readable zone (기계판독영역, ICAO Doc 9303 part 4, TD3).

Two lines of 44 characters. Every number in the second line carries a check digit (weights
7, 3, 1 over the character values: digits as themselves, ``A``–``Z`` as 10–35, ``<`` as 0), and
a composite digit covers them all. A zone whose digits do not add up was misread or forged:
:func:`parse_td3` refuses it with ``ID_MRZ_INVALID``.

    >>> from datetime import date
    >>> line1, line2 = td3_lines(document_type="PM", country="KOR", surname="HONG",
    ...     given_names="GILDONG", number="M12345678", nationality="KOR",
    ...     birth_date=date(1990, 1, 1), sex="M", expiry=date(2030, 5, 31))
    >>> mrz = parse_td3(line1, line2, today=date(2026, 1, 1))
    >>> mrz.number, mrz.surname, mrz.given_names, mrz.expiry
    ('M12345678', 'HONG', 'GILDONG', datetime.date(2030, 5, 31))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from certcenter.errors import CertCenterError

__all__ = ["MrzTd3", "check_digit", "parse_td3", "repair_td3", "td3_lines"]

LINE_LENGTH = 44
_WEIGHTS = (7, 3, 1)
_LINE_RE = re.compile(r"[A-Z0-9<]{44}", re.ASCII)


def check_digit(text: str) -> str:
    """ICAO 9303 check digit of ``text`` (digits, capitals and ``<``)."""
    total = 0
    for index, char in enumerate(text):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - ord("A") + 10
        elif char == "<":
            value = 0
        else:
            raise ValueError(f"not an MRZ character: {char!r}")
        total += value * _WEIGHTS[index % 3]
    return str(total % 10)


def _field(text: str, length: int) -> str:
    cleaned = re.sub(r"[^A-Z0-9]+", "<", text.upper())
    if len(cleaned) > length:
        raise ValueError(f"{text!r} does not fit in {length} characters")
    return cleaned.ljust(length, "<")


def _yymmdd(day: date) -> str:
    return f"{day.year % 100:02d}{day.month:02d}{day.day:02d}"


def td3_lines(
    *,
    document_type: str,
    country: str,
    surname: str,
    given_names: str,
    number: str,
    nationality: str,
    birth_date: date,
    sex: str,
    expiry: date,
    personal_number: str = "",
) -> tuple[str, str]:
    """The two MRZ lines of a passport with these details (for the demo world's pages)."""
    names = f"{_field(surname, 39).rstrip('<')}<<{given_names.replace(' ', '<')}"
    line1 = _field(document_type, 2) + _field(country, 3) + names.ljust(39, "<")[:39]
    number_field = _field(number, 9)
    personal = _field(personal_number, 14)
    birth, exp = _yymmdd(birth_date), _yymmdd(expiry)
    personal_check = check_digit(personal) if personal_number else "<"
    body = (
        number_field + check_digit(number_field) + _field(nationality, 3)
        + birth + check_digit(birth) + sex + exp + check_digit(exp)
        + personal + personal_check
    )  # fmt: skip
    composite = (
        number_field + check_digit(number_field) + birth + check_digit(birth)
        + exp + check_digit(exp) + personal + personal_check
    )  # fmt: skip
    return line1, body + check_digit(composite)


@dataclass(frozen=True)
class MrzTd3:
    """A checked TD3 zone."""

    document_type: str
    country: str
    surname: str
    given_names: str
    number: str
    nationality: str
    birth_date: date
    sex: str
    expiry: date

    @property
    def romanized(self) -> str:
        """``SURNAME GIVENNAMES`` as the registries spell it."""
        return f"{self.surname} {self.given_names}".strip()


_TO_LETTER = str.maketrans("0125868", "OIZSBGB")
_TO_DIGIT = str.maketrans("OQDIZSBG", "00012589")
#: Where TD3's second line holds letters and where digits (a date, a check digit).
_LETTER_SPANS = ((10, 13),)
_DIGIT_SPANS = ((9, 10), (13, 20), (21, 28), (43, 44))


def repair_td3(line1: str, line2: str) -> tuple[str, str]:
    """Undo what OCR typically does to a zone: the first line's filler cut short, O read as
    0 where the format wants a letter and the other way round where it wants a digit. The
    check digits still decide; nothing is repaired into validity that was not read."""
    first = "".join(line1.split()).upper()[:LINE_LENGTH].ljust(LINE_LENGTH, "<")
    second = "".join(line2.split()).upper()
    if len(second) != LINE_LENGTH:
        return first, second
    chars = list(second)
    for start, end in _LETTER_SPANS:
        chars[start:end] = "".join(chars[start:end]).translate(_TO_LETTER)
    for start, end in _DIGIT_SPANS:
        chars[start:end] = "".join(chars[start:end]).translate(_TO_DIGIT)
    return first, "".join(chars)


def _invalid(detail: str) -> CertCenterError:
    return CertCenterError("ID_MRZ_INVALID", detail=detail)


def _date(text: str, *, future: bool, today: date) -> date:
    """A YYMMDD date; the century is the one that puts a birth date in the past and an expiry
    within the next 50 years."""
    year, month, day = int(text[0:2]), int(text[2:4]), int(text[4:6])
    century = today.year // 100 * 100
    full = century + year
    if future and full < today.year - 50:
        full += 100
    if not future and full > today.year:
        full -= 100
    try:
        return date(full, month, day)
    except ValueError:
        raise _invalid("a date in the zone is not a real date") from None


def parse_td3(line1: str, line2: str, *, today: date) -> MrzTd3:
    """Check and read a TD3 zone; any check digit that does not match refuses it."""
    first, second = line1.strip().upper(), line2.strip().upper()
    if not _LINE_RE.fullmatch(first) or not _LINE_RE.fullmatch(second):
        raise _invalid("each line must be 44 characters of A-Z, 0-9 and <")
    if first[0] != "P":
        raise _invalid("not a passport zone")
    checks = {
        "number": (second[0:9], second[9]),
        "birth date": (second[13:19], second[19]),
        "expiry date": (second[21:27], second[27]),
    }
    for what, (value, digit) in checks.items():
        if check_digit(value) != digit:
            raise _invalid(f"{what} check digit")
    personal_check = second[42]
    has_personal = personal_check != "<" or second[28:42].strip("<")
    if has_personal and check_digit(second[28:42]) != personal_check.replace("<", "0"):
        raise _invalid("personal number check digit")
    composite = second[0:10] + second[13:20] + second[21:43]
    if check_digit(composite) != second[43]:
        raise _invalid("composite check digit")
    if not second[13:19].isdigit() or not second[21:27].isdigit():
        raise _invalid("dates must be digits")
    surname, _, given = first[5:].partition("<<")
    return MrzTd3(
        document_type=first[0:2].rstrip("<"),
        country=first[2:5],
        surname=surname.replace("<", " ").strip(),
        given_names=given.replace("<", " ").strip(),
        number=second[0:9].rstrip("<"),
        nationality=second[10:13],
        birth_date=_date(second[13:19], future=False, today=today),
        sex=second[20],
        expiry=_date(second[21:27], future=True, today=today),
    )
