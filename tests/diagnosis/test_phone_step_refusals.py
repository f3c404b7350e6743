"""Refusals of the phone step reach the diagnosis: the flow does not know its customer yet
when the carrier refuses the line, so the refusal is linked to the name, birth date and
number typed (a keyed digest, never the values) and the customer's checklist finds it."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from sqlalchemy import select

from certcenter.bootstrap import Center
from certcenter.cli.common import local_center
from certcenter.cli.demo import scripted_answers
from certcenter.cli.main import cli
from certcenter.diagnosis.document import checklist_document
from certcenter.errors import entry
from certcenter.storage.tables import failure_marks, failures
from tests.conftest import LiveServer
from tests.diagnosis.support import diagnose, refused, rrn, started
from tests.support.flow import FlowFactory
from tests.web.signin import app_fixture, center_fixture  # noqa: F401 (fixtures)
from tests.web.support import WebClient


def wrong_carrier(center: Center, person: str = "C005", carrier: str = "LGU") -> str:
    """The phone step with the host network instead of its 알뜰폰 entry; the refusal's code."""
    a = scripted_answers(person)
    ref = started(center, person)
    err = refused(
        lambda: center.mobile_enrollment.request_phone_code(
            ref,
            carrier=carrier,
            name=a.name or "",
            rrn_front=a.rrn_front or "",
            phone=a.phone or "",
        )
    )
    return err.code


def failure_codes(checklist_item_context: dict[str, object]) -> dict[str, int]:
    listed = checklist_item_context["failures"]
    assert isinstance(listed, list)
    return {str(f["code"]): int(f["count"]) for f in listed}


def test_c005_refused_for_the_wrong_carrier_is_told_what_stops_issuance(center: Center) -> None:
    before = diagnose(center, "C005")
    assert before.ready and before.item("phone_carrier").status == "ok"

    assert wrong_carrier(center) == "PHONE_CARRIER_MISMATCH"

    after = diagnose(center, "C005")
    assert not after.ready
    carrier = after.item("phone_carrier")
    assert (carrier.status, carrier.code) == ("problem", "PHONE_CARRIER_MISMATCH")
    assert carrier.context["carrier"] == "LGU_MVNO"  # the entry to choose
    assert carrier.context["carrier_label"] == "LG U+ 알뜰폰"
    assert failure_codes(after.item("recent_failures").context) == {"PHONE_CARRIER_MISMATCH": 1}
    document = checklist_document(after)
    assert document["problems"] == [{"key": "phone_carrier", "code": "PHONE_CARRIER_MISMATCH"}]
    json.dumps(document)  # the API's answer


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_c004_sees_the_refusal_of_her_mothers_phone(center: Center) -> None:
    assert wrong_carrier(center, "C004", carrier="SKT") == "PHONE_NOT_OWN_NAME"
    checklist = diagnose(center, "C004")
    assert failure_codes(checklist.item("recent_failures").context) == {"PHONE_NOT_OWN_NAME": 1}
    assert checklist.item("phone_own_name").code == "PHONE_NOT_OWN_NAME"


def test_the_link_is_a_keyed_digest_and_names_only_the_person_typed(center: Center) -> None:
    # C001 types C005's number with their own name and birth date: not C005's refusal
    mine = scripted_answers("C001")
    ref = started(center, "C001", device_id="someone-else")
    theirs = scripted_answers("C005").phone or ""
    err = refused(
        lambda: center.mobile_enrollment.request_phone_code(
            ref, carrier="LGU", name=mine.name or "", rrn_front=mine.rrn_front or "", phone=theirs
        )
    )
    assert err.code == "PHONE_CARRIER_MISMATCH"
    assert diagnose(center, "C005").item("recent_failures").status == "ok"
    assert diagnose(center, "C005").item("phone_carrier").status == "ok"

    assert wrong_carrier(center) == "PHONE_CARRIER_MISMATCH"
    with center.uow_factory() as uow:
        marks = uow.session.execute(  # type: ignore[attr-defined]
            select(failure_marks.c.subject_kind, failure_marks.c.subject)
        ).all()
        stored = uow.session.execute(select(failures)).all()  # type: ignore[attr-defined]
    links = [subject for kind, subject in marks if kind == "identity"]
    assert len(links) == 2 and all(re.fullmatch(r"[0-9a-f]{64}", s) for s in links)
    everything = repr(marks) + repr(stored)
    for secret in (theirs, theirs[-8:], rrn("C005")[:6], "정도윤"):
        assert secret not in everything


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_choosing_the_right_carrier_is_the_way_forward(
    center: Center, new_flow: FlowFactory
) -> None:
    flow = new_flow("C005")
    flow.through("terms")
    assert flow.refused("phone", carrier="LGU").code == "PHONE_CARRIER_MISMATCH"
    assert diagnose(center, "C005").item("phone_carrier").code == "PHONE_CARRIER_MISMATCH"
    flow.through_from("phone", "csr")  # LG U+ 알뜰폰, as the checklist said
    checklist = diagnose(center, "C005")
    assert checklist.item("phone_carrier").status == "ok"
    assert checklist.item("certificate").context["certificate_status"] == "active"
    # the refusal stays listed for the window, as a warning
    assert "PHONE_CARRIER_MISMATCH" in failure_codes(checklist.item("recent_failures").context)


def test_the_operator_command_line_shows_the_phone_step_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"CERTCENTER_DATA_DIR": str(tmp_path / "var"), "CERTCENTER_LANG": "en"}
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    local = local_center()  # the app's refusal, on the center the command reads
    try:
        assert wrong_carrier(local) == "PHONE_CARRIER_MISMATCH"
    finally:
        local.close()

    shown = runner.invoke(cli, ["customers", "diagnose", "C005"], env=env)
    assert shown.exit_code == 2, shown.output  # something stops issuance
    assert "C005: issuance fails (1 problem)" in shown.output
    assert "LG U+ 알뜰폰  [PHONE_CARRIER_MISMATCH]" in shown.output
    assert "1×  [PHONE_CARRIER_MISMATCH]" in shown.output


def test_the_why_page_lists_the_phone_step_refusal(db_center: Center, db_app: FastAPI) -> None:
    assert wrong_carrier(db_center, carrier="LGU") == "PHONE_CARRIER_MISMATCH"
    with WebClient(db_app) as web:
        data = {"user_id": "c005user", "rrn": rrn("C005")}
        page = web.follow(web.post("/why", data={**data, **web.csrf("/why")})).text
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert 'data-key="phone_carrier" data-status="problem"' in page
    assert entry("PHONE_CARRIER_MISMATCH").message_ko in words
    assert "LG U+ 알뜰폰" in words


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_customer_api_lists_the_phone_step_refusal(center: Center, api: LiveServer) -> None:
    assert wrong_carrier(center) == "PHONE_CARRIER_MISMATCH"
    with httpx.Client(base_url=api.url, timeout=30) as http:
        answer = http.post("/v1/diagnosis", json={"user_id": "c005user", "rrn": rrn("C005")})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ready"] is False
    assert body["problems"] == [{"key": "phone_carrier", "code": "PHONE_CARRIER_MISMATCH"}]
    (failures,) = [i for i in body["items"] if i["key"] == "recent_failures"]
    assert [f["code"] for f in failures["context"]["failures"]] == ["PHONE_CARRIER_MISMATCH"]
