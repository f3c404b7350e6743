"""Walk README.md as a new user does: every shell block, in order, against a server started on
a fresh data directory — as ``make run`` would, on a free port.

    python -m tests.readme.walk            # prints each command and what it answered

Only ``make run`` and ``make test`` are skipped (they run until stopped, or for minutes); the
server this walk started stands in for ``make run``, so its address replaces
``http://127.0.0.1:8000``. The commands that ask are answered as the README tells the reader to
answer (C001's details, the demo PIN, the account password ``2580``); codes are read from the
demo world, where the README sends the reader (``certcenter sim sms``, ``sim statement``). The
joint certificate's registration — the bank's step the README describes in prose — is made over
the API before the block that needs its reference number, which then replaces the README's
example number. A command that ends non-zero or prints a traceback stops the walk.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from certcenter.cli.client import CenterClient
from certcenter.cli.demo import scripted_answers
from certcenter.media.security_card import answer_for
from tests.support.ports import free_port

REPOSITORY = Path(__file__).resolve().parents[2]
README = REPOSITORY / "README.md"
EXAMPLE_URL = "http://127.0.0.1:8000"
EXAMPLE_JOINT_REFERENCE = "4821937560"
SKIPPED = ("make run", "make test")
PERSON = "C001"  # who the README has the reader be in the app
NPKI_PASSWORD = "Walk-2580-npki!"  # a certificate password the NPKI rule accepts
COMMAND_SECONDS = 120.0


def shell_blocks(text: str) -> list[list[str]]:
    """The README's ```sh blocks, each as its commands (continued lines joined)."""
    blocks: list[list[str]] = []
    for body in re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", text, re.S | re.M):
        commands: list[str] = []
        pending = ""
        for line in body.splitlines():
            if pending:
                line = pending + " " + line.strip()
            if line.rstrip().endswith("\\"):
                pending = line.rstrip()[:-1].rstrip()
                continue
            pending = ""
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(line.strip())
        blocks.append(commands)
    return blocks


def _clean_environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCENTER_")}
    env["HOME"] = str(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPOSITORY / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    env.pop("PYTHONWARNINGS", None)
    return env


@contextlib.contextmanager
def running_center(folder: Path, env: dict[str, str]) -> Iterator[str]:
    """``certcenter serve`` in ``folder`` (so its data is ``./var``, as with ``make run``) on a
    free port, its public URL to match; stopped with its workers afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_env = {
        **env,
        "CERTCENTER_PORT": str(port),
        "CERTCENTER_PUBLIC_BASE_URL": url,
        "CERTCENTER_WORKERS": "1",
        # A reader spends more than the 30 s a phone waits between two codes on the steps in
        # between; the walk does not, and does not sleep for it either.
        "CERTCENTER_POLICY__SMS_RESEND_WAIT_SECONDS": "0",
    }
    log = folder / "server.log"
    with log.open("ab") as handle:
        process = subprocess.Popen(
            ["certcenter", "serve"],
            cwd=folder,
            env=server_env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the server ended: {log.read_text('utf-8')}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not come up: {log.read_text('utf-8')}")
            time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@dataclass
class Reader:
    """The person at the keyboard: answers each prompt as the README says."""

    url: str
    joint_reference: str | None = None
    joint_code: str | None = None
    answers: list[tuple[str, Callable[[], str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        me = scripted_answers(PERSON)
        ident = me.id_fields
        rrn = f"{ident['rrn'][:6]}-{ident['rrn'][6:]}"
        phone, bank, account = me.phone or "", me.bank_code or "", me.account_number or ""
        pin = me.pin or ""
        constant: list[tuple[str, str]] = [
            (r"account password|계좌 비밀번호", "2580"),
            (r"간편비밀번호|\bPIN\b", pin),
            (r"패턴|pattern", "-".join(str(p) for p in me.pattern or [])),
            (r"PFX|인증서 비밀번호|Certificate password|비밀번호 확인|again", NPKI_PASSWORD),
            (r"주민등록번호 앞 7자리", me.rrn_front or ""),
            (r"주민등록번호", rrn),
            (r"휴대폰 번호", phone),
            (r"통신사", me.carrier or ""),
            (r"이름", me.name or ""),
            (r"은행 코드", bank),
            (r"계좌번호", account),
            (r"신분증 종류", ident["kind"]),
            (r"발급일자", ident.get("issue_date", "")),
            (r"\[Y/n\]|\[y/N\]", "y"),
        ]
        self.answers = [
            (r"인가코드|Authorization code", lambda: self.joint_code or ""),
            (r"문자로 받은 인증번호|SMS code", lambda: self._sms_code(phone)),
            (r"입금자명", lambda: self._deposit_code(bank, account)),
            *[(pattern, (lambda value=value: value)) for pattern, value in constant],
        ]

    def _sms_code(self, phone: str) -> str:
        with CenterClient(self.url) as client:
            return client.latest_sms_code(phone) or ""

    def _deposit_code(self, bank: str, account: str) -> str:
        with CenterClient(self.url) as client:
            return client.latest_deposit_code(bank, account) or ""

    def answer(self, prompt: str, shown: str = "") -> str:
        card = re.search(r"보안카드 \[(\d+)\] 앞 2자리 \+ \[(\d+)\] 뒤 2자리", prompt)
        if card:  # the security card registered earlier, read as the person would
            return self._card_answer(int(card.group(1)), int(card.group(2)))
        if "press Enter once the call is done" in prompt:
            # the call the command announced, answered on the demo phone as it says
            calls = re.findall(r"\(demo: certcenter sim ars (\S+) (\d+)\)", shown)
            assert calls, f"no ARS call announced before: {prompt!r}"
            phone, digits = calls[-1]
            with CenterClient(self.url) as client:
                client.call("POST", f"/sim/ars/{phone}/answer", {"keyed": digits})
            return ""
        for pattern, value in self.answers:
            if re.search(pattern, prompt):
                return value()
        raise AssertionError(f"the README does not say what to answer to: {prompt!r}")

    def _card_answer(self, first: int, second: int) -> str:
        with CenterClient(self.url) as client:
            slots = list(client.call("GET", f"/sim/cards/{PERSON}")["slots"])
        return answer_for(slots, first, second)


def register_joint_certificate(url: str) -> tuple[str, str]:
    """The bank's registration of C001's joint certificate (banking use), as the README's prose
    describes it: identity, the security card registered earlier, an SMS code. Returns the
    reference number and the authorization code."""
    me = scripted_answers(PERSON)
    base = "/v1/joint/registrations"
    with httpx.Client(base_url=url, timeout=30) as http:

        def call(method: str, path: str, body: dict[str, object] | None = None) -> dict:  # type: ignore[type-arg]
            answer = http.request(method, path, json=body)
            assert answer.status_code < 400, f"{path}: {answer.text}"
            result: dict = answer.json()  # type: ignore[type-arg]
            return result

        terms = call("GET", f"{base}/terms")
        started = call("POST", base, {"kind": "banking", "accepted": terms["required"]})
        http.headers["Authorization"] = f"Bearer {started['token']}"
        path = f"{base}/{started['registration_id']}"
        rrn = me.id_fields["rrn"]
        call("POST", f"{path}/identify", {"user_id": "c001user", "rrn": f"{rrn[:6]}-{rrn[6:]}"})
        asked = call("POST", f"{path}/medium", {"medium": "security_card"})
        question = asked["detail"]["security_card"]
        slots = list(call("GET", f"/sim/cards/{PERSON}")["slots"])
        answer = answer_for(slots, question["slot_a"], question["slot_b"])
        call(
            "POST",
            f"{path}/medium/verify",
            {"card_challenge_id": question["challenge_id"], "card_answer": answer},
        )
        call("POST", f"{path}/code")
        with CenterClient(url) as client:
            code = client.latest_sms_code(me.phone or "")
        call("POST", f"{path}/code/verify", {"code": code})
        done = call("POST", f"{path}/register", {})
    return str(done["detail"]["reference"]), str(done["detail"]["authorization_code"])


def run_command(command: str, folder: Path, env: dict[str, str], reader: Reader) -> tuple[int, str]:
    """Run one command in bash, answering its prompts; its exit status and what it printed."""
    process = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=folder,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # no terminal: a hidden prompt reads standard input
    )
    assert process.stdin is not None and process.stdout is not None
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    shown, answered_at = "", 0
    deadline = time.monotonic() + COMMAND_SECONDS
    fd = process.stdout.fileno()
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(f"no end after {COMMAND_SECONDS:.0f} s: {command}\n{shown}")
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            shown += decoder.decode(chunk)
            tail = shown[answered_at:].rsplit("\n", 1)[-1]
            if tail.rstrip().endswith(":") and shown.endswith(" "):
                reply = reader.answer(tail, shown)
                shown += "\n" if not shown.endswith("\n") else ""
                answered_at = len(shown)
                process.stdin.write(f"{reply}\n".encode())
                process.stdin.flush()
        shown += decoder.decode(b"", final=True)
        return process.wait(timeout=30), shown
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        with contextlib.suppress(OSError):
            process.stdin.close()
        process.stdout.close()


def walk(folder: Path, say: Callable[[str], None] = print) -> list[str]:
    """Walk the README in ``folder`` (empty: a fresh data directory); returns the commands
    run. Raises AssertionError at the first command that fails."""
    home = folder / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = _clean_environment(home)
    ran: list[str] = []
    began = time.monotonic()
    with running_center(folder, env) as url:
        say(f"(server up after {time.monotonic() - began:.1f} s)")
        env["CERTCENTER_URL"] = url  # the README's way to a center on another port
        reader = Reader(url)
        for block in shell_blocks(README.read_text("utf-8")):
            for command in block:
                if command.startswith(SKIPPED):
                    continue
                command = command.replace(EXAMPLE_URL, url)
                if EXAMPLE_JOINT_REFERENCE in command:
                    if reader.joint_reference is None:
                        reader.joint_reference, reader.joint_code = register_joint_certificate(url)
                    command = command.replace(EXAMPLE_JOINT_REFERENCE, reader.joint_reference)
                say(f"$ {command}")
                began = time.monotonic()
                status, output = run_command(command, folder, env, reader)
                say(f"{output.rstrip()}\n({time.monotonic() - began:.1f} s)")
                if status != 0 or "Traceback" in output:
                    raise AssertionError(f"README command failed ({status}): {command}\n{output}")
                ran.append(command)
    return ran


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="readme-walk-") as where:
        commands = walk(Path(where))
    print(f"README walked: {len(commands)} commands")
