"""The UI texts (errors/texts.toml): both languages everywhere, every key a template or the
menu uses exists, and the placeholders of the two languages agree."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from certcenter.errors.catalog import text, texts
from certcenter.identity.phone_numbers import Carrier
from certcenter.web.rendering import NAV

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "certcenter" / "web" / "templates"
PAGES = Path(__file__).resolve().parents[2] / "src" / "certcenter" / "web" / "pages"
_T_CALL = re.compile(r"""\bt\(\s*['"]([^'"]+)['"]""")


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_text_has_korean_and_english_with_the_same_placeholders() -> None:
    assert len(texts()) > 50
    for key, value in texts().items():
        assert re.fullmatch(r"[a-z_]+(\.[A-Za-z_]+)+", key), key
        assert value["ko"].strip() and value["en"].strip(), key
        assert _names(value["ko"]) == _names(value["en"]), key


def test_every_key_the_templates_and_pages_use_exists() -> None:
    used: dict[str, str] = {}
    for path in [*TEMPLATES.rglob("*.html"), *PAGES.glob("*.py")]:
        for key in _T_CALL.findall(path.read_text("utf-8")):
            used[key] = path.name
    for item in NAV:
        used[item.key] = "NAV"
    assert len(used) > 40, "the scan must find the t('…') calls"
    missing = {key: where for key, where in used.items() if key not in texts()}
    assert not missing, missing


def test_labels_of_stored_values_are_complete() -> None:
    for carrier in Carrier:
        assert f"carrier.{carrier.value}" in texts()
    for status in ("normal", "dormant", "suspended", "transfer_restricted"):
        assert f"account_status.{status}" in texts()
    for status in ("ringing", "answered", "declined"):
        assert f"call_status.{status}" in texts()


def test_templates_hold_no_words_of_their_own() -> None:
    """Visible text comes from the catalog; a template has tags, expressions and symbols."""
    hangul = re.compile(r"[\uac00-\ud7a3]")
    for path in TEMPLATES.rglob("*.html"):
        source = re.sub(r"\{#.*?#\}", "", path.read_text("utf-8"), flags=re.DOTALL)
        assert not hangul.search(source), path.name
        between_tags = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", source, flags=re.DOTALL)
        words = re.findall(r">\s*([A-Za-z][A-Za-z ]{2,})\s*<", between_tags)
        assert not words, (path.name, words)


def test_placeholders_are_filled_and_a_missing_one_stays_visible() -> None:
    assert text("demo.phone.title", "ko", phone="010-1234-5678") == "010-1234-5678 문자함"
    assert text("demo.phone.title", "en") == "Messages of {phone}"
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        text("no.such.key", "ko")
