"""A NUL (or any control character) in a free-text field is refused at the edge with
``INVALID_REQUEST`` on both databases — it once reached PostgreSQL and came back a 500 — and a
name in NFD (decomposed Hangul, as macOS and iOS send it) is read as the same name in NFC."""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Iterator

import httpx
import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError
from certcenter.errors import CertCenterError
from certcenter.http_common.edge import clean_json
from certcenter.server import create_app
from tests.conftest import LiveServer
from tests.security.support import assert_problem
from tests.support.flow import FlowFactory
from tests.usage.support import C001_SAVINGS, OPENED, PAYEE, PIN, issued, logged_in
from tests.web.support import WebClient


@pytest.fixture
def http(api: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        yield client
    while OPENED:
        OPENED.pop().close()


def _device(model: str) -> dict[str, object]:
    return {
        "device_id": "dev-nul-test-0001",
        "platform": "android",
        "model": model,
        "app_version": "5.2.0",
    }


def test_enrollment_with_a_nul_in_the_device_model(http: httpx.Client) -> None:
    response = http.post("/v1/enrollments", json={"device": _device("SM-S928N\u0000")})
    assert_problem(response, 422, "INVALID_REQUEST")
    assert "control character" in response.json()["cause"]["en"]
    assert_problem(
        http.post("/v1/enrollments", json={"device": _device("SM-\nS928N")}),
        422,
        "INVALID_REQUEST",
    )
    assert http.post("/v1/enrollments", json={"device": _device("SM-S928N")}).status_code == 201


def test_self_diagnosis_with_a_nul(http: httpx.Client) -> None:
    response = http.post(
        "/v1/diagnosis", json={"user_id": "c001user\u0000", "rrn": "9003151512541"}
    )
    assert_problem(response, 422, "INVALID_REQUEST")


def test_nul_in_the_path_or_the_query(http: httpx.Client) -> None:
    assert_problem(http.get("/v1/certificates/AB%00CD"), 422, "INVALID_REQUEST")
    assert_problem(
        http.get("/v1/operator/customers", params={"q": "김\u0000"}), 422, "INVALID_REQUEST"
    )


def test_transfer_memo_and_document_name_with_control_characters(
    new_flow: FlowFactory, http: httpx.Client
) -> None:
    client = logged_in(issued(new_flow))
    transfer = {
        "from_bank": C001_SAVINGS[0],
        "from_account": C001_SAVINGS[1],
        "to_bank": PAYEE[0],
        "to_account": PAYEE[1],
        "amount": 10_000,
        "medium": "certificate",
    }
    for memo in ("rent\u0000", ".\namount-krw: 1", "tab\there"):
        with pytest.raises(ApiError) as caught:
            client.call("POST", "/v1/transfers", {**transfer, "memo": memo})
        assert caught.value.status == 422
        assert caught.value.problem["code"] == "INVALID_REQUEST"
    document = b"contract"
    with pytest.raises(ApiError) as caught:
        client.call(
            "POST",
            "/v1/documents/sign",
            {
                "name": "contract\u0000.txt",
                "document_b64": base64.b64encode(document).decode(),
                "signature": "c2lnbmF0dXJl",
                "pin": PIN,
            },
        )
    assert caught.value.status == 422
    assert caught.value.problem["code"] == "INVALID_REQUEST"
    # the same requests without the control character are served
    assert client.call("POST", "/v1/transfers", {**transfer, "memo": "rent"})["memo"] == "rent"


def test_web_why_form_with_a_nul(center: Center) -> None:
    with WebClient(create_app(center)) as web:
        form = {**web.csrf("/why"), "user_id": "c001user", "rrn": "9003151512541"}
        response = web.follow(web.post("/why", data={**form, "user_id": "c001user\u0000"}))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert 'id="error-title-INVALID_REQUEST"' in response.text
        assert "Traceback" not in response.text
        # the same form without the NUL passes the CSRF check and is answered by the page
        served = web.post("/why", data=form)
        assert served.status_code < 500
        assert "error-title-WEB_CSRF_INVALID" not in served.text


def test_a_name_in_nfd_is_the_same_name(new_flow: FlowFactory) -> None:
    flow = new_flow("C001")
    flow.through("terms")
    decomposed = unicodedata.normalize("NFD", "김민준")
    assert decomposed != "김민준"
    flow.phone(name=decomposed)  # the code is sent as for the composed name
    assert flow.sms_code()


def test_the_edge_keeps_line_breaks_only_in_multi_line_fields() -> None:
    pem = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\r\n-----END CERTIFICATE REQUEST-----\n"
    assert clean_json({"csr": pem}) == {"csr": pem}
    for refused in ({"csr": pem + "\u0000"}, {"name": "a\rb"}, {"a\u0000": 1}, ["\x7f"]):
        with pytest.raises(CertCenterError):
            clean_json(refused)
    assert clean_json({"name": unicodedata.normalize("NFD", "한글")}) == {"name": "한글"}


def test_a_deeply_nested_body_is_not_a_server_error(http: httpx.Client) -> None:
    for depth in (500, 30_000):
        response = http.post(
            "/v1/enrollments",
            content=b"[" * depth + b"]" * depth,
            headers={"Content-Type": "application/json"},
        )
        assert_problem(response, 422, "INVALID_REQUEST")
