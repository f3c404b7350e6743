"""비대면 실명확인 as policy data (``policy.real_name_checks``): the shipped rules are the
documented combinations, a rule no flow can meet stops the center at start with a clear
message, and a changed rule changes what the flows ask."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from certcenter.bootstrap import Center
from certcenter.config import Policy, load_settings
from certcenter.errors import CertCenterError
from certcenter.financial.issuance import IssuanceRef
from certcenter.simulators.world import load_world
from tests.support.flow import FlowFactory

WORLD = load_world()


def test_the_shipped_policy_gives_the_documented_combinations() -> None:
    checks = Policy().real_name_checks
    # opening a relationship: the ID document and one more of three (docs/identity-documents.md)
    assert checks.relationship.groups() == [
        frozenset({"id_document"}),
        frozenset({"account_transfer", "video_call", "other_bank_account"}),
    ]
    assert checks.steps_for("mobile") == {
        "phone": ("phone",),
        "account": ("account_transfer",),
        "id": ("id_document",),
    }
    assert checks.steps_for("financial") == {
        "identify": ("user_id",),
        "verify": ("ars", "departure"),
        "medium": ("account", "security_card", "otp", "mobile_certificate", "id_document"),
        "details": ("sms",),
    }
    assert checks.steps_for("joint") == {
        "identify": ("user_id",),
        "medium": ("security_card", "otp"),
        "phone": ("sms", "ars"),
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[policy.real_name_checks.relationship]\nall_of = [["id_document"], ["video_call"]]',
            "no step of the relationship flow does any of video_call",
        ),
        (
            '[policy.real_name_checks.mobile]\nall_of = [["id_document"]]',
            "the phone step cannot be left out",
        ),
        (
            '[policy.real_name_checks.financial]\nall_of = [["user_id"], ["ars", "otp"], ["sms"]]',
            "ars, otp are not one step's checks",
        ),
        (
            '[policy.real_name_checks.joint]\nall_of = [["user_id"], ["otp"], ["sms"], ["ars"]]',
            "two groups for its phone step",
        ),
        ('[policy.real_name_checks.joint]\nall_of = [["user_id"], ["face"]]', "Input should be"),
        ("[policy.real_name_checks.joint]\nany_of = []", "Extra inputs are not permitted"),
    ],
)
def test_a_rule_no_flow_can_meet_stops_the_center_at_start(
    tmp_path: Path, table: str, message: str
) -> None:
    config = tmp_path / "certcenter.toml"
    config.write_text(table + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as refused:
        load_settings(config, environ={"CERTCENTER_DATA_DIR": str(tmp_path)})
    assert "real_name_checks" in str(refused.value) and message in str(refused.value)


# The ID document asked of customers the bank knows, not of new ones (an example a bank might
# choose): the mobile flow then goes from the 1-won transfer straight to the credentials.
NO_ID_STEP = {
    "mobile": {"all_of": [["phone"], ["account_transfer"]]},
    "relationship": {"all_of": [["account_transfer", "video_call"]]},
}


@pytest.mark.policy(real_name_checks=NO_ID_STEP)
def test_a_rule_without_the_id_document_leaves_out_the_mobile_flows_id_step(
    new_flow: FlowFactory,
) -> None:
    flow = new_flow("C001")
    flow.through("account")
    verified = flow.account_verify()
    assert verified["state"] == "account_verified" and verified["next_step"] == "credentials"
    assert flow.refused("id").code == "ENROLLMENT_STEP_OUT_OF_ORDER"
    assert flow.credentials()["state"] == "credentials_set"


def test_the_shipped_rule_asks_the_mobile_flows_id_step(new_flow: FlowFactory) -> None:
    flow = new_flow("C001")
    flow.through("account")
    assert flow.account_verify()["next_step"] == "id"
    assert flow.refused("credentials").code == "ENROLLMENT_STEP_OUT_OF_ORDER"


ONLY_OTP_OR_ID = {
    "financial": {
        "all_of": [["user_id"], ["ars"], ["otp", "id_document"], ["sms"]],
    }
}


def _identified(center: Center, person: str = "C001") -> IssuanceRef:
    issuance = center.financial_issuance
    started = issuance.start(issuance.required_terms, client_ip="127.0.0.1")
    ref = IssuanceRef(started.enrollment_id, started.token, "127.0.0.1")
    who = WORLD.people[person]
    user_id = str((who.customer or {})["user_id"])
    issuance.identify(ref, user_id=user_id, rrn=who.rrn.digits)
    return ref


@pytest.mark.policy(real_name_checks=ONLY_OTP_OR_ID)
def test_a_changed_rule_changes_the_financial_flows_choices(center: Center) -> None:
    issuance = center.financial_issuance
    ref = _identified(center)
    assert issuance.status(ref).state == "identified"
    with pytest.raises(CertCenterError) as departure:
        issuance.check_departure(ref)
    assert departure.value.code == "CHECK_NOT_OFFERED"
    assert set(issuance.held_media(ref)) <= {"otp", "id_document"}
    assert "id_document" in issuance.held_media(ref)
    with pytest.raises(CertCenterError) as account:
        issuance.choose_medium(ref, "account")
    assert account.value.code == "CHECK_NOT_OFFERED"


def test_the_shipped_rule_offers_every_medium_and_the_departure_check(center: Center) -> None:
    issuance = center.financial_issuance
    ref = _identified(center)
    assert issuance.held_media(ref)[-1] == "id_document"
    assert "account" in issuance.held_media(ref)
    with pytest.raises(CertCenterError) as departure:
        issuance.check_departure(ref)  # offered: C001 is simply not abroad
    assert departure.value.code == "FINANCIAL_NOT_ABROAD"
