"""Helpers for the financial-certificate tests: a browser with a WebCrypto-like device key,
issuing a certificate, reading the SMS code, and one remote signature end to end."""

from __future__ import annotations

import base64
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from sqlalchemy import select

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import BrowserDevice, Customer
from certcenter.financial import FinancialIssued, RemoteSignature
from certcenter.financial.media import MediumAnswer
from certcenter.lifecycle.service import ActorRef
from certcenter.simulators.world import load_world
from certcenter.storage import tables

PIN = "480213"
OTHER_PIN = "591734"
NAME, PHONE, BIRTH = "김민준", "01020000001", "1990-03-15"  # demo customer C001
ACCOUNT_PASSWORD = "2580"  # the demo world's account password
WORLD = load_world()


def by_account(number: str = "C001") -> MediumAnswer:
    """The additional medium of the demo customer: their own account at this bank and its
    password (C001: 1234-01-00000001)."""
    own = [a for a in WORLD.people[number].accounts if a["bank"] == "004"]
    return MediumAnswer(account_number=str(own[0]["number"]), account_password=ACCOUNT_PASSWORD)


@dataclass
class Browser:
    """A browser's non-extractable ECDSA P-256 key: signs like WebCrypto (raw r||s)."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )

    @property
    def spki(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def spki_b64(self) -> str:
        return base64.b64encode(self.spki).decode()

    def sign(self, message: bytes, *, der: bool = False) -> str:
        signature = self.key.sign(message, ec.ECDSA(hashes.SHA256()))
        if not der:
            r, s = decode_dss_signature(signature)
            signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return base64.b64encode(signature).decode()


def customer(center: Center, number: str = "C001") -> Customer:
    with center.uow_factory() as uow:
        found = uow.customers.by_number(number)
    assert found is not None
    return found


def issue(
    center: Center,
    browser: Browser | None = None,
    *,
    number: str = "C001",
    pin: str = PIN,
    label: str | None = "집 PC",
) -> FinancialIssued:
    holder = customer(center, number)
    return center.cloud_certificates.create(
        holder.id,
        pin,
        device_public_key=browser.spki if browser else None,
        device_label=label,
        actor=ActorRef.customer(number, "127.0.0.1"),
        source_ip="127.0.0.1",
    )


def remote_sign(
    center: Center,
    browser: Browser,
    device_id: str,
    data: bytes,
    *,
    pin: str = PIN,
    purpose: str = "document",
) -> RemoteSignature:
    request = center.remote_signer.begin(device_id, purpose, data)
    grant = center.remote_signer.authorize(
        request.activation_id, browser.sign(request.message), pin
    )
    return center.remote_signer.sign(grant.token, data)


def wait_for_next_code(center: Center) -> None:
    """The customer asks for another SMS code no sooner than the phone's wait allows (the
    test's clock is moved on by it)."""
    clock = center.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(seconds=center.settings.policy.sms_resend_wait_seconds)


def register_browser(
    center: Center, browser: Browser, label: str | None = "회사 PC", *, number: str = "C001"
) -> BrowserDevice:
    """Another browser registered the way a customer does it: name, phone, birth date, the
    SMS code, then the account password as the additional medium."""
    holder = customer(center, number)
    devices = center.financial_devices
    wait_for_next_code(center)
    started = devices.start_registration(
        name=holder.name,
        phone=holder.phone,
        birth_date=holder.birth_date,
        public_key=browser.spki,
        label=label,
        source_ip="211.36.1.1",
    )
    flow = (started.registration_id, started.token)
    devices.verify_code(*flow, latest_code(center, holder.phone), source_ip="211.36.1.1")
    devices.choose_medium(*flow, "account", source_ip="211.36.1.1")
    device = devices.complete_registration(*flow, by_account(number), source_ip="211.36.1.1")
    assert device is not None
    return device


def latest_code(center: Center, phone: str = PHONE) -> str:
    for message in center.sim_store.messages(phone):
        match = re.search(r"\[(\d{6})\]", message["body"])
        if match:
            return match.group(1)
    raise AssertionError("no code in the inbox")


def events(center: Center, customer_id: str) -> list[str]:
    with center.uow_factory() as uow:
        return [m.event for m in uow.outbox.for_customer(customer_id, limit=200)]


def openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["openssl", *args], input=stdin, capture_output=True, check=False, timeout=30
    )


def write(path: Path, data: bytes | str) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def cloud_keys(center: Center) -> list[str]:
    """The labels of the cloud keys that exist: accounts holding a wrapped key in the
    database, and keys kept in the key backend's directory under their own label."""
    table = tables.cloud_accounts
    with center.engine.connect() as connection:
        wrapped = connection.execute(
            select(table.c.key_label).where(table.c.wrapped_key.is_not(None))
        ).scalars()
        labels = list(wrapped)
    files = [p.name.removesuffix(".key.pem") for p in center.settings.keys_path.glob("fin-*")]
    return sorted([*labels, *files])
