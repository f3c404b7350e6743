"""간편비밀번호 and 패턴 rules."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import date
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certcenter.authn.credential_policy import (
    check_new_pattern,
    check_new_pin,
    parse_pattern,
    pattern_to_text,
    weak_pin_reason,
)
from certcenter.errors import CertCenterError

BORN = date(1990, 1, 1)
T = TypeVar("T")


def attempt(call: Callable[[], T]) -> tuple[T | None, CertCenterError | None]:
    """Run ``call``: its result, or the CertCenterError it raised (anything else propagates)."""
    try:
        return call(), None
    except CertCenterError as err:
        return None, err


def code_and_context(call: object) -> tuple[str, dict[str, object]]:
    assert callable(call)
    with pytest.raises(CertCenterError) as caught:
        call()
    return caught.value.code, caught.value.context


# ----------------------------------------------------------------------------- PIN


@pytest.mark.parametrize("pin", ["480213", "902741", "135792", "112358", "012346", "990102"])
def test_good_pins(pin: str) -> None:
    check_new_pin(pin, pin, birth_date=BORN)


@pytest.mark.parametrize(
    "pin",
    ["", "12345", "1234567", "12345a", " 48021", "480213 ", "４８０２１３", "٤٨٠٢١٣", "48-213"],
)
def test_pin_format(pin: str) -> None:
    assert code_and_context(lambda: check_new_pin(pin, pin, birth_date=None)) == ("PIN_FORMAT", {})


def test_pin_format_is_checked_first() -> None:
    code, _ = code_and_context(lambda: check_new_pin("12345", "99999", birth_date=None))
    assert code == "PIN_FORMAT"


@pytest.mark.parametrize(
    "confirmation", ["480214", "", "48021", "4802133", "４８０２１３", "\ud800"]
)
def test_pin_confirmation_mismatch(confirmation: str) -> None:
    assert code_and_context(lambda: check_new_pin("480213", confirmation, birth_date=None)) == (
        "PIN_CONFIRMATION_MISMATCH",
        {},
    )


def test_mismatch_is_reported_before_weakness() -> None:
    code, _ = code_and_context(lambda: check_new_pin("111111", "111112", birth_date=None))
    assert code == "PIN_CONFIRMATION_MISMATCH"


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("000000", "all digits the same"),
        ("111111", "all digits the same"),
        ("999999", "all digits the same"),
        ("123456", "consecutive digits"),
        ("012345", "consecutive digits"),
        ("456789", "consecutive digits"),
        ("654321", "consecutive digits"),
        ("987654", "consecutive digits"),
        ("543210", "consecutive digits"),
        ("890123", "consecutive digits"),  # wraps 9 -> 0
        ("901234", "consecutive digits"),
        ("789012", "consecutive digits"),
        ("098765", "consecutive digits"),  # wraps 0 -> 9
        ("109876", "consecutive digits"),
        ("121212", "repeated digit group"),
        ("909090", "repeated digit group"),
        ("123123", "repeated digit group"),
        ("480480", "repeated digit group"),
        ("900101", "birth date"),  # YYMMDD (= last 6 of YYYYMMDD)
        ("010190", "birth date"),  # MMDDYY and DDMMYY
    ],
)
def test_weak_pins(pin: str, reason: str) -> None:
    assert code_and_context(lambda: check_new_pin(pin, pin, birth_date=BORN)) == (
        "PIN_WEAK",
        {"reason": reason},
    )
    assert weak_pin_reason(pin, birth_date=BORN) == reason


@pytest.mark.parametrize(
    ("born", "weak", "fine"),
    [
        (date(1985, 7, 23), ["850723", "072385", "230785"], ["198507", "073285"]),
        (date(2003, 11, 4), ["031104", "110403", "041103"], ["200311"]),
        (date(1999, 12, 31), ["991231", "123199", "311299"], ["199912"]),
    ],
)
def test_birth_date_forms(born: date, weak: list[str], fine: list[str]) -> None:
    for pin in weak:
        assert weak_pin_reason(pin, birth_date=born) == "birth date"
        assert weak_pin_reason(pin, birth_date=None) is None
    for pin in fine:
        assert weak_pin_reason(pin, birth_date=born) is None


def test_weak_pin_reason_refuses_malformed_pins() -> None:
    assert code_and_context(lambda: weak_pin_reason("12345", birth_date=None))[0] == "PIN_FORMAT"


def test_refusals_never_carry_the_pin() -> None:
    for pin, confirmation in (("850723", "850723"), ("123456", "123456"), ("480213", "480214")):
        with pytest.raises(CertCenterError) as caught:
            check_new_pin(pin, confirmation, birth_date=date(1985, 7, 23))
        err = caught.value
        shown = str(err) + repr(err.context) + err.diagnostics("ko") + err.diagnostics("en")
        assert pin not in shown
        assert confirmation not in shown


def test_weak_pins_without_birth_date_counted_exhaustively() -> None:
    # Among the 100,000 PINs starting with 9: one same-digit, one ascending (901234, wrapping),
    # one descending (987654), 9 repeated pairs (9b9b9b, b != 9) and 99 repeated triples
    # (9bc9bc, not 999999); these are disjoint. (Over all PINs: 10 times as many, 1,110.)
    weak = [p for n in range(100_000) if weak_pin_reason(p := f"9{n:05d}", birth_date=None)]
    assert len(weak) == 1 + 1 + 1 + 9 + 99
    assert {"999999", "901234", "987654", "919191", "912912"} <= set(weak)


@given(st.text("0123456789", min_size=6, max_size=6), st.one_of(st.none(), st.dates()))
def test_six_digit_pins_pass_or_are_weak(pin: str, born: date | None) -> None:
    _, err = attempt(lambda: check_new_pin(pin, pin, birth_date=born))
    if err is not None:
        assert err.code == "PIN_WEAK"
        assert err.context["reason"] == weak_pin_reason(pin, birth_date=born)
    else:
        assert weak_pin_reason(pin, birth_date=born) is None
        assert len(set(pin)) > 1


@given(st.text(max_size=10), st.text(max_size=10), st.one_of(st.none(), st.dates()))
def test_any_text_raises_only_pin_errors(pin: str, confirmation: str, born: date | None) -> None:
    _, err = attempt(lambda: check_new_pin(pin, confirmation, birth_date=born))
    assert err is None or err.code in ("PIN_FORMAT", "PIN_CONFIRMATION_MISMATCH", "PIN_WEAK")


# ----------------------------------------------------------------------------- pattern


def points_between(a: int, b: int) -> list[int]:
    """Grid points strictly inside the segment a-b: an independent, geometric oracle."""
    (ya, xa), (yb, xb) = divmod(a, 3), divmod(b, 3)
    inside = []
    for p in range(9):
        y, x = divmod(p, 3)
        collinear = (xb - xa) * (y - ya) - (yb - ya) * (x - xa) == 0
        within = min(xa, xb) <= x <= max(xa, xb) and min(ya, yb) <= y <= max(ya, yb)
        if collinear and within and p not in (a, b):
            inside.append(p)
    return inside


def phone_accepts(points: Sequence[int]) -> bool:
    if len(points) < 4 or len(set(points)) != len(points):
        return False
    if any(not 0 <= p <= 8 for p in points):
        return False
    return all(
        all(m in points[:i] for m in points_between(points[i - 1], points[i]))
        for i in range(1, len(points))
    )


@pytest.mark.parametrize(
    "points",
    [
        [0, 1, 2, 5],
        [0, 3, 6, 7, 8],
        [4, 0, 1, 2],
        [0, 5, 6, 1],  # knight's moves pass over no point
        [1, 0, 2, 5],  # 0 -> 2 passes over 1, already joined
        [4, 0, 8, 5, 2, 6],  # diagonals through the visited centre
        [5, 4, 3, 8, 2],  # 8 -> 2 passes over 5, already joined
        [0, 1, 2, 3, 4, 5, 6, 7, 8],
        (6, 7, 8, 5),
        range(4),
    ],
)
def test_good_patterns(points: Sequence[int]) -> None:
    assert check_new_pattern(points) == tuple(points)


@pytest.mark.parametrize(
    ("points", "reason"),
    [
        ([], "fewer than 4 points"),
        ([0, 1, 2], "fewer than 4 points"),
        ([0, 1, 2, 1], "a point is used twice"),
        ([0, 1, 2, 9], "point outside the 3x3 grid"),
        ([0, 1, 2, -1], "point outside the 3x3 grid"),
        ([0, 1, 2, True], "points must be numbers 0-8"),
        ([0, 1, 2, 5.0], "points must be numbers 0-8"),
        ([0, 1, 2, "5"], "points must be numbers 0-8"),
        ("0125", "not a list of points"),
        (b"\x00\x01\x02\x05", "not a list of points"),
        ({0, 1, 2, 5}, "not a list of points"),
        (None, "not a list of points"),
        ([0, 2, 5, 8], "line passes over a point not yet joined"),
        ([3, 5, 4, 1], "line passes over a point not yet joined"),
        ([6, 8, 7, 4], "line passes over a point not yet joined"),
        ([0, 6, 3, 4], "line passes over a point not yet joined"),
        ([1, 7, 4, 5], "line passes over a point not yet joined"),
        ([2, 8, 5, 4], "line passes over a point not yet joined"),
        ([0, 8, 4, 5], "line passes over a point not yet joined"),
        ([2, 6, 4, 5], "line passes over a point not yet joined"),
    ],
)
def test_bad_patterns(points: object, reason: str) -> None:
    assert code_and_context(lambda: check_new_pattern(points)) == (  # type: ignore[arg-type]
        "PATTERN_INVALID",
        {"reason": reason},
    )


def test_count_of_valid_patterns_matches_android() -> None:
    # The well-known counts of Android unlock patterns by length (4: 1,624, 5: 7,152,
    # 6: 26,016, ... 389,112 in all for 4 to 9 points). Every prefix of 4 or more points of a
    # valid pattern is valid, so extend only the valid ones; lengths 4-6 keep the test fast.
    counts = {}
    level: list[tuple[int, ...]] = [p for p in itertools.permutations(range(9), 4) if _valid(p)]
    for length in range(4, 7):
        counts[length] = len(level)
        level = [(*p, q) for p in level for q in range(9) if q not in p and _valid((*p, q))]
    assert counts == {4: 1624, 5: 7152, 6: 26016}


def _valid(points: tuple[int, ...]) -> bool:
    return attempt(lambda: check_new_pattern(points))[1] is None


@given(st.lists(st.integers(-2, 10), max_size=11))
def test_patterns_against_a_geometric_oracle(points: list[int]) -> None:
    result, err = attempt(lambda: check_new_pattern(points))
    if result is None:
        assert err is not None
        assert err.code == "PATTERN_INVALID"
        assert not phone_accepts(points)
    else:
        assert phone_accepts(points)
        assert result == tuple(points)


@given(st.permutations(range(9)), st.integers(4, 9))
def test_permutation_prefixes_against_a_geometric_oracle(order: list[int], length: int) -> None:
    points = order[:length]
    assert _valid(tuple(points)) == phone_accepts(points)


@given(st.lists(st.one_of(st.integers(), st.booleans(), st.text(max_size=2), st.floats())))
def test_any_list_raises_only_pattern_invalid(points: list[object]) -> None:
    _, err = attempt(lambda: check_new_pattern(points))  # type: ignore[arg-type]
    assert err is None or err.code == "PATTERN_INVALID"
    _, err = attempt(lambda: pattern_to_text(points))  # type: ignore[arg-type]
    assert err is None or err.code == "PATTERN_INVALID"


def test_pattern_to_text() -> None:
    assert pattern_to_text([0, 1, 2, 5]) == "0-1-2-5"
    assert pattern_to_text(check_new_pattern((6, 4, 2, 5, 8))) == "6-4-2-5-8"
    # only grid membership is checked: an entered pattern that breaks the rules just fails
    assert pattern_to_text([0, 2]) == "0-2"
    with pytest.raises(CertCenterError):
        pattern_to_text([0, 9])


def test_pattern_refusals_never_carry_the_pattern() -> None:
    with pytest.raises(CertCenterError) as caught:
        check_new_pattern([0, 2, 5, 8])
    assert "0-2" not in str(caught.value.context)
    assert "2, 5" not in str(caught.value.context)


@pytest.mark.parametrize(
    "typed", ["0-1-2-5-8", "0,1,2,5,8", " 0 - 1 - 2 - 5 - 8 ", "0, 1, 2, 5, 8", "0 1 2 5 8"]
)
def test_a_typed_pattern_reads_in_both_forms(typed: str) -> None:
    assert parse_pattern(typed) == [0, 1, 2, 5, 8]


@pytest.mark.parametrize("typed", ["", "-", "a-b-c-d", "0-1-2-10", "0;1;2;5", "０-１-２-５", "1.5"])
def test_a_typed_pattern_that_is_not_points_is_refused(typed: str) -> None:
    with pytest.raises(CertCenterError) as caught:
        parse_pattern(typed)
    assert caught.value.code == "PATTERN_INVALID"
