"""The app's ID step from a photo, as a customer runs it: `certcenter sim id-photo` takes the
picture, `certcenter app enroll --id-photo` sends it, shows what was read with the resident
number masked, and goes on once the customer confirms."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from certcenter.cli.main import cli
from certcenter.identity.documents.ocr import tesseract_available
from tests.conftest import LiveServer

PIN = "591734"


@pytest.mark.slow
@pytest.mark.skipif(
    not tesseract_available() and os.environ.get("CERTCENTER_TEST_REQUIRE_OCR") != "1",
    reason="Tesseract with Korean data (tesseract-ocr-kor) is not installed",
)
def test_app_enroll_with_an_id_photo(api: LiveServer, tmp_path: Path) -> None:
    runner = CliRunner()
    picture = tmp_path / "card.jpg"
    made = runner.invoke(cli, ["sim", "id-photo", "C010", "--out", str(picture)])
    assert made.exit_code == 0, made.output
    assert picture.stat().st_size > 50_000

    glare = tmp_path / "glare.jpg"
    runner.invoke(cli, ["sim", "id-photo", "C001", "--glare", "--out", str(glare)])
    common = [
        "--url", api.url, "--carrier", "LGU", "--name", "임채원", "--rrn-front", "870227-2",
        "--phone", "01020000010", "--bank", "004", "--account", "12340100000010", "--auto-codes",
    ]  # fmt: skip
    other = [
        "--url", api.url, "--carrier", "SKT", "--name", "김민준", "--rrn-front", "900315-1",
        "--phone", "01020000001", "--bank", "004", "--account", "12340100000001", "--auto-codes",
    ]  # fmt: skip
    refused = runner.invoke(
        cli,
        ["--lang", "ko", "app", "enroll", "--keystore", str(tmp_path / "a"), *other,
         "--id-photo", str(glare)],
    )  # fmt: skip
    assert refused.exit_code == 1
    assert (
        "ID_PHOTO_GLARE" in refused.output and "빛 반사를 피해 다시 촬영해 주세요" in refused.output
    )
    assert "Traceback" not in refused.output

    result = runner.invoke(
        cli,
        ["app", "enroll", "--keystore", str(tmp_path / "b"), *common, "--id-photo", str(picture)],
        input=f"y\n{PIN}\n{PIN}\n0-1-2-5-8\n",
    )
    assert result.exit_code == 0, result.output
    assert "870227-2******" in result.output
    assert "2805340" not in result.output  # never the back six digits on screen
    assert "신분증 인증 완료 (resident_card)" in result.output
    assert "certificate:" in result.output
