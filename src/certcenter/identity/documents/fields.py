"""From the text read off a card to the fields the ID step takes (항목 추출).

    read = extract_fields(text, mrz_lines, today=date(2026, 12, 5))
    read.kind, read.fields   # ('resident_card', {'name': …, 'rrn': …, 'issue_date': …})

The kind is told by the title (주민등록증, 자동차운전면허증, 여권/PASSPORT or a passport
MRZ). The fields are in the form the typed path takes (dates ``YYYY-MM-DD``), so both paths
end in the same :meth:`ResidentCard.parse` / :meth:`DriverLicence.parse` /
:meth:`Passport.parse`. A passport's number, birth and expiry dates come from its MRZ, whose
check digits must hold (``ID_MRZ_INVALID``); its Korean name from the page.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from certcenter.errors import CertCenterError
from certcenter.identity.documents.mrz import parse_td3, repair_td3
from certcenter.identity.rrn import ResidentNumber

__all__ = ["KINDS", "ReadFields", "extract_fields"]

KINDS = ("resident_card", "driver_licence", "passport")

#: Printed words of the layouts that look like a name to a pattern and are not one.
_NOT_NAMES = frozenset(
    {
        "주민등록증", "서울특별시", "종로구", "세종대로", "종로구청장", "자동차운전면허증",
        "운전면허증", "생년월일", "보통", "여권", "한글성명", "대한민국", "기간만료일",
        "여권번호", "이름", "서울특별시경찰청장", "경찰청장", "종보통", "성명",
    }
)  # fmt: skip
_HANGUL_NAME = re.compile(r"[가-힣]{2,4}")
_RRN = re.compile(r"([0-9]{6})\s*[-~—–]\s*([0-9]{7})")
_LICENCE = re.compile(r"([0-9]{2})\s*-\s*([0-9]{2})\s*-\s*([0-9]{6})\s*-\s*([0-9]{2})")
#: ``2015. 6. 1.`` as printed; OCR turns the dots into colons, commas or dashes.
_DOTTED_DATE = re.compile(
    r"((?:19|20)[0-9]{2})\s*[.:,\-]+\s*(0?[1-9]|1[0-2])\s*[.:,\-]+\s*(0?[1-9]|[12][0-9]|3[01])(?![0-9])"
)
_PASSPORT_NO = re.compile(r"[A-Z][0-9]{8}")
_SERIAL = re.compile(r"\b(?=[A-Z0-9]*[A-Z])(?=[A-Z0-9]*[0-9])[A-Z0-9]{6}\b")


@dataclass(frozen=True)
class ReadFields:
    """What was read: the document's kind and its fields as text."""

    kind: str
    fields: dict[str, str]


def _unreadable(detail: str) -> CertCenterError:
    return CertCenterError("ID_PHOTO_UNREADABLE", detail=detail)


def _kind(text: str, mrz_lines: Sequence[str]) -> str:
    """The title when it was read, else what the fields look like."""
    squeezed = re.sub(r"\s+", "", text)
    if (
        "PASSPORT" in squeezed.upper()
        or "여권" in squeezed
        or any(line.startswith("P") for line in mrz_lines)
    ):
        return "passport"
    if "운전면허" in squeezed or "면허증" in squeezed or _LICENCE.search(text):
        return "driver_licence"
    if "주민등록" in squeezed or _RRN.search(text):
        return "resident_card"
    raise _unreadable("no resident card, driver licence or passport")


def _name_lines(lines: Sequence[str]) -> list[int]:
    """Indexes of the lines that are a name alone (2-4 Hangul syllables, not a printed word)."""
    found = []
    for index, line in enumerate(lines):
        token = line.strip()
        if _HANGUL_NAME.fullmatch(token) and token not in _NOT_NAMES:
            found.append(index)
    return found


def _name(text: str, anchor: re.Pattern[str], *, before: bool) -> str:
    """The name line nearest to the line ``anchor`` matches: the one above it on a resident
    card (name, then number), the one below it on a licence (number, then name)."""
    lines = [line for line in text.splitlines() if line.strip()]
    names = _name_lines(lines)
    at = next((i for i, line in enumerate(lines) if anchor.search(line)), None)
    if at is not None:
        near = [i for i in names if (i < at if before else i > at)]
        if near:
            return lines[near[-1] if before else near[0]].strip()
    if names:
        return lines[names[0]].strip()
    raise _unreadable("name")


def _iso(match: re.Match[str]) -> str:
    year, month, day = (int(part) for part in match.groups())
    return f"{year:04d}-{month:02d}-{day:02d}"


def _valid_rrn(digits: str) -> bool:
    """A number whose check digit holds (older numbers) or that is at least a real date:
    a misread digit is caught here rather than at the registry."""
    try:
        ResidentNumber(digits)
    except CertCenterError:
        return False
    return True


def _resident_card(text: str) -> dict[str, str]:
    rrn = _RRN.search(text)
    issued = _DOTTED_DATE.search(text)
    if rrn is None or not _valid_rrn(rrn.group(1) + rrn.group(2)):
        raise _unreadable("resident registration number")
    if issued is None:
        raise _unreadable("issue date")
    return {
        "name": _name(text, _RRN, before=True),
        "rrn": f"{rrn.group(1)}-{rrn.group(2)}",
        "issue_date": _iso(issued),
    }


def _driver_licence(text: str) -> dict[str, str]:
    number = _LICENCE.search(text)
    born = _DOTTED_DATE.search(text)
    serial = _SERIAL.search(text.upper())
    if number is None:
        raise _unreadable("licence number")
    if born is None:
        raise _unreadable("birth date")
    if serial is None:
        raise _unreadable("licence serial")
    return {
        "name": _name(text, _LICENCE, before=False),
        "birth_date": _iso(born),
        "number": "".join(number.groups()),
        "serial": serial.group(0),
    }


def _passport(text: str, mrz_lines: Sequence[str], today: date) -> dict[str, str]:
    lines = [line for line in mrz_lines if len(line) >= 30]
    if not lines or len(lines[-1]) != 44:
        raise _unreadable("machine-readable zone")
    # Every check digit is on the second line; the first (type, country, Latin name) is
    # not needed when the Korean name was read on the page.
    first = lines[-2] if len(lines) >= 2 and lines[-2].startswith("P") else "P<KOR"
    zone = parse_td3(*repair_td3(first, lines[-1]), today=today)
    after_label = re.search(r"한글\s*성명\s*([가-힣]{2,4})", text)
    name = after_label.group(1) if after_label else _name(text, _PASSPORT_NO, before=False)
    return {
        "name": name,
        "birth_date": zone.birth_date.isoformat(),
        "number": zone.number,
        "expiry": zone.expiry.isoformat(),
        "romanized": zone.romanized,
    }


def extract_fields(text: str, mrz_lines: Sequence[str], *, today: date) -> ReadFields:
    """The kind and fields in ``text`` (and the passport's ``mrz_lines``); a field that
    cannot be found refuses the photo with ``ID_PHOTO_UNREADABLE``."""
    normalised = unicodedata.normalize("NFC", text)
    kind = _kind(normalised, mrz_lines)
    if kind == "resident_card":
        return ReadFields(kind, _resident_card(normalised))
    if kind == "driver_licence":
        return ReadFields(kind, _driver_licence(normalised))
    return ReadFields(kind, _passport(normalised, mrz_lines, today))
