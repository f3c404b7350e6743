"""Errors that carry their meaning: one catalog of stable codes, raised by the domain.

Every refusal in certcenter is a :class:`CertCenterError` whose ``code`` names an entry of
``catalog.toml``: the HTTP status, a Korean and an English message, the cause and the
remedy the customer can follow. Domain code raises; adapters (API, CLI, web) render.

    >>> err = CertCenterError("PIN_WEAK")
    >>> err.http_status, err.message("en")
    (422, 'This PIN is too easy to guess.')
"""

from __future__ import annotations

from certcenter.errors.catalog import CatalogEntry, Locale, Term, catalog, entry, term

__all__ = ["CatalogEntry", "CertCenterError", "Locale", "Term", "catalog", "entry", "term"]


class CertCenterError(Exception):
    """A refusal with a catalog code and the context it happened in.

    ``context`` values fill the placeholders of the catalog texts (``{tries_left}``) and are
    shown to the customer: never put a secret, a code or a resident registration number in it.
    A value with a word in each language is a :func:`term` (``medium=term("medium.otp")``):
    the Korean text shows the Korean word, the English text the English one.
    """

    def __init__(self, code: str, /, **context: object) -> None:
        self.entry: CatalogEntry = entry(code)
        self.code = code
        self.context = context
        super().__init__(f"{code}: {self.entry.message_en}")

    @property
    def http_status(self) -> int:
        return self.entry.http_status

    def message(self, locale: Locale = "ko") -> str:
        return self.entry.render("message", locale, self.context)

    def cause(self, locale: Locale = "ko") -> str:
        return self.entry.render("cause", locale, self.context)

    def remedy(self, locale: Locale = "ko") -> str:
        return self.entry.render("remedy", locale, self.context)

    def diagnostics(self, locale: Locale = "ko") -> str:
        """Words for a person: what happened, why, and what to do."""
        label = {"ko": ("원인", "해결 방법"), "en": ("Cause", "What to do")}[locale]
        return (
            f"[{self.code}] {self.message(locale)}\n"
            f"{label[0]}: {self.cause(locale)}\n"
            f"{label[1]}: {self.remedy(locale)}"
        )
