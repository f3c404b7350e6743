"""The joint certificate renewed and revoked in a real Chromium against the real server
process, from its .pfx file: issued on /joint/issue, the renewal refused on /joint/renew
while the certificate is not in its last days (JOINT_RENEWAL_TOO_EARLY with the date it
opens); a certificate in its last days (issued by the same center with a 20-day validity)
renewed there — a new WebCrypto key, a CMP kur signed with the old key, the new .pfx
downloaded, which ``openssl verify -x509_strict`` accepts under the center's chain —, then
revoked on /joint/revoke with a signed rr: the center's OCSP responder says revoked
(``openssl ocsp``), and a second revocation is CERTIFICATE_ALREADY_REVOKED."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from playwright.sync_api import Page, expect

from certcenter.bootstrap import Center, build_center
from certcenter.errors.catalog import catalog
from certcenter.npki.pkcs12 import export_pfx
from tests.browser.harness import CenterServer, assert_accessible
from tests.browser.test_joint_issue import PASSWORD, fill_issue, openssl, register
from tests.joint.support import Registrant, enroll, rsa_key

NEW_PASSWORD = "renewed-Joint#27"


@pytest.fixture(scope="module")
def center(server: CenterServer) -> Iterator[Center]:
    built = build_center(server.settings())
    yield built
    built.close()


@pytest.fixture(scope="module")
def last_days_center(server: CenterServer) -> Iterator[Center]:
    """The server's center, issuing joint certificates valid 20 days: one in its last days."""
    settings = server.settings()
    policy = settings.policy.model_copy(update={"joint_certificate_validity_days": 20})
    built = build_center(settings.model_copy(update={"policy": policy}))
    yield built
    built.close()


def open_file(page: Page, pfx: Path, password: str) -> None:
    page.locator("#joint-file").set_input_files(pfx)
    page.locator("#joint-password").fill(password)


def renew(page: Page, url: str, pfx: Path, password: str) -> None:
    page.goto(url + "/joint/renew")
    open_file(page, pfx, password)
    page.locator("#joint-new-password").fill(NEW_PASSWORD)
    page.locator("#joint-new-password-again").fill(NEW_PASSWORD)


def test_issue_renew_and_revoke_in_the_browser(
    page: Page,
    server_url: str,
    center: Center,
    last_days_center: Center,
    tmp_path: Path,
) -> None:
    # issued in this browser: a year left, so not renewable yet
    _, code = register(page, server_url, center, "C009", "banking")
    fill_issue(page, code, PASSWORD)
    with page.expect_download() as downloading:
        page.get_by_role("button", name="발급하고 파일로 저장").click()
    issued = tmp_path / "issued.pfx"
    downloading.value.save_as(issued)
    renew(page, server_url, issued, PASSWORD)
    page.locator("[data-manage-button]").click()
    error = page.locator("[data-manage-error]")
    expect(error).to_contain_text(catalog()["JOINT_RENEWAL_TOO_EARLY"].message_ko)
    expect(page.locator("[data-error-code]")).to_have_text("JOINT_RENEWAL_TOO_EARLY")
    expect(error).to_contain_text(f"{center.settings.policy.joint_renewal_window_days}일")
    assert_accessible(page, "/joint/renew refused")

    # a certificate in its last 20 days, in a file the app exported: renewed here
    registered = Registrant(last_days_center, "C013", "banking").all_steps()
    enrolled, tid = enroll(last_days_center, registered, index=3)
    last_days_center.joint_authority.confirm(tid, accepted=True)
    old = tmp_path / "old.pfx"
    old.write_bytes(
        export_pfx(
            enrolled.certificate,
            rsa_key(3),
            PASSWORD,
            random_num=enrolled.vid_random,
            chain=tuple(enrolled.chain),
        )
    )
    renew(page, server_url, old, "not-The#Password1")
    page.locator("[data-manage-button]").click()
    expect(error).to_contain_text(catalog()["PKCS12_PASSWORD_WRONG"].message_ko)
    renew(page, server_url, old, PASSWORD)
    with page.expect_download() as downloading:
        page.locator("[data-manage-button]").click()
    renewed = tmp_path / "renewed.pfx"
    downloading.value.save_as(renewed)
    expect(page.locator("[data-manage-done]")).to_be_visible()
    assert_accessible(page, "/joint/renew done")

    leaf = tmp_path / "renewed.pem"
    got = openssl(
        "pkcs12", "-in", str(renewed), "-passin", f"pass:{NEW_PASSWORD}", "-clcerts", "-nokeys",
        "-out", str(leaf),
    )  # fmt: skip
    assert got.returncode == 0, got.stderr
    ca = center.settings.ca_path
    verified = openssl(
        "verify", "-x509_strict", "-CAfile", str(ca / "root-ca.pem"),
        "-untrusted", str(ca / "joint-ca.pem"), str(leaf),
    )  # fmt: skip
    assert verified.returncode == 0 and f"{leaf}: OK" in verified.stdout, verified.stderr
    certificate = x509.load_pem_x509_certificate(leaf.read_bytes())
    assert certificate.subject == enrolled.certificate.subject
    assert certificate.serial_number != enrolled.certificate.serial_number
    assert certificate.public_key() != rsa_key(3).public_key()
    serial = f"{certificate.serial_number:X}"
    expect(page.locator("[data-done-serial]")).to_have_text(serial)
    with center.uow_factory(read_only=True) as uow:
        record = uow.certificates.get(serial)
        before = uow.certificates.get(f"{enrolled.certificate.serial_number:X}")
    assert record is not None and record.status == "active" and record.family == "joint"
    assert before is not None and before.status != "active"

    # revoked here with the renewed file; the OCSP responder says so
    page.goto(server_url + "/joint/revoke")
    open_file(page, renewed, NEW_PASSWORD)
    page.locator("#joint-reason").select_option("1")  # keyCompromise
    page.locator("#joint-revoke-sure").check()
    assert_accessible(page, "/joint/revoke")
    page.locator("[data-manage-button]").click()
    expect(page.locator("[data-manage-done]")).to_be_visible()
    assert_accessible(page, "/joint/revoke done")
    expect(page.locator("[data-done-serial]")).to_have_text(serial)
    ocsp = openssl(
        "ocsp", "-issuer", str(ca / "joint-ca.pem"), "-cert", str(leaf),
        "-url", f"{server_url}/ocsp", "-CAfile", str(ca / "root-ca.pem"),
        "-verify_other", str(ca / "joint-ca.pem"),
    )  # fmt: skip
    assert f"{leaf}: revoked" in ocsp.stdout, ocsp.stdout + ocsp.stderr
    assert "Response verify OK" in ocsp.stdout + ocsp.stderr
    assert "Reason: keyCompromise" in ocsp.stdout

    # a second time: already revoked
    page.goto(server_url + "/joint/revoke")
    open_file(page, renewed, NEW_PASSWORD)
    page.locator("#joint-revoke-sure").check()
    page.locator("[data-manage-button]").click()
    expect(page.locator("[data-manage-error]")).to_contain_text(
        catalog()["CERTIFICATE_ALREADY_REVOKED"].message_ko
    )
    expect(page.locator("[data-error-code]")).to_have_text("CERTIFICATE_ALREADY_REVOKED")
