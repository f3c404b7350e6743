"""One name for each kind of certificate wherever a customer reads it: KB국민인증서 (the
mobile certificate, on the phone), 금융인증서 (kept by the bank) and 공동인증서 (a file).
The sources of every customer-facing word — the catalog's refusals, texts.toml (pages, help,
the SMS and e-mail notices, the ARS prompts), the page templates and the pages' scripts — are
scanned for the other names a writer reaches for; the old name of the joint certificate is
allowed only where a page says it is the old name ("구 공인인증서")."""

from __future__ import annotations

import re
from pathlib import Path

import certcenter

SOURCES = Path(certcenter.__file__).parent
CANONICAL = ("KB국민인증서", "금융인증서", "공동인증서")
VARIANTS = re.compile(
    r"(?<!KB)국민\s?인증서"  # without the KB
    r"|KB\s국민인증서"
    r"|모바일\s?인증서|KB\s?모바일\s?인증서"
    r"|클라우드\s?인증서"
    r"|금융\s인증서|공동\s인증서"
    r"|(?<!구 )공인\s?인증서"
    r"|[Cc]loud certificate"
)


def customer_sources() -> list[Path]:
    found = [SOURCES / "errors" / "catalog.toml", SOURCES / "errors" / "texts.toml"]
    found += sorted((SOURCES / "web" / "templates").rglob("*.html"))
    found += sorted((SOURCES / "web" / "static" / "js").glob("*.js"))
    return found


def variants_in(text: str) -> list[str]:
    return [m.group(0) for m in VARIANTS.finditer(text)]


def test_every_customer_facing_source_names_each_certificate_one_way() -> None:
    sources = customer_sources()
    assert len(sources) > 20  # the templates were found
    found = {
        f"{path.relative_to(SOURCES)}:{number}": variants_in(line)
        for path in sources
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if variants_in(line)
    }
    assert not found, f"another name for a certificate kind (use {CANONICAL}): {found}"
    texts = (SOURCES / "errors" / "texts.toml").read_text("utf-8")
    assert all(name in texts for name in CANONICAL)


def test_the_scan_catches_the_variants_and_spares_the_canonical_names() -> None:
    for variant in (
        "국민인증서로 승인",
        "모바일 인증서",
        "모바일인증서",
        "KB모바일인증서",
        "클라우드 인증서",
        "금융 인증서",
        "공동 인증서",
        "공인인증서",
        "a cloud certificate",
    ):
        assert variants_in(variant), variant
    for canonical in ("KB국민인증서로 승인", "금융인증서", "공동인증서 (구 공인인증서)"):
        assert not variants_in(canonical), canonical
