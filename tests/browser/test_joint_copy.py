"""인증서 복사 on /joint/copy in a real Chromium against the real server process: a joint
certificate in the app's NPKI folder copied into the browser (the page shows the code, the
app's ``certcenter app joint copy send`` runs as a process with it, the page opens the sealed
folder and saves a .pfx that ``openssl pkcs12`` opens with the new password); a page left
while waiting cancels its relay; then the certificate is copied back from that .pfx to the
app's ``copy receive`` process — a code that is not 16 digits and one with wrong fingerprint
digits first, refused on the page with the catalog's words."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from playwright.sync_api import Page, expect
from sqlalchemy import select

from certcenter.bootstrap import Center, build_center
from certcenter.errors.catalog import catalog
from certcenter.npki import write_folder
from certcenter.npki.folder import CERT_FILE, KEY_FILE
from certcenter.npki.keyfile import read_key_file
from certcenter.storage import tables
from tests.browser.harness import CERTCENTER, CenterServer, assert_accessible
from tests.browser.test_joint_issue import PASSWORD, openssl
from tests.joint.support import Registrant, enroll, rsa_key

NEW_PASSWORD = "copied-Joint#27"


@pytest.fixture(scope="module")
def center(server: CenterServer) -> Iterator[Center]:
    built = build_center(server.settings())
    yield built
    built.close()


def relays(center: Center) -> int:
    with center.engine.connect() as connection:
        return len(connection.execute(select(tables.certificate_copies)).all())


def app(*args: str) -> list[str]:
    return [str(CERTCENTER), "--lang", "en", "app", "joint", "copy", *args]


def test_copy_from_the_app_into_the_browser_and_back(
    page: Page, server_url: str, center: Center, tmp_path: Path
) -> None:
    registered = Registrant(center, "C015", "banking").all_steps()
    enrolled, tid = enroll(center, registered, index=5)
    center.joint_authority.confirm(tid, accepted=True)
    pc = tmp_path / "pc"
    write_folder(pc, enrolled.certificate, rsa_key(5), PASSWORD, random_num=enrolled.vid_random)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    # app -> browser: the page's code typed into the app
    page.goto(server_url + "/joint/copy")
    page.locator("#copy-receive-start").click()
    expect(page.locator("#copy-code")).to_have_text(re.compile(r"^[0-9]{8}-[0-9]{8}$"))
    assert_accessible(page, "/joint/copy with the code")
    code = page.locator("#copy-code").inner_text()
    sent = subprocess.run(
        [*app("send", "--npki", str(pc), "--code", code, "--url", server_url)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stdout + sent.stderr
    expect(page.locator("#copy-holder")).to_contain_text("CN=")
    assert_accessible(page, "/joint/copy received")
    page.locator("#copy-password").fill(PASSWORD)
    page.locator("#copy-new-password").fill(NEW_PASSWORD)
    page.locator("#copy-new-password-again").fill(NEW_PASSWORD)
    with page.expect_download() as downloading:
        page.locator("#copy-open-form button[type=submit]").click()
    copied = tmp_path / "copied.pfx"
    downloading.value.save_as(copied)
    info = openssl("pkcs12", "-info", "-noout", "-in", str(copied), "-passin",
                   f"pass:{NEW_PASSWORD}")  # fmt: skip
    assert info.returncode == 0, info.stderr
    assert "AES-256-CBC" in info.stdout + info.stderr
    key, certificate, _ = pkcs12.load_key_and_certificates(
        copied.read_bytes(), NEW_PASSWORD.encode()
    )
    assert certificate == enrolled.certificate
    assert key is not None and key.public_key() == rsa_key(5).public_key()
    assert relays(center) == 0  # fetched: the relay is gone, payload and all

    # a page left while waiting cancels its relay
    page.goto(server_url + "/joint/copy")
    page.locator("#copy-receive-start").click()
    expect(page.locator("#copy-code")).to_have_text(re.compile(r"^[0-9]{8}-[0-9]{8}$"))
    assert relays(center) == 1
    page.goto(server_url + "/joint/renew")
    deadline = time.monotonic() + 10
    while relays(center) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert relays(center) == 0

    # browser -> app: a wrong code is refused on the page before anything is sent
    phone = tmp_path / "phone"
    receiving = subprocess.Popen(
        app("receive", "--npki", str(phone), "--url", server_url, "--interval", "0.3"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert receiving.stdout is not None
        shown = re.search(r"[0-9]{8}-[0-9]{8}", receiving.stdout.readline())
        assert shown is not None
        relay_id, digits = shown.group(0).split("-")
        wrong = f"{relay_id}-{(int(digits) + 1) % 10**8:08d}"
        page.goto(server_url + "/joint/copy")
        page.locator("#joint-file").set_input_files(copied)
        page.locator("#joint-password").fill(NEW_PASSWORD)
        page.locator("#copy-send-code").fill("1234-5678")
        page.locator("#copy-send-form button[type=submit]").click()
        invalid = catalog()["CERTIFICATE_COPY_CODE_INVALID"]
        expect(page.locator("[data-error-code]")).to_have_text(invalid.code)
        expect(page.locator("[data-manage-error]")).to_contain_text(invalid.message_ko)
        assert_accessible(page, "/joint/copy refused")
        page.locator("#copy-send-code").fill(wrong)
        page.locator("#copy-send-form button[type=submit]").click()
        mismatch = catalog()["CERTIFICATE_COPY_FINGERPRINT_MISMATCH"]
        expect(page.locator("[data-manage-error]")).to_contain_text(mismatch.message_ko)
        expect(page.locator("[data-error-code]")).to_have_text(mismatch.code)
        page.locator("#joint-password").fill(NEW_PASSWORD)
        page.locator("#copy-send-code").fill(shown.group(0))
        page.locator("#copy-send-form button[type=submit]").click()
        expect(page.locator("#copy-sent")).to_be_visible()
        assert_accessible(page, "/joint/copy sent")
        out, err = receiving.communicate(timeout=60)
    finally:
        if receiving.poll() is None:
            receiving.kill()
    assert receiving.returncode == 0, out + err
    (folder,) = [path.parent for path in phone.rglob(CERT_FILE)]
    opened = read_key_file((folder / KEY_FILE).read_bytes(), NEW_PASSWORD)
    assert opened.random_num == enrolled.vid_random
    assert opened.key.public_key() == rsa_key(5).public_key()
