"""The financial-certificate pages end to end against the in-process app, on SQLite and on
PostgreSQL: issuing (every step a page; the flow's token only in the signed cookie), logging
in (a registered key needs only the PIN; an unknown browser registers by SMS; the device
limit; a locked PIN and its release), a transfer signed by the center whose evidence verifies
with OpenSSL, and the mobile certificate approved in the app — for a login, as the
issuance's additional medium, and as the one of registering a browser.
"""

from __future__ import annotations

import base64
import html
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock, as_utc
from certcenter.config import Settings
from certcenter.server import create_app
from tests.conftest import LiveServer, _reset_postgres, make_settings
from tests.financial.support import issue as issue_directly
from tests.support.flow import FlowFactory
from tests.support.outbox import inbox
from tests.usage.support import issued, logged_in
from tests.web.financial_support import (
    ACCOUNT_PASSWORD,
    FinancialWeb,
    error_code,
    session_cookie,
)
from tests.web.support import WebClient, main_text


@pytest.fixture
def settings(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, pki_dir: Path
) -> Settings:
    """Each test its own key directory: the cloud keys it makes are its own."""
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    keys = tmp_path / "keys"
    shutil.copytree(pki_dir / "keys", keys)
    return make_settings(tmp_path, pki_dir, url, key_dir=keys)


@pytest.fixture
def app(center: Center) -> FastAPI:
    return create_app(center)


@pytest.fixture
def client(app: FastAPI) -> Iterator[WebClient]:
    with WebClient(app) as made:
        yield made


@pytest.fixture
def web(client: WebClient, center: Center) -> FinancialWeb:
    return FinancialWeb(client, center)


def test_issue_log_in_and_sign_a_transfer(
    web: FinancialWeb, center: Center, app: FastAPI, tmp_path: Path
) -> None:
    done = web.issue("C001")
    assert done.status_code == 200
    words = main_text(done.text)
    assert "금융인증서가 발급되었습니다" in words
    serial = re.search(r"data-serial>([0-9A-F]+)<", done.text)
    assert serial is not None
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial.group(1))
        assert record is not None and record.family == "financial" and record.status == "active"
        customer = uow.customers.by_number("C001")
        assert customer is not None
        devices = uow.browser_devices.active_for_customer(customer.id)
    assert [base64.b64encode(d.public_key).decode() for d in devices] == [web.spki_b64]
    assert devices[0].label == "Chrome · Linux"

    # the flow's bearer token lived in the signed cookie only: never in a page or a URL
    flow_token = session_cookie(web.client)["fin_issue"]["token"]
    assert len(flow_token) >= 40
    for response in web.seen:
        assert flow_token not in response.text
        assert flow_token not in response.headers.get("location", "")
        assert flow_token not in str(response.url)
        assert "rrn" not in str(response.url) and "1512541" not in response.text

    # this browser's key is registered: the PIN page straight away, no SMS
    sms_before = len(inbox(center, "01020000001"))
    pin_page = web.pin_page()
    assert str(pin_page.url).endswith("/login/pin")
    sent = web.submit_pin(pin_page, "000000")
    assert sent.status_code == 303 and sent.headers["location"] == "/login/pin"  # PRG
    wrong = web.follow(sent)
    assert wrong.status_code == 401 and error_code(wrong.text) == "FINANCIAL_AUTH_FAILED"
    assert "data-device-sign" in wrong.text  # still on the PIN page, a fresh activation
    logged = web.follow(web.submit_pin(wrong))
    assert "김민준님, 로그인되었습니다" in main_text(logged.text)
    assert len(inbox(center, "01020000001")) == sms_before

    # a transfer: the confirmation shows payee, amount and the exact text to be signed
    confirm = web.follow(web.prepare_transfer(3_000_000))
    assert confirm.status_code == 200, main_text(confirm.text)
    shown = main_text(confirm.text)
    assert "이서연" in shown and "3,000,000원" in shown and "계좌 비밀번호" in shown
    document = html.unescape(re.search(r"data-document>(.*?)</pre>", confirm.text, re.S).group(1))
    assert "payee: 이서연\n" in document and "amount: 3,000,000원 (KRW)\n" in document
    # tier 2 needs the account password: without it the transfer ends, the form comes back
    ended = web.follow(web.sign_transfer(confirm))
    assert ended.status_code == 422 and error_code(ended.text) == "INVALID_REQUEST"
    assert 'value="3000000"' in ended.text  # filled in again
    confirm = web.follow(web.prepare_transfer(3_000_000))
    document = html.unescape(re.search(r"data-document>(.*?)</pre>", confirm.text, re.S).group(1))
    done_page = web.follow(web.sign_transfer(confirm, account_password=ACCOUNT_PASSWORD))
    assert "이체가 완료되었습니다" in main_text(done_page.text)
    transfer_id = re.search(r"data-transfer-id>([0-9a-f-]+)<", done_page.text).group(1)
    assert center.sim_store.statement("088", "110000000002")[0]["amount"] == 3_000_000

    evidence = web.get(f"/transfer/{transfer_id}/evidence")
    assert evidence.status_code == 200
    assert evidence.headers["content-type"] == "application/pkcs7-mime; smime-type=signed-data"
    assert evidence.headers["content-disposition"] == (
        f'attachment; filename="transfer-{transfer_id}.p7m"'
    )
    p7m = tmp_path / "t.p7m"
    p7m.write_bytes(evidence.content)
    root = center.settings.ca_path / "root-ca.pem"
    verified = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root)],
        capture_output=True,
        check=False,
        timeout=30,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.decode() == document

    # the third tier also needs the ARS call: its code is on the confirmation page
    big = web.follow(web.prepare_transfer(60_000_000))
    ars = re.search(r"data-ars-code>(\d+)<", big.text)
    assert ars is not None and 'href="/demo/calls/01020000001"' in big.text
    # its time left counts to the transfer's stored expiry (the ARS challenge ends with it)
    counted = re.search(r'data-countdown data-expires-at="([^"]+)"', big.text)
    with center.uow_factory() as uow:
        stored = uow.transfers.get(big.url.path.rsplit("/", 1)[-1])
    assert counted is not None and stored is not None
    assert datetime.fromisoformat(counted.group(1)) == as_utc(stored.expires_at)
    early = web.follow(web.sign_transfer(big, account_password=ACCOUNT_PASSWORD))  # unanswered
    assert early.status_code == 401 and error_code(early.text) == "ARS_NOT_CONFIRMED"
    assert f"data-ars-code>{ars.group(1)}<" in early.text  # still on the confirmation
    web.answer_call("01020000001", ars.group(1))
    sent = web.follow(web.sign_transfer(early, account_password=ACCOUNT_PASSWORD))
    assert "60,000,000원" in main_text(sent.text) and "이체가 완료되었습니다" in main_text(
        sent.text
    )

    # another browser (no session) cannot fetch it; logging out ends the session
    with WebClient(app) as stranger:
        assert stranger.get(f"/transfer/{transfer_id}/evidence").status_code == 401
    out = web.post("/logout")
    assert out.status_code == 303
    assert web.get("/transfer").headers["location"] == "/login?next=/transfer"


def test_the_mobile_certificate_approved_in_the_app(
    api: LiveServer, center: Center, app: FastAPI, new_flow: FlowFactory
) -> None:
    flow = issued(new_flow, "C001")
    phone_app = logged_in(flow)
    try:
        with WebClient(app) as client:
            web = FinancialWeb(client, center)
            # the issuance's additional medium: a code on the page, polled by the script
            web.start_issue("C001")
            web.follow(web.identify("C001"))
            web.through_ars("C001")
            asked = web.submit("/issue/medium", medium="mobile_certificate")
            code = re.search(r"data-approval-code>(\d{8})<", asked.text).group(1)
            assert f"certcenter app approve {code}" in main_text(asked.text)
            assert 'data-poll-url="/issue/medium/status"' in asked.text
            headers = {"X-CSRF-Token": web.token()}
            poll = client.post("/issue/medium/status", headers=headers)
            assert poll.json() == {"state": "pending"}
            not_yet = web.submit("/issue/medium/verify")
            assert error_code(not_yet.text) == "APPROVAL_PENDING" and code in not_yet.text
            phone_app.call("POST", "/v1/approvals/approve", {"code": code})
            poll = client.post("/issue/medium/status", headers=headers)
            assert poll.json() == {"state": "approved", "next": "/issue/details"}
            assert web.get("/issue/medium").headers["location"] == "/issue/details"

            # a web login approved in the app
            start = web.submit("/login/mobile")
            code = re.search(r"data-approval-code>(\d{8})<", start.text).group(1)
            assert client.post("/login/mobile/status", headers=headers).json() == {
                "state": "pending"
            }
            phone_app.call("POST", "/v1/approvals/approve", {"code": code})
            approved = client.post("/login/mobile/status", headers=headers)
            assert approved.json() == {"state": "approved", "next": "/login"}
            who = web.get("/login")
            assert "김민준님, 로그인되었습니다" in main_text(who.text)
            assert "KB국민인증서(앱 승인)" in main_text(who.text)
            only_app = web.get("/transfer")
            assert only_app.status_code == 200
            assert error_code(only_app.text) == "WEB_TRANSFER_NOT_SIGNABLE_HERE"
            spent = client.post("/login/mobile/status", headers={"X-CSRF-Token": web.token()})
            assert spent.status_code == 409 and spent.json()["code"] == "WEB_LOGIN_NOT_STARTED"
    finally:
        phone_app.close()


def test_a_browser_registered_with_the_mobile_certificate_approved_in_the_app(
    api: LiveServer, center: Center, app: FastAPI, new_flow: FlowFactory, clock: FrozenClock
) -> None:
    flow = issued(new_flow, "C001")
    phone_app = logged_in(flow)
    issue_directly(center, number="C001", pin="480213", label="집 PC")
    clock.advance(seconds=center.settings.policy.sms_resend_wait_seconds)  # the phone's wait
    try:
        with WebClient(app) as client:
            web = FinancialWeb(client, center)
            web.get("/login/register")
            web.follow(
                web.post(
                    "/login/register",
                    name="김민준",
                    phone="01020000001",
                    birth="19900315",
                    device_public_key=web.spki_b64,
                    device_label="회사 크롬",
                )
            )
            code = web.sms_code("01020000001", "기기 등록")
            web.follow(web.post("/login/register/code", code=code))
            asked = web.submit("/login/register/medium", medium="mobile_certificate")
            approval = re.search(r"data-approval-code>(\d{8})<", asked.text).group(1)
            assert 'data-poll-url="/login/register/medium/status"' in asked.text
            headers = {"X-CSRF-Token": web.token()}
            poll = client.post("/login/register/medium/status", headers=headers)
            assert poll.json() == {"state": "pending"}
            not_yet = web.submit("/login/register/medium/verify")
            assert error_code(not_yet.text) == "APPROVAL_PENDING" and approval in not_yet.text
            phone_app.call("POST", "/v1/approvals/approve", {"code": approval})
            poll = client.post("/login/register/medium/status", headers=headers)
            assert poll.json() == {"state": "approved", "next": "/login/pin"}
            pin = web.get("/login/pin")
            assert "data-device-sign" in pin.text and "회사 크롬" in pin.text
    finally:
        phone_app.close()
