"""인증서 복사 through the real server process, with the app's commands on both devices:
``certcenter app joint copy receive`` shows the code and waits, ``… send`` seals and sends, and
the receiving NPKI folder opens in PyPinkSign with the certificate password."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pypinksign
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from certcenter.npki import KeyFileForm, write_folder
from certcenter.npki.folder import KEY_FILE
from certcenter.pki.vid import vid_other_name
from tests.npki.conftest import PASSWORD, RANDOM, RRN
from tests.server.test_server_process import CERTCENTER, ServerProcess
from tests.support.throwaway_ca import ThrowawayCa

pytestmark = pytest.mark.server


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # PyPinkSign leaves its files open
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_the_app_copies_a_joint_certificate_from_pc_to_phone(tmp_path: Path) -> None:
    ca = ThrowawayCa.make("yessign")
    leaf = ca.issue("홍길동()0012345678901234", vid=vid_other_name("홍길동", RRN, RANDOM))
    pc_root = tmp_path / "pc" / "NPKI"
    pc_folder = write_folder(
        pc_root,
        leaf.certificate,
        leaf.key,
        PASSWORD,
        random_num=RANDOM,
        form=KeyFileForm.SEED_CBC_WITH_SHA1,
    )
    phone_root = tmp_path / "phone" / "NPKI"

    server = ServerProcess(tmp_path)
    server.start()
    receive: subprocess.Popen[str] | None = None
    try:
        env = {**server.env, "CERTCENTER_LANG": "en"}
        receive = subprocess.Popen(
            [
                CERTCENTER,
                "app",
                "joint",
                "copy",
                "receive",
                "--npki",
                str(phone_root),
                "--url",
                server.url,
                "--interval",
                "0.3",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert receive.stdout is not None
        first = receive.stdout.readline()
        match = re.search(r"\b(\d{8}-\d{8})\b", first)
        assert match, first + (receive.stderr.read() if receive.stderr else "")
        code = match.group(1)

        wrong = code[:-1] + str((int(code[-1]) + 1) % 10)  # a mistyped last digit
        refused = subprocess.run(
            [
                CERTCENTER,
                "app",
                "joint",
                "copy",
                "send",
                "--npki",
                str(pc_root),
                "--code",
                wrong,
                "--url",
                server.url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
        assert refused.returncode == 1
        assert "CERTIFICATE_COPY_FINGERPRINT_MISMATCH" in refused.stderr, refused.stderr

        sent = subprocess.run(
            [
                CERTCENTER,
                "app",
                "joint",
                "copy",
                "send",
                "--npki",
                str(pc_root),
                "--code",
                code,
                "--url",
                server.url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        out, err = receive.communicate(timeout=120)
        assert receive.returncode == 0, out + err
        assert "imported" in out and "Traceback" not in out + err

        again = subprocess.run(
            [
                CERTCENTER,
                "app",
                "joint",
                "copy",
                "send",
                "--npki",
                str(pc_root),
                "--code",
                code,
                "--url",
                server.url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )
        assert again.returncode == 1 and "CERTIFICATE_COPY_NOT_FOUND" in again.stderr
    finally:
        if receive is not None and receive.poll() is None:
            receive.kill()
            receive.wait(timeout=10)
        server.stop()

    (folder,) = [p for p in phone_root.glob("*/USER/*") if p.is_dir()]
    assert (folder / KEY_FILE).read_bytes() == (pc_folder / KEY_FILE).read_bytes()
    signer = pypinksign.choose_cert(base_path=str(phone_root), cn="홍길동", pw=PASSWORD.encode())
    signature = signer.sign(b"copied")
    leaf.certificate.public_key().verify(  # type: ignore[call-arg]
        signature, b"copied", padding.PKCS1v15(), hashes.SHA256()
    )
