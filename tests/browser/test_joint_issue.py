"""The joint certificate (공동인증서) in a real Chromium against the real server process: a demo
person registers on /joint (범용, the fee from their account), then /joint/issue makes the
RSA-2048 key with WebCrypto, speaks CMP to /cmp with a MAC keyed by the authorization code,
and downloads a PKCS#12 file. Outside tools judge the file: ``openssl pkcs12 -info`` reads it
without ``-legacy``, ``openssl verify -x509_strict`` accepts the certificate under the
center's chain, its key is the certificate's, and the app's ``certcenter app joint import``
takes it (with the VID's random value inside). A weak password is refused in the page with
nothing sent; wrong authorization codes are counted and lock the reference at 5."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Page, Request, expect

from certcenter.bootstrap import Center, build_center
from certcenter.cli.main import cli
from certcenter.errors.catalog import catalog
from certcenter.joint.kinds import AUTHORIZATION_FACTOR
from certcenter.media.security_card import answer_for
from certcenter.npki.folder import CERT_FILE, list_folders, read_folder
from certcenter.npki.password import weak_reason
from certcenter.npki.pkcs12 import export_pfx
from certcenter.pki.vid import vid_matches
from tests.browser.financial_support import sms_code
from tests.browser.harness import CenterServer, assert_accessible
from tests.joint.support import WORLD, Registrant, enroll, rrn_of, rsa_key
from tests.media.test_security_card import issue_and_register

OPENSSL = "/usr/bin/openssl"
PASSWORD = "web-Joint#2026"
_SLOTS = re.compile(r"(\d+)번의 앞 2자리와 (\d+)번")


@pytest.fixture(scope="module")
def center(server: CenterServer) -> Iterator[Center]:
    """The server's center (its data directory) in this process: security cards, counters."""
    built = build_center(server.settings())
    yield built
    built.close()


def openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [OPENSSL, *args], capture_output=True, text=True, errors="replace", timeout=60, check=False
    )


def register(
    page: Page, url: str, center: Center, key: str, kind: str, *, check: bool = False
) -> tuple[str, str]:
    """/joint from the kind to the reference number and authorization code, as a person
    would go through it (the security card, the SMS in the demo inbox); ``check``: axe-core
    on each page on the way."""

    def accessible(where: str, widths: tuple[int, ...] = ()) -> None:
        if check:
            assert_accessible(page, where, widths=widths)

    person = WORLD.people[key]
    _, _, slots = issue_and_register(center, key)
    page.goto(url + "/joint")
    accessible("/joint", (1280, 390))
    page.locator(f'input[name="kind"][value="{kind}"]').check()
    for box in page.locator('input[name="accepted"]').all():
        box.check()
    page.get_by_role("button", name="동의하고 시작").click()
    expect(page).to_have_url(url + "/joint/identify")
    accessible("/joint/identify")
    digits = person.rrn.digits
    page.locator('input[name="user_id"]').fill(str((person.customer or {})["user_id"]))
    page.locator('input[name="rrn_front"]').fill(digits[:6])
    page.locator('input[name="rrn_back"]').fill(digits[6:])
    page.get_by_role("button", name="다음").click()
    expect(page).to_have_url(url + "/joint/medium")
    page.get_by_role("button", name="선택", exact=True).click()
    question = page.locator(".fin-card-question").inner_text()
    asked = _SLOTS.search(question)
    assert asked, question
    accessible("/joint/medium")
    answer = answer_for(slots, int(asked.group(1)), int(asked.group(2)))
    page.locator('input[name="card_answer"]').fill(answer)
    page.get_by_role("button", name="다음").click()
    expect(page).to_have_url(url + "/joint/code")
    accessible("/joint/code")
    phone = str((person.phone or {})["number"])
    page.locator('input[name="code"]').fill(sms_code(page.context, url, phone, "공동인증서 등록"))
    page.get_by_role("button", name="다음").click()
    expect(page).to_have_url(url + "/joint/register")
    accessible("/joint/register")
    if kind == "general":
        account = person.accounts[0]
        page.locator('select[name="bank_code"]').select_option(str(account["bank"]))
        page.locator('input[name="account_number"]').fill(str(account["number"]))
    page.locator("form[action='/joint/register'] button").click()
    expect(page).to_have_url(url + "/joint/done")
    reference = page.locator("[data-reference]").inner_text()
    code = page.locator("[data-authorization-code]").inner_text()
    assert re.fullmatch(r"\d{10}", reference) and re.fullmatch(r"[A-Z2-9]{16}", code)
    expect(page.locator("#joint-code")).to_have_value(code)  # the issue form, filled in
    accessible("/joint/done", (1280, 390))
    page.wait_for_function("() => window.certcenterJointIssue !== undefined")
    page.reload()
    expect(page.locator("[data-reference]")).to_have_text(reference)
    expect(page.locator("[data-authorization-code]")).to_have_count(0)  # shown once
    expect(page.locator("#joint-code")).to_have_value("")
    page.get_by_role("link", name="다른 때 발급하기").click()
    expect(page).to_have_url(url + "/joint/issue")
    expect(page.locator("#joint-reference")).to_have_value(reference)
    accessible("/joint/issue")
    return reference, code


def fill_issue(page: Page, code: str, password: str, again: str | None = None) -> None:
    page.locator("#joint-code").fill(code)
    page.locator("#joint-password").fill(password)
    page.locator("#joint-password-again").fill(password if again is None else again)


def failures(center: Center, reference: str) -> int:
    with center.uow_factory(read_only=True) as uow:
        row = uow.joint_registrations.by_reference(reference)
        assert row is not None
        counter = uow.factors.get(row.id, AUTHORIZATION_FACTOR)
    return counter.failures if counter is not None else 0


def test_register_issue_in_the_browser_and_outside_tools_read_the_file(
    page: Page, server_url: str, server: CenterServer, center: Center, tmp_path: Path
) -> None:
    reference, code = register(page, server_url, center, "C002", "general", check=True)
    sent: list[str] = []

    def record(request: Request) -> None:
        if request.url.endswith("/cmp"):
            sent.append(request.post_data_buffer.hex() if request.post_data_buffer else "")

    page.on("request", record)
    error = page.locator("[data-issue-error]")

    # a weak password, then a confirmation that differs: refused here, nothing sent
    fill_issue(page, code, "password12")
    page.get_by_role("button", name="발급하고 파일로 저장").click()
    expect(error).to_contain_text(catalog()["NPKI_PASSWORD_TOO_WEAK"].message_ko)
    expect(error).to_contain_text("특수문자가 없음")
    assert_accessible(page, "/joint/issue refused in the page")
    expect(error).to_be_focused()
    fill_issue(page, code, PASSWORD, again=PASSWORD + "x")
    page.get_by_role("button", name="발급하고 파일로 저장").click()
    expect(error).to_contain_text(catalog()["NPKI_PASSWORD_CONFIRMATION_MISMATCH"].message_ko)
    assert sent == []

    # a wrong authorization code: the server's refusal, counted against the reference
    fill_issue(page, "ABCDEFGHJKLMNPQR", PASSWORD)
    page.get_by_role("button", name="발급하고 파일로 저장").click()
    expect(error).to_contain_text(catalog()["CMP_PROTECTION_INVALID"].message_ko)
    assert failures(center, reference) == 1
    assert len(sent) == 1 and code.encode().hex() not in sent[0]  # a MAC, never the code

    # the right one: the certificate, confirmed, saved as a file
    fill_issue(page, code, PASSWORD)
    with page.expect_download() as downloading:
        page.get_by_role("button", name="발급하고 파일로 저장").click()
    pfx = tmp_path / "issued.pfx"
    downloading.value.save_as(pfx)
    expect(page.locator("[data-issue-done]")).to_be_visible()
    assert_accessible(page, "/joint/issue done")
    assert all(code.encode().hex() not in body for body in sent)
    assert downloading.value.suggested_filename.endswith(".pfx")

    # OpenSSL 3 reads it without -legacy: PBES2 / PBKDF2 / AES-256-CBC, MAC SHA-256
    info = openssl("pkcs12", "-info", "-in", str(pfx), "-passin", f"pass:{PASSWORD}", "-noout")
    assert info.returncode == 0, info.stderr
    assert "MAC: sha256" in info.stderr
    assert "Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC" in info.stderr
    assert "PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC" in info.stderr
    wrong = openssl("pkcs12", "-info", "-in", str(pfx), "-passin", "pass:not-It#2026", "-noout")
    assert wrong.returncode != 0

    leaf, key_pem = tmp_path / "leaf.pem", tmp_path / "key.pem"
    got = openssl(
        "pkcs12", "-in", str(pfx), "-passin", f"pass:{PASSWORD}", "-clcerts", "-nokeys",
        "-out", str(leaf),
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    got = openssl(
        "pkcs12", "-in", str(pfx), "-passin", f"pass:{PASSWORD}", "-nocerts", "-noenc",
        "-out", str(key_pem),
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    ca = center.settings.ca_path
    verified = openssl(
        "verify", "-x509_strict", "-CAfile", str(ca / "root-ca.pem"),
        "-untrusted", str(ca / "joint-ca.pem"), str(leaf),
    )  # fmt: skip
    assert verified.returncode == 0 and f"{leaf}: OK" in verified.stdout, verified.stderr

    certificate = x509.load_pem_x509_certificate(leaf.read_bytes())
    key = serialization.load_pem_private_key(key_pem.read_bytes(), None)
    public = certificate.public_key()
    assert isinstance(key, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey)
    assert key.key_size == 2048
    assert key.public_key().public_numbers() == public.public_numbers()
    serial = f"{certificate.serial_number:X}"
    expect(page.locator("[data-issued-serial]")).to_have_text(serial)
    with center.uow_factory(read_only=True) as uow:
        row = uow.joint_registrations.by_reference(reference)
        record = uow.certificates.get(serial)
    assert row is not None and row.state == "confirmed" and row.certificate_serial == serial
    assert record is not None and record.status == "active" and record.family == "joint"

    # the app imports it; the VID's random value came inside the encrypted key
    npki = tmp_path / "NPKI"
    new_password = "npki-Folder#31"
    imported = CliRunner().invoke(
        cli,
        ["--lang", "en", "app", "joint", "import", "--pfx", str(pfx), "--npki", str(npki)],
        input=f"{PASSWORD}\n{new_password}\n{new_password}\n",
    )
    assert imported.exit_code == 0, imported.output
    ((folder, _),) = list(list_folders(npki))
    assert (folder / CERT_FILE).read_bytes() == certificate.public_bytes(serialization.Encoding.DER)
    opened = read_folder(folder, new_password)
    assert opened.key.random_num is not None
    assert vid_matches(certificate, rrn_of("C002"), opened.key.random_num)
    assert not vid_matches(certificate, rrn_of("C001"), opened.key.random_num)

    # the reference worked once
    fill_again = page.goto(server_url + "/joint/issue")
    assert fill_again is not None and fill_again.status == 200
    fill_issue(page, code, PASSWORD)
    page.get_by_role("button", name="발급하고 파일로 저장").click()
    expect(error).to_contain_text(catalog()["JOINT_REFERENCE_USED"].message_ko)


def test_wrong_codes_lock_the_reference_at_five(
    page: Page, server_url: str, center: Center
) -> None:
    reference, code = register(page, server_url, center, "C005", "banking")
    error = page.locator("[data-issue-error]")
    button = page.get_by_role("button", name="발급하고 파일로 저장")
    limit = center.settings.policy.joint_authorization_max_failures
    assert limit == 5
    for tried in range(1, limit + 1):
        wrong = "".join(sorted(code))[::-1] if tried % 2 else "Z" * 16
        fill_issue(page, wrong if wrong != code else "Y" * 16, PASSWORD)
        button.click()
        expect(error).to_contain_text(catalog()["CMP_PROTECTION_INVALID"].message_ko)
        expect(button).to_be_enabled()
        assert failures(center, reference) == tried
    fill_issue(page, code, PASSWORD)  # the right code, too late
    button.click()
    expect(error).to_contain_text(catalog()["JOINT_REFERENCE_LOCKED"].message_ko)
    expect(page.locator("[data-error-code]")).to_have_text("JOINT_REFERENCE_LOCKED")
    with center.uow_factory(read_only=True) as uow:
        row = uow.joint_registrations.by_reference(reference)
    assert row is not None and row.state == "registered" and row.certificate_serial is None


RULE_OF_THE_PAGE = """(p) => {
  const form = document.querySelector("form[data-joint-issue]");
  return window.certcenterJointIssue.weakReason(
    p, Number(form.dataset.minLength), Number(form.dataset.maxLength));
}"""
SAMPLES = [
    "",
    "short#1a",
    "password12",
    "PASSWORD#!",
    "pass word#12",
    "비밀번호abc#123",
    "abc#1234567",
    "aaab#12345678",
    "kb-Joint#2026",
    "x" * 60 + "#1",
    "Z9!" * 4,
    "Z9!Z9!Z9!z",
]


def test_the_pages_password_rule_is_the_centers(page: Page, server_url: str) -> None:
    page.goto(server_url + "/joint/issue")
    page.wait_for_function("() => window.certcenterJointIssue !== undefined")
    for sample in SAMPLES:
        found = page.evaluate(RULE_OF_THE_PAGE, sample)
        expected = weak_reason(sample)
        assert found == (expected.rsplit(".", 1)[1] if expected else None), sample


def test_log_in_with_a_pfx_the_app_exported(
    page: Page, server_url: str, center: Center, tmp_path: Path
) -> None:
    """/login/joint opens a .pfx written by the center's app (cryptography's PKCS#12 with
    the key bag encrypted again) with the password in the browser and signs the challenge."""
    registered = Registrant(center, "C018", "banking").all_steps()
    enrolled, tid = enroll(center, registered)
    center.joint_authority.confirm(tid, accepted=True)
    pfx = tmp_path / "exported.pfx"
    pfx.write_bytes(
        export_pfx(
            enrolled.certificate,
            rsa_key(0),
            PASSWORD,
            random_num=enrolled.vid_random,
            chain=tuple(enrolled.chain),
        )
    )
    challenges: list[str] = []
    page.on(
        "request",
        lambda request: challenges.append(request.url) if "/challenge" in request.url else None,
    )
    page.goto(server_url + "/login")
    page.get_by_role("link", name="공동인증서로 로그인").click()
    expect(page).to_have_url(server_url + "/login/joint")
    assert_accessible(page, "/login/joint")
    page.locator("#joint-file").set_input_files(pfx)
    page.locator("#joint-password").fill("not-The#Password1")
    page.locator("[data-login-button]").click()
    error = page.locator("[data-login-error]")
    expect(error).to_contain_text(catalog()["PKCS12_PASSWORD_WRONG"].message_ko)
    assert_accessible(page, "/login/joint refused")
    assert challenges == []  # the file did not open: nothing was asked or sent

    page.locator("#joint-password").fill(PASSWORD)
    page.locator("[data-login-button]").click()
    expect(page).to_have_url(server_url + "/login")
    name = WORLD.people["C018"].name
    expect(page.locator("[data-signed-in]")).to_have_text(f"{name}님, 로그인되었습니다")
    expect(page.locator("main")).to_contain_text("공동인증서로 로그인했습니다")
    serial = f"{enrolled.certificate.serial_number:X}"
    with center.uow_factory(read_only=True) as uow:
        record = uow.certificates.get(serial)
    assert record is not None and record.last_used_at is not None
