"""``certcenter app joint register`` against the real server process (SQLite and
PostgreSQL), as a person at a terminal goes through it: the security card's question
answered, then the ARS call instead of the SMS — the command shows the number, the demo
phone (``/sim/ars``, what ``certcenter sim ars`` calls) keys it in, Enter — and the
reference number and authorization code that ``app joint issue`` takes. A wrong number keyed
in on the call is JOINT_ARS_FAILED (recorded as the registration's refusal)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from certcenter.bootstrap import Center
from certcenter.media.security_card import answer_for
from tests.cmp.test_openssl_cmp import (  # noqa: F401 - the fixtures of the server process
    center,
    database,
    server,
)
from tests.joint.support import WORLD, rrn_of
from tests.media.test_security_card import issue_and_register
from tests.server.test_server_process import ServerProcess

pytestmark = pytest.mark.server
CERTCENTER = str(Path(sys.executable).parent / "certcenter")
_CARD = re.compile(r"slot (\d+), last 2 of slot (\d+)")
_ARS = re.compile(r"key in (\d+)\.")
PERSON = "C004"


def register(process: ServerProcess, slots: list[str], *, wrong: bool) -> tuple[int, str]:
    """Run the command; answer the card, then the ARS call with the number shown (or, with
    ``wrong``, another). (exit code, everything it printed)."""
    phone = str((WORLD.people[PERSON].phone or {})["number"])
    command = [
        CERTCENTER, "--lang", "en", "app", "joint", "register", "--url", process.url,
        "--user-id", f"{PERSON.lower()}user", "--check", "ars", "--yes", "--stdin",
    ]  # fmt: skip
    printed: list[str] = []
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(rrn_of(PERSON) + "\n")
        child.stdin.flush()
        for line in child.stdout:
            printed.append(line)
            card = _CARD.search(line)
            if card:
                answer = answer_for(slots, int(card.group(1)), int(card.group(2)))
                child.stdin.write(answer + "\n")
                child.stdin.flush()
            shown = _ARS.search(line)
            if shown:
                number = shown.group(1)
                if wrong:
                    number = str((int(number) + 1) % 10 ** len(number)).zfill(len(number))
                answered = httpx.post(
                    f"{process.url}/sim/ars/{phone}/answer", json={"keyed": number}, timeout=30
                )
                answered.raise_for_status()
                child.stdin.write("\n")
                child.stdin.flush()
        child.stdin.close()
        code = child.wait(timeout=120)
    return code, "".join(printed)


def test_register_with_the_ars_call(
    server: ServerProcess,  # noqa: F811 - the fixtures imported above
    center: Center,  # noqa: F811
) -> None:
    _, _, slots = issue_and_register(center, PERSON)
    code, printed = register(server, slots, wrong=True)
    assert code == 1, printed
    assert "[JOINT_ARS_FAILED]" in printed and "Traceback" not in printed
    assert "ARS calls left: 2" in printed

    code, printed = register(server, slots, wrong=False)
    assert code == 0, printed
    assert "demo: certcenter sim ars" in printed and "ARS call confirmed" in printed
    reference = re.search(r"reference number\):\s+(\d{10})", printed)
    authorization = re.search(r"authorization code\):\s+([A-Z2-9]{16})", printed)
    assert reference and authorization, printed
    assert rrn_of(PERSON).replace("-", "") not in printed  # the number was never echoed
    assert (
        center.joint_authority.shared_secret(reference.group(1)) == authorization.group(1).encode()
    )
    with center.uow_factory(read_only=True) as uow:
        row = uow.joint_registrations.by_reference(reference.group(1))
    assert row is not None and row.data.get("phone_check") == "ars"
