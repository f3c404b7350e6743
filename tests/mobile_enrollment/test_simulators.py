"""The simulators keep state and a person can operate them: the statement, the inbox, and
changes that make a refusal appear or go away."""

from __future__ import annotations

import pytest

from certcenter.cli.client import ApiError
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory


def test_the_bank_makes_an_account_dormant_and_the_deposit_shows_on_the_statement(
    new_flow: FlowFactory,
) -> None:
    flow = new_flow("C001")
    flow.client.set_account_status("004", "12340100000001", "dormant")
    flow.through("phone_verify")
    assert_refusal(flow.refused("account"), "ACCOUNT_DORMANT")

    flow.client.set_account_status("004", "12340100000001", "normal")
    flow.account()
    statement = flow.client.statement("004", "12340100000001")
    newest = statement["entries"][0]
    assert newest["amount"] == 1 and newest["description"].startswith("인증")
    assert statement["balance"] == 1_500_001
    flow.account_verify()


def test_turning_on_the_corporate_personal_service_lets_the_customer_through(
    new_flow: FlowFactory,
) -> None:
    flow = new_flow("C006")
    flow.through("terms")
    assert_refusal(flow.refused("phone"), "PHONE_CORPORATE_LINE")
    changed = flow.client.set_line("01020000006", corporate_personal_service=True)
    assert changed["corporate_personal_service"] is True
    flow.phone()
    flow.phone_verify()


def test_operating_an_unknown_account_or_line_is_not_found(new_flow: FlowFactory) -> None:
    flow = new_flow("C001")
    with pytest.raises(ApiError) as missing:
        flow.client.set_account_status("004", "0000", "dormant")
    assert missing.value.code == "NOT_FOUND"
    with pytest.raises(ApiError) as empty:
        flow.client.set_line("01020000001")
    assert empty.value.code == "INVALID_REQUEST"
