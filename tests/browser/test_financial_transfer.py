"""A transfer signed in a real browser with the financial certificate, and its evidence.

C012 logs in with the financial certificate (this browser registered by SMS), fills in the
transfer form, and sees on the confirmation page the payee the bank looked up, the amount
with separators, both accounts and the exact text to be signed; 3,000,000 KRW needs the
account password besides the PIN. A wrong PIN is refused and the customer stays on the
confirmation; then the browser's device key and the PIN let the center sign remotely. The
evidence downloaded from the done page verifies with ``openssl cms -verify`` against the root,
and the signed text is exactly the one shown, with exactly the amount and payee shown. The
done page's 이체확인증 shows the same transfer with both accounts masked and the serial of the
certificate that signed, prints without the site's frame; the footer leads to 도움말 and the
terms in full (each page checked by axe-core).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from certcenter.errors import CertCenterError
from tests.browser.financial_support import (
    ACCOUNT_PASSWORD,
    PIN,
    issue_over_api,
    register_and_log_in,
)
from tests.browser.harness import CenterServer, assert_accessible

pytestmark = pytest.mark.browser

PAYEE_BANK, PAYEE_ACCOUNT = "088", "110000000002"  # 이서연's account at 신한은행


def test_a_transfer_signed_in_the_browser_verifies_with_openssl(
    page: Page, server: CenterServer, tmp_path: Path
) -> None:
    url = server.url
    serial = issue_over_api(url, "C012")
    register_and_log_in(page, url, "C012")

    page.get_by_role("link", name="이체하기").click()
    expect(page).to_have_url(url + "/transfer")
    assert_accessible(page, "/transfer", widths=(1280, 390))
    page.get_by_label("출금 계좌").select_option("004:12340100000012")
    page.get_by_label("받는 은행").select_option(PAYEE_BANK)
    page.get_by_label("받는 계좌번호").fill(PAYEE_ACCOUNT)
    page.get_by_label("보낼 금액 (원)").fill("3000000")
    page.get_by_label("받는 분 통장 표시 (선택)").fill("중고거래")
    page.get_by_role("button", name="받는 분 확인").click()

    # the confirmation: what will be signed, before anything is asked
    expect(page.locator(".steps-position")).to_have_text("전체 3단계 중 2단계")
    shown_payee = page.locator("[data-payee]").inner_text().strip()
    shown_amount = page.locator("[data-amount]").inner_text().strip()
    # the text signed, English keys and all, waits behind 자세히
    expect(page.locator("[data-document]")).to_be_hidden()
    page.get_by_text("자세히: 서명하는 원문 그대로").click()
    shown_document = page.locator("[data-document]").inner_text()
    assert shown_payee == "이서연"
    assert shown_amount == "3,000,000원"
    expect(page.locator("[data-to]")).to_have_text(f"신한은행 {PAYEE_ACCOUNT}")
    expect(page.locator("[data-from]")).to_have_text("KB국민은행 12340100000012")
    expect(page.locator(".fin-review")).to_contain_text("계좌 비밀번호 + 금융인증서 비밀번호")
    assert_accessible(page, "/transfer/confirm")
    assert f"payee: {shown_payee}\n" in shown_document
    assert "amount: 3,000,000원 (KRW)\n" in shown_document

    # a wrong PIN: refused with the catalog's words, still on the confirmation
    page.get_by_label("계좌 비밀번호", exact=True).fill(ACCOUNT_PASSWORD)
    page.get_by_label("비밀번호 (숫자 6자리)").fill("000000")
    page.get_by_role("button", name="서명하고 이체").click()
    refusal = CertCenterError("FINANCIAL_AUTH_FAILED", tries_left=4)
    expect(page.locator(".error-box .error-message")).to_have_text(refusal.message("ko"))
    expect(page.locator(".error-box .error-remedy")).to_have_text(refusal.remedy("ko"))
    expect(page.locator("[data-payee]")).to_have_text(shown_payee)
    assert page.locator("[data-document]").text_content() == shown_document  # the same transfer
    assert_accessible(page, "/transfer/confirm refused")

    # the remedy: the right PIN; the center signs, the money moves
    page.get_by_label("계좌 비밀번호", exact=True).fill(ACCOUNT_PASSWORD)
    page.get_by_label("비밀번호 (숫자 6자리)").fill(PIN)
    page.get_by_role("button", name="서명하고 이체").click()
    # the center signs, time-stamps and asks the bank: on a busy machine that can take a while
    expect(page.locator("#step-title")).to_have_text("이체가 완료되었습니다", timeout=30_000)
    expect(page.locator("[data-payee]")).to_have_text(shown_payee)
    expect(page.locator("[data-amount]")).to_have_text(shown_amount)
    transfer_id = page.locator("[data-transfer-id]").inner_text().strip()
    assert_accessible(page, "/transfer/done")
    assert f"transfer-id: {transfer_id}\n" in shown_document

    expect(page.locator("[data-evidence]")).to_be_hidden()  # the file and openssl: 자세히
    page.get_by_text("자세히: 서명된 이체 내역 파일과 검증 방법").click()
    with page.expect_download() as download:
        page.locator("[data-evidence]").click()
    assert download.value.suggested_filename == f"transfer-{transfer_id}.p7m"
    p7m = tmp_path / "transfer.p7m"
    download.value.save_as(p7m)

    root = server.settings().ca_path / "root-ca.pem"
    verified = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root)],
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert verified.returncode == 0, verified.stderr
    assert b"Verification successful" in verified.stderr
    signed = verified.stdout.decode("utf-8")
    assert signed == shown_document  # exactly the text on the confirmation page
    lines = signed.splitlines()
    assert f"payee: {shown_payee}" in lines
    assert f"amount: {shown_amount} (KRW)" in lines and "amount-krw: 3000000" in lines
    assert f"to: {PAYEE_BANK} 신한은행 {PAYEE_ACCOUNT}" in lines
    assert f"certificate: {serial}" in lines  # signed with C012's financial certificate

    # 이체확인증 from the done page: the same transfer, accounts masked, the signing certificate
    page.locator("[data-receipt-link]").click()
    expect(page.locator("#receipt-title")).to_have_text("이체확인증")
    expect(page.locator("[data-amount]")).to_have_text(shown_amount)
    expect(page.locator("[data-payee]")).to_have_text(shown_payee)
    expect(page.locator("[data-to]")).to_have_text("신한은행 110*****0002")
    expect(page.locator("[data-from]")).to_have_text("KB국민은행 123*******0012")
    expect(page.locator("[data-certificate]")).to_contain_text(serial)
    expect(page.get_by_role("button", name="인쇄하기")).to_be_visible()  # shown by the script
    assert_accessible(page, "/transfer/receipt", widths=(1280, 390))
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.get_by_role("button", name="인쇄하기")).to_be_hidden()
    expect(page.locator(".receipt")).to_be_visible()
    page.emulate_media(media="screen")

    # 도움말 from the footer, and the terms in full
    page.locator(".site-footer").get_by_role("link", name="자주 묻는 질문").click()
    expect(page).to_have_url(url + "/help")
    assert_accessible(page, "/help", widths=(1280, 390))
    page.get_by_role("link", name="약관 전문 보기").click()
    expect(page).to_have_url(url + "/help/terms")
    assert_accessible(page, "/help/terms")
