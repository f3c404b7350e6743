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
