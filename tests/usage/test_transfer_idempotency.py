"""Idempotency-Key on the transfer routes: the same request sent again gets the same answer
and moves the money once; the key with another request is refused."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from certcenter.bootstrap import Center
from certcenter.cli.client import CenterClient
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import Flow, FlowFactory
from tests.usage.support import C001_SAVINGS, PAYEE, PIN, issued, logged_in
from tests.usage.test_transfers import _answer_ars, _refused


def _body(amount: int, memo: str = "") -> dict[str, Any]:
    return {
        "from_bank": C001_SAVINGS[0],
        "from_account": C001_SAVINGS[1],
        "to_bank": PAYEE[0],
        "to_account": PAYEE[1],
        "amount": amount,
        "memo": memo,
    }


def _confirm_body(flow: Flow, prepared: dict[str, Any], **fields: Any) -> dict[str, Any]:
    signature = flow.keystore.sign(base64.b64decode(prepared["document_b64"]))
    return {"signature": signature, **fields}


def _payee_received(center: Center) -> int:
    return sum(e["amount"] for e in center.sim_store.statement(*PAYEE))


def test_the_same_request_again_gets_the_same_answer_and_moves_money_once(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    start = _payee_received(center)

    # prepare: the same transfer (and the same ARS code on screen) for the same key
    first = client.call("POST", "/v1/transfers", _body(60_000_000), idempotency_key="prep-key-0001")
    again = client.call("POST", "/v1/transfers", _body(60_000_000), idempotency_key="prep-key-0001")
    assert again["id"] == first["id"] and again["document"] == first["document"]
    assert again["ars_code"] == first["ars_code"] is not None
    _answer_ars(center, first)  # the one call placed (the phone answers its latest call)
    other = _refused(
        lambda: client.call(
            "POST", "/v1/transfers", _body(70_000_000), idempotency_key="prep-key-0001"
        )
    )
    assert_refusal(other, "TRANSFER_IDEMPOTENCY_KEY_REUSED")
    assert other.status == 422
    # a new key is a new transfer
    fresh = client.call("POST", "/v1/transfers", _body(60_000_000), idempotency_key="prep-key-0002")
    assert fresh["id"] != first["id"]

    # confirm: the first answer again; the money moved once
    body = _confirm_body(flow, first, pin=PIN, account_password="2580")
    path = f"/v1/transfers/{first['id']}/confirm"
    done = client.call("POST", path, body, idempotency_key="conf-key-0001")
    assert done["status"] == "completed"
    replayed = client.call("POST", path, body, idempotency_key="conf-key-0001")
    assert replayed == done
    assert _payee_received(center) - start == 60_000_000
    # the key with another confirmation (another PIN): refused, nothing moves
    changed = dict(body, pin="000000")
    err = _refused(lambda: client.call("POST", path, changed, idempotency_key="conf-key-0001"))
    assert_refusal(err, "TRANSFER_IDEMPOTENCY_KEY_REUSED")
    # the key of a prepare is not a confirmation's
    err = _refused(lambda: client.call("POST", path, body, idempotency_key="prep-key-0001"))
    assert_refusal(err, "TRANSFER_IDEMPOTENCY_KEY_REUSED")
    # without a key, confirming again is the plain refusal
    assert_refusal(_refused(lambda: client.call("POST", path, body)), "TRANSFER_ALREADY_PROCESSED")
    assert _payee_received(center) - start == 60_000_000


def test_a_refusal_that_ended_the_transfer_is_answered_again(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    prepared = client.call("POST", "/v1/transfers", _body(10_000))
    path = f"/v1/transfers/{prepared['id']}/confirm"
    wrong = _confirm_body(flow, prepared, pin="000000")
    first = _refused(lambda: client.call("POST", path, wrong, idempotency_key="wrong-pin-01"))
    again = _refused(lambda: client.call("POST", path, wrong, idempotency_key="wrong-pin-01"))
    assert first.code == again.code and first.problem["cause"] == again.problem["cause"]
    assert first.problem["remedy"] == again.problem["remedy"]
    assert client.call("GET", f"/v1/transfers/{prepared['id']}")["status"] == "refused"
    # a refusal that changed nothing (a missing input) is not kept: the request is asked again
    prepared = client.call("POST", "/v1/transfers", _body(10_000))
    path = f"/v1/transfers/{prepared['id']}/confirm"
    lacking = _confirm_body(flow, prepared)
    err = _refused(lambda: client.call("POST", path, lacking, idempotency_key="no-pin-0001"))
    assert_refusal(err, "INVALID_REQUEST")
    whole = _confirm_body(flow, prepared, pin=PIN)
    done = client.call("POST", path, whole, idempotency_key="no-pin-0001")
    assert done["status"] == "completed"


def test_a_malformed_key_is_refused_as_malformed(new_flow: FlowFactory, center: Center) -> None:
    client = logged_in(issued(new_flow))
    base = str(client.http.base_url)
    for key in ("short", "x" * 81, "has space-000", "키-00000000".encode()):
        response = httpx.post(
            f"{base}/v1/transfers",
            json=_body(10_000),
            headers={"Authorization": f"Bearer {client.token}", "Idempotency-Key": key},
            timeout=30,
        )
        assert response.status_code == 422, (key, response.text)
        assert response.json()["code"] == "INVALID_REQUEST"
    with center.uow_factory(read_only=True) as uow:
        assert uow.transfers.for_customer(uow.customers.by_number("C001").id) == []  # type: ignore[union-attr]


def test_the_app_sends_a_key_with_each_transfer_request(
    new_flow: FlowFactory, center: Center
) -> None:
    """What `certcenter app transfer` sends (send_transfer), seen at the center."""
    from certcenter.cli.usage_commands import send_transfer

    flow = issued(new_flow)
    client = logged_in(flow)
    seen: list[str | None] = []
    original = client.http.request

    def spy(method: str, path: str, **kwargs: Any) -> httpx.Response:
        if str(path).startswith("/v1/transfers"):
            seen.append((kwargs.get("headers") or {}).get("Idempotency-Key"))
        return original(method, path, **kwargs)

    client.http.request = spy  # type: ignore[method-assign]
    import click.testing  # the prompts read the PIN from this input

    runner = click.testing.CliRunner()
    with runner.isolation(input=f"{PIN}\n"):
        done = send_transfer(
            client, {**_body(10_000), "medium": "certificate"}, sign=flow.keystore.sign, yes=True
        )
    assert done is not None and done["status"] == "completed"
    assert len(seen) == 2 and all(seen) and seen[0] != seen[1]
    assert isinstance(client, CenterClient)
