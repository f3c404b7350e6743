"""Every refusal leaves a way forward on the page: the medium step of a customer who holds no
additional medium of this bank offers the ID document (and no choice that can only be
refused); a
page that needs a login links the login, back to that page; the last PIN try before the
lock names the online reset (tests/web/test_financial_pages.py, with the locked page that
keeps no PIN field)."""

from __future__ import annotations

import re

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from tests.web.financial_support import FinancialWeb, error_code
from tests.web.support import WebClient, main_text


def test_a_customer_without_a_medium_is_offered_the_id_document(
    web: WebClient, web_center: Center
) -> None:
    browser = FinancialWeb(web, web_center)
    browser.start_issue("C002")  # 신한은행 account only: no medium of this bank to verify with
    browser.follow(browser.identify("C002"))
    page = browser.through_ars("C002")
    assert str(page.url).endswith("/issue/medium")
    # the shipped checks (policy.real_name_checks) offer the ID document to everyone; a policy
    # without it leaves such a customer MEDIUM_NONE_HELD, which says how to get a medium
    assert error_code(page.text) is None, main_text(page.text)
    assert re.findall(r'name="medium" value="([a-z_]+)"', page.text) == ["id_document"]
    # choosing another one anyway (an old page): the account is refused for its real reason
    refused = browser.submit("/issue/medium", medium="account")
    assert error_code(refused.text) == "MEDIUM_ACCOUNT_NOT_HERE"
    told = CertCenterError("MEDIUM_ACCOUNT_NOT_HERE")
    assert told.remedy("ko") in main_text(refused.text)


def test_a_page_that_needs_a_login_links_the_login(web: WebClient) -> None:
    page = web.get("/my")
    assert page.status_code == 401 and error_code(page.text) == "WEB_LOGIN_REQUIRED"
    login = re.search(
        r'<a class="button button-primary" href="([^"]+)" data-login-link>', page.text
    )
    assert login and login.group(1) == "/login?next=/my"
    assert "로그인" in main_text(page.text)
    # the login page keeps where to go back to
    assert web.get(login.group(1)).status_code == 200
    english = web.get("/lang/en?next=/my")
    assert "Log in" in main_text(web.follow(english).text)
