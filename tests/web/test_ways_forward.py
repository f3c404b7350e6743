"""Every refusal leaves a way forward on the page: the medium step of a customer who holds no
additional medium says how to get one (and offers no choice that can only be refused); a
page that needs a login links the login, back to that page; the last PIN try before the
lock names the online reset (tests/web/test_financial_pages.py, with the locked page that
keeps no PIN field)."""

from __future__ import annotations

import re

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from tests.web.financial_support import FinancialWeb, error_code
from tests.web.support import WebClient, main_text


def test_a_customer_without_a_medium_is_told_how_to_get_one(
    web: WebClient, web_center: Center
) -> None:
    browser = FinancialWeb(web, web_center)
    browser.start_issue("C002")  # 신한은행 account only: nothing to verify with here
    browser.follow(browser.identify("C002"))
    page = browser.through_ars("C002")
    assert str(page.url).endswith("/issue/medium")
    assert error_code(page.text) == "MEDIUM_NONE_HELD"
    minutes = web_center.settings.policy.financial_enrollment_ttl_minutes
    told = CertCenterError("MEDIUM_NONE_HELD", minutes=minutes)
    assert told.remedy("ko") in main_text(page.text) and f"{minutes}분" in main_text(page.text)
    assert 'name="medium"' not in page.text  # no choice that could only be refused
    # choosing one anyway (an old page): the account is refused for its real reason
    refused = browser.submit("/issue/medium", medium="account")
    assert error_code(refused.text) == "MEDIUM_ACCOUNT_NOT_HERE"


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
