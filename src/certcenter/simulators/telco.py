"""The telco simulator (통신사): phone-ownership verification and SMS delivery.

    telco = SimulatedTelco(store, clock)
    person = telco.verify_subscriber(carrier=Carrier.SKT, name="김민준",
                                     rrn_front=parse_rrn_front("9003151"), phone="01020000001")
    telco.send(phone="01020000001", sender="1588-9999", text="[인증센터] 인증번호 123456")

CI (연계정보) is what Korean identity-verification agencies derive from a resident number:
an HMAC of it under the agencies' shared secret, 88 characters of base64. The simulator keeps
its own secret in its database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from certcenter.clock import Clock
from certcenter.errors import CertCenterError
from certcenter.identity.phone_numbers import Carrier
from certcenter.identity.providers import LineFacts, VerifiedSubscriber
from certcenter.identity.rrn import ResidentNumber, RrnFront
from certcenter.storage.simulator_store import SimulatorStore

CI_SECRET_KEY = "ci_secret"  # noqa: S105 - the name of a meta row, not a secret


def ci_secret(store: SimulatorStore) -> bytes:
    value = store.set_meta_once(CI_SECRET_KEY, secrets.token_hex(32))
    return bytes.fromhex(value)


def connecting_information(rrn_digits: str, secret: bytes) -> str:
    """CI for a 13-digit resident number."""
    mac = hmac.new(secret, rrn_digits.encode("ascii"), hashlib.sha512).digest()
    return base64.b64encode(mac).decode("ascii")


class SimulatedTelco:
    """Carriers' subscriber records and every phone's inbox."""

    def __init__(self, store: SimulatorStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def verify_subscriber(
        self, *, carrier: Carrier, name: str, rrn_front: RrnFront, phone: str
    ) -> VerifiedSubscriber:
        line = self.store.subscriber(phone)
        if line is None:
            raise CertCenterError("PHONE_SUBSCRIBER_NOT_FOUND")
        if line["carrier"] != carrier.value:
            raise CertCenterError("PHONE_CARRIER_MISMATCH")
        if line["line_type"] == "corporate":
            if not line["corporate_personal_service"]:
                raise CertCenterError("PHONE_CORPORATE_LINE")
            user_name, user_rrn7, user_ci = line["user_name"], line["user_rrn7"], line["user_ci"]
        else:
            user_name, user_rrn7, user_ci = (
                line["holder_name"],
                line["holder_rrn7"],
                line["holder_ci"],
            )
        name_ok = hmac.compare_digest(str(user_name).encode(), name.encode())
        rrn_ok = hmac.compare_digest(str(user_rrn7).encode(), rrn_front.digits.encode())
        if name_ok and rrn_ok and user_ci:
            return VerifiedSubscriber(ci=str(user_ci), name=name, phone=phone, carrier=carrier)
        if not name_ok and not rrn_ok:
            raise CertCenterError("PHONE_NOT_OWN_NAME")
        raise CertCenterError("PHONE_IDENTITY_MISMATCH")

    def line_facts(self, phone: str) -> LineFacts | None:
        """명의 조회 without an SMS: carrier, kind of line, whose identity it proves."""
        line = self.store.subscriber(phone)
        if line is None:
            return None
        corporate = line["line_type"] == "corporate"
        service = bool(line["corporate_personal_service"])
        # a corporate line proves its registered user only with the personal service
        verifies = line["holder_ci"] if not corporate else line["user_ci"] if service else None
        return LineFacts(
            phone=phone,
            carrier=Carrier(line["carrier"]),
            corporate=corporate,
            corporate_personal_service=service,
            verifies_ci=None if verifies is None else str(verifies),
            filtered_senders=("1588",) if line["spam_blocks_1588"] else (),
        )

    def ci_for(self, rrn: ResidentNumber) -> str:
        """The agency's CI of a resident number (the simulator's own secret, as at seeding)."""
        return connecting_information(rrn.digits, ci_secret(self.store))

    def send(self, *, phone: str, sender: str, text: str) -> None:
        line = self.store.subscriber(phone)
        blocked = bool(line and line["spam_blocks_1588"] and sender.startswith("1588"))
        self.store.add_sms(
            phone=phone,
            sender=sender,
            body=text,
            folder="spam" if blocked else "inbox",
            at=self.clock.now(),
        )
