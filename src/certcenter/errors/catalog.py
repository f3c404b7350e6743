"""The error catalog: ``catalog.toml`` read once into typed entries.

>>> entry("DEVICE_ALREADY_REGISTERED").http_status
409
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Locale = Literal["ko", "en"]
_FIELDS = ("message", "cause", "remedy")


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

    def text(self, field: str, locale: Locale) -> str:
        value: str = getattr(self, f"{field}_{locale}")
        return value

    def render(self, field: str, locale: Locale, context: dict[str, object]) -> str:
        """The text with ``{placeholders}`` filled; a missing value is left visible, not fatal."""
        template = self.text(field, locale)
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        values = {name: context.get(name, "{" + name + "}") for name in names}
        return template.format(**values)


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
        entries[code] = CatalogEntry(code=code, http_status=status, **texts)
    return entries


def entry(code: str) -> CatalogEntry:
    try:
        return catalog()[code]
    except KeyError:
        raise KeyError(f"error code {code!r} is not in the catalog") from None


# ---------------------------------------------------------------- UI texts (texts.toml)
# The web center's words live beside the error catalog and are read the same way: every key
# has a Korean and an English text; ``{placeholders}`` are filled like the catalog's.
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
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return template.format(**{name: context.get(name, "{" + name + "}") for name in names})
