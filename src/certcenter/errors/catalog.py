"""The customer's words: the error catalog (``catalog.toml``) and every other text the
customer reads (``texts.toml``: web pages, notices), both filled by :func:`fill`.

>>> entry("DEVICE_ALREADY_REGISTERED").http_status
409
>>> fill("{medium:이} 없습니다.", "ko", {"medium": term("medium.account")})
'출금계좌가 없습니다.'
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from certcenter.errors.korean import both_forms, josa, particle_spec

Locale = Literal["ko", "en"]
_FIELDS = ("message", "cause", "remedy")
ACTION_KINDS = ("cli", "web", "api")  # where a remedy's action is (``action`` in the catalog)


# ---------------------------------------------------------------- filling a text
# One way to fill every text: ``{name}`` is the value; ``{name:을}`` is the value followed by
# the form of the particle its last syllable takes (korean.py); a :class:`Term` is shown in
# the text's own language; a value that is missing stays visible ("{name}", "{name}을(를)").


@dataclass(frozen=True)
class Term:
    """A value that has a word in each language (a texts.toml key, with its own values),
    shown in the language of the text it is put into:

    >>> term("medium.otp").text("en")
    'mobile OTP'
    """

    key: str
    values: Mapping[str, object] = field(default_factory=dict, hash=False)

    def text(self, locale: Locale) -> str:
        return text(self.key, locale, **self.values)

    def __str__(self) -> str:
        return f"{self.text('ko')} / {self.text('en')}"


def term(key: str, /, **values: object) -> Term:
    """The texts.toml word ``key`` as a value for another text (KeyError if unknown)."""
    if key not in texts():
        raise KeyError(f"UI text {key!r} is not in texts.toml")
    return Term(key, values)


def words(prefix: str, names: Iterable[str]) -> tuple[Term | str, ...]:
    """``names`` as the texts.toml words ``prefix.<name>`` (a list value: "a, b" in the
    text's language); a name without a word stays as it is.

    >>> fill("{missing}", "ko", {"missing": words("terms", ["privacy_collection"])})
    '개인정보 수집·이용 동의'
    """
    known = texts()
    return tuple(Term(f"{prefix}.{n}") if f"{prefix}.{n}" in known else n for n in names)


@dataclass(frozen=True)
class _Missing:
    name: str


class _Filler(string.Formatter):
    def __init__(self, locale: Locale) -> None:
        self.locale = locale

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str) and key in kwargs:
            return kwargs[key]
        return _Missing(str(key))

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, list | tuple):  # words in a row: "a, b, c" (the particle: c's)
            value = ", ".join(v.text(self.locale) if isinstance(v, Term) else str(v) for v in value)
        if isinstance(value, Term):
            value = value.text(self.locale)
        particle = particle_spec(format_spec)
        if isinstance(value, _Missing):
            if particle is None:
                spec = f":{format_spec}" if format_spec else ""
                return "{" + value.name + spec + "}"
            return "{" + value.name + "}" + particle[0] + both_forms(particle[1])
        if particle is None:
            return format(value, format_spec)
        shown = str(value)
        close, name = particle
        return shown + close + josa(shown, name)


def fill(template: str, locale: Locale, values: Mapping[str, object]) -> str:
    """``template`` with its placeholders filled from ``values`` (see above)."""
    return _Filler(locale).vformat(template, (), values)


@dataclass(frozen=True)
class CatalogEntry:
    code: str
    http_status: int
    message_ko: str
    message_en: str
    cause_ko: str
    cause_en: str
    remedy_ko: str
    remedy_en: str
    # Where the remedy's action is, machine-checkable: "cli:app deregister" (a command under
    # ``certcenter``), "web:/my" (a page), "api:POST /v1/devices/{device_id}/deregister".
    actions: tuple[str, ...] = ()

    def text(self, field: str, locale: Locale) -> str:
        value: str = getattr(self, f"{field}_{locale}")
        return value

    def render(self, field: str, locale: Locale, context: dict[str, object]) -> str:
        """The text with ``{placeholders}`` filled; a missing value is left visible, not fatal."""
        return fill(self.text(field, locale), locale, context)


@cache
def catalog() -> dict[str, CatalogEntry]:
    raw = tomllib.loads(resources.files(__package__).joinpath("catalog.toml").read_text("utf-8"))
    entries: dict[str, CatalogEntry] = {}
    for code, fields in raw.items():
        status = fields["status"]
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"catalog entry {code}: status must be an HTTP error status")
        texts = {
            f"{name}_{loc}": str(fields[name][loc]) for name in _FIELDS for loc in ("ko", "en")
        }
        action = fields.get("action", ())
        actions = (action,) if isinstance(action, str) else tuple(action)
        if not all(isinstance(a, str) and a.split(":", 1)[0] in ACTION_KINDS for a in actions):
            raise ValueError(f"catalog entry {code}: action must be cli:…, web:… or api:…")
        entries[code] = CatalogEntry(code=code, http_status=status, actions=actions, **texts)
    return entries


def entry(code: str) -> CatalogEntry:
    try:
        return catalog()[code]
    except KeyError:
        raise KeyError(f"error code {code!r} is not in the catalog") from None


# ---------------------------------------------------------------- texts (texts.toml)
# Every other word the customer reads lives beside the error catalog and is read the same
# way: the web center's pages, the notices sent by text message and mail ([notice.*]), the
# names of things put into sentences ([medium]). Every key has a Korean and an English text;
# ``{placeholders}`` are filled like the catalog's.
#
#     >>> text("nav.home", "en")
#     'Home'


def _flatten(prefix: str, table: dict[str, object], out: dict[str, dict[str, str]]) -> None:
    for name, value in table.items():
        key = f"{prefix}.{name}" if prefix else name
        if not isinstance(value, dict):
            raise ValueError(f"texts.toml {key}: expected a table with ko and en")
        if set(value) == {"ko", "en"} and all(isinstance(v, str) for v in value.values()):
            out[key] = {"ko": str(value["ko"]), "en": str(value["en"])}
        else:
            _flatten(key, value, out)


@cache
def texts() -> dict[str, dict[str, str]]:
    """Every UI text by dotted key (``[nav] home = {ko, en}`` is ``"nav.home"``)."""
    raw = tomllib.loads(resources.files(__package__).joinpath("texts.toml").read_text("utf-8"))
    out: dict[str, dict[str, str]] = {}
    _flatten("", raw, out)
    return out


def text(key: str, locale: Locale, /, **context: object) -> str:
    """The UI text ``key`` in ``locale`` with its placeholders filled (a missing one stays
    visible, as in the error catalog); an unknown key is a programming error (KeyError)."""
    try:
        template = texts()[key][locale]
    except KeyError:
        raise KeyError(f"UI text {key!r} ({locale}) is not in texts.toml") from None
    return fill(template, locale, context)
