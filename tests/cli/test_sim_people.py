"""``certcenter sim people``: who is in the demo world, and what the app will ask each."""

from __future__ import annotations

from click.testing import CliRunner

from certcenter.cli.main import cli
from tests.conftest import LiveServer


def test_the_list_masks_the_resident_number_and_one_person_shows_what_to_type(
    api: LiveServer,
) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["--lang", "en", "sim", "people", "--url", api.url])
    assert listed.exit_code == 0, listed.output
    c001 = next(line for line in listed.output.splitlines() if line.startswith("C001"))
    assert "900315-1******" in c001 and "1512541" not in listed.output
    assert "resident+passport" in c001

    shown = runner.invoke(cli, ["--lang", "en", "sim", "people", "c010", "--url", api.url])
    assert shown.exit_code == 0, shown.output
    assert "870227-2" in shown.output  # the front 7 the first step asks
    # both cards, the old one marked: the scenario is that the old issue date is refused
    assert "issue date 2012-03-05  ← 재발급 전 옛 카드 (old card)" in shown.output
    assert "issue date 2023-09-14\n" in shown.output
    licence = runner.invoke(cli, ["sim", "people", "C002", "--url", api.url])
    assert "licence number 110812345601  serial A1B2C3" in licence.output
    assert "birth date 1988-11-02" in licence.output

    unknown = runner.invoke(cli, ["sim", "people", "X99", "--url", api.url])
    assert unknown.exit_code == 1 and "C001" in unknown.output
    assert "Traceback" not in unknown.output
