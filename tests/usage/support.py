"""Helpers for the tests of using the certificate: an issued app, logged in."""

from __future__ import annotations

import base64
from typing import Any

from certcenter.cli.app_session import login
from certcenter.cli.client import CenterClient
from certcenter.cli.demo import DEMO_PATTERN, DEMO_PIN
from tests.support.flow import Flow, FlowFactory

PIN = DEMO_PIN
PATTERN = list(DEMO_PATTERN)
ACCOUNT_PASSWORD = "2580"  # the demo world's account password
C001_ACCOUNT = ("004", "12340100000001")
C001_SAVINGS = ("004", "12340100000101")
PAYEE = ("088", "110000000002")  # another demo customer's account (이서연)


OPENED: list[CenterClient] = []


def app_client(flow: Flow) -> CenterClient:
    """A new HTTP client for the flow's app (closed after the test by tests/usage/conftest)."""
    client = CenterClient(str(flow.client.http.base_url))
    OPENED.append(client)
    return client


def issued(new_flow: FlowFactory, person: str = "C001") -> Flow:
    flow = new_flow(person)
    flow.through("csr")
    return flow


def logged_in(flow: Flow, *, method: str = "pin", pin: str = PIN) -> CenterClient:
    """A separate client for the flow's app, logged in; its token is the session's."""
    client = app_client(flow)
    login(client, flow.keystore, method=method, pin=pin, pattern=PATTERN)
    return client


def prepare(
    client: CenterClient,
    amount: int,
    *,
    medium: str = "certificate",
    source: tuple[str, str] = C001_SAVINGS,
    payee: tuple[str, str] = PAYEE,
    memo: str = "",
) -> dict[str, Any]:
    result: dict[str, Any] = client.call(
        "POST",
        "/v1/transfers",
        {
            "from_bank": source[0],
            "from_account": source[1],
            "to_bank": payee[0],
            "to_account": payee[1],
            "amount": amount,
            "memo": memo,
            "medium": medium,
        },
    )
    return result


def sign_document(flow: Flow, document_b64: str) -> str:
    return flow.keystore.sign(base64.b64decode(document_b64))
