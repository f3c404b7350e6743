"""도움말 and 이체확인증 in the in-process app (a demo center per module on SQLite, its own key
directory): every FAQ answer leads to a page that exists, to the anchor it names; the terms
/help/terms shows are word for word the ones the terms steps of /issue and /joint show; the
answers and the footer say this center's own numbers; a completed transfer's receipt shows
its facts and its signature's, and is refused for another customer's transfer, one not
completed, and without a login."""

from __future__ import annotations

import hashlib
import html
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from certcenter.bootstrap import Center, build_center, initialise
from certcenter.clock import FrozenClock
from certcenter.config import load_settings
from certcenter.errors import Locale
from certcenter.errors.catalog import text
from certcenter.server import create_app
from certcenter.web.pages.help import QUESTIONS
from certcenter.web.pages.transfer import masked_account
from certcenter.web.rendering import kst
from certcenter.web.terms import flows_of
from tests.conftest import START, make_settings
from tests.financial.support import PIN
from tests.support.policy import SHARED_CENTER_POLICY
from tests.web.financial_support import SAVINGS, attribute, error_code
from tests.web.signin import LoggedIn, csrf, device_message, install_test_login, log_in
from tests.web.support import WebClient, main_text

PAYEE_BANK, PAYEE_ACCOUNT = "088", "110000000002"  # 이서연 at 신한은행
_TERMS = re.compile(r'<div class="terms-text" data-terms="([a-z_]+)">(.*?)</div>', re.S)


@pytest.fixture(scope="module")
def help_center(tmp_path_factory: pytest.TempPathFactory, pki_dir: Path) -> Iterator[Center]:
    base = tmp_path_factory.mktemp("web-help")
    shutil.copytree(pki_dir / "keys", base / "keys")  # the cloud keys made here stay here
    settings = make_settings(
        base, pki_dir, None, key_dir=base / "keys", policy=SHARED_CENTER_POLICY
    )
    clock = FrozenClock(START)
    initialise(settings, clock)
    center = build_center(settings, clock)
    yield center
    center.close()


@pytest.fixture(scope="module")
def help_app(help_center: Center) -> FastAPI:
    app = create_app(help_center)
    install_test_login(app)
    return app


@pytest.fixture
def web(help_app: FastAPI) -> Iterator[WebClient]:
    with WebClient(help_app) as client:
        yield client


def in_english(web: WebClient, path: str) -> None:
    web.get(f"/lang/en?next={path}")


def terms_shown(page: str) -> dict[str, str]:
    """Each term's full text on a page, by term: its words, tags removed, spaces folded."""
    return {
        name: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
        for name, body in _TERMS.findall(page)
    }


# ---------------------------------------------------------------- /help


def test_every_answer_leads_to_a_page_that_exists(help_center: Center, help_app: FastAPI) -> None:
    with WebClient(help_app) as web:
        log_in(web, help_center, "C012")  # some pages are the logged-in customer's
        page = web.get("/help")
        assert page.status_code == 200
        links = dict(
            re.findall(r'data-faq="([a-z_]+)".*?<a href="([^"]+)" data-faq-link', page.text, re.S)
        )
        assert links == {q.key: q.href for q in QUESTIONS}
        assert len(links) >= 15
        for question in QUESTIONS:
            path, _, anchor = question.href.partition("#")
            target = web.get(path)
            assert target.status_code == 200, (question.key, path, target.status_code)
            if anchor:
                assert f'id="{anchor}"' in target.text, (question.key, question.href)
            assert f'id="{question.anchor}"' in page.text  # the entry's own anchor


def test_the_pages_where_customers_get_stuck_link_to_their_answer(web: WebClient) -> None:
    page = web.get("/help").text
    for anchor in ("sms-not-arriving", "pin-locked", "uses", "security"):
        assert f'id="{anchor}"' in page
    templates = Path(__file__).resolve().parents[2] / "src" / "certcenter" / "web" / "templates"
    # every SMS-code page gives the code step through ui.code_entry, whose body links the answer
    macros = (templates / "macros.html").read_text("utf-8")
    code_entry = macros[macros.index("{% macro code_entry(") :]
    code_entry = code_entry[: code_entry.index("{%- endmacro %}")]
    assert 'href="/help#sms-not-arriving"' in code_entry
    for code_page in (
        "financial/issue_code.html",
        "login/register_code.html",
        "login/pin_reset_code.html",
        "joint/code.html",
        "banking/join_code.html",
        "banking/find_id_code.html",
    ):
        assert "ui.code_entry(" in (templates / code_page).read_text("utf-8"), code_page
    assert 'href="/help#pin-locked"' in (templates / "login/pin_form.html").read_text("utf-8")
    home = web.get("/").text
    assert '<a href="/help">' in home  # the menu and the footer


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_answers_and_footer_say_this_centers_numbers(
    web: WebClient, help_center: Center, locale: Locale
) -> None:
    if locale == "en":
        in_english(web, "/help")
    page = web.get("/help")
    words = main_text(page.text)
    settings = help_center.settings
    policy = settings.policy
    assert policy.sms_sender_number in words
    assert str(policy.sms_code_ttl_seconds) in words
    assert f"{policy.joint_general_fee_krw:,}" in words
    assert text("help.faq.pin_locked.q", locale) in words
    assert text("help.security.card", locale) in words
    assert text("help.uses.financial_where", locale) in words
    footer = page.text[page.text.index("<footer") :]
    assert f"data-customer-center>{settings.customer_center_phone}</a>" in footer
    assert 'href="/help/terms"' in footer


def test_the_customer_centres_number_is_a_setting() -> None:
    assert load_settings(environ={}).customer_center_phone == "1588-9999"
    chosen = load_settings(environ={"CERTCENTER_CUSTOMER_CENTER_PHONE": "1599-0000"})
    assert chosen.customer_center_phone == "1599-0000"


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_the_terms_at_help_are_the_text_the_terms_steps_show(
    web: WebClient, help_center: Center, locale: Locale
) -> None:
    if locale == "en":
        in_english(web, "/help/terms")
    published = terms_shown(web.get("/help/terms").text)
    asked = flows_of(help_center.settings.policy)
    assert set(published) == {name for names in asked.values() for name in names}
    for flow_page, flow in (("/issue", "financial"), ("/joint", "joint")):
        shown = terms_shown(web.get(flow_page).text)
        assert list(shown) == asked[flow], flow_page
        for name, words in shown.items():
            assert words == published[name], (flow_page, name)
            assert len(words) > 150, name  # the whole text, not a title
    if locale == "ko":
        assert "제1조 (목적)" in published["financial_certificate"]


# ---------------------------------------------------------------- 이체확인증


def transfer(web: WebClient, amount: int) -> tuple[str, httpx.Response]:
    """A transfer from C001's savings to 이서연 prepared on the pages: its id (pending) and
    its confirmation page."""
    web.get("/transfer")
    confirm = web.post(
        "/transfer",
        data={
            "csrf_token": csrf(web),
            "from_account": SAVINGS,
            "to_bank": PAYEE_BANK,
            "to_account": PAYEE_ACCOUNT,
            "amount": str(amount),
            "memo": "월세",
        },
    )
    assert confirm.status_code == 303, main_text(confirm.text)  # Post/Redirect/Get
    confirm = web.get(confirm.headers["location"])
    assert confirm.status_code == 200, main_text(confirm.text)
    found = re.search(r'action="/transfer/([^"]+)/sign"', confirm.text)
    assert found is not None
    return found.group(1), confirm


def sign(web: WebClient, me: LoggedIn, transfer_id: str, confirm: httpx.Response) -> None:
    done = web.post(
        f"/transfer/{transfer_id}/sign",
        data={
            "csrf_token": csrf(web),
            "activation_id": attribute(confirm.text, 'name="activation_id" value'),
            "device_signature": me.browser.sign(device_message(confirm.text)),
            "pin": PIN,
        },
    )
    assert done.status_code == 303 and done.headers["location"] == f"/transfer/{transfer_id}"


def test_the_receipt_shows_the_transfer_and_its_signature(
    help_center: Center, help_app: FastAPI
) -> None:
    with WebClient(help_app) as web, WebClient(help_app) as other:
        me = log_in(web, help_center, "C001")
        pending, _ = transfer(web, 1_234_000)
        refused = web.get(f"/transfer/{pending}/receipt")
        assert refused.status_code == 409
        assert error_code(refused.text) == "TRANSFER_RECEIPT_NOT_AVAILABLE"

        done_id, confirm = transfer(web, 50_000)
        sign(web, me, done_id, confirm)
        done_page = web.get(f"/transfer/{done_id}")
        assert f'href="/transfer/{done_id}/receipt"' in done_page.text
        assert f'href="/transfer/{done_id}/receipt"' in web.get("/my").text

        receipt = web.get(f"/transfer/{done_id}/receipt")
        assert receipt.status_code == 200, main_text(receipt.text)
        with help_center.uow_factory() as uow:
            stored = uow.transfers.get(done_id)
        assert stored is not None and stored.completed_at is not None
        assert stored.status == "completed" and stored.evidence is not None
        words = main_text(receipt.text)
        source = SAVINGS.split(":")[1]
        assert "50,000원" in words and "이서연" in words and "김민준" in words
        assert f"KB국민은행 {masked_account(source)}" in words
        assert f"신한은행 {masked_account(PAYEE_ACCOUNT)}" in words
        assert source not in receipt.text and PAYEE_ACCOUNT not in receipt.text
        assert masked_account(source) == "123*******0101"
        assert kst(stored.completed_at) in words and kst(stored.created_at) in words
        assert stored.bank_reference and f"data-reference>{stored.bank_reference}<" in receipt.text
        assert f"data-transfer-id>{done_id}<" in receipt.text
        assert stored.certificate_serial == me.serial
        assert f"금융인증서 (일련번호 {me.serial})" in words
        assert hashlib.sha256(stored.evidence).hexdigest() in words
        assert "월세" in words
        assert '<link rel="stylesheet" href="/static/css/receipt.css">' in receipt.text
        in_english(web, f"/transfer/{done_id}/receipt")
        english = main_text(web.get(f"/transfer/{done_id}/receipt").text)
        assert "KRW 50,000" in english and f"Financial certificate (serial {me.serial})" in english

        # another customer, and no login at all
        log_in(other, help_center, "C012")
        theirs = other.get(f"/transfer/{done_id}/receipt")
        assert theirs.status_code == 404 and error_code(theirs.text) == "TRANSFER_NOT_FOUND"
        assert "50,000" not in main_text(theirs.text)
        with WebClient(help_app) as stranger:
            nobody = stranger.get(f"/transfer/{done_id}/receipt")
            assert nobody.status_code == 401 and error_code(nobody.text) == "WEB_LOGIN_REQUIRED"


def test_account_numbers_are_masked_in_the_middle() -> None:
    assert masked_account("12340100000012") == "123*******0012"
    assert masked_account("110000000002") == "110*****0002"
    assert masked_account("1234567") == "*****67"


def test_my_page_says_which_transfer_was_not_carried_out_and_why(
    help_center: Center, help_app: FastAPI
) -> None:
    """최근 이체 lists a transfer that was not carried out (here: as the reconciliation leaves
    one whose bank answer was lost and the bank's record shows no money moved) beside the
    completed ones: no receipt link, the plain notice in the page's language instead."""
    with WebClient(help_app) as web:
        me = log_in(web, help_center, "C001")
        done_id, confirm = transfer(web, 30_000)
        sign(web, me, done_id, confirm)
        lost_id, _ = transfer(web, 40_000)
        with help_center.uow_factory() as uow:
            lost = uow.transfers.get(lost_id)
            assert lost is not None
            lost.status, lost.failure_code = "refused", "TRANSFER_NOT_EXECUTED"
            uow.commit()
        page = web.get("/my")
        rows = re.findall(r'<tr role="row" class="transfer".*?</tr>', page.text, flags=re.S)
        by_id = {re.search(r'data-transfer="([^"]+)"', row).group(1): row for row in rows}  # type: ignore[union-attr]
        assert "data-receipt-link" in by_id[done_id] and "이체되지 않음" not in by_id[done_id]
        lost_row = html.unescape(re.sub(r"<[^>]+>", " ", by_id[lost_id]))
        assert "이체되지 않음" in lost_row and "이체가 처리되지 않았습니다." in lost_row
        assert "data-receipt-link" not in by_id[lost_id] and "{" not in lost_row
        in_english(web, "/my")
        english = web.get("/my").text
        assert "Not carried out" in english and "The transfer was not carried out." in english
