"""Plain Korean in front, the technical words behind 자세히: the customer's texts (the catalog's
refusals, texts.toml) speak of "이 브라우저" and "서명 요청", never of a 기기 키 or a 서명
활성화; what only a technical reader needs — the signed text with its English keys, the
signed file and the ``openssl cms -verify`` line — sits inside a closed ``<details>``."""

from __future__ import annotations

import re
from pathlib import Path

import certcenter
from tests.web.test_korean_words import korean_texts

TEMPLATES = Path(certcenter.__file__).parent / "web" / "templates"
JARGON = ("기기 키", "서명 활성화", "활성화 값", "기기 서명")
_DETAILS = re.compile(r"<details(?![^>]*\bopen\b)[^>]*>.*?</details>", re.S)
BEHIND_DETAILS = {
    "transfer/confirm.html": ("data-document",),
    "transfer/done.html": ("transfer.done.verify", "data-evidence", "transfer.done.evidence"),
}


def test_the_customer_texts_use_no_jargon() -> None:
    found = {key: word for key, text in korean_texts().items() for word in JARGON if word in text}
    assert not found, f"say it in plain Korean: {found}"


def test_the_technical_parts_of_the_transfer_pages_wait_behind_a_closed_details() -> None:
    for name, markers in BEHIND_DETAILS.items():
        page = (TEMPLATES / name).read_text("utf-8")
        hidden = "".join(_DETAILS.findall(page))
        outside = _DETAILS.sub("", page)
        for marker in markers:
            assert marker in hidden and marker not in outside, (name, marker)
        assert "자세히" in "".join(korean_texts().values())


def test_the_scan_sees_an_open_details_as_shown() -> None:
    assert not _DETAILS.findall('<details class="x" open><pre data-document></pre></details>')
    assert _DETAILS.findall('<details class="x"><pre data-document></pre></details>')
