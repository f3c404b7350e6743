"""Korean particles (조사) chosen by the word they follow: 을/를, 이/가, 은/는, 과/와, (으)로.

A particle after an inserted value depends on how the value is read aloud: whether its last
syllable ends in a consonant (받침), and for (으)로 whether that consonant is ㄹ. Hangul is
read as written, digits as Korean numbers (69 is 육십구, so "69를"; 10 is 십, so "10을"),
Latin letters by their Korean names (OTP is 오티피, so "OTP를"; URL ends in 엘, so "URL을")
and simple English words by their usual Korean spelling (phone is 폰, so "phone을"):

    >>> josa("인증서", "을/를"), josa("보안카드", "을/를"), josa("서울", "으로/로")
    ('를', '를', '로')
    >>> with_josa("출금계좌", "이"), with_josa("69", "을"), with_josa("1588-1000", "로")
    ('출금계좌가', '69를', '1588-1000으로')

A word that cannot be read (a symbol, a masked ``****``) gets both forms, as Korean writing
does when it cannot know: ``"***을(를)"``. Texts name the particle in a placeholder's format
spec (``{medium:이}``, ``'{label:'을}`` for a value in quotes); see :func:`particle_spec`.
"""

from __future__ import annotations

import re

__all__ = [
    "PARTICLES",
    "both_forms",
    "final_consonant",
    "josa",
    "particle_spec",
    "with_josa",
]

# (after a final consonant, after a vowel); (으)로 also takes the vowel form after ㄹ.
_PAIRS: tuple[tuple[str, str], ...] = (
    ("을", "를"),
    ("이", "가"),
    ("은", "는"),
    ("과", "와"),
    ("으로", "로"),
    ("으로서", "로서"),
    ("으로써", "로써"),
    ("이나", "나"),
    ("이라", "라"),
    ("이랑", "랑"),
    ("이며", "며"),
    ("아", "야"),
)
PARTICLES: dict[str, tuple[str, str]] = {form: pair for pair in _PAIRS for form in pair}
"""Every particle form this module knows, each to its pair (consonant form, vowel form)."""

_JONG = (
    "", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ",
    "ㅁ", "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ",
)  # fmt: skip
# 영 일 이 삼 사 오 육 칠 팔 구
_DIGIT = ("ㅇ", "ㄹ", "", "ㅁ", "", "", "ㄱ", "ㄹ", "ㄹ", "")
# a round number ends in its unit: 십 백 천, then 만 억 조 경
_TENS = ("ㅂ", "ㄱ", "ㄴ")
_MYRIADS = ("ㄴ", "ㄱ", "", "ㅇ")
# 에이 비 씨 디 이 에프 지 에이치 아이 제이 케이 엘 엠 엔 오 피 큐 알 에스 티 유 브이 더블유
# 엑스 와이 제트
_LETTER = dict.fromkeys("ABCDEFGHIJKOPQSTUVWXYZ", "")
_LETTER |= {"L": "ㄹ", "M": "ㅁ", "N": "ㄴ", "R": "ㄹ"}
# the usual Korean spelling of an English word's ending (phone 폰, app 앱, Google 구글)
_ENDINGS = (("ng", "ㅇ"), ("ck", "ㄱ"), ("l", "ㄹ"), ("m", "ㅁ"), ("n", "ㄴ"), ("k", "ㄱ"),
            ("p", "ㅂ"), ("b", "ㅂ"))  # fmt: skip
_SYMBOLS = {"+": "", "%": ""}  # 플러스, 퍼센트
_CLOSING = "'\"’”」』》〉.,!?~ "
_BRACKETS = {")": "(", "]": "[", "}": "{"}
_NUMBER = re.compile(r"(\d[\d,]*)(?:\.(\d+))?$")
_LATIN = re.compile(r"[A-Za-z]+$")
_SPEC = re.compile(r"([^\uac00-\ud7a3]*)([\uac00-\ud7a3]+)")


def final_consonant(word: str) -> str | None:
    """The final consonant of ``word`` read aloud: ``"ㄹ"``, ``""`` for none, or ``None``
    when it cannot be read. Closing quotes and a trailing ``(…)`` are skipped (a particle
    follows the word before a parenthesis: ``"인증서(모바일)를"``)."""
    word = word.rstrip(_CLOSING)
    while word and word[-1] in _BRACKETS:
        opening = word.rfind(_BRACKETS[word[-1]])
        inner = word[opening + 1 : -1] if opening >= 0 else ""
        word = word[:opening].rstrip(_CLOSING) if opening > 0 else inner.rstrip(_CLOSING)
    if not word:
        return None
    last = word[-1]
    if "\uac00" <= last <= "\ud7a3":
        return _JONG[(ord(last) - 0xAC00) % 28]
    if last.isascii() and last.isdigit():
        return _number(word)
    if last.isascii() and last.isalpha():
        return _latin(_LATIN.search(word).group())  # type: ignore[union-attr]
    return _SYMBOLS.get(last)


def _number(word: str) -> str:
    match = _NUMBER.search(word)
    if match is None:  # pragma: no cover - the word ends in a digit
        return _DIGIT[int(word[-1])]
    whole, fraction = match.group(1).replace(",", ""), match.group(2)
    if fraction:  # 1.5 is 일 점 오: the last digit
        return _DIGIT[int(fraction[-1])]
    stripped = whole.rstrip("0")
    zeros = len(whole) - len(stripped)
    if not zeros or not stripped or whole.startswith("0"):  # 69, 0, 010: digit by digit
        return _DIGIT[int(whole[-1])]
    if zeros < 4:
        return _TENS[zeros - 1]
    return _MYRIADS[min(zeros // 4, 4) - 1]  # 만, 십만 and 백만 end in 만; 억 from 10⁸


def _latin(letters: str) -> str:
    if len(letters) == 1 or letters.isupper():
        return _LETTER[letters[-1].upper()]
    lower = letters.lower()
    if len(lower) > 2 and lower.endswith("e") and lower[-2] not in "aeiouy":
        lower = lower[:-1]  # phone → phon, Google → googl
    for ending, consonant in _ENDINGS:
        if lower.endswith(ending):
            return consonant
    return ""


def _pair(particle: str) -> tuple[str, str]:
    if particle.startswith("("):  # (으)로, (이)나
        form = particle.replace("(", "").replace(")", "")
    else:  # 을, 을/를, 을(를)
        form = re.split(r"[/(]", particle)[0]
    try:
        return PARTICLES[form]
    except KeyError:
        raise ValueError(f"unknown Korean particle {particle!r}") from None


def josa(word: str, particle: str) -> str:
    """The form of ``particle`` (any form of its pair: ``"을/를"``, ``"을"``, ``"를"``) that
    follows ``word``; both forms (``"을(를)"``) when ``word`` cannot be read."""
    with_consonant, with_vowel = _pair(particle)
    final = final_consonant(word)
    if final is None:
        return both_forms(particle)
    if not final or (final == "ㄹ" and with_consonant.startswith("으")):
        return with_vowel
    return with_consonant


def with_josa(word: str, particle: str) -> str:
    """``word`` followed by the right form of ``particle``: ``with_josa("서울", "으로")``
    is ``"서울로"``."""
    return word + josa(word, particle)


def both_forms(particle: str) -> str:
    """How a particle is written when the word is unknown: ``"을(를)"``, ``"(으)로"``."""
    with_consonant, with_vowel = _pair(particle)
    if with_consonant.endswith(with_vowel):
        return f"({with_consonant[: -len(with_vowel)]}){with_vowel}"
    return f"{with_consonant}({with_vowel})"


def particle_spec(spec: str) -> tuple[str, str] | None:
    """A placeholder's format spec read as a particle: ``"을"`` is ``("", "을")``; ``"'을"``
    is ``("'", "을")`` (the quote closes the value before the particle, as in
    ``'{label:'을}``). ``None`` when the spec is an ordinary format spec; ``ValueError`` when it
    names Hangul that is not a known particle."""
    match = _SPEC.fullmatch(spec)
    if match is None:
        return None
    close, particle = match.groups()
    _pair(particle)
    return close, particle
