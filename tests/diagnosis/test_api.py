"""The diagnosis over HTTP: the operator's GET and the customer's POST, on SQLite and
PostgreSQL, with the resident number never kept or logged."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from certcenter.bootstrap import Center
from certcenter.storage.tables import metadata
from tests.conftest import LiveServer
from tests.diagnosis.support import FOREIGN_IP, rrn


@pytest.fixture
def http(api: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        yield client


def _operator(center: Center, role: str = "operator") -> dict[str, str]:
    token = center.operators.create(f"op-{role}", [role])
    return {"Authorization": f"Bearer {token}"}


def _items(body: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(i["key"], i["status"], i["code"]) for i in body["items"] if i["status"] != "ok"]


def test_the_operator_asks_why_issuance_fails(center: Center, http: httpx.Client) -> None:
    operator = _operator(center)
    path = "/v1/operator/customers/C004/diagnosis"
    assert http.get(path).json()["code"] == "OPERATOR_TOKEN_INVALID"
    assert http.get(path, headers=_operator(center, "auditor")).json()["code"] == (
        "OPERATOR_FORBIDDEN"
    )
    unknown = http.get("/v1/operator/customers/C999/diagnosis", headers=operator)
    assert unknown.status_code == 404 and unknown.json()["code"] == "CUSTOMER_UNKNOWN"

    answer = http.get(path, headers=operator)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["customer_number"] == "C004" and body["ready"] is False
    assert body["problems"] == [{"key": "phone_own_name", "code": "PHONE_NOT_OWN_NAME"}]
    (problem,) = [i for i in body["items"] if i["status"] == "problem"]
    assert problem["message"] == {
        "ko": "본인 명의의 휴대폰이 아닙니다.",
        "en": "The phone is not in your own name.",
    }
    assert problem["remedy"]["ko"].startswith("본인 명의 휴대폰으로 진행")
    assert problem["cause"]["en"] and problem["context"] == {"phone": "010-****-0004"}
    ok = [i for i in body["items"] if i["status"] == "ok"]
    assert ok and all("message" not in i for i in ok)

    abroad = http.get(
        "/v1/operator/customers/C013/diagnosis",
        params={"client_ip": FOREIGN_IP},
        headers=operator,
    ).json()
    assert _items(abroad) == [("overseas_access", "problem", "FOREIGN_IP_BLOCKED")]
    assert FOREIGN_IP in abroad["items"][1]["cause"]["en"]
    bad = http.get(
        "/v1/operator/customers/C013/diagnosis", params={"client_ip": "x"}, headers=operator
    )
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_REQUEST"


def _dump(center: Center) -> str:
    """Every row of the center's database, as text."""
    rows = []
    with center.engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows += [repr(tuple(row)) for row in conn.execute(select(table))]
    return "\n".join(rows)


def test_the_customer_asks_and_a_wrong_answer_tells_nothing(
    center: Center, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    number = rrn("C008")
    answer = http.post("/v1/diagnosis", json={"user_id": "c008user", "rrn": number})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["customer_number"] == "C008" and body["ready"] is False
    assert _items(body) == [("account_usable", "problem", "ACCOUNT_DORMANT")]
    dormant = next(i for i in body["items"] if i["code"] == "ACCOUNT_DORMANT")
    assert dormant["remedy"]["en"].startswith("Have it reactivated at a branch")

    wrong_number = http.post("/v1/diagnosis", json={"user_id": "c008user", "rrn": rrn("C001")})
    unknown_id = http.post("/v1/diagnosis", json={"user_id": "nobody", "rrn": number})
    assert wrong_number.status_code == unknown_id.status_code == 403
    first, second = wrong_number.json(), unknown_id.json()
    assert first["code"] == second["code"] == "DIAGNOSIS_IDENTITY_NOT_CONFIRMED"
    for field in ("title", "message", "remedy"):
        assert first[field] == second[field]
    # the tries left are this address's: one fewer for the second, whichever was wrong
    assert first["context"] == {"tries_left": 9} and second["context"] == {"tries_left": 8}

    missing = http.post("/v1/diagnosis", json={"user_id": "c008user"})
    assert missing.status_code == 422 and missing.json()["code"] == "INVALID_REQUEST"
    extra = http.post(
        "/v1/diagnosis", json={"user_id": "c008user", "rrn": number, "customer": "C001"}
    )
    assert extra.status_code == 422
    malformed = http.post("/v1/diagnosis", json={"user_id": "c008user", "rrn": "7913011631710"})
    assert malformed.json()["code"] == "RRN_INVALID"
    assert "7913011631710" not in malformed.text

    # the number was used and dropped: not in the database, the audit trail or the logs
    digits = number.replace("-", "")
    stored = _dump(center)
    assert "diagnosis.self" in stored  # the audit trail recorded the tries …
    for text in (number, digits, digits[6:], "7913011631710"):
        assert text not in stored
        assert text not in caplog.text
    assert "nobody" not in stored  # … and names no one for an unconfirmed claim
