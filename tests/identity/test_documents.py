"""신분증 details: names, dates, resident card, driver's licence and passport formats."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certcenter.errors import CertCenterError
from certcenter.identity.documents import (
    LICENCE_REGIONS,
    DriverLicence,
    Passport,
    ResidentCard,
    normalise_name,
)
from certcenter.identity.rrn import parse_rrn

TODAY = date(2026, 1, 1)
RRN_TEXT = "900101-1234568"
RRN = parse_rrn(RRN_TEXT, today=TODAY)
BORN = date(1990, 1, 1)
T = TypeVar("T")


def attempt(call: Callable[[], T]) -> tuple[T | None, CertCenterError | None]:
    """Run ``call``: its result, or the CertCenterError it raised (anything else propagates)."""
    try:
        return call(), None
    except CertCenterError as err:
        return None, err


texts_or_dates = st.one_of(st.text(max_size=30), st.dates())


def detail_of(call: object) -> str:
    assert callable(call)
    with pytest.raises(CertCenterError) as caught:
        call()
    assert caught.value.code == "ID_DETAILS_INVALID"
    detail = caught.value.context["detail"]
    assert isinstance(detail, str)
    return detail


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("홍길동", "홍길동"),
        ("  홍길동 ", "홍길동"),
        ("한 지민", "한 지민"),
        ("한  지민", "한  지민"),
        ("HONG GILDONG", "HONG GILDONG"),
        ("Kim Minjun", "Kim Minjun"),
        ("남궁 민수", "남궁 민수"),
        (unicodedata.normalize("NFD", "홍길동"), "홍길동"),  # decomposed jamo are composed
        ("가" * 40, "가" * 40),
    ],
)
def test_names_kept(typed: str, kept: str) -> None:
    assert normalise_name(typed) == kept


def test_inner_spacing_matters() -> None:
    assert normalise_name("한 지민") != normalise_name("한지민")


@pytest.mark.parametrize(
    ("typed", "detail"),
    [
        ("", "name is missing"),
        ("   ", "name is missing"),
        ("가" * 41, "name is longer than 40 characters"),
        ("홍길동2", "name may contain only Hangul, Latin letters and spaces"),
        ("홍길\x00동", "name may contain only Hangul, Latin letters and spaces"),
        ("홍길\n동", "name may contain only Hangul, Latin letters and spaces"),
        ("홍\u3000길동", "name may contain only Hangul, Latin letters and spaces"),
        ("ㅎㄱㄷ", "name may contain only Hangul, Latin letters and spaces"),
        ("洪吉童", "name may contain only Hangul, Latin letters and spaces"),
        ("O'Brien", "name may contain only Hangul, Latin letters and spaces"),
        ("Ｈｏｎｇ", "name may contain only Hangul, Latin letters and spaces"),
    ],
)
def test_names_refused(typed: str, detail: str) -> None:
    assert detail_of(lambda: normalise_name(typed)) == detail


@given(st.text(max_size=60))
def test_any_name_raises_only_id_details_invalid(typed: str) -> None:
    name, err = attempt(lambda: normalise_name(typed))
    if name is None:
        assert err is not None
        assert err.code == "ID_DETAILS_INVALID"
    else:
        assert 1 <= len(name) <= 40
        assert name == name.strip()
        assert unicodedata.is_normalized("NFC", name)


# ----------------------------------------------------------------------------- resident card


def test_resident_card() -> None:
    card = ResidentCard.parse(" 홍길동", RRN, date(2015, 3, 12), today=TODAY)
    assert card == ResidentCard(name="홍길동", rrn=RRN, issue_date=date(2015, 3, 12))
    assert ResidentCard.parse("홍길동", RRN_TEXT, "2015-03-12", today=TODAY) == card


@pytest.mark.parametrize(
    "typed", ["2015-03-12", "20150312", "2015.03.12", "2015. 3. 12.", "2015/3/12"]
)
def test_date_forms(typed: str) -> None:
    card = ResidentCard.parse("홍길동", RRN, typed, today=TODAY)
    assert card.issue_date == date(2015, 3, 12)


def test_datetime_is_taken_as_its_date() -> None:
    card = ResidentCard.parse(
        "홍길동",
        RRN,
        datetime(2015, 3, 12, 10, 0),  # noqa: DTZ001 - a naive value is what is being tested
        today=datetime(2026, 1, 1, 9, 0),  # noqa: DTZ001
    )
    assert type(card.issue_date) is date


@pytest.mark.parametrize(
    ("typed", "detail"),
    [
        ("2015-02-30", "issue date is not a real date"),
        ("2015-13-01", "issue date is not a real date"),
        ("15-03-12", "issue date is not a date"),
        ("2015-03/12", "issue date is not a date"),
        ("", "issue date is not a date"),
        ("2026-01-02", "issue date is in the future"),
        ("1989-12-31", "issue date is before the birth date"),
    ],
)
def test_resident_card_issue_date_refused(typed: str, detail: str) -> None:
    assert detail_of(lambda: ResidentCard.parse("홍길동", RRN, typed, today=TODAY)) == detail


def test_resident_card_issue_date_bounds_are_inclusive() -> None:
    ResidentCard.parse("홍길동", RRN, TODAY, today=TODAY)
    ResidentCard.parse("홍길동", RRN, BORN, today=TODAY)


def test_resident_card_bad_rrn_is_rrn_invalid() -> None:
    with pytest.raises(CertCenterError) as caught:
        ResidentCard.parse("홍길동", "900101-1234567", "2015-03-12", today=TODAY)
    assert caught.value.code == "RRN_INVALID"


def test_resident_card_repr_masks_the_rrn() -> None:
    card = ResidentCard.parse("홍길동", RRN, "2015-03-12", today=TODAY)
    assert "1234568" not in repr(card)
    assert "900101-1******" in repr(card)


@given(st.text(max_size=20), st.text(max_size=20), texts_or_dates, st.dates())
def test_resident_card_raises_only_certcenter_errors(
    name: str, rrn: str, issued: date | str, today: date
) -> None:
    _, err = attempt(lambda: ResidentCard.parse(name, rrn, issued, today=today))
    assert err is None or err.code in ("ID_DETAILS_INVALID", "RRN_INVALID")


# ----------------------------------------------------------------------------- driver's licence


@pytest.mark.parametrize(
    ("typed", "number", "region"),
    [
        ("11-12-345678-90", "111234567890", "서울"),
        ("111234567890", "111234567890", "서울"),
        ("11 12 345678 90", "111234567890", "서울"),
        ("28-19-000001-01", "281900000101", "경기북부"),
        ("17-05-123456-11", "170512345611", "전북"),
        ("서울 12-345678-90", "111234567890", "서울"),
        ("서울12-345678-90", "111234567890", "서울"),
        ("경기북부 05-123456-12", "280512345612", "경기북부"),
        ("제주 99-619984-50", "219961998450", "제주"),
        ("서울 11-12-345678-90", "111234567890", "서울"),  # name and code both printed
    ],
)
def test_licence_numbers(typed: str, number: str, region: str) -> None:
    licence = DriverLicence.parse("홍길동", BORN, typed, "A1B2C")
    assert licence.number == number
    assert licence.region == region
    assert licence.region_code == number[:2]
    assert licence.formatted == f"{number[:2]}-{number[2:4]}-{number[4:10]}-{number[10:]}"


def test_licence_regions() -> None:
    assert sorted(LICENCE_REGIONS) == [str(code) for code in range(11, 27)] + ["28"]
    assert len(set(LICENCE_REGIONS.values())) == len(LICENCE_REGIONS)
    for code, name in LICENCE_REGIONS.items():
        licence = DriverLicence.parse("홍길동", BORN, f"{name} 12-345678-90", "ABCDE")
        assert licence.region_code == code


@pytest.mark.parametrize(
    ("typed", "detail"),
    [
        ("27-12-345678-90", "licence region code is unknown"),
        ("29-12-345678-90", "licence region code is unknown"),
        ("10-12-345678-90", "licence region code is unknown"),
        ("00-12-345678-90", "licence region code is unknown"),
        ("세종 12-345678-90", "licence region is unknown"),
        ("서울 12-12-345678-90", "licence region name and code differ"),
        ("11-12-345678-9", "licence number must be 12 digits"),
        ("11-12-345678-901", "licence number must be 12 digits"),
        ("11-12-34567A-90", "licence number must be 12 digits"),
        ("", "licence number must be 12 digits"),
        ("１１-１２-３４５６７８-９０", "licence number must be 12 digits"),
    ],
)
def test_licence_numbers_refused(typed: str, detail: str) -> None:
    assert detail_of(lambda: DriverLicence.parse("홍길동", BORN, typed, "A1B2C3")) == detail


@pytest.mark.parametrize(
    ("typed", "serial"), [("A1B2C3", "A1B2C3"), ("a1b2c", "A1B2C"), (" 12345 ", "12345")]
)
def test_licence_serials(typed: str, serial: str) -> None:
    assert DriverLicence.parse("홍길동", BORN, "111234567890", typed).serial == serial


@pytest.mark.parametrize("typed", ["", "A1B2", "A1B2C3D", "A1-B2C", "Ａ1B2C3", "A1B2Cı"])
def test_licence_serials_refused(typed: str) -> None:
    detail = detail_of(lambda: DriverLicence.parse("홍길동", BORN, "111234567890", typed))
    assert detail == "licence serial must be 5-6 letters or digits"


def test_licence_birth_date_as_text() -> None:
    assert DriverLicence.parse("홍길동", "1990-01-01", "111234567890", "ABCDE").birth_date == BORN


@given(st.text(max_size=20), texts_or_dates, st.text(max_size=30), st.text(max_size=10))
def test_licence_raises_only_id_details_invalid(
    name: str, born: date | str, number: str, serial: str
) -> None:
    _, err = attempt(lambda: DriverLicence.parse(name, born, number, serial))
    assert err is None or err.code == "ID_DETAILS_INVALID"


@given(
    st.sampled_from(sorted(LICENCE_REGIONS)),
    st.text("0123456789", min_size=10, max_size=10),
    st.sampled_from(["-", " ", ""]),
)
def test_licence_numbers_round_trip(code: str, rest: str, separator: str) -> None:
    typed = separator.join([code, rest[:2], rest[2:8], rest[8:]])
    licence = DriverLicence.parse("홍길동", BORN, typed, "ABCDE")
    assert licence.number == code + rest
    assert DriverLicence.parse("홍길동", BORN, licence.formatted, "ABCDE") == licence


# ----------------------------------------------------------------------------- passport


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("M12345678", "M12345678"),
        ("m12345678", "M12345678"),
        ("S12345678", "S12345678"),
        ("R12345678", "R12345678"),
        ("O12345678", "O12345678"),
        ("D12345678", "D12345678"),
        ("G12345678", "G12345678"),
        ("M123A4567", "M123A4567"),
        ("m123a4567", "M123A4567"),
        (" M123 A4567 ", "M123A4567"),
    ],
)
def test_passport_numbers(typed: str, number: str) -> None:
    assert Passport.parse("HONG GILDONG", BORN, typed, "2031-05-01").number == number


@pytest.mark.parametrize(
    ("typed", "detail"),
    [
        ("X12345678", "passport type letter is not valid"),
        ("A123B4567", "passport type letter is not valid"),
        ("M1234567", "passport number is not valid"),
        ("M123456789", "passport number is not valid"),
        ("M1234A567", "passport number is not valid"),
        ("MM2345678", "passport number is not valid"),
        ("12345678M", "passport number is not valid"),
        ("M123ı4567", "passport number is not valid"),  # dotless i upper-cases to I
        ("", "passport number is not valid"),
    ],
)
def test_passport_numbers_refused(typed: str, detail: str) -> None:
    assert detail_of(lambda: Passport.parse("홍길동", BORN, typed, "2031-05-01")) == detail


def test_expired_passport_still_parses() -> None:
    passport = Passport.parse("홍길동", "1990-01-01", "M12345678", "2001-01-01")
    assert passport.expiry == date(2001, 1, 1)
    assert passport.birth_date == BORN


def test_passport_expiry_must_be_a_date() -> None:
    assert (
        detail_of(lambda: Passport.parse("홍길동", BORN, "M12345678", "2031-02-29"))
        == "expiry date is not a real date"
    )


@given(st.text(max_size=20), texts_or_dates, st.text(max_size=15), texts_or_dates)
def test_passport_raises_only_id_details_invalid(
    name: str, born: date | str, number: str, expiry: date | str
) -> None:
    _, err = attempt(lambda: Passport.parse(name, born, number, expiry))
    assert err is None or err.code == "ID_DETAILS_INVALID"
