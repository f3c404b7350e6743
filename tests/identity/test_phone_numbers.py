"""휴대폰 번호 normalisation and the carrier list."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certcenter.errors import CertCenterError
from certcenter.identity.phone_numbers import MOBILE_PREFIXES, Carrier, normalise_mobile

T = TypeVar("T")


def attempt(call: Callable[[], T]) -> tuple[T | None, CertCenterError | None]:
    """Run ``call``: its result, or the CertCenterError it raised (anything else propagates)."""
    try:
        return call(), None
    except CertCenterError as err:
        return None, err


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("010-1234-5678", "01012345678"),
        ("01012345678", "01012345678"),
        ("010 1234 5678", "01012345678"),
        ("010.1234.5678", "01012345678"),
        (" 010-1234-5678 ", "01012345678"),
        ("010-1234-5678\n", "01012345678"),  # surrounding whitespace is stripped
        ("+82 10 1234 5678", "01012345678"),
        ("+82-10-1234-5678", "01012345678"),
        ("+821012345678", "01012345678"),
        ("+82 010 1234 5678", "01012345678"),
        ("011-123-4567", "0111234567"),
        ("016-1234-5678", "01612345678"),
        ("017-123-4567", "0171234567"),
        ("018-123-4567", "0181234567"),
        ("019-1234-5678", "01912345678"),
    ],
)
def test_accepted(text: str, digits: str) -> None:
    assert normalise_mobile(text) == digits


@pytest.mark.parametrize(
    "text",
    [
        "",
        "010-123-456",  # 9 digits
        "010-1234-56789",  # 12 digits
        "012-1234-5678",  # not a mobile prefix
        "015-1234-5678",
        "02-123-4567",  # Seoul landline
        "1588-9999",
        "+1 650 253 0000",
        "+81 90 1234 5678",
        "82 10 1234 5678",
        "0082 10 1234 5678",
        "010-1234-567a",
        "010/1234/5678",
        "(010) 1234-5678",
        "０１０-１２３４-５６７８",  # full-width digits
        "٠١٠١٢٣٤٥٦٧٨",  # Arabic-Indic digits
        "010\t1234\t5678",
        "010-1234\n5678",
    ],
)
def test_refused(text: str) -> None:
    with pytest.raises(CertCenterError) as caught:
        normalise_mobile(text)
    assert caught.value.code == "PHONE_NUMBER_INVALID"
    assert caught.value.context == {}


def test_non_text_is_refused() -> None:
    with pytest.raises(CertCenterError):
        normalise_mobile(1012345678)  # type: ignore[arg-type]


@given(st.text())
def test_any_text_raises_only_phone_number_invalid(text: str) -> None:
    digits, err = attempt(lambda: normalise_mobile(text))
    if digits is None:
        assert err is not None
        assert err.code == "PHONE_NUMBER_INVALID"
    else:
        assert digits.isascii()
        assert digits.isdigit()
        assert digits[:3] in MOBILE_PREFIXES
        assert 10 <= len(digits) <= 11


@given(
    st.sampled_from(MOBILE_PREFIXES),
    st.text("0123456789", min_size=3, max_size=4),
    st.text("0123456789", min_size=4, max_size=4),
    st.sampled_from(["-", " ", "", "."]),
    st.booleans(),
)
def test_written_forms_round_trip(
    prefix: str, middle: str, last: str, separator: str, international: bool
) -> None:
    digits = prefix + middle + last
    written = separator.join([prefix, middle, last])
    if international:
        written = "+82 " + written[1:]
    assert normalise_mobile(written) == digits
    assert normalise_mobile(digits) == digits


def test_carriers() -> None:
    assert [c.value for c in Carrier] == ["SKT", "KT", "LGU", "SKT_MVNO", "KT_MVNO", "LGU_MVNO"]
    assert Carrier("KT_MVNO") is Carrier.KT_MVNO
    assert Carrier.SKT == "SKT"
    assert {c: c.label for c in Carrier} == {
        Carrier.SKT: "SKT",
        Carrier.KT: "KT",
        Carrier.LGU: "LG U+",
        Carrier.SKT_MVNO: "SKT 알뜰폰",
        Carrier.KT_MVNO: "KT 알뜰폰",
        Carrier.LGU_MVNO: "LG U+ 알뜰폰",
    }
    assert [c for c in Carrier if c.mvno] == [Carrier.SKT_MVNO, Carrier.KT_MVNO, Carrier.LGU_MVNO]
    assert Carrier.LGU_MVNO.network is Carrier.LGU
    assert Carrier.SKT.network is Carrier.SKT
    for carrier in Carrier:
        assert "알뜰폰" in carrier.label if carrier.mvno else "알뜰폰" not in carrier.label
