"""ID document details (신분증 정보) as typed by the customer, checked for format.

Three documents are accepted for ID verification (신분증 진위확인): the resident registration
card (주민등록증), the driver's licence (운전면허증) and the passport (여권). Each ``parse``
normalises what was typed and refuses a malformed field with ``ID_DETAILS_INVALID`` (a bad
resident number is ``RRN_INVALID``). Whether the document is genuine, current or expired is
decided by the ID registry, not here.

    >>> from datetime import date
    >>> licence = DriverLicence.parse("홍길동", "1990-01-01", "11-12-345678-90", "ab12c3")
    >>> licence.number, licence.region, licence.serial
    ('111234567890', '서울', 'AB12C3')
    >>> Passport.parse("HONG GILDONG", date(1990, 1, 1), "m123a4567", "2031-05-01").number
    'M123A4567'

Names are 1–40 characters of Hangul syllables, Latin letters (A–Z, a–z) and spaces,
normalised to NFC and stripped at both ends. Inner spaces are kept as typed: the registries
compare names with their spacing, so "한 지민" and "한지민" are different names.

Dates may be given as :class:`datetime.date` or as text: ``2015-03-12``, ``20150312`` or
``2015.03.12`` / ``2015. 3. 12.`` (as printed on Korean cards).

Driver's licence numbers are 12 digits, ``RR-YY-NNNNNN-CC``: region, year of issue, serial,
check/re-issue digits. ``RR`` is the issuing region of the Korea Road Traffic Authority
(도로교통공단); the 17 codes are 11–26 and 28 (:data:`LICENCE_REGIONS`). Licences issued
before the switch to numeric codes print the region's name instead (``서울 01-123456-12``,
10 digits after the name); that form is accepted and normalised to the numeric code.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from certcenter.errors import CertCenterError
from certcenter.identity.rrn import ResidentNumber, parse_rrn

__all__ = [
    "LICENCE_REGIONS",
    "NAME_MAX_LENGTH",
    "PASSPORT_TYPES",
    "DriverLicence",
    "Passport",
    "ResidentCard",
    "normalise_name",
    "subscriber_name",
]

NAME_MAX_LENGTH = 40

#: Driver's licence region codes (면허 발급 지역) of the Korea Road Traffic Authority.
#: The order is the historical one: the provinces, then the metropolitan cities as they
#: were created, then the northern Gyeonggi office added later. There is no Sejong code.
LICENCE_REGIONS: dict[str, str] = {
    "11": "서울",
    "12": "부산",
    "13": "경기",
    "14": "강원",
    "15": "충북",
    "16": "충남",
    "17": "전북",
    "18": "전남",
    "19": "경북",
    "20": "경남",
    "21": "제주",
    "22": "대구",
    "23": "인천",
    "24": "광주",
    "25": "대전",
    "26": "울산",
    "28": "경기북부",
}
_REGION_CODES: dict[str, str] = {name: code for code, name in LICENCE_REGIONS.items()}

#: Korean passport type letters: M (multiple-journey), S (single-journey), R (residence),
#: O (official), D (diplomatic). G is accepted too, as the specification lists it; published
#: patterns (Microsoft Purview's) name only M, S, R, O and D. A wrong letter that passes here
#: is still refused by the registry.
PASSPORT_TYPES = frozenset("MSRODG")

_NUMERIC_LICENCE_RE = re.compile(
    r"([0-9]{2})[ \-]?([0-9]{2})[ \-]?([0-9]{6})[ \-]?([0-9]{2})", re.ASCII
)
_NAMED_LICENCE_RE = re.compile(
    r"([가-힣]{2,4})[ \-]*(?:([0-9]{2})[ \-]?)??([0-9]{2})[ \-]?([0-9]{6})[ \-]?([0-9]{2})",
    re.ASCII,
)
_SERIAL_RE = re.compile(r"[A-Z0-9]{5,6}", re.ASCII)
_PASSPORT_RE = re.compile(r"[A-Z](?:[0-9]{8}|[0-9]{3}[A-Z][0-9]{4})", re.ASCII)
_DATE_COMPACT_RE = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})", re.ASCII)
_DATE_SEPARATED_RE = re.compile(
    r"([0-9]{4}) ?([\-./]) ?([0-9]{1,2}) ?\2 ?([0-9]{1,2})\.?", re.ASCII
)


def _invalid(detail: str) -> CertCenterError:
    return CertCenterError("ID_DETAILS_INVALID", detail=detail)


def _is_name_char(char: str) -> bool:
    return "가" <= char <= "힣" or ("A" <= char <= "Z") or ("a" <= char <= "z") or char == " "


def normalise_name(name: str) -> str:
    """The name in NFC without surrounding spaces; inner spaces are kept exactly."""
    if not isinstance(name, str):
        raise _invalid("name is missing")
    normalised = unicodedata.normalize("NFC", name).strip()
    if not normalised:
        raise _invalid("name is missing")
    if len(normalised) > NAME_MAX_LENGTH:
        raise _invalid("name is longer than 40 characters")
    if not all(_is_name_char(char) for char in normalised):
        raise _invalid("name may contain only Hangul, Latin letters and spaces")
    return normalised


#: A Korean name as a phone line, a bank and the family register hold it: 2 to 10 Hangul
#: syllables (a surname of one or two, a given name of at most five by the courts' rule,
#: with room for the rare longer registered names). Spacing is kept as typed, like
#: :func:`normalise_name`: the registries compare it, so "김 민준" is a name, just not C001's.
SUBSCRIBER_NAME_LENGTH = (2, 10)
_SUBSCRIBER_NAME = re.compile(r"[가-힣]+(?: [가-힣]+)*")


def subscriber_name(name: str) -> str:
    """The name a customer types for the phone line, the lost-phone report and the
    financial certificate's checks, in NFC without surrounding spaces; anything that cannot
    be a Korean name (Latin letters, digits, double spaces, too few or too many syllables)
    is refused with ``NAME_INVALID`` before anyone is asked.

    >>> subscriber_name(" 김민준 "), subscriber_name("김 민준")
    ('김민준', '김 민준')
    """
    if not isinstance(name, str):
        raise CertCenterError("NAME_INVALID", reason="missing")
    typed = unicodedata.normalize("NFC", name).strip()
    shortest, longest = SUBSCRIBER_NAME_LENGTH
    if not typed:
        raise CertCenterError("NAME_INVALID", reason="missing")
    if not _SUBSCRIBER_NAME.fullmatch(typed):
        raise CertCenterError("NAME_INVALID", reason="Hangul syllables only")
    if not shortest <= len(typed.replace(" ", "")) <= longest:
        raise CertCenterError("NAME_INVALID", reason=f"{shortest} to {longest} syllables")
    return typed


def _parse_date(value: date | str, what: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise _invalid(f"{what} is missing")
    text = value.strip()
    match = _DATE_COMPACT_RE.fullmatch(text)
    parts = match.groups() if match else None
    if parts is None:
        match = _DATE_SEPARATED_RE.fullmatch(text)
        if match is None:
            raise _invalid(f"{what} is not a date")
        parts = (match.group(1), match.group(3), match.group(4))
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise _invalid(f"{what} is not a real date") from None


def _licence_number(text: str) -> str:
    """The 12-digit licence number from its numeric or older region-name form."""
    if not isinstance(text, str):
        raise _invalid("licence number must be 12 digits")
    compact = unicodedata.normalize("NFC", text).strip()
    numeric = _NUMERIC_LICENCE_RE.fullmatch(compact)
    if numeric is not None:
        digits = "".join(numeric.groups())
        if digits[:2] not in LICENCE_REGIONS:
            raise _invalid("licence region code is unknown")
        return digits
    named = _NAMED_LICENCE_RE.fullmatch(compact)
    if named is None:
        raise _invalid("licence number must be 12 digits")
    region_name, printed_code, *rest = named.groups()
    code = _REGION_CODES.get(region_name)
    if code is None:
        raise _invalid("licence region is unknown")
    if printed_code is not None and printed_code != code:
        raise _invalid("licence region name and code differ")
    return code + "".join(part for part in rest if part is not None)


def _licence_serial(text: str) -> str:
    if not isinstance(text, str) or not text.isascii():
        raise _invalid("licence serial must be 5-6 letters or digits")
    serial = text.strip().upper()
    if _SERIAL_RE.fullmatch(serial) is None:
        raise _invalid("licence serial must be 5-6 letters or digits")
    return serial


def _passport_number(text: str) -> str:
    if not isinstance(text, str) or not text.isascii():
        raise _invalid("passport number is not valid")
    number = text.strip().replace(" ", "").upper()
    if _PASSPORT_RE.fullmatch(number) is None:
        raise _invalid("passport number is not valid")
    if number[0] not in PASSPORT_TYPES:
        raise _invalid("passport type letter is not valid")
    return number


@dataclass(frozen=True)
class ResidentCard:
    """주민등록증: name, resident number and issue date (발급일자) as printed on the card."""

    name: str
    rrn: ResidentNumber
    issue_date: date

    @classmethod
    def parse(
        cls, name: str, rrn: ResidentNumber | str, issue_date: date | str, *, today: date
    ) -> ResidentCard:
        """Check the typed details; the issue date may not be after ``today`` nor before
        the holder's birth."""
        checked_name = normalise_name(name)
        today = today.date() if isinstance(today, datetime) else today
        number = rrn if isinstance(rrn, ResidentNumber) else parse_rrn(rrn, today=today)
        issued = _parse_date(issue_date, "issue date")
        if issued > today:
            raise _invalid("issue date is in the future")
        if issued < number.birth_date:
            raise _invalid("issue date is before the birth date")
        return cls(name=checked_name, rrn=number, issue_date=issued)


@dataclass(frozen=True)
class DriverLicence:
    """운전면허증: ``number`` is kept as 12 digits, ``serial`` is the 암호일련번호 in capitals."""

    name: str
    birth_date: date
    number: str
    serial: str

    @property
    def region_code(self) -> str:
        return self.number[:2]

    @property
    def region(self) -> str:
        """The issuing region's name (서울, 경기북부, …)."""
        return LICENCE_REGIONS[self.region_code]

    @property
    def formatted(self) -> str:
        """As printed on new cards: ``11-12-345678-90``."""
        n = self.number
        return f"{n[0:2]}-{n[2:4]}-{n[4:10]}-{n[10:12]}"

    @classmethod
    def parse(cls, name: str, birth_date: date | str, number: str, serial: str) -> DriverLicence:
        """Check the typed details; the number may be ``11-12-345678-90``, 12 plain digits
        or the older ``서울 12-345678-90``; the serial is 5–6 letters or digits."""
        return cls(
            name=normalise_name(name),
            birth_date=_parse_date(birth_date, "birth date"),
            number=_licence_number(number),
            serial=_licence_serial(serial),
        )


@dataclass(frozen=True)
class Passport:
    """여권: a type letter and 8 digits, or (since December 2021) letter, 3 digits, letter,
    4 digits (``M123A4567``). An expired passport parses: expiry is the registry's rule."""

    name: str
    birth_date: date
    number: str
    expiry: date

    @classmethod
    def parse(cls, name: str, birth_date: date | str, number: str, expiry: date | str) -> Passport:
        """Check the typed details; the number is taken in capitals, spaces removed."""
        return cls(
            name=normalise_name(name),
            birth_date=_parse_date(birth_date, "birth date"),
            number=_passport_number(number),
            expiry=_parse_date(expiry, "expiry date"),
        )
