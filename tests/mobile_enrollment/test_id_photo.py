"""신분증 촬영: the ID step from a photo, over HTTP as the app sends it. The photo is read and
shown back (the resident number masked on screen); the customer confirms or corrects; the
registry decides as for typed fields. The image and the full number are never kept."""

from __future__ import annotations

import base64
import logging
import os
from typing import Any

import pytest
from sqlalchemy import select

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError
from certcenter.identity.documents.ocr import tesseract_available
from certcenter.simulators.id_photos import photo
from certcenter.simulators.world import load_world
from certcenter.storage.tables import audit_log
from tests.mobile_enrollment.test_refusals import assert_refusal, recorded
from tests.mobile_enrollment.test_security import database_text
from tests.support.flow import Flow, FlowFactory

WORLD = load_world()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not tesseract_available() and os.environ.get("CERTCENTER_TEST_REQUIRE_OCR") != "1",
        reason="Tesseract with Korean data (tesseract-ocr-kor) is not installed",
    ),
]


def _send(flow: Flow, data: bytes) -> dict[str, Any]:
    return flow.client.step("id/photo", {"photo": base64.b64encode(data).decode("ascii")})


def _read(flow: Flow, key: str, kind: str, seed: int = 0, **options: Any) -> dict[str, Any]:
    flow.through("account_verify")
    return _send(flow, photo(WORLD.people[key], kind, seed=seed, **options))


def test_a_resident_card_photo_is_read_confirmed_and_never_kept(
    new_flow: FlowFactory, center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    flow = new_flow("C010")
    data = photo(WORLD.people["C010"], "resident_card", seed=0)
    flow.through("account_verify")
    read = _send(flow, data)
    assert read["state"] == "account_verified" and read["next_step"] == "id"
    assert read["detail"]["document"] == "resident_card"
    assert read["detail"]["display"] == {
        "name": "임채원", "rrn": "870227-2******", "issue_date": "2023-09-14",
    }  # fmt: skip
    confirmed = flow.client.step("id", {**read["detail"]["fields"], "source": "photo"})
    assert confirmed["state"] == "id_verified" and confirmed["detail"]["source"] == "photo"

    stored = database_text(center)
    with center.engine.connect() as conn:
        rows = conn.execute(select(audit_log)).mappings().all()
    kept = [r["details"] for r in rows if r["action"] == "enrollment.id_photo"]
    assert [d["document"] for d in kept] == ["resident_card"]  # which document, when, masked
    assert kept[0]["read"]["issue_date"] == "2023-09-14"
    logged = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    for where, text in (("database", stored), ("logs", logged)):
        assert "8702272805340" not in text and "870227-2805340" not in text, where
        assert "2805340" not in text, where
        assert base64.b64encode(data[:3000]).decode() not in text, where
        assert data[1000:1400].decode("latin-1") not in text, where


def test_a_correction_is_recorded_and_must_still_match_the_registry(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C010")
    fields = _read(flow, "C010", "resident_card")["detail"]["fields"]
    wrong = {**fields, "name": "임채운", "source": "photo", "corrected": ["name"]}
    with pytest.raises(ApiError) as refused:
        flow.client.step("id", wrong)
    assert_refusal(refused.value, "ID_NOT_VERIFIED")
    corrected = {**fields, "name": "임채원", "source": "photo", "corrected": ["name"]}
    assert flow.client.step("id", corrected)["state"] == "id_verified"
    with center.engine.connect() as conn:
        rows = conn.execute(select(audit_log)).mappings().all()
    confirmations = [r for r in rows if r["action"] == "enrollment.id_photo_confirmed"]
    assert [r["details"]["corrected"] for r in confirmations] == [["name"]]


@pytest.mark.parametrize(
    ("person", "holder", "kind", "options", "code"),
    [
        ("C010", "C010", "resident_card", {"old_card": True}, "ID_CARD_REISSUED"),
        # her sister's card (seed 1: seed 0's photo loses its issue date to OCR, which the
        # bench counts; this test is about the registry)
        ("C011", "S011", "resident_card", {"seed": 1}, "ID_NAME_MISMATCH"),
        ("C001", "C001", "passport", {}, "ID_EXPIRED"),
    ],
    ids=["reissued", "another-persons-card", "expired-passport"],
)
def test_the_registry_refuses_what_the_photo_shows(
    new_flow: FlowFactory,
    center: Center,
    person: str,
    holder: str,
    kind: str,
    options: dict[str, Any],
    code: str,
) -> None:
    flow = new_flow(person)
    fields = _read(flow, holder, kind, **options)["detail"]["fields"]
    err = flow.refused("id", **{**fields, "source": "photo"})
    assert_refusal(err, code)
    assert [f.step for f in recorded(center, code)] == ["id"]


def test_a_photo_with_glare_is_refused_with_its_remedy(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = new_flow("C010")
    flow.through("account_verify")
    data = photo(WORLD.people["C010"], "resident_card", defects=("glare",), seed=0)
    with pytest.raises(ApiError) as refused:
        _send(flow, data)
    assert_refusal(refused.value, "ID_PHOTO_GLARE")
    assert refused.value.problem["remedy"]["ko"] == "빛 반사를 피해 다시 촬영해 주세요."
    assert flow.client.status()["state"] == "account_verified"  # the flow goes on
    assert [f.step for f in recorded(center, "ID_PHOTO_GLARE")] == ["id_photo"]
    for bad in ("not base64!", base64.b64encode(b"GIF89a....").decode()):
        with pytest.raises(ApiError) as invalid:
            flow.client.step("id/photo", {"photo": bad})
        assert_refusal(invalid.value, "ID_PHOTO_INVALID")
