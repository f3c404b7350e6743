"""The certificate password rule: 10+ characters mixing letters, digits and symbols."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from certcenter.errors import CertCenterError
from certcenter.npki.password import MAX_LENGTH, check_new_password, weak_reason


@pytest.mark.parametrize(
    "password",
    ["kb-Joint#2026", "a1!a1!a1!a", "Z9~" + "xyz" * 6 + "7", "p@ssW0rd!!", "A" + "b1$" * 18],
)
def test_passwords_that_keep_the_rule(password: str) -> None:
    check_new_password(password, password)


@pytest.mark.parametrize(
    ("password", "reason", "ko", "en"),
    [
        ("kb-J#2026", "too_short", "10자보다 짧음", "shorter than 10 characters"),
        ("", "too_short", "10자보다 짧음", "shorter than 10"),
        ("a1!" * 19, "too_long", "56자보다 김", "longer than 56"),
        ("kb Joint#2026", "bad_character", "쓸 수 없는 문자", "cannot be used"),
        ("kb-조인트#2026", "bad_character", "한글", "Korean letter"),
        ("kb-Joint#2026\n", "bad_character", "공백", "a space"),
        ("1234567890!@", "no_letter", "영문자가 없음", "no letter"),
        ("kb-Joint#abc", "no_digit", "숫자가 없음", "no digit"),
        ("password12", "no_symbol", "특수문자가 없음", "no symbol"),
        ("kb-Jooo#2026", "repeated", "3번 이상", "three or more times"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason_in_both_languages(
    password: str, reason: str, ko: str, en: str
) -> None:
    assert weak_reason(password) == f"npki.password.{reason}"
    with pytest.raises(CertCenterError) as refused:
        check_new_password(password)
    assert refused.value.code == "NPKI_PASSWORD_TOO_WEAK"
    assert refused.value.http_status == 422
    assert ko in refused.value.cause("ko")
    assert en in refused.value.cause("en")
    if password:
        assert password not in refused.value.diagnostics("ko")
        assert password not in refused.value.diagnostics("en")


def test_a_confirmation_that_differs_is_refused() -> None:
    with pytest.raises(CertCenterError) as refused:
        check_new_password("kb-Joint#2026", "kb-Joint#2025")
    assert refused.value.code == "NPKI_PASSWORD_CONFIRMATION_MISMATCH"


def test_not_a_string_is_refused() -> None:
    with pytest.raises(CertCenterError):
        check_new_password(1234567890)  # type: ignore[arg-type]


@given(st.text(max_size=80))
def test_a_password_the_rule_keeps_has_every_kind_of_character(password: str) -> None:
    if weak_reason(password) is None:
        assert 10 <= len(password) <= MAX_LENGTH
        assert any(c.isalpha() for c in password)
        assert any(c.isdigit() for c in password)
        assert any(not c.isalnum() for c in password)
        assert password.isascii() and password.isprintable() and " " not in password
