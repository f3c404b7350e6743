"""Every refusal rule of issuance gives its catalog code, driven by the demo world's people.

Each refusal must come back as a problem document with the right status, Korean and English
texts and a remedy, and must be recorded (customer, step, code, time) for diagnosis.
"""

from __future__ import annotations

from typing import Any

import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError
from certcenter.errors import entry
from tests.support.flow import FlowFactory


def assert_refusal(err: ApiError, code: str) -> None:
    assert err.code == code, err.problem
    assert err.status == entry(code).http_status
    problem = err.problem
    assert problem["type"] == f"urn:certcenter:error:{code}"
    for field in ("message", "cause", "remedy"):
        assert problem[field]["ko"] and problem[field]["en"], field
    assert "Traceback" not in str(problem)


def recorded(center: Center, code: str) -> list[Any]:
    with center.uow_factory() as uow:
        session = uow.session  # type: ignore[attr-defined]
        from certcenter.entities import FailureRecord

        return [f for f in session.query(FailureRecord).all() if f.code == code]


START_REFUSALS = [
    ({"app_version": "4.9.9"}, "APP_VERSION_OUTDATED"),
    ({"integrity": {"rooted": True}}, "DEVICE_ROOTED"),
    ({"integrity": {"developer_options": True}}, "DEVICE_DEVELOPER_OPTIONS"),
    ({"integrity": {"remote_control_apps": ["TeamViewer QuickSupport"]}}, "DEVICE_REMOTE_CONTROL"),
]


@pytest.mark.parametrize(("start", "code"), START_REFUSALS, ids=[c for _, c in START_REFUSALS])
def test_unsafe_or_outdated_device_is_refused_at_start(
    new_flow: FlowFactory, center: Center, start: dict[str, Any], code: str
) -> None:
    flow = new_flow("C001")
    assert_refusal(flow.refused("start", **start), code)
    failures = recorded(center, code)
    assert len(failures) == 1 and failures[0].step == "start"
    assert failures[0].device_id == flow.device.device_id


PHONE_REFUSALS = [
    ("C004", {}, "PHONE_NOT_OWN_NAME"),  # her mother's line
    ("C005", {"carrier": "LGU"}, "PHONE_CARRIER_MISMATCH"),  # an LG U+ MVNO line
    ("C006", {}, "PHONE_CORPORATE_LINE"),  # corporate line, no personal service
    ("C001", {"name": "김 민준"}, "PHONE_IDENTITY_MISMATCH"),  # spacing differs from the record
    ("C001", {"phone": "010-9999-0000"}, "PHONE_SUBSCRIBER_NOT_FOUND"),
    ("C001", {"rrn_front": "901345-1"}, "RRN_INVALID"),  # month 13
    ("C001", {"phone": "02-123-4567"}, "PHONE_NUMBER_INVALID"),  # a landline
    ("P017", {}, "CUSTOMER_NOT_FOUND"),  # not a customer of the bank
    ("C012", {}, "DEVICE_ALREADY_REGISTERED"),  # certificate on another phone
]


@pytest.mark.parametrize(
    ("person", "fields", "code"), PHONE_REFUSALS, ids=[c for _, _, c in PHONE_REFUSALS]
)
def test_phone_verification_refusals(
    new_flow: FlowFactory, center: Center, person: str, fields: dict[str, str], code: str
) -> None:
    flow = new_flow(person)
    flow.through("terms")
    assert_refusal(flow.refused("phone", **fields), code)
    assert [f.step for f in recorded(center, code)] == ["phone"]
    assert flow.messages(flow.answers.phone or "") == []  # no code was sent


def test_foreign_address_refused_unless_overseas_access_is_enabled(new_flow: FlowFactory) -> None:
    abroad = new_flow("C013", forwarded_for="203.0.113.10")
    abroad.through("terms")
    assert_refusal(abroad.refused("phone"), "FOREIGN_IP_BLOCKED")

    allowed = new_flow("C014", forwarded_for="203.0.113.11")
    allowed.through("csr")
    assert allowed.issued is not None


ACCOUNT_REFUSALS = [
    ("C008", {}, "ACCOUNT_DORMANT"),
    ("C009", {}, "ACCOUNT_TRANSFER_RESTRICTED"),
    ("C016", {}, "ACCOUNT_SUSPENDED"),
    ("C001", {"account_number": "12340100000004"}, "ACCOUNT_NOT_OWN"),  # 최유진's account
    ("C001", {"account_number": "12340100009999"}, "ACCOUNT_NOT_FOUND"),
    ("C001", {"bank_code": "999"}, "BANK_UNKNOWN"),
]


@pytest.mark.parametrize(
    ("person", "fields", "code"), ACCOUNT_REFUSALS, ids=[c for _, _, c in ACCOUNT_REFUSALS]
)
def test_account_verification_refusals(
    new_flow: FlowFactory, center: Center, person: str, fields: dict[str, str], code: str
) -> None:
    flow = new_flow(person)
    flow.through("phone_verify")
    assert_refusal(flow.refused("account", **fields), code)
    assert [f.step for f in recorded(center, code)] == ["account"]


ID_REFUSALS = [
    ("C010", {"issue_date": "2012-03-05"}, "ID_CARD_REISSUED"),
    (
        "C011",
        {"name": "한지수", "rrn": "960505-2822260", "issue_date": "2018-03-03"},
        "ID_NAME_MISMATCH",
    ),  # her sister's card
    ("C001", {"issue_date": "2015-06-02"}, "ID_NOT_VERIFIED"),
    (
        "C001",
        {
            "kind": "passport",
            "number": "M70000001",
            "birth_date": "1990-03-15",
            "expiry": "2024-01-31",
            "rrn": None,
            "issue_date": None,
        },
        "ID_EXPIRED",
    ),
    (
        "C001",
        {
            "kind": "driver_licence",
            "number": "99-12-123456-01",
            "birth_date": "1990-03-15",
            "serial": "AB12C",
            "rrn": None,
            "issue_date": None,
        },
        "ID_DETAILS_INVALID",
    ),
]


@pytest.mark.parametrize(
    ("person", "fields", "code"), ID_REFUSALS, ids=[c for _, _, c in ID_REFUSALS]
)
def test_id_verification_refusals(
    new_flow: FlowFactory, center: Center, person: str, fields: dict[str, Any], code: str
) -> None:
    flow = new_flow(person)
    flow.through("account_verify")
    flow.answers.id_fields.update({k: v for k, v in fields.items() if v is not None})
    for key in [k for k, v in fields.items() if v is None]:
        flow.answers.id_fields.pop(key, None)
    assert_refusal(flow.refused("id"), code)
    assert [f.step for f in recorded(center, code)] == ["id"]


CREDENTIAL_REFUSALS = [
    ({"pin": "111111"}, "PIN_WEAK"),
    ({"pin": "123456"}, "PIN_WEAK"),
    ({"pin": "900315"}, "PIN_WEAK"),  # 김민준's birth date
    ({"pin": "12345"}, "PIN_FORMAT"),
    ({"pin": "591734", "confirmation": "591735"}, "PIN_CONFIRMATION_MISMATCH"),
    ({"pattern": [0, 1, 2]}, "PATTERN_INVALID"),
    ({"pattern": [0, 1, 1, 2]}, "PATTERN_INVALID"),
    ({"pattern": [0, 2, 5, 8]}, "PATTERN_INVALID"),  # jumps over point 1
]


@pytest.mark.parametrize(
    ("fields", "code"),
    CREDENTIAL_REFUSALS,
    ids=[f"{c}-{i}" for i, (_, c) in enumerate(CREDENTIAL_REFUSALS)],
)
def test_weak_or_malformed_credentials_are_refused(
    new_flow: FlowFactory, fields: dict[str, Any], code: str
) -> None:
    flow = new_flow("C001")
    flow.through("id")
    assert_refusal(flow.refused("credentials", **fields), code)
    flow.credentials()  # the step can be done right after a refusal
    assert flow.client.status()["state"] == "credentials_set"


def test_required_terms_must_all_be_accepted(new_flow: FlowFactory) -> None:
    flow = new_flow("C001")
    flow.start()
    assert_refusal(flow.refused("terms", accepted=["service"]), "TERMS_NOT_ACCEPTED")


def test_spam_filter_puts_the_code_in_the_spam_folder(new_flow: FlowFactory) -> None:
    flow = new_flow("C015")
    flow.through("phone")
    messages = flow.messages("01020000015")
    assert messages[0]["folder"] == "spam"
    flow.phone_verify()  # the customer who looks in spam can still go on


@pytest.mark.parametrize("name", ["Kim Minjun", "김" * 40, "김  민준", "김민준1", "김"])
def test_a_name_that_cannot_be_one_is_refused_before_the_telco_and_not_counted(
    new_flow: FlowFactory, center: Center, name: str
) -> None:
    flow = new_flow("C001")
    flow.through("terms")
    assert_refusal(flow.refused("phone", name=name), "NAME_INVALID")
    assert recorded(center, "NAME_INVALID") == []  # form input, not an attack: no block
    assert flow.client.messages(flow.answers.phone or "") == []
    flow.phone()  # the right name goes on
