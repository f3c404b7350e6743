"""신분증 촬영 인식: each quality refusal on its degraded photo, each document read from a clean
photo, the passport's MRZ check digits. The photos are drawn at run time by the demo world's
simulator (src/certcenter/simulators/id_photos.py); the labelled set's figures come from
bench/id_photos.py, not from here (OCR is slow)."""

from __future__ import annotations

import io
import os
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from certcenter.errors import CertCenterError
from certcenter.identity.documents import DriverLicence, Passport, ResidentCard
from certcenter.identity.documents.detection import ContourCardFinder, straighten
from certcenter.identity.documents.image import decode_photo
from certcenter.identity.documents.mrz import check_digit, parse_td3, repair_td3, td3_lines
from certcenter.identity.documents.ocr import tesseract_available
from certcenter.identity.documents.pipeline import DocumentPhotoReader, masked_fields
from certcenter.identity.documents.quality import PhotoQuality
from certcenter.simulators.id_photos import card_facts, photo
from certcenter.simulators.world import load_world

TODAY = date(2026, 12, 5)
WORLD = load_world()

needs_ocr = pytest.mark.skipif(
    not tesseract_available() and os.environ.get("CERTCENTER_TEST_REQUIRE_OCR") != "1",
    reason="Tesseract with Korean data (tesseract-ocr-kor) is not installed",
)


def _problems(data: bytes) -> tuple[str, ...]:
    found = ContourCardFinder().find(decode_photo(data))
    return PhotoQuality().check(decode_photo(data), found, straighten).problems


@pytest.mark.parametrize(
    ("defect", "code"),
    [
        ("glare", "ID_PHOTO_GLARE"),
        ("blur", "ID_PHOTO_BLURRED"),
        ("dark", "ID_PHOTO_TOO_DARK"),
        ("crop", "ID_PHOTO_CARD_CUT_OFF"),
        ("small", "ID_PHOTO_CARD_TOO_SMALL"),
    ],
)
def test_each_quality_problem_refuses_its_photo_with_its_code(defect: str, code: str) -> None:
    data = photo(WORLD.people["C010"], "resident_card", defects=(defect,), seed=3)
    assert _problems(data)[0] == code
    with pytest.raises(CertCenterError) as refused:
        DocumentPhotoReader().read(data, today=TODAY)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("key", "kind"), [("C010", "resident_card"), ("C002", "driver_licence"), ("C003", "passport")]
)
def test_clean_and_warped_photos_pass_the_quality_checks(key: str, kind: str) -> None:
    for defects in ((), ("warp",)):
        assert _problems(photo(WORLD.people[key], kind, defects=defects, seed=3)) == ()


def test_a_photo_without_a_card_and_bad_uploads_are_refused() -> None:
    empty = io.BytesIO()
    Image.new("RGB", (1200, 900), (90, 80, 60)).save(empty, format="PNG")
    reader = DocumentPhotoReader(max_bytes=2 * 1024 * 1024)
    for data, code in [
        (empty.getvalue(), "ID_PHOTO_NO_CARD"),
        (b"GIF89a not a photo", "ID_PHOTO_INVALID"),
        (b"\xff\xd8\xff" + b"\0" * 100, "ID_PHOTO_INVALID"),
        (b"\xff\xd8\xff" + b"\0" * (2 * 1024 * 1024), "ID_PHOTO_INVALID"),
        (b"", "ID_PHOTO_INVALID"),
    ]:
        with pytest.raises(CertCenterError) as refused:
            reader.read(data, today=TODAY)
        assert refused.value.code == code


@needs_ocr
@pytest.mark.slow
@pytest.mark.parametrize(
    ("key", "kind"), [("C010", "resident_card"), ("C002", "driver_licence"), ("C003", "passport")]
)
def test_each_document_type_is_read_from_a_clean_photo(key: str, kind: str) -> None:
    reading = DocumentPhotoReader().read(photo(WORLD.people[key], kind, seed=0), today=TODAY)
    truth = card_facts(WORLD.people[key], kind).fields
    assert reading.kind == kind
    for name in ("name", "rrn", "issue_date", "birth_date", "number", "serial", "expiry"):
        if name in truth:
            assert reading.fields[name] == truth[name], name
    # what was read parses as the typed path parses it
    fields = reading.fields
    if kind == "resident_card":
        ResidentCard.parse(fields["name"], fields["rrn"], fields["issue_date"], today=TODAY)
        assert reading.display["rrn"] == truth["rrn"][:8] + "******"
        assert truth["rrn"] not in repr(reading)
    elif kind == "driver_licence":
        DriverLicence.parse(
            fields["name"], fields["birth_date"], fields["number"], fields["serial"]
        )
    else:
        Passport.parse(fields["name"], fields["birth_date"], fields["number"], fields["expiry"])


@needs_ocr
@pytest.mark.slow
def test_a_passport_with_a_wrong_mrz_check_digit_is_refused() -> None:
    person = WORLD.people["C003"]
    facts = card_facts(person, "passport").fields
    _, line2 = td3_lines(
        document_type="PM", country="KOR", surname="PARK", given_names="JIHUN",
        number=facts["number"], nationality="KOR", sex="M",
        birth_date=date.fromisoformat(facts["birth_date"]),
        expiry=date.fromisoformat(facts["expiry"]),
    )  # fmt: skip
    wrong = line2[:27] + str((int(line2[27]) + 1) % 10) + line2[28:]  # the expiry's digit
    # seed 1: on seed 0's photo OCR reads this zone's "KOR" as "K0OR" (unreadable, which the
    # bench counts); this test is about the check digit
    with pytest.raises(CertCenterError) as refused:
        DocumentPhotoReader().read(
            photo(person, "passport", seed=1, mrz_override=wrong), today=TODAY
        )
    assert refused.value.code == "ID_MRZ_INVALID"


def test_mrz_check_digits_follow_icao_9303() -> None:
    # ICAO Doc 9303 part 3's worked example: document number L898902C3, check digit 6
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    line1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
    line2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
    zone = parse_td3(line1, line2, today=date(2010, 1, 1))
    assert (zone.number, zone.surname, zone.given_names) == ("L898902C3", "ERIKSSON", "ANNA MARIA")
    assert zone.birth_date == date(1974, 8, 12) and zone.expiry == date(2012, 4, 15)
    for position in (9, 19, 27, 42, 43):
        digit = line2[position]
        bad = line2[:position] + str((int(digit) + 1) % 10) + line2[position + 1 :]
        with pytest.raises(CertCenterError) as refused:
            parse_td3(line1, bad, today=date(2010, 1, 1))
        assert refused.value.code == "ID_MRZ_INVALID"


def test_mrz_repair_undoes_letter_digit_confusions_only_where_the_format_says() -> None:
    line1, line2 = td3_lines(
        document_type="PM", country="KOR", surname="PARK", given_names="JIHUN",
        number="M12345678", nationality="KOR", birth_date=date(1995, 7, 21), sex="M",
        expiry=date(2030, 5, 31),
    )  # fmt: skip
    misread = line2[:10] + "K0R" + line2[13:15].replace("0", "O") + line2[15:]
    assert repair_td3(line1[:30], misread) == (line1, line2)


@given(st.text(max_size=50), st.text(max_size=50))
def test_the_mrz_parser_refuses_anything_with_its_code(first: str, second: str) -> None:
    with pytest.raises(CertCenterError) as refused:
        parse_td3(first, second, today=TODAY)
    assert refused.value.code == "ID_MRZ_INVALID"


def test_masking_hides_the_last_six_digits() -> None:
    shown = masked_fields("resident_card", {"name": "임채원", "rrn": "870227-2805340"})
    assert shown == {"name": "임채원", "rrn": "870227-2******"}
