"""A Python client generated from the live ``/openapi.json`` (openapi-python-client, at test
time, into a temporary directory: it cannot drift from the server) issues a mobile
certificate, logs in and makes a transfer, and reads a refusal as the document's problem
model. Proof that the document is complete enough to build a client on.
"""

from __future__ import annotations

import base64
import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from certcenter.cli.demo import DEMO_PATTERN, DEMO_PIN, scripted_answers
from certcenter.cli.keystore import Keystore
from tests.conftest import LiveServer

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
PACKAGE = "certcenter_client"
PAYEE = ("088", "110000000002")  # another demo customer's account
C001_SAVINGS = ("004", "12340100000101")

pytestmark = pytest.mark.slow


@pytest.fixture
def generated(api: LiveServer, tmp_path: Path) -> Iterator[ModuleType]:
    document = httpx.get(f"{api.url}/openapi.json", timeout=30)
    assert document.status_code == 200
    (tmp_path / "openapi.json").write_bytes(document.content)
    (tmp_path / "config.yaml").write_text(
        f"package_name_override: {PACKAGE}\npost_hooks: []\n", encoding="utf-8"
    )
    made = subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yaml",
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "out" / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    sys.path.insert(0, str(tmp_path / "out"))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path / "out"))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class Api:
    """Calls the generated client's operations by their tag and operation module."""

    def __init__(self, package: ModuleType, url: str) -> None:
        self.package = package
        self.anonymous = package.Client(base_url=url, raise_on_unexpected_status=True)
        self.url = url
        self.made = [self.anonymous]

    def as_bearer(self, token: str) -> Any:
        made = self.package.AuthenticatedClient(
            base_url=self.url, token=token, raise_on_unexpected_status=True
        )
        self.made.append(made)
        return made

    def close(self) -> None:
        for made in self.made:
            made.get_httpx_client().close()

    def model(self, name: str, values: dict[str, Any]) -> Any:
        return getattr(importlib.import_module(f"{PACKAGE}.models"), name).from_dict(values)

    def call(self, tag: str, operation: str, client: Any = None, **kwargs: Any) -> Any:
        module = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
        return module.sync_detailed(client=client or self.anonymous, **kwargs)


ENROLL = "enrollment_발급"
USE = "using_the_certificate_로그인이체전자서명"
SIM = "demo_simulators_시뮬레이터"


def _ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.content
    return response.parsed


@pytest.mark.parametrize("backend", ["sqlite"])  # the document is the same on both
def test_a_generated_client_issues_logs_in_and_transfers(
    generated: ModuleType, api: LiveServer, tmp_path: Path
) -> None:
    client = Api(generated, api.url)
    try:
        _issue_log_in_and_transfer(client, tmp_path)
    finally:
        client.close()


def _issue_log_in_and_transfer(client: Api, tmp_path: Path) -> None:
    answers = scripted_answers("C001")
    keystore = Keystore(tmp_path / "phone")
    device = keystore.ensure_device(platform="android", model="SM-S928N", app_version="5.2.0")

    started = _ok(
        client.call(
            ENROLL,
            "start_v1_enrollments_post",
            body=client.model(
                "StartIn",
                {
                    "device": {
                        "device_id": device.device_id,
                        "platform": device.platform,
                        "model": device.model,
                        "app_version": device.app_version,
                    }
                },
            ),
        ),
        201,
    )
    flow = client.as_bearer(started.token)
    enrollment = started.enrollment_id

    def step(operation: str, model: str | None, values: dict[str, Any], status: int = 200) -> Any:
        body = {"body": client.model(model, values)} if model else {}
        return _ok(client.call(ENROLL, operation, flow, enrollment_id=enrollment, **body), status)

    terms = started.detail.to_dict()["required_terms"]
    step("terms_v1_enrollments_enrollment_id_terms_post", "TermsIn", {"accepted": terms})
    step(
        "phone_v1_enrollments_enrollment_id_phone_post",
        "PhoneIn",
        {
            "carrier": answers.carrier,
            "name": answers.name,
            "rrn_front": answers.rrn_front,
            "phone": answers.phone,
        },
    )
    # a wrong code: the refusal is the document's problem model, with its catalog code
    refused = client.call(
        ENROLL,
        "phone_verify_v1_enrollments_enrollment_id_phone_verify_post",
        flow,
        enrollment_id=enrollment,
        body=client.model("CodeIn", {"code": "000000"}),
    )
    assert refused.status_code == 422
    assert refused.parsed.code == "CODE_INVALID"
    assert type(refused.parsed).__name__.endswith("Response422")

    phone = re.sub(r"\D", "", answers.phone or "")
    inbox = _ok(client.call(SIM, "messages_sim_api_phones_phone_messages_get", phone=phone), 200)
    codes = [re.search(r"\[(\d{6})\]", m["body"]) for m in _dicts(inbox)]
    sms = next(c.group(1) for c in codes if c)
    step("phone_verify_v1_enrollments_enrollment_id_phone_verify_post", "CodeIn", {"code": sms})
    step(
        "account_v1_enrollments_enrollment_id_account_post",
        "AccountIn",
        {"bank_code": answers.bank_code, "account_number": answers.account_number},
    )
    statement = _ok(
        client.call(
            SIM,
            "statement_sim_api_banks_bank_code_accounts_account_number_statement_get",
            bank_code=answers.bank_code,
            account_number=answers.account_number,
        ),
        200,
    )
    entries = _dicts(statement)[0]["entries"]
    deposit = next(
        m.group(1)
        for e in entries
        if e["amount"] == 1 and (m := re.fullmatch(r"인증(\d+)", e["description"]))
    )
    step(
        "account_verify_v1_enrollments_enrollment_id_account_verify_post",
        "CodeIn",
        {"code": deposit},
    )
    step("id_document_v1_enrollments_enrollment_id_id_post", "IdIn", dict(answers.id_fields))
    step(
        "credentials_v1_enrollments_enrollment_id_credentials_post",
        "CredentialsIn",
        {"pin": DEMO_PIN, "pin_confirmation": DEMO_PIN, "pattern": list(DEMO_PATTERN)},
    )
    issued = step(
        "csr_v1_enrollments_enrollment_id_csr_post",
        "CsrIn",
        {"csr": keystore.new_certificate_request(common_name=answers.name or "x")},
        201,
    )
    assert issued.customer_number == "C001"
    keystore.install_certificate(issued.certificate, issued.chain)

    challenge = _ok(
        client.call(
            USE,
            "login_challenge_v1_login_challenges_post",
            body=client.model("LoginChallengeIn", {"device_id": device.device_id}),
        ),
        201,
    )
    session = _ok(
        client.call(
            USE,
            "login_v1_login_post",
            body=client.model(
                "UsageLoginIn",
                {
                    "device_id": device.device_id,
                    "challenge": challenge.challenge,
                    "signature": keystore.sign(challenge.sign.encode()),
                    "method": "pin",
                    "pin": DEMO_PIN,
                },
            ),
        ),
        200,
    )
    customer = client.as_bearer(session.token)
    prepared = _ok(
        client.call(
            USE,
            "prepare_transfer_v1_transfers_post",
            customer,
            body=client.model(
                "TransferIn",
                {
                    "from_bank": C001_SAVINGS[0],
                    "from_account": C001_SAVINGS[1],
                    "to_bank": PAYEE[0],
                    "to_account": PAYEE[1],
                    "amount": 10_000,
                },
            ),
        ),
        201,
    )
    assert prepared.factors == ["pin"]  # a small amount: the signature and the PIN
    document = base64.b64decode(prepared.document_b64)
    done = _ok(
        client.call(
            USE,
            "confirm_transfer_v1_transfers_transfer_id_confirm_post",
            customer,
            transfer_id=prepared.id,
            body=client.model(
                "UsageConfirmIn", {"signature": keystore.sign(document), "pin": DEMO_PIN}
            ),
        ),
        200,
    )
    assert done.status == "completed" and done.amount == 10_000
    # without the session: the document's 401 problem, read as such
    anonymous = client.call(USE, "get_transfer_v1_transfers_transfer_id_get", transfer_id=done.id)
    assert anonymous.status_code == 401
    assert anonymous.parsed.code == "SESSION_INVALID"


def _dicts(values: Any) -> list[dict[str, Any]]:
    """The simulators' untyped answers, as plain dictionaries."""
    items = values if isinstance(values, list) else [values]
    return [v if isinstance(v, dict) else v.to_dict() for v in items]
