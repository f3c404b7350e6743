"""The security card over HTTP and on the command line: the operator issues, the customer
registers, answers and cancels it (the card once more and the app's PIN), the person reads the
printed card in the demo world."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.main import cli
from certcenter.lifecycle.service import ActorRef
from certcenter.media.security_card import answer_for
from tests.conftest import LiveServer
from tests.media.test_otp_service import APP_PIN, app_device
from tests.media.test_otp_service import customer as customer_of


def session_token(center: Center, number: str) -> str:
    with center.uow_factory() as uow:
        customer = uow.customers.by_number(number)
        assert customer is not None
    return center.sessions.open(
        customer_id=customer.id, device_id="d", certificate_serial="S", method="pin"
    ).token


def refusal(work: Any) -> tuple[int, str]:
    with pytest.raises(ApiError) as refused:
        work()
    return refused.value.status, refused.value.code


@pytest.fixture
def client(api: LiveServer, center: Center) -> Any:
    with CenterClient(api.url, locale="en") as made:
        made.token = session_token(center, "C001")
        yield made


def test_operator_issues_and_the_customer_registers_and_answers(
    api: LiveServer, center: Center, client: CenterClient
) -> None:
    operator = center.operators.create("kim", ["operator"])
    auditor = center.operators.create("lee", ["auditor"])
    issue_path = f"{api.url}/v1/operator/customers/C001/security-cards"

    def issue(token: str | None, path: str = issue_path) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.post(path, headers=headers, timeout=30)

    assert issue(None).json()["code"] == "OPERATOR_TOKEN_INVALID"
    assert issue(auditor).json()["code"] == "OPERATOR_FORBIDDEN"
    unknown = issue(operator, f"{api.url}/v1/operator/customers/C999/security-cards")
    assert unknown.status_code == 404 and unknown.json()["code"] == "CUSTOMER_UNKNOWN"
    made = issue(operator)
    assert made.status_code == 201, made.text
    issued = made.json()
    assert issued["customer"] == "C001" and issued["status"] == "issued"
    assert issued["slots"] == 35
    serial = issued["serial"]

    # the person reads the printed card in the demo world, by serial or customer number
    printed = client.call("GET", f"/sim/cards/{serial}")
    assert printed["serial"] == serial and len(printed["slots"]) == 35
    assert client.call("GET", "/sim/cards/C001")["slots"] == printed["slots"]
    assert refusal(lambda: client.call("GET", "/sim/cards/C017"))[1] == "NOT_FOUND"
    slots = printed["slots"]
    assert not any(digits in made.text.replace(serial, "") for digits in slots)

    question = client.call("POST", "/v1/security-cards/registrations", {"serial": serial})
    assert set(question) == {"id", "slot_a", "slot_b", "expires_at"}
    card = client.call(
        "POST",
        f"/v1/security-cards/registrations/{question['id']}",
        {"answer": answer_for(slots, question["slot_a"], question["slot_b"])},
    )
    assert card["status"] == "active" and card["serial"] == "******" + serial[-4:]
    listed = client.call("GET", "/v1/security-cards")
    assert [(c["serial"], c["status"], c["slots"]) for c in listed] == [
        ("******" + serial[-4:], "active", 35)
    ]

    asked = client.call("POST", "/v1/security-cards/challenges")
    answer = answer_for(slots, asked["slot_a"], asked["slot_b"])
    verify = f"/v1/security-cards/challenges/{asked['id']}/verify"
    assert client.call("POST", verify, {"answer": answer}) == {"verified": True}
    assert refusal(lambda: client.call("POST", verify, {"answer": answer})) == (
        401,
        "SECURITY_CARD_CHALLENGE_INVALID",
    )
    asked = client.call("POST", "/v1/security-cards/challenges")
    right = answer_for(slots, asked["slot_a"], asked["slot_b"])
    wrong = right[:3] + str((int(right[3]) + 1) % 10)
    verify = f"/v1/security-cards/challenges/{asked['id']}/verify"
    assert refusal(lambda: client.call("POST", verify, {"answer": wrong})) == (401, "AUTH_FAILED")
    assert refusal(lambda: client.call("POST", verify, {"answer": "1" * 17}))[1] == (
        "INVALID_REQUEST"
    )


def test_refusals_unknown_serial_someone_elses_card_and_no_login(
    api: LiveServer, center: Center, client: CenterClient
) -> None:
    theirs = center.security_cards.issue("C002", ActorRef.operator("op", None))
    register = "/v1/security-cards/registrations"
    assert refusal(lambda: client.call("POST", register, {"serial": "1234567890"})) == (
        404,
        "SECURITY_CARD_UNKNOWN",
    )
    assert refusal(lambda: client.call("POST", register, {"serial": theirs.serial})) == (
        404,
        "SECURITY_CARD_UNKNOWN",
    )
    assert refusal(lambda: client.call("POST", "/v1/security-cards/challenges")) == (
        409,
        "SECURITY_CARD_NOT_REGISTERED",
    )
    assert client.call("GET", "/v1/security-cards") == []

    for token in (None, "not-a-session"):
        client.token = token
        for method, path, body in [
            ("GET", "/v1/security-cards", None),
            ("POST", register, {"serial": theirs.serial}),
            ("POST", f"{register}/x", {"answer": "1234"}),
            ("POST", "/v1/security-cards/challenges", None),
            ("POST", "/v1/security-cards/challenges/x/verify", {"answer": "1234"}),
        ]:
            assert refusal(lambda m=method, p=path, b=body: client.call(m, p, b)) == (
                401,
                "SESSION_INVALID",
            ), path


def test_command_line_issue_read_register_and_status(
    api: LiveServer, center: Center, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = center.settings
    env = {
        "CERTCENTER_DATA_DIR": str(settings.data_dir),
        "CERTCENTER_KEY_DIR": str(settings.key_dir),
        "CERTCENTER_CA_DIR": str(settings.ca_dir),
        "CERTCENTER_KEY_PASSPHRASE": "test-passphrase",
        "CERTCENTER_DATABASE_URL": settings.database_url,
        "CERTCENTER_SIMULATOR_DATABASE_URL": settings.simulator_database_url,
        "CERTCENTER_ENVIRONMENT": "demo",
        "CERTCENTER_LANG": "en",
    }
    runner = CliRunner()
    issued = runner.invoke(cli, ["customers", "issue-card", "C001"], env=env)
    assert issued.exit_code == 0, issued.output
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        cards = uow.security_cards.for_customer(customer.id)
    assert len(cards) == 1 and cards[0].status == "issued"
    serial = cards[0].serial
    assert serial in issued.output
    row = center.sim_store.card(serial)
    assert row is not None
    slots = list(row["slots"])
    assert not any(digits in issued.output.replace(serial, "") for digits in slots)

    unknown = runner.invoke(cli, ["customers", "issue-card", "C999"], env=env)
    assert unknown.exit_code == 1 and "[CUSTOMER_UNKNOWN]" in unknown.output

    shown = runner.invoke(cli, ["sim", "card", "C001", "--url", api.url], env=env)
    assert shown.exit_code == 0, shown.output
    assert serial in shown.output
    assert all(f"[{n:>2}] {digits}" in shown.output for n, digits in enumerate(slots, start=1))

    import certcenter.cli.app_session as app_session

    token = session_token(center, "C001")

    def logged_in(keystore: Path, url: str, *, lang: str = "ko") -> CenterClient:
        made = CenterClient(url, locale=lang)
        made.token = token
        return made

    monkeypatch.setattr(app_session, "logged_in_client", logged_in)
    store = ["--keystore", str(tmp_path / "app"), "--url", api.url]
    registered = runner.invoke(
        cli, ["app", "card", "register", "--serial", serial, "--auto-codes", *store], env=env
    )
    assert registered.exit_code == 0, registered.output
    assert f"******{serial[-4:]}: active" in registered.output

    status = runner.invoke(cli, ["app", "card", "status", *store], env=env)
    assert status.exit_code == 0, status.output
    assert f"******{serial[-4:]}" in status.output and "active" in status.output

    # by hand: the person types the digits; a wrong answer is refused with the catalog's words
    second = center.security_cards.issue("C001", ActorRef.operator("op", None))
    typed = runner.invoke(
        cli, ["app", "card", "register", "--serial", second.serial, *store], input="12x4\n", env=env
    )
    assert typed.exit_code == 1 and "[AUTH_FAILED]" in typed.output, typed.output

    # 해지 from the app: the card once more (read in the demo world) and the app's PIN
    who = customer_of(center, "C001")
    token = center.sessions.open(
        customer_id=who.id, device_id=app_device(center, who), certificate_serial="S", method="pin"
    ).token
    cancel = ["app", "card", "cancel", "--auto-codes", "--serial", serial, *store]
    cancelled = runner.invoke(cli, cancel, input=f"{APP_PIN}\n", env=env)
    assert cancelled.exit_code == 0, cancelled.output
    assert f"******{serial[-4:]}: cancelled" in cancelled.output
    again = runner.invoke(cli, cancel, input=f"{APP_PIN}\n", env=env)
    assert again.exit_code == 1 and "[SECURITY_CARD_NOT_REGISTERED]" in again.output


def test_cancel_with_the_card_and_the_app_pin_then_a_new_card(
    api: LiveServer, center: Center, client: CenterClient
) -> None:
    who = customer_of(center, "C001")
    issued = center.security_cards.issue("C001", ActorRef.operator("op", None))
    slots = list(center.sim_store.card(issued.serial)["slots"])  # type: ignore[index]
    asked = center.security_cards.start_registration(who.id, issued.serial)
    center.security_cards.complete_registration(
        who.id, asked.id, answer_for(slots, asked.slot_a, asked.slot_b)
    )
    old_question = center.security_cards.challenge(who.id)  # outstanding when it is cancelled

    # a session that is not on the customer's app cannot cancel (client's device "d")
    asked_cancel = client.call("POST", "/v1/security-cards/cancellations")
    path = f"/v1/security-cards/cancellations/{asked_cancel['id']}"
    right = answer_for(slots, asked_cancel["slot_a"], asked_cancel["slot_b"])
    assert refusal(lambda: client.call("POST", path, {"answer": right, "pin": APP_PIN})) == (
        404,
        "DEVICE_NOT_REGISTERED",
    )

    client.token = center.sessions.open(
        customer_id=who.id, device_id=app_device(center, who), certificate_serial="S", method="pin"
    ).token
    # a wrong answer with the right PIN: refused, and counted towards the card's lock
    asked_cancel = client.call("POST", "/v1/security-cards/cancellations")
    path = f"/v1/security-cards/cancellations/{asked_cancel['id']}"
    right = answer_for(slots, asked_cancel["slot_a"], asked_cancel["slot_b"])
    wrong = right[:3] + str((int(right[3]) + 1) % 10)
    assert refusal(lambda: client.call("POST", path, {"answer": wrong, "pin": APP_PIN})) == (
        401,
        "AUTH_FAILED",
    )
    with center.uow_factory() as uow:
        counted = uow.factors.get(who.id, "security_card")
        pin_counter = uow.factors.get(who.id, "pin")
    assert counted is not None and counted.failures == 1
    assert pin_counter is None or pin_counter.failures == 0  # the right PIN was given back
    # the question was used up by the wrong answer
    assert refusal(lambda: client.call("POST", path, {"answer": right, "pin": APP_PIN}))[1] == (
        "SECURITY_CARD_CHALLENGE_INVALID"
    )

    asked_cancel = client.call("POST", "/v1/security-cards/cancellations")
    path = f"/v1/security-cards/cancellations/{asked_cancel['id']}"
    right = answer_for(slots, asked_cancel["slot_a"], asked_cancel["slot_b"])
    cancelled = client.call("POST", path, {"answer": right, "pin": APP_PIN})
    assert cancelled["status"] == "cancelled" and cancelled["revoked_at"] is not None
    assert cancelled["serial"] == "******" + issued.serial[-4:]
    with center.uow_factory() as uow:
        counted = uow.factors.get(who.id, "security_card")
        trail = [e.action for e in uow.audit.for_subject("security_card", issued.serial)]
    assert counted is not None and counted.failures == 0  # a right answer clears the count
    assert trail[0] == "security_card.cancel"

    # the cancelled card answers nothing, and cannot be registered again
    verify = f"/v1/security-cards/challenges/{old_question.id}/verify"
    answer = answer_for(slots, old_question.slot_a, old_question.slot_b)
    assert refusal(lambda: client.call("POST", verify, {"answer": answer})) == (
        409,
        "SECURITY_CARD_CANCELLED",
    )
    assert refusal(lambda: client.call("POST", "/v1/security-cards/challenges")) == (
        409,
        "SECURITY_CARD_NOT_REGISTERED",
    )
    register = "/v1/security-cards/registrations"
    assert refusal(lambda: client.call("POST", register, {"serial": issued.serial})) == (
        409,
        "SECURITY_CARD_CANCELLED",
    )

    # a new card from the bank registers as usual
    second = center.security_cards.issue("C001", ActorRef.operator("op", None))
    new_slots = list(center.sim_store.card(second.serial)["slots"])  # type: ignore[index]
    asked = client.call("POST", register, {"serial": second.serial})
    card = client.call(
        "POST",
        f"{register}/{asked['id']}",
        {"answer": answer_for(new_slots, asked["slot_a"], asked["slot_b"])},
    )
    assert card["status"] == "active"
    assert [c["status"] for c in client.call("GET", "/v1/security-cards")] == [
        "cancelled",
        "active",
    ]
