"""Bad input gets a problem document with a catalog code — never a stack trace or a 500."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import LiveServer

STEP_PATHS = [
    "terms",
    "phone",
    "phone/verify",
    "account",
    "account/verify",
    "id",
    "credentials",
    "csr",
]


@pytest.fixture
def http(api: LiveServer) -> httpx.Client:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        yield client


def _started(http: httpx.Client) -> tuple[str, dict[str, str]]:
    response = http.post(
        "/v1/enrollments",
        json={
            "device": {
                "device_id": "dev-api-test-0001",
                "platform": "android",
                "model": "SM-S928N",
                "app_version": "5.2.0",
            }
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["enrollment_id"], {"Authorization": f"Bearer {body['token']}"}


def _is_problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["message"]["ko"] and body["message"]["en"] and body["remedy"]["ko"]
    assert "Traceback" not in response.text


def test_malformed_json_and_wrong_shapes_are_invalid_request(http: httpx.Client) -> None:
    _is_problem(
        http.post(
            "/v1/enrollments", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
        "INVALID_REQUEST",
    )
    _is_problem(
        http.post("/v1/enrollments", json={"device": {"platform": "windows"}}),
        422,
        "INVALID_REQUEST",
    )
    _is_problem(http.post("/v1/enrollments", json=[1, 2, 3]), 422, "INVALID_REQUEST")


def test_validation_errors_never_echo_what_was_typed(http: httpx.Client) -> None:
    enrollment, auth = _started(http)
    secret = "9003151512541-and-more-than-sixteen"
    response = http.post(
        f"/v1/enrollments/{enrollment}/id",
        headers=auth,
        json={"kind": "resident_card", "name": "김민준", "rrn": secret},
    )
    _is_problem(response, 422, "INVALID_REQUEST")
    assert "9003151512541" not in response.text


def test_language_follows_accept_language(http: httpx.Client) -> None:
    en = http.get("/v1/certificates/ABC", headers={"Accept-Language": "en-GB,en;q=0.9"})
    ko = http.get("/v1/certificates/ABC")
    _is_problem(en, 404, "CERTIFICATE_NOT_FOUND")
    assert en.json()["title"] == "The certificate does not exist."
    assert ko.json()["title"] == "인증서를 찾을 수 없습니다."


def test_unknown_routes_methods_and_huge_bodies(http: httpx.Client) -> None:
    _is_problem(http.get("/v1/nothing-here"), 404, "NOT_FOUND")
    _is_problem(http.delete("/v1/enrollments"), 405, "METHOD_NOT_ALLOWED")
    _is_problem(
        http.post(
            "/v1/enrollments", content=b"x" * 70_000, headers={"content-type": "application/json"}
        ),
        413,
        "REQUEST_TOO_LARGE",
    )


def test_forged_forwarded_header_from_a_trusted_proxy_is_refused_cleanly(
    http: httpx.Client,
) -> None:
    response = http.post(
        "/v1/enrollments",
        headers={"X-Forwarded-For": "not-an-ip"},
        json={
            "device": {
                "device_id": "dev-api-test-0002",
                "platform": "android",
                "model": "x",
                "app_version": "5.2.0",
            }
        },
    )
    _is_problem(response, 422, "INVALID_REQUEST")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(step=st.sampled_from(STEP_PATHS), body=json_values)
def test_any_json_to_any_step_is_answered_without_a_server_error(
    http: httpx.Client, step: str, body: object
) -> None:
    enrollment, auth = _started(http)
    response = http.post(f"/v1/enrollments/{enrollment}/{step}", headers=auth, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
