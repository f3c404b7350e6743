"""주민등록번호 parsing: forms, dates, the check digit and its exemptions, masking."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certcenter.errors import CertCenterError, Locale
from certcenter.identity.rrn import (
    CHECK_DIGIT_CUTOFF,
    ResidentNumber,
    RrnFront,
    check_digit,
    parse_rrn,
    parse_rrn_front,
)

TODAY = date(2026, 1, 1)
CUTOFF = date(2020, 10, 1)
WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
DIGITS = "0123456789"
T = TypeVar("T")


def attempt(call: Callable[[], T]) -> tuple[T | None, CertCenterError | None]:
    """Run ``call``: its result, or the CertCenterError it raised (anything else propagates)."""
    try:
        return call(), None
    except CertCenterError as err:
        return None, err


def weighted_sum(first12: str) -> int:
    return sum(int(d) * w for d, w in zip(first12, WEIGHTS, strict=True))


def expected_check(first12: str) -> int:
    """The published rule, written out independently of the module."""
    return (11 - weighted_sum(first12) % 11) % 10


def seventh_digit(born: date, *, male: bool, foreigner: bool) -> str:
    if born.year < 1900:
        return "9" if male else "0"
    first = {(1900, False): 1, (2000, False): 3, (1900, True): 5, (2000, True): 7}[
        (born.year // 100 * 100, foreigner)
    ]
    return str(first if male else first + 1)


def yymmdd(born: date) -> str:
    return f"{born.year % 100:02d}{born.month:02d}{born.day:02d}"


@st.composite
def valid_numbers(
    draw: st.DrawFn,
    min_date: date = date(1800, 1, 1),
    max_date: date = TODAY,
    foreigner: bool | None = None,
) -> str:
    born = draw(st.dates(min_value=min_date, max_value=max_date))
    is_foreigner = (draw(st.booleans()) if foreigner is None else foreigner) and born.year >= 1900
    male = draw(st.booleans())
    first12 = (
        yymmdd(born)
        + seventh_digit(born, male=male, foreigner=is_foreigner)
        + draw(st.text(DIGITS, min_size=5, max_size=5))
    )
    if is_foreigner or born >= CUTOFF:
        return first12 + draw(st.sampled_from(DIGITS))
    return first12 + str(expected_check(first12))


old_korean_numbers = valid_numbers(max_date=date(2020, 9, 30), foreigner=False)


def with_check(first12: str) -> str:
    return first12 + str(expected_check(first12))


# ----------------------------------------------------------------------------- examples


def test_cutoff_constant() -> None:
    assert CHECK_DIGIT_CUTOFF == CUTOFF


@pytest.mark.parametrize(
    "text",
    ["900101-1234568", "9001011234568", " 900101 - 1234568 ", "900101 1234568", "900101--1234568"],
)
def test_accepted_forms(text: str) -> None:
    rrn = parse_rrn(text, today=TODAY)
    assert rrn.digits == "9001011234568"
    assert rrn.birth_date == date(1990, 1, 1)
    assert rrn.gender == "male"
    assert rrn.foreigner is False
    assert rrn.front7 == "9001011"
    assert rrn.front == RrnFront("9001011")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "900101-123456",
        "90010112345689",
        "900101_1234568",
        "900101/1234568",
        "9001-011234568",
        "９００１０１-1234568",  # full-width digits
        "٩٠٠١٠١-١٢٣٤٥٦٨",  # Arabic-Indic digits: int() would take them
        "900101-1234568\n0",
        "900101\t1234568",
    ],
)
def test_refused_forms(text: str) -> None:
    with pytest.raises(CertCenterError) as caught:
        parse_rrn(text, today=TODAY)
    assert caught.value.code == "RRN_INVALID"
    assert caught.value.context["detail"] == "must be 13 digits"


def test_non_text_is_refused() -> None:
    with pytest.raises(CertCenterError):
        parse_rrn(9001011234568, today=TODAY)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "971013-9019902",  # python-stdnum's example, born 1897
        "9408121001751",  # banksalad/rrn's examples
        "9408221001740",
    ],
)
def test_published_valid_numbers(text: str) -> None:
    parse_rrn(text, today=TODAY)


@pytest.mark.parametrize("text", ["971013-9019903", "9408121001750", "9408221001741"])
def test_published_invalid_check_digits(text: str) -> None:
    with pytest.raises(CertCenterError) as caught:
        parse_rrn(text, today=TODAY)
    assert caught.value.context["detail"] == "check digit does not match"


@pytest.mark.parametrize(
    ("seventh", "year", "gender", "foreigner"),
    [
        ("9", 1890, "male", False),
        ("0", 1890, "female", False),
        ("1", 1990, "male", False),
        ("2", 1990, "female", False),
        ("3", 2010, "male", False),
        ("4", 2010, "female", False),
        ("5", 1990, "male", True),
        ("6", 1990, "female", True),
        ("7", 2010, "male", True),
        ("8", 2010, "female", True),
    ],
)
def test_seventh_digit_table(seventh: str, year: int, gender: str, foreigner: bool) -> None:
    rrn = parse_rrn(with_check(f"{year % 100:02d}0515{seventh}12345"), today=TODAY)
    assert rrn.birth_date == date(year, 5, 15)
    assert rrn.gender == gender
    assert rrn.foreigner is foreigner
    front = parse_rrn_front(f"{year % 100:02d}0515-{seventh}", today=TODAY)
    assert (front.birth_date, front.gender) == (date(year, 5, 15), gender)
    assert front.foreigner is foreigner


@pytest.mark.parametrize(
    ("first12", "valid"),
    [
        ("000229312345", True),  # 2000 is a leap year
        ("000229112345", False),  # 1900 is not
        ("960229112345", True),
        ("970229112345", False),
        ("040229312345", True),
        ("010229312345", False),
        ("901301112345", False),
        ("900100112345", False),
        ("900431112345", False),
        ("000000112345", False),
    ],
)
def test_dates(first12: str, valid: bool) -> None:
    text = with_check(first12)
    if valid:
        parse_rrn(text, today=TODAY)
        parse_rrn_front(text[:7], today=TODAY)
        return
    for parse, arg in ((parse_rrn, text), (parse_rrn_front, text[:7])):
        with pytest.raises(CertCenterError) as caught:
            parse(arg, today=TODAY)
        assert caught.value.context["detail"] == "not a real date"


def test_future_birth_dates_are_refused() -> None:
    born_today = with_check("260101312345")
    parse_rrn(born_today, today=TODAY)
    for text in (born_today, with_check("260102412345")):
        parse_rrn(text, today=date(2026, 1, 2))
    with pytest.raises(CertCenterError) as caught:
        parse_rrn(with_check("260102412345"), today=TODAY)
    assert caught.value.context["detail"] == "birth date is in the future"
    with pytest.raises(CertCenterError):
        parse_rrn_front("260102-4", today=TODAY)


def test_today_may_be_a_datetime() -> None:
    parse_rrn("900101-1234568", today=datetime(2026, 1, 1, 9, 0))  # noqa: DTZ001
    parse_rrn_front("900101-1", today=datetime(2026, 1, 1, 9, 0))  # noqa: DTZ001


def test_today_is_required() -> None:
    with pytest.raises(TypeError):
        parse_rrn("900101-1234568")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        parse_rrn_front("900101-1")  # type: ignore[call-arg]


def test_check_digit_is_not_required_from_october_2020() -> None:
    day_before = with_check("200930312345")
    wrong = day_before[:12] + str((int(day_before[12]) + 1) % 10)
    with pytest.raises(CertCenterError):
        parse_rrn(wrong, today=TODAY)
    for last in DIGITS:
        parse_rrn("201001-312345" + last, today=TODAY)


def test_foreigners_check_digit_is_not_required() -> None:
    for last in DIGITS:
        parse_rrn("900101-512345" + last, today=TODAY)


def test_check_digit_function() -> None:
    assert check_digit("900101123456") == 8
    assert check_digit("971013901990") == 2


def test_direct_construction_validates() -> None:
    assert ResidentNumber("9001011234568").birth_date == date(1990, 1, 1)
    for bad in ("9001011234567", "900101-1234568", "900132123456", ""):
        with pytest.raises(CertCenterError):
            ResidentNumber(bad)
    with pytest.raises(CertCenterError):
        RrnFront("900101-1")
    with pytest.raises(CertCenterError):
        ResidentNumber(9001011234568)  # type: ignore[arg-type]


def test_masking() -> None:
    rrn = parse_rrn("900101-1234568", today=TODAY)
    assert str(rrn) == "900101-1******"
    assert f"{rrn}" == "900101-1******"
    assert repr(rrn) == "ResidentNumber('900101-1******')"
    assert rrn.masked == "900101-1******"
    assert "234568" not in repr([rrn]) + repr({"rrn": rrn})


def test_errors_do_not_carry_the_number() -> None:
    text = "900101-1234567"
    with pytest.raises(CertCenterError) as caught:
        parse_rrn(text, today=TODAY)
    err = caught.value
    locales: tuple[Locale, ...] = ("ko", "en")
    shown = " ".join([str(err), repr(err.context)] + [err.diagnostics(lo) for lo in locales])
    assert "1234567" not in shown
    assert "900101" not in shown


# ----------------------------------------------------------------------------- front 7


@pytest.mark.parametrize("text", ["900101-1", "9001011", " 900101 - 1 ", "900101 1"])
def test_front_forms(text: str) -> None:
    front = parse_rrn_front(text, today=TODAY)
    assert front.digits == "9001011"
    assert front.birth_date == date(1990, 1, 1)
    assert front.gender == "male"
    assert str(front) == "900101-1"


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("900101-*", "7th digit must be 0-9"),
        ("900101-X", "7th digit must be 0-9"),
        ("900101-", "must be 7 digits"),
        ("900101", "must be 7 digits"),
        ("900101-12", "must be 7 digits"),
        ("9001011234568", "must be 7 digits"),
        ("90010-1", "must be 7 digits"),
        ("", "must be 7 digits"),
    ],
)
def test_front_refused(text: str, detail: str) -> None:
    with pytest.raises(CertCenterError) as caught:
        parse_rrn_front(text, today=TODAY)
    assert caught.value.code == "RRN_INVALID"
    assert caught.value.context["detail"] == detail


# ----------------------------------------------------------------------------- properties


@given(st.text())
def test_any_text_raises_only_rrn_invalid(text: str) -> None:
    for parse in (parse_rrn, parse_rrn_front):
        _, err = attempt(lambda: parse(text, today=TODAY))  # noqa: B023
        assert err is None or err.code == "RRN_INVALID"


@given(st.text(alphabet="0123456789- ", max_size=20))
def test_digit_soup_raises_only_rrn_invalid(text: str) -> None:
    for parse in (parse_rrn, parse_rrn_front):
        _, err = attempt(lambda: parse(text, today=TODAY))  # noqa: B023
        assert err is None or err.code == "RRN_INVALID"


@given(st.text(DIGITS, min_size=13, max_size=13))
def test_any_13_digits_against_an_independent_oracle(digits: str) -> None:
    century = {"9": 1800, "0": 1800, "1": 1900, "2": 1900, "5": 1900, "6": 1900}.get(
        digits[6], 2000
    )
    try:
        born: date | None = date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        born = None
    foreigner = digits[6] in "5678"
    expected_ok = (
        born is not None
        and born <= TODAY
        and (foreigner or born >= CUTOFF or expected_check(digits[:12]) == int(digits[12]))
    )
    parsed, _ = attempt(lambda: parse_rrn(digits, today=TODAY))
    assert (parsed is not None) == expected_ok


@given(valid_numbers(), st.sampled_from(["{a}-{b}", "{a}{b}", " {a} - {b} ", "{a} {b}"]))
def test_valid_numbers_round_trip(digits: str, form: str) -> None:
    rrn = parse_rrn(form.format(a=digits[:6], b=digits[6:]), today=TODAY)
    assert rrn.digits == digits
    assert rrn == ResidentNumber(digits)
    assert parse_rrn(rrn.digits, today=TODAY) == rrn
    assert rrn.front7 == digits[:7]
    assert rrn.gender == ("male" if int(digits[6]) % 2 else "female")
    assert rrn.foreigner == (digits[6] in "5678")
    assert yymmdd(rrn.birth_date) == digits[:6]
    front = parse_rrn_front(f"{digits[:6]}-{digits[6]}", today=TODAY)
    assert front == rrn.front
    assert (front.birth_date, front.gender) == (rrn.birth_date, rrn.gender)


@given(old_korean_numbers, st.integers(0, 12), st.integers(1, 9))
def test_a_changed_digit_is_caught_unless_exempt_or_colliding(
    digits: str, position: int, delta: int
) -> None:
    changed = digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1 :]
    parsed, err = attempt(lambda: parse_rrn(changed, today=TODAY))
    if parsed is None:
        assert err is not None
        assert err.code == "RRN_INVALID"
        return
    # Accepted: either the change made the number one without a check digit (a foreigner's
    # 7th digit, or a birth date from October 2020), or the new first 12 digits happen to
    # have the same check digit.
    exempt = parsed.foreigner or parsed.birth_date >= CUTOFF
    assert exempt or expected_check(changed[:12]) == int(changed[12])
    if position == 12:
        assert exempt  # a changed check digit itself never passes


@given(old_korean_numbers, st.integers(7, 11), st.integers(1, 9))
def test_a_changed_serial_digit_passes_only_on_a_check_digit_collision(
    digits: str, position: int, delta: int
) -> None:
    # Digits 8-12 take no part in the date or the 7th digit: the check digit alone decides.
    changed = digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1 :]
    collides = expected_check(changed[:12]) == int(digits[12])
    _, err = attempt(lambda: parse_rrn(changed, today=TODAY))
    if err is not None:
        assert err.context["detail"] == "check digit does not match"
        assert not collides
    else:
        assert collides
        # weights 2..9 are invertible mod 11, so the residue changed; the only residues that
        # share a check digit are 0 and 10 (both give 1)
        assert {weighted_sum(digits[:12]) % 11, weighted_sum(changed[:12]) % 11} == {0, 10}


@given(valid_numbers(min_date=CUTOFF), st.sampled_from(DIGITS))
def test_born_from_october_2020_any_last_digit(digits: str, last: str) -> None:
    assert parse_rrn(digits[:12] + last, today=TODAY).digits == digits[:12] + last


@given(valid_numbers(min_date=date(1900, 1, 1), foreigner=True), st.sampled_from(DIGITS))
def test_foreigners_any_last_digit(digits: str, last: str) -> None:
    parse_rrn(digits[:12] + last, today=TODAY)


@given(valid_numbers())
def test_repr_and_str_never_show_the_last_6_digits(digits: str) -> None:
    rrn = ResidentNumber(digits)
    for shown in (repr(rrn), str(rrn), f"{rrn}", repr([rrn])):
        assert len(re.findall(r"[0-9]", shown)) == 7
        assert f"{digits[:6]}-{digits[6]}******" in shown


@given(valid_numbers(), st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31)))
def test_future_is_judged_against_today(digits: str, today: date) -> None:
    rrn = ResidentNumber(digits)
    _, err = attempt(lambda: parse_rrn(digits, today=today))
    if err is not None:
        assert err.context["detail"] == "birth date is in the future"
        assert rrn.birth_date > today
    else:
        assert rrn.birth_date <= today


def test_hyphens_only_between_the_halves() -> None:
    with pytest.raises(CertCenterError):
        parse_rrn("9-0-0-1-0-1-1-2-3-4-5-6-8", today=TODAY)
