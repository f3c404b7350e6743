"""/v1/joint/registrations over HTTP: the steps, and refusals as problem documents."""

from __future__ import annotations

from typing import Any

import httpx

from certcenter.bootstrap import Center
from certcenter.media.security_card import answer_for
from tests.conftest import LiveServer
from tests.joint.support import account_of, rrn_of
from tests.media.test_otp_service import sms_code
from tests.media.test_security_card import issue_and_register

BASE = "/v1/joint/registrations"


def test_a_general_registration_over_http(api: LiveServer, center: Center) -> None:
    _, _, slots = issue_and_register(center, "C001")
    with httpx.Client(base_url=api.url, timeout=30) as http:
        terms = http.get(f"{BASE}/terms").json()
        assert terms["general_fee_krw"] == 4400 and terms["kinds"] == ["banking", "general"]
        bad = http.post(BASE, json={"kind": "gold", "accepted": terms["required"]})
        assert bad.status_code == 422 and bad.json()["code"] == "JOINT_KIND_INVALID"
        started = http.post(BASE, json={"kind": "general", "accepted": terms["required"]})
        assert started.status_code == 201, started.text
        body = started.json()
        path = f"{BASE}/{body['registration_id']}"
        http.headers["Authorization"] = f"Bearer {body['token']}"

        def step(name: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
            answer = http.post(f"{path}/{name}", json=payload or {})
            assert answer.status_code in (200, 201), answer.text
            result: dict[str, Any] = answer.json()
            return result

        early = http.post(f"{path}/register", json={})
        assert early.status_code == 409 and early.json()["code"] == "ENROLLMENT_STEP_OUT_OF_ORDER"
        step("identify", {"user_id": "c001user", "rrn": rrn_of("C001")})
        account = http.post(f"{path}/medium", json={"medium": "account"})
        assert account.status_code == 422  # only the card and the OTP
        question = step("medium", {"medium": "security_card"})["detail"]["security_card"]
        step(
            "medium/verify",
            {
                "card_challenge_id": question["challenge_id"],
                "card_answer": answer_for(slots, question["slot_a"], question["slot_b"]),
            },
        )
        step("code")  # to the phone on record
        step("code/verify", {"code": sms_code(center, "01020000001")})
        bank, number = account_of("C001")
        done = step("register", {"bank_code": bank, "account_number": number})
        assert done["state"] == "registered"
        detail = done["detail"]
        assert len(detail["reference"]) == 10 and len(detail["authorization_code"]) == 16
        assert detail["fee_krw"] == 4400 and number not in str(detail["fee_account"])
        shown = http.get(path).json()
        assert "authorization_code" not in shown["detail"]  # shown that once only
        assert (
            center.joint_authority.shared_secret(detail["reference"])
            == detail["authorization_code"].encode()
        )
