"""The error catalog is complete, and the documents made from it are current."""

from __future__ import annotations

import re
from pathlib import Path

from certcenter.errors import CertCenterError, catalog
from certcenter.errors.document import catalog_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_every_entry_has_both_languages_cause_and_remedy() -> None:
    for code, item in catalog().items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", code)
        for field in ("message", "cause", "remedy"):
            assert item.text(field, "ko").strip(), (code, field)
            assert item.text(field, "en").strip(), (code, field)


def test_every_code_raised_in_the_source_is_in_the_catalog() -> None:
    raised = set()
    for path in (ROOT / "src").rglob("*.py"):
        raised |= set(re.findall(r'CertCenterError\(\s*"([A-Z0-9_]+)"', path.read_text("utf-8")))
    missing = raised - set(catalog())
    assert raised and not missing, missing


def test_placeholders_are_filled_and_missing_ones_stay_visible() -> None:
    err = CertCenterError("CODE_INVALID", tries_left=2)
    assert "2" in err.cause("ko") and "2" in err.cause("en")
    assert "{tries_left}" in CertCenterError("CODE_INVALID").cause("en")


def test_docs_errors_md_is_generated_from_the_catalog() -> None:
    assert (ROOT / "docs" / "errors.md").read_text("utf-8") == catalog_markdown(), (
        "regenerate: certcenter errors --markdown > docs/errors.md"
    )
