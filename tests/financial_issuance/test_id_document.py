"""신분증 확인 as the financial certificate's additional medium, over the API: the details typed,
or a photo sent as base64 JSON (POST …/medium/photo, the photo routes' own body limit), read,
and confirmed in ``…/medium/verify``'s ``id_document``; the ID registry decides and the
document must be the customer's own. The photos are the demo world's, drawn at run time."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError
from certcenter.identity.documents.ocr import tesseract_available
from certcenter.simulators.id_photos import card_facts, photo
from tests.conftest import LiveServer
from tests.financial_issuance.support import WORLD, Browser
from tests.mobile_enrollment.test_refusals import assert_refusal, recorded

needs_ocr = pytest.mark.skipif(
    not tesseract_available() and os.environ.get("CERTCENTER_TEST_REQUIRE_OCR") != "1",
    reason="Tesseract with Korean data (tesseract-ocr-kor) is not installed",
)


def _at_id_document(url: str, person: str) -> Browser:
    """Terms, user ID + resident number, ARS; then the ID document chosen as the medium."""
    browser = Browser(url, person)
    browser.start()
    browser.identify()
    browser.proven_by_ars()
    chosen = browser.medium("id_document")
    assert chosen["state"] == "medium_pending", chosen
    assert chosen["detail"]["medium"] == "id_document"
    assert "resident_card" in chosen["detail"]["documents"]
    return browser


def _send(browser: Browser, data: bytes) -> dict[str, Any]:
    return browser.call("medium/photo", {"photo": base64.b64encode(data).decode("ascii")})


def test_a_typed_resident_card_is_the_medium_and_the_certificate_is_issued(
    api: LiveServer,
) -> None:
    browser = _at_id_document(api.url, "C010")
    waiting = browser.refused("medium_verify")  # the ID document's details, not another answer
    assert_refusal(waiting, "ENROLLMENT_STEP_OUT_OF_ORDER")
    typed = {"kind": "resident_card", **card_facts(browser.person, "resident_card").fields}
    old = {**typed, "issue_date": "2012-03-05"}  # the card her re-issue replaced
    err = browser.refused("medium_verify", id_document=old)
    assert_refusal(err, "ID_CARD_REISSUED")
    verified = browser.medium_verify(id_document=typed)
    assert verified["state"] == "medium_verified", verified
    assert verified["detail"] == {
        "medium": "id_document", "document": "resident_card", "source": "typed",
    }  # fmt: skip
    done = browser.finish()
    assert done["state"] == "completed" and done["detail"]["medium"] == "id_document"


def test_another_persons_document_is_refused(api: LiveServer, center: Center) -> None:
    browser = _at_id_document(api.url, "C011")
    sister = card_facts(WORLD.people["S011"], "resident_card").fields  # a real, valid card
    err = browser.refused("medium_verify", id_document={"kind": "resident_card", **sister})
    assert_refusal(err, "ID_NAME_MISMATCH")
    assert [f.step for f in recorded(center, "ID_NAME_MISMATCH")] == ["financial.medium_verify"]
    assert browser.status()["state"] == "medium_pending"  # the customer may try again


def test_a_photo_with_glare_is_refused_with_its_code(api: LiveServer, center: Center) -> None:
    browser = Browser(api.url, "C010")
    browser.start()
    browser.identify()
    browser.proven_by_ars()
    data = photo(browser.person, "resident_card", defects=("glare",), seed=3)
    assert len(data) > 64 * 1024  # over the API's usual body limit: the photo route's own
    early = browser.refused("call", "medium/photo", {"photo": base64.b64encode(data).decode()})
    assert_refusal(early, "ENROLLMENT_STEP_OUT_OF_ORDER")  # no ID document chosen yet

    browser.medium("id_document")
    with pytest.raises(ApiError) as refused:
        _send(browser, data)
    assert_refusal(refused.value, "ID_PHOTO_GLARE")
    assert refused.value.problem["remedy"]["ko"] == "빛 반사를 피해 다시 촬영해 주세요."
    assert [f.step for f in recorded(center, "ID_PHOTO_GLARE")] == ["financial.medium_photo"]
    assert browser.status()["state"] == "medium_pending"  # the flow goes on
    for bad in ("not base64!", base64.b64encode(b"GIF89a....").decode()):
        invalid = browser.refused("call", "medium/photo", {"photo": bad})
        assert_refusal(invalid, "ID_PHOTO_INVALID")


@needs_ocr
@pytest.mark.slow
def test_a_resident_card_photo_is_read_and_confirmed(api: LiveServer, center: Center) -> None:
    browser = _at_id_document(api.url, "C010")
    read = _send(browser, photo(browser.person, "resident_card", seed=0))
    assert read["state"] == "medium_pending" and read["detail"]["document"] == "resident_card"
    assert read["detail"]["display"]["rrn"] == "870227-2******"
    fields = read["detail"]["fields"]
    wrong = {**fields, "name": "임채운", "source": "photo", "corrected": ["name"]}
    assert_refusal(browser.refused("medium_verify", id_document=wrong), "ID_NOT_VERIFIED")
    confirmed = browser.medium_verify(
        id_document={**fields, "name": "임채원", "source": "photo", "corrected": ["name"]}
    )
    assert confirmed["state"] == "medium_verified"
    assert confirmed["detail"]["source"] == "photo"
    with center.uow_factory() as uow:
        enrollment = uow.financial_enrollments.get(browser.enrollment_id)
        assert enrollment is not None and enrollment.medium == "id_document"
