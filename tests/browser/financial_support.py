"""Helpers for the financial-certificate browser tests: the demo world's people, their SMS
inbox read in a tab like a person would, a certificate issued over the API (as another
browser would have done), and a browser registered by SMS and the account password, then
logged in with the PIN.

    issue_over_api(server.url, "C007")                  # the certificate exists, no browser yet
    register_and_log_in(page, server.url, "C007")       # this browser: SMS, account, then PIN
    code = sms_code(page.context, server.url, phone, "기기 등록")
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import BrowserContext, Page, expect

from certcenter.simulators.world import load_world
from tests.browser.harness import assert_accessible
from tests.financial_issuance.support import OPENED
from tests.financial_issuance.support import Browser as ApiBrowser

WORLD = load_world()
PIN = "480213"
ACCOUNT_PASSWORD = "2580"  # every demo account's password


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    phone: str
    birth: str  # YYYY-MM-DD
    user_id: str
    rrn_front: str
    rrn_back: str
    account: str  # the first account at this bank: the additional medium


def person(key: str) -> Person:
    found = WORLD.people[key]
    digits = found.rrn.digits
    return Person(
        key=key,
        name=found.name,
        phone=str((found.phone or {})["number"]),
        birth=found.rrn.birth_date.isoformat(),
        user_id=str((found.customer or {}).get("user_id") or ""),
        rrn_front=digits[:6],
        rrn_back=digits[6:],
        account=next((str(a["number"]) for a in found.accounts if a["bank"] == "004"), ""),
    )


def issue_over_api(url: str, key: str) -> str:
    """Issue ``key``'s financial certificate through the API (ARS + account), the device key
    held by Python: this test's browsers are not registered by it. The serial."""
    api = ApiBrowser(url, key)
    try:
        api.start()
        api.identify()
        api.proven_by_ars()
        api.by_account()
        done = api.finish()  # name, phone, birth date; the SMS code; the PIN (480213)
        return str(done["detail"]["serial"])
    finally:
        api.client.close()
        OPENED.remove(api.client)


def inbox_texts(context: BrowserContext, url: str, phone: str) -> list[str]:
    """The SMS bodies of the demo phone, newest first, read on its inbox page in a new tab."""
    tab = context.new_page()
    try:
        tab.goto(f"{url}/demo/phones/{phone}")
        inbox = tab.locator("section", has=tab.locator("#inbox-title"))
        return [text.strip() for text in inbox.locator(".message-body").all_inner_texts()]
    finally:
        tab.close()


def sms_code(context: BrowserContext, url: str, phone: str, marker: str) -> str:
    """The code of the newest SMS that mentions ``marker`` (e.g. "기기 등록")."""
    for body in inbox_texts(context, url, phone):
        found = re.search(r"\[(\d{6})\]", body)
        if marker in body and found:
            return found.group(1)
    raise AssertionError(f"no SMS with {marker!r} on {phone}")


def register_and_log_in(
    page: Page, url: str, key: str, pin: str = PIN, *, check: bool = False
) -> None:
    """This browser has no device key: /login → register (name, phone, birth) → SMS code →
    the account and its password (the code alone is not enough) → PIN → logged in.
    ``check``: axe-core on each page on the way."""

    def accessible(where: str) -> None:
        if check:
            assert_accessible(page, where)

    who = person(key)
    page.goto(url + "/login")
    page.get_by_role("button", name="금융인증서로 로그인").click()
    expect(page).to_have_url(url + "/login/register")
    expect(page.locator(".flash")).to_contain_text("아직 금융인증서 이용 기기가 아닙니다")
    accessible("/login/register")
    page.get_by_label("이름").fill(who.name)
    page.get_by_label("휴대폰 번호").fill(who.phone)
    page.get_by_label("생년월일").fill(who.birth.replace("-", ""))
    page.get_by_role("button", name="인증번호 받기").click()
    expect(page).to_have_url(url + "/login/register/code")
    accessible("/login/register/code")
    code = sms_code(page.context, url, who.phone, "기기 등록")
    page.get_by_label("인증번호", exact=True).fill(code)
    page.get_by_role("button", name="다음").click()
    expect(page).to_have_url(url + "/login/register/medium")
    accessible("/login/register/medium")
    pass_medium(page, who)
    expect(page).to_have_url(url + "/login/pin")
    expect(page.locator(".flash")).to_contain_text("이용 기기로 등록했습니다")
    accessible("/login/pin")
    log_in_with_pin(page, url, who, pin)


def pass_medium(page: Page, who: Person) -> None:
    """추가 인증 by the withdrawal account and its password."""
    page.get_by_label("출금계좌 인증").check()
    page.get_by_role("button", name="선택", exact=True).click()
    expect(page.locator(".fin-accounts")).to_contain_text(who.account[:4] + "*" * 7)
    page.get_by_label("계좌번호", exact=True).fill(who.account)
    page.get_by_label("계좌 비밀번호", exact=True).fill(ACCOUNT_PASSWORD)
    page.get_by_role("button", name="다음").click()


def log_in_with_pin(page: Page, url: str, who: Person, pin: str = PIN) -> None:
    page.get_by_label("비밀번호 (숫자 6자리)").fill(pin)
    page.get_by_role("button", name="로그인", exact=True).click()
    expect(page.locator("[data-signed-in]")).to_have_text(f"{who.name}님, 로그인되었습니다")


def has_device_key(page: Page) -> bool:
    """Does this browser profile hold the device key (in IndexedDB, as device-key.js keeps
    it)? Asked through the page's script, once it has run (scripts are deferred)."""
    page.wait_for_function("() => window.certcenterDevice !== undefined")
    return bool(page.evaluate("() => window.certcenterDevice.load().then(r => r !== null)"))
