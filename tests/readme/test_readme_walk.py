"""README.md, walked in order against a real server on a fresh data directory: every shell
block runs as written (only ``make run`` and ``make test`` are skipped; the walk's server
stands in for the first), and none ends non-zero or with a traceback. See tests/readme/walk.py
(also a script: ``python -m tests.readme.walk``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.readme.walk import README, SKIPPED, shell_blocks, walk

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_the_blocks_are_read_as_a_reader_types_them() -> None:
    blocks = shell_blocks(
        "text\n```sh\nmake run   # serve\n# a note\ncertcenter a \\\n    --b c  # d\n```\n"
        "```\nnot a shell block\n```\n```sh\nopenssl x\n```\n"
    )
    assert blocks == [["make run   # serve", "certcenter a --b c  # d"], ["openssl x"]]
    every = [c for block in shell_blocks(README.read_text("utf-8")) for c in block]
    assert sum(c.startswith(SKIPPED) for c in every) == 2  # make run, make test
    assert any(c.startswith("certcenter app enroll") for c in every)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="the README's checks use openssl")
@pytest.mark.timeout(900)  # about two minutes on an idle 2-core machine; more on a busy one
def test_every_command_of_the_readme_runs_in_order(tmp_path: Path) -> None:
    said: list[str] = []
    ran = walk(tmp_path, say=said.append)
    every = [c for block in shell_blocks(README.read_text("utf-8")) for c in block]
    assert len(ran) == len(every) - 2, "\n".join(said)
    # what the walk left behind is what the README promised
    assert (tmp_path / "var" / "certcenter.toml").is_file()
    assert (tmp_path / "transfer.p7m").stat().st_size > 0
    assert (tmp_path / "mycert" / "certificate.pem").is_file()
    assert not (tmp_path / "home" / "var").exists()
