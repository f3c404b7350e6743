"""Transfers: exactly the factors each tier needs, dynamic linking, single use, limits under
concurrency, and evidence that OpenSSL verifies."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.entities import Transfer
from certcenter.lifecycle.service import ActorRef
from certcenter.simulators.ars import SimulatedArs
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import Flow, FlowFactory
from tests.usage.support import (
    ACCOUNT_PASSWORD,
    C001_ACCOUNT,
    PAYEE,
    PIN,
    issued,
    logged_in,
    prepare,
)


def _refused(work: Any) -> ApiError:
    try:
        work()
    except ApiError as err:
        return err
    raise AssertionError("expected a refusal")


def _confirm(client: CenterClient, flow: Flow, prepared: dict[str, Any], **fields: Any) -> Any:
    body = {"signature": flow.keystore.sign(base64.b64decode(prepared["document_b64"]))}
    body.update(fields)
    return client.call("POST", f"/v1/transfers/{prepared['id']}/confirm", body)


def _answer_ars(center: Center, prepared: dict[str, Any], keyed: str | None = None) -> None:
    ars = center.providers.ars
    assert isinstance(ars, SimulatedArs)
    assert ars.answer("01020000001", keyed if keyed is not None else prepared["ars_code"])


@pytest.mark.parametrize(
    ("amount", "factors"),
    [
        (10_000, ["pin"]),
        (2_000_000, ["pin"]),
        (2_000_001, ["account_password", "pin"]),
        (50_000_000, ["account_password", "pin"]),
        (50_000_001, ["account_password", "pin", "ars"]),
        (100_000_000, ["account_password", "pin", "ars"]),
    ],
)
def test_every_tier_asks_for_exactly_its_factors(
    new_flow: FlowFactory, amount: int, factors: list[str]
) -> None:
    client = logged_in(issued(new_flow))
    prepared = prepare(client, amount)
    assert prepared["factors"] == factors
    assert (prepared["ars_code"] is not None) == ("ars" in factors)
    assert f"amount-krw: {amount}\n" in prepared["document"]
    assert "payee: 이서연" in prepared["document"]


def test_above_the_top_tier_and_medium_limits_are_refused(new_flow: FlowFactory) -> None:
    client = logged_in(issued(new_flow))
    assert_refusal(_refused(lambda: prepare(client, 500_000_001)), "TRANSFER_AMOUNT_OVER_TIERS")
    # the certificate allows 100,000,000 per transfer, 500,000,000 after the ARS call
    assert prepare(client, 100_000_001)["factors"] == ["account_password", "pin", "ars"]
    # the customer's own lower limit
    client.call("PUT", "/v1/me/transfer-limits", {"per_transfer": 1_000_000, "daily": None})
    assert_refusal(_refused(lambda: prepare(client, 1_000_001)), "TRANSFER_OWN_LIMIT_EXCEEDED")
    err = _refused(
        lambda: client.call("PUT", "/v1/me/transfer-limits", {"per_transfer": 10**9, "daily": None})
    )
    assert_refusal(err, "TRANSFER_LIMIT_ABOVE_POLICY")
    # media the customer does not hold
    assert_refusal(_refused(lambda: prepare(client, 10_000, medium="otp")), "MEDIUM_NOT_REGISTERED")


@pytest.mark.parametrize("amount", ["1000", 1000.0, True, "1,000", None])
def test_an_amount_that_is_not_a_whole_number_is_refused_as_malformed(
    new_flow: FlowFactory, center: Center, amount: object
) -> None:
    client = logged_in(issued(new_flow))
    err = _refused(lambda: prepare(client, amount))  # type: ignore[arg-type]
    assert_refusal(err, "INVALID_REQUEST")
    with center.uow_factory() as uow:
        assert uow.session.query(Transfer).count() == 0  # type: ignore[attr-defined]


def test_tier_one_with_the_pin_moves_the_money_and_keeps_openssl_verifiable_evidence(
    new_flow: FlowFactory, center: Center, tmp_path: Path
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    prepared = prepare(client, 1_234_567, source=C001_ACCOUNT, memo="점심값")
    done = _confirm(client, flow, prepared, pin=PIN)
    assert done["status"] == "completed" and done["bank_reference"]
    statement = center.sim_store.statement(*PAYEE)
    assert statement[0]["amount"] == 1_234_567
    # the evidence: CMS SignedData with the document inside, signed by the device's certificate
    evidence = client.http.get(
        done["evidence_url"], headers={"Authorization": f"Bearer {client.token}"}
    )
    assert evidence.status_code == 200
    p7m = tmp_path / "transfer.p7m"
    p7m.write_bytes(evidence.content)
    root = tmp_path / "root.pem"
    root.write_text(center.chain_pem()[-1])
    untrusted = tmp_path / "issuing.pem"
    untrusted.write_text(center.chain_pem()[0])
    verified = subprocess.run(
        ["openssl", "cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root)],
        capture_output=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert b"Verification successful" in verified.stderr
    shown = verified.stdout.decode()
    assert "amount-krw: 1234567" in shown and "payee: 이서연" in shown
    assert "to: 088" in shown and "110000000002" in shown
    assert verified.stdout == base64.b64decode(prepared["document_b64"])
    # a transfer is used once
    err = _refused(lambda: _confirm(client, flow, prepared, pin=PIN))
    assert_refusal(err, "TRANSFER_ALREADY_PROCESSED")
    # an auditor exports the same evidence; the read is audited
    assert center.transfers.evidence(done["id"], ActorRef.operator("auditor1", None)).evidence
    with center.uow_factory() as uow:
        trail = uow.audit.for_subject("transfer", done["id"])
        assert {"transfer_prepare", "transfer", "export_transfer_evidence"} <= {
            e.action for e in trail
        }


def test_tampering_with_amount_or_payee_after_signing_is_refused(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    # 1. the device signs a document with another amount
    prepared = prepare(client, 500_000)
    forged = prepared["document"].replace("amount-krw: 500000", "amount-krw: 5000").encode()
    body = {
        "signature": flow.keystore.sign(forged),
        "document_b64": base64.b64encode(forged).decode(),
        "pin": PIN,
    }
    err = _refused(lambda: client.call("POST", f"/v1/transfers/{prepared['id']}/confirm", body))
    assert_refusal(err, "TRANSFER_SIGNATURE_MISMATCH")
    # the failed confirmation ended that transfer
    assert client.call("GET", f"/v1/transfers/{prepared['id']}")["status"] == "refused"
    # 2. the payee is changed underneath after the document was made and signed
    prepared = prepare(client, 500_000)
    with center.uow_factory() as uow:
        stored = uow.transfers.get(prepared["id"])
        assert stored is not None
        stored.to_account = "110000000099"
        uow.commit()
    err = _refused(lambda: _confirm(client, flow, prepared, pin=PIN))
    assert_refusal(err, "TRANSFER_SIGNATURE_MISMATCH")
    # 3. a signature over nothing in particular
    prepared = prepare(client, 500_000)
    body = {"signature": flow.keystore.sign(b"something else"), "pin": PIN}
    err = _refused(lambda: client.call("POST", f"/v1/transfers/{prepared['id']}/confirm", body))
    assert_refusal(err, "TRANSFER_SIGNATURE_MISMATCH")
    assert center.sim_store.statement(*PAYEE) == []


def test_tier_two_needs_the_account_password_and_does_not_say_which_factor_failed(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    prepared = prepare(client, 3_000_000)
    err = _refused(lambda: _confirm(client, flow, prepared, pin=PIN))
    assert_refusal(err, "INVALID_REQUEST")  # missing input: nothing counted
    wrong_password = _refused(
        lambda: _confirm(client, flow, prepared, pin=PIN, account_password="0000")
    )
    prepared = prepare(client, 3_000_000)
    wrong_pin = _refused(
        lambda: _confirm(client, flow, prepared, pin="000000", account_password=ACCOUNT_PASSWORD)
    )
    for err in (wrong_password, wrong_pin):
        assert_refusal(err, "AUTH_FAILED")
    assert wrong_password.problem["message"] == wrong_pin.problem["message"]
    assert wrong_password.problem["cause"] == wrong_pin.problem["cause"]
    prepared = prepare(client, 3_000_000)
    done = _confirm(client, flow, prepared, pin=PIN, account_password=ACCOUNT_PASSWORD)
    assert done["status"] == "completed"


def test_tier_three_needs_the_ars_call_answered_with_the_code_on_screen(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    prepared = prepare(client, 60_000_000)
    factors = {"pin": PIN, "account_password": ACCOUNT_PASSWORD}
    # not answered yet: the transfer waits
    assert_refusal(
        _refused(lambda: _confirm(client, flow, prepared, **factors)), "ARS_NOT_CONFIRMED"
    )
    _answer_ars(center, prepared)
    done = _confirm(client, flow, prepared, **factors)
    assert done["status"] == "completed"
    # the wrong digits on the call end the transfer
    prepared = prepare(client, 60_000_000)
    wrong = "0" * len(prepared["ars_code"]) if prepared["ars_code"] != "00" else "11"
    _answer_ars(center, prepared, keyed=wrong)
    assert_refusal(
        _refused(lambda: _confirm(client, flow, prepared, **factors)), "ARS_NOT_CONFIRMED"
    )
    assert client.call("GET", f"/v1/transfers/{prepared['id']}")["status"] == "refused"


@pytest.mark.parametrize("state", ["revoked", "suspended", "expired"])
def test_unusable_certificates_cannot_transfer(
    new_flow: FlowFactory, center: Center, state: str
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    prepared = prepare(client, 10_000)
    serial = flow.current_serial()
    operator = ActorRef.operator("op", None)
    if state == "revoked":
        center.lifecycle.revoke(serial, "keyCompromise", operator)
        code = "CERTIFICATE_REVOKED"
    elif state == "suspended":
        center.lifecycle.suspend(serial, operator)
        code = "CERTIFICATE_SUSPENDED"
    else:
        with center.uow_factory() as uow:
            record = uow.certificates.get(serial)
            assert record is not None
            record.status = "expired"
            uow.commit()
        code = "CERTIFICATE_EXPIRED"
    assert_refusal(_refused(lambda: _confirm(client, flow, prepared, pin=PIN)), code)
    assert_refusal(_refused(lambda: prepare(client, 10_000)), code)
