"""Drives the financial-certificate issuance over HTTP as the web pages do, for tests.

browser = Browser(api.url, "C001")
browser.start(); browser.identify(); browser.proven_by_ars()
browser.medium("account"); browser.medium_verify(account_number=..., account_password="2580")
browser.details(); browser.code_verify(); done = browser.pin()
"""

from __future__ import annotations

import base64
import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.cli.client import ApiError, CenterClient
from certcenter.simulators.world import load_world

WORLD = load_world()
PIN = "480213"
ACCOUNT_PASSWORD = "2580"
OPENED: list[CenterClient] = []


def account_of(person: str) -> tuple[str, str]:
    first = WORLD.people[person].accounts[0]
    return str(first["bank"]), str(first["number"])


class Browser:
    def __init__(self, url: str, person: str = "C001", *, forwarded_for: str | None = None):
        self.person = WORLD.people[person]
        self.client = CenterClient(url, forwarded_for=forwarded_for)
        OPENED.append(self.client)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.spki = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.enrollment_id = ""
        self.last: dict[str, Any] = {}

    # -- who the person is
    @property
    def user_id(self) -> str:
        return str((self.person.customer or {}).get("user_id") or "")

    @property
    def rrn(self) -> str:
        digits = self.person.rrn.digits
        return f"{digits[:6]}-{digits[6:]}"

    @property
    def phone(self) -> str:
        return str((self.person.phone or {})["number"])

    # -- the steps
    def call(self, step: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        path = f"/v1/financial/enrollments/{self.enrollment_id}"
        result: dict[str, Any] = self.client.call("POST", f"{path}/{step}", body or {})
        self.last = result
        return result

    def status(self) -> dict[str, Any]:
        result: dict[str, Any] = self.client.call(
            "GET", f"/v1/financial/enrollments/{self.enrollment_id}"
        )
        return result

    def start(self, accepted: list[str] | None = None) -> dict[str, Any]:
        self.client.token = None
        if accepted is None:
            accepted = self.client.call("GET", "/v1/financial/enrollments/terms")["required"]
        result: dict[str, Any] = self.client.call(
            "POST", "/v1/financial/enrollments", {"accepted": accepted}
        )
        self.enrollment_id = result["enrollment_id"]
        self.client.token = result["token"]
        self.last = result
        return result

    def identify(self, user_id: str | None = None, rrn: str | None = None) -> dict[str, Any]:
        return self.call(
            "identify",
            {"user_id": self.user_id if user_id is None else user_id, "rrn": rrn or self.rrn},
        )

    def ars(self) -> str:
        return str(self.call("ars")["detail"]["ars_code"])

    def answer_call(self, digits: str | None) -> None:
        """The person at the phone picks up and keys in ``digits`` (None: declines)."""
        self.client.call("POST", f"/sim/ars/{self.phone}/answer", {"keyed": digits})

    def ars_confirm(self) -> dict[str, Any]:
        return self.call("ars/confirm")

    def proven_by_ars(self) -> dict[str, Any]:
        code = self.ars()
        self.answer_call(code)
        return self.ars_confirm()

    def departure(self) -> dict[str, Any]:
        return self.call("departure")

    def medium(self, medium: str) -> dict[str, Any]:
        return self.call("medium", {"medium": medium})

    def medium_verify(self, **body: Any) -> dict[str, Any]:
        return self.call("medium/verify", body)

    def by_account(self, password: str = ACCOUNT_PASSWORD) -> dict[str, Any]:
        self.medium("account")
        bank, number = account_of(self.person.key)
        return self.medium_verify(bank_code=bank, account_number=number, account_password=password)

    def details(self, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": self.person.name,
            "phone": self.phone,
            "birth_date": self.person.rrn.birth_date.isoformat(),
            "device_public_key": base64.b64encode(self.spki).decode(),
            "device_label": "Chrome on Windows",
        }
        body.update(overrides)
        return self.call("details", body)

    def sms_code(self) -> str:
        for message in self.client.call("GET", f"/sim/api/phones/{self.phone}/messages"):
            match = re.search(r"\[(\d{6})\]", message["body"])
            if match:
                return match.group(1)
        raise AssertionError("no code on the demo phone")

    def code_verify(self, code: str | None = None) -> dict[str, Any]:
        return self.call("code/verify", {"code": code or self.sms_code()})

    def pin(self, pin: str = PIN, confirmation: str | None = None) -> dict[str, Any]:
        return self.call("pin", {"pin": pin, "pin_confirmation": confirmation or pin})

    def finish(self) -> dict[str, Any]:
        """From a verified medium to the issued certificate."""
        self.details()
        self.code_verify()
        return self.pin()

    def refused(self, step: str, *args: Any, **kwargs: Any) -> ApiError:
        try:
            getattr(self, step)(*args, **kwargs)
        except ApiError as err:
            return err
        raise AssertionError(f"{step} was not refused")
