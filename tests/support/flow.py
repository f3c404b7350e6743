"""Drives the issuance flow over HTTP as the app does, one step at a time, for tests.

flow = Flow(api.url, tmp_path, "C001")
flow.through("credentials")      # every step up to and including credentials
issued = flow.csr()
flow.messages("01020000001")     # what the phone received, the outbox sent first

``deliver`` sends the outbox before :meth:`Flow.messages` reads a phone's messages: the
``new_flow`` fixture passes the test's center's (``tests/support/outbox.py``), since the
live server of the tests runs no sender thread. Without it the server's own sender sends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.demo import scripted_answers
from certcenter.cli.keystore import Keystore

STEPS = (
    "start",
    "terms",
    "phone",
    "phone_verify",
    "account",
    "account_verify",
    "id",
    "credentials",
    "csr",
)


class Flow:
    def __init__(
        self,
        url: str,
        tmp_path: Path,
        person: str,
        *,
        forwarded_for: str | None = None,
        keystore: str | None = None,
        deliver: Callable[[], object] | None = None,
    ) -> None:
        self.answers = scripted_answers(person)
        self.deliver = deliver
        self.person = person
        self.client = CenterClient(url, forwarded_for=forwarded_for)
        self.keystore = Keystore(tmp_path / (keystore or f"keystore-{person}"))
        self.device = self.keystore.ensure_device(
            platform="android", model="SM-S928N", app_version="5.2.0"
        )
        self.issued: dict[str, Any] | None = None

    # -- steps
    def start(
        self,
        *,
        integrity: dict[str, Any] | None = None,
        move: bool = False,
        app_version: str | None = None,
        platform: str | None = None,
    ) -> dict[str, Any]:
        if app_version or platform:
            self.device.app_version = app_version or self.device.app_version
            self.device.platform = platform or self.device.platform
        return self.client.start(self.device, integrity=integrity or {}, move_certificate=move)

    def terms(self, accepted: list[str] | None = None) -> dict[str, Any]:
        return self.client.step(
            "terms", {"accepted": self.client.required_terms if accepted is None else accepted}
        )

    def phone(self, **overrides: str) -> dict[str, Any]:
        a = self.answers
        body = {"carrier": a.carrier, "name": a.name, "rrn_front": a.rrn_front, "phone": a.phone}
        body.update(overrides)
        return self.client.step("phone", body)

    def messages(self, phone: str) -> list[dict[str, Any]]:
        """The phone's messages, newest first, once the outbox's due messages are sent."""
        if self.deliver is not None:
            self.deliver()
        return self.client.messages(phone)

    def sms_code(self) -> str:
        code = self.client.latest_sms_code(self.answers.phone or "")
        assert code is not None, "no SMS code in the demo phone's messages"
        return code

    def phone_verify(self, code: str | None = None) -> dict[str, Any]:
        return self.client.step("phone/verify", {"code": code or self.sms_code()})

    def account(self, **overrides: str) -> dict[str, Any]:
        body = {"bank_code": self.answers.bank_code, "account_number": self.answers.account_number}
        body.update(overrides)
        return self.client.step("account", body)

    def deposit_code(self, bank: str | None = None, number: str | None = None) -> str:
        code = self.client.latest_deposit_code(
            bank or self.answers.bank_code or "", number or self.answers.account_number or ""
        )
        assert code is not None, "no 1-won deposit in the demo account's statement"
        return code

    def account_verify(self, code: str | None = None) -> dict[str, Any]:
        return self.client.step("account/verify", {"code": code or self.deposit_code()})

    def id(self, **overrides: str) -> dict[str, Any]:
        fields = dict(self.answers.id_fields)
        fields.update(overrides)
        return self.client.step("id", fields)

    def credentials(
        self,
        pin: str = "591734",
        confirmation: str | None = None,
        pattern: list[int] | None = None,
        biometric: bool = True,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "pin": pin,
            "pin_confirmation": confirmation or pin,
            "pattern": pattern if pattern is not None else [0, 1, 2, 5, 8],
        }
        if biometric:
            body["biometric_public_key"] = self.keystore.new_biometric_key()
        return self.client.step("credentials", body)

    def csr(self, csr: str | None = None) -> dict[str, Any]:
        pem = csr or self.keystore.new_certificate_request(common_name=self.answers.name or "x")
        self.issued = self.client.step("csr", {"csr": pem})
        self.keystore.install_certificate(self.issued["certificate"], self.issued["chain"])
        return self.issued

    def current_serial(self) -> str:
        """The serial of the certificate the app holds now (renewals replace it)."""
        cert = self.keystore.certificate()
        assert cert is not None
        return f"{cert.serial_number:X}"

    def through(self, last: str, **start: Any) -> None:
        """Run every step from the start up to and including ``last``."""
        for step in STEPS[: STEPS.index(last) + 1]:
            getattr(self, step)(**(start if step == "start" else {}))

    def through_from(self, first: str, last: str) -> None:
        """Run the steps from ``first`` up to and including ``last``."""
        for step in STEPS[STEPS.index(first) : STEPS.index(last) + 1]:
            getattr(self, step)()

    def refused(self, step: str, *args: Any, **kwargs: Any) -> ApiError:
        """Run a step that must be refused; return the refusal."""
        try:
            getattr(self, step)(*args, **kwargs)
        except ApiError as err:
            return err
        raise AssertionError(f"step {step} was not refused")


FlowFactory = Callable[..., Flow]
