"""신분증 확인 in the financial certificate's issuance (/issue/medium): the photo taken or
uploaded (multipart), read in memory, shown back with the resident number masked, confirmed or
corrected, the registry deciding; quality refusals and bad uploads come back on the page with
the catalog's remedy. The photos are the demo world's, drawn at run time."""

from __future__ import annotations

import base64
import os
import re

import httpx
import pytest
from sqlalchemy import select

from certcenter.bootstrap import Center
from certcenter.identity.documents.ocr import tesseract_available
from certcenter.simulators.id_photos import photo
from certcenter.simulators.world import load_world
from certcenter.storage.tables import audit_log
from tests.mobile_enrollment.test_security import database_text
from tests.web.financial_support import FinancialWeb, error_code
from tests.web.support import WebClient, main_text

WORLD = load_world()
C010 = WORLD.people["C010"]  # 임채원: internet banking, a re-issued resident card (2023-09-14)
HYPHENATED = f"{C010.rrn.digits[:6]}-{C010.rrn.digits[6:]}"


@pytest.fixture
def fin(web: WebClient, web_center: Center) -> FinancialWeb:
    return FinancialWeb(web, web_center)


def _at_id_document(fin: FinancialWeb, person: str = "C010") -> httpx.Response:
    """Terms, user ID + resident number, ARS; then the ID document chosen as the medium."""
    fin.start_issue(person)
    fin.follow(fin.identify(person))
    fin.through_ars(person)
    page = fin.follow(fin.post("/issue/medium", medium="id_document"))
    assert page.status_code == 200, main_text(page.text)
    return page


def _upload(fin: FinancialWeb, data: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    response = fin.client.post(
        "/issue/medium/photo",
        data={"csrf_token": fin.token()},
        files={"photo": ("id.jpg", data, content_type)},
    )
    fin.seen.append(response)
    return response


def test_the_medium_page_offers_the_photo_and_the_typed_details(fin: FinancialWeb) -> None:
    page = _at_id_document(fin)
    assert 'enctype="multipart/form-data"' in page.text
    upload = re.search(r"<input[^>]*type=\"file\"[^>]*>", page.text)
    assert upload is not None
    assert 'accept="image/*"' in upload.group(0) and 'capture="environment"' in upload.group(0)
    assert "신분증 촬영/사진 올리기" in page.text and "신분증 정보 직접 입력" in page.text


def test_the_typed_resident_card_passes_the_registry(fin: FinancialWeb) -> None:
    _at_id_document(fin)
    old = fin.post(
        "/issue/medium/id",
        source="typed",
        kind="resident_card",
        name=C010.name,
        rrn=HYPHENATED,
        issue_date="2012-03-05",
    )
    refused = fin.follow(old)
    assert (
        refused.headers.get("location") is None and error_code(refused.text) == "ID_CARD_REISSUED"
    )
    done = fin.follow(
        fin.post(
            "/issue/medium/id",
            source="typed",
            kind="resident_card",
            name=C010.name,
            rrn=HYPHENATED,
            issue_date="2023-09-14",
        )
    )
    assert str(done.url).endswith("/issue/details"), main_text(done.text)


def test_a_glare_photo_is_refused_on_the_page_with_its_remedy(fin: FinancialWeb) -> None:
    _at_id_document(fin)
    answer = _upload(fin, photo(C010, "resident_card", defects=("glare",), seed=3))
    assert answer.status_code == 303 and answer.headers["location"] == "/issue/medium"
    page = fin.follow(answer)
    assert page.status_code == 422 and error_code(page.text) == "ID_PHOTO_GLARE"
    assert "빛 반사를 피해 다시 촬영해 주세요." in page.text
    assert 'type="file"' in page.text  # the upload is offered again


def test_oversized_and_non_image_uploads_are_catalog_refusals(
    fin: FinancialWeb, web_center: Center
) -> None:
    _at_id_document(fin)
    limit = web_center.settings.policy.id_photo_max_bytes
    for data, content_type in [
        (b"\xff\xd8\xff" + b"\0" * limit, "image/jpeg"),  # one byte over the limit
        (b"%PDF-1.7 not a photo", "application/pdf"),
        (b"", "image/jpeg"),  # the form sent without a file chosen
    ]:
        answer = _upload(fin, data, content_type)
        assert answer.status_code == 303, answer.text[:200]
        page = fin.follow(answer)
        assert error_code(page.text) == "ID_PHOTO_INVALID", main_text(page.text)
        assert "신분증을 카메라로 다시 촬영해" in page.text
    still = fin.get("/issue/medium")
    assert still.status_code == 200 and 'type="file"' in still.text  # the flow goes on


needs_ocr = pytest.mark.skipif(
    not tesseract_available() and os.environ.get("CERTCENTER_TEST_REQUIRE_OCR") != "1",
    reason="Tesseract with Korean data (tesseract-ocr-kor) is not installed",
)


@needs_ocr
@pytest.mark.slow
def test_a_clean_resident_card_is_read_confirmed_and_never_kept(
    fin: FinancialWeb, web_center: Center
) -> None:
    _at_id_document(fin)
    data = photo(C010, "resident_card", seed=0)
    page = fin.follow(_upload(fin, data))
    assert page.status_code == 200 and error_code(page.text) is None, main_text(page.text)
    assert 'value="870227-2******"' in page.text and C010.rrn.digits[6:] not in page.text
    assert f'value="{C010.name}"' in page.text and 'value="2023-09-14"' in page.text
    # a correction is the registry's to accept: another name is refused, the reading stays
    wrong = fin.follow(
        fin.post(
            "/issue/medium/id",
            source="photo",
            name="임채운",
            rrn="870227-2******",
            issue_date="2023-09-14",
        )
    )
    assert error_code(wrong.text) is not None and 'value="870227-2******"' in wrong.text
    done = fin.follow(
        fin.post(
            "/issue/medium/id",
            source="photo",
            name=C010.name,
            rrn="870227-2******",
            issue_date="2023-09-14",
        )
    )
    assert str(done.url).endswith("/issue/details"), main_text(done.text)
    with web_center.engine.connect() as conn:
        actions = [
            (row.action, row.details)
            for row in conn.execute(select(audit_log).order_by(audit_log.c.seq))
            if row.action.startswith("financial_issuance.id_photo")
        ]
    assert [a for a, _ in actions][-2:] == [
        "financial_issuance.id_photo",
        "financial_issuance.id_photo_confirmed",
    ]
    assert actions[-1][1]["corrected"] == []
    # neither the image nor the full number is anywhere in the database or the session cookie
    stored = database_text(web_center)
    for start in range(len(data) // 4, len(data), len(data) // 4):
        piece = data[start : start + 48]
        assert piece.decode("latin-1") not in stored
        assert base64.b64encode(piece).decode()[:40] not in stored
    assert C010.rrn.digits not in stored and HYPHENATED not in stored
    assert C010.rrn.digits[6:] not in "".join(fin.client.cookies.values())
