"""Drives the joint-certificate registration in process and plays the CMP client's part."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certcenter.bootstrap import Center
from certcenter.joint import JointEnrolled, RegistrationRef
from certcenter.joint.registration import MediumAnswer
from certcenter.media.security_card import answer_for
from certcenter.simulators.world import load_world
from tests.media.test_otp_service import sms_code
from tests.media.test_security_card import issue_and_register

WORLD = load_world()
IP = "211.36.1.1"
_KEYS: list[rsa.RSAPrivateKey] = []
_CARDS: dict[tuple[str, str], list[str]] = {}  # the card a person registered, per center


def rsa_key(index: int = 0) -> rsa.RSAPrivateKey:
    """RSA-2048 keys made once per session (each costs tens of milliseconds)."""
    while len(_KEYS) <= index:
        _KEYS.append(rsa.generate_private_key(65537, 2048))
    return _KEYS[index]


def spki(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def account_of(person: str) -> tuple[str, str]:
    first = WORLD.people[person].accounts[0]
    return str(first["bank"]), str(first["number"])


def rrn_of(person: str) -> str:
    digits = WORLD.people[person].rrn.digits
    return f"{digits[:6]}-{digits[6:]}"


@dataclass
class Registered:
    ref: RegistrationRef
    reference: str
    code: str
    detail: dict[str, object]


class Registrant:
    """A customer registering at the web center (the steps, in order)."""

    def __init__(self, center: Center, person: str = "C001", kind: str = "banking") -> None:
        self.center = center
        self.person = person
        self.kind = kind
        self.slots: list[str] | None = None
        self.ref: RegistrationRef | None = None

    @property
    def phone(self) -> str:
        return str((WORLD.people[self.person].phone or {})["number"])

    @property
    def user_id(self) -> str:
        return str((WORLD.people[self.person].customer or {})["user_id"])

    def start(self) -> RegistrationRef:
        service = self.center.joint_registrations
        started = service.start(self.kind, service.policy.joint_required_terms, client_ip=IP)
        self.ref = RegistrationRef(started.enrollment_id, started.token, IP)
        return self.ref

    def identify(self, rrn: str | None = None) -> None:
        assert self.ref is not None
        self.center.joint_registrations.identify(
            self.ref, user_id=self.user_id, rrn=rrn or rrn_of(self.person)
        )

    def card(self, *, wrong: bool = False) -> None:
        assert self.ref is not None
        if self.slots is None:
            self.slots = _CARDS.get((str(self.center.settings.data_dir), self.person))
        if self.slots is None:
            _, _, self.slots = issue_and_register(self.center, self.person)
            _CARDS[(str(self.center.settings.data_dir), self.person)] = self.slots
        asked = self.center.joint_registrations.choose_medium(self.ref, "security_card")
        question = asked.detail["security_card"]
        answer = answer_for(self.slots, question["slot_a"], question["slot_b"])
        if wrong:
            answer = answer[:-1] + str((int(answer[-1]) + 1) % 10)
        self.center.joint_registrations.verify_medium(
            self.ref, MediumAnswer(card_challenge_id=question["challenge_id"], card_answer=answer)
        )

    def sms(self, code: str | None = None) -> None:
        assert self.ref is not None
        self.center.joint_registrations.send_code(self.ref)
        self.center.joint_registrations.verify_code(
            self.ref, code or sms_code(self.center, self.phone)
        )

    def register(self, account: tuple[str, str] | None = None) -> Registered:
        assert self.ref is not None
        bank, number = account or (None, None)
        if account is None and self.kind == "general":
            bank, number = account_of(self.person)
        done = self.center.joint_registrations.register(
            self.ref, bank_code=bank, account_number=number
        )
        return Registered(
            self.ref,
            str(done.detail["reference"]),
            str(done.detail["authorization_code"]),
            dict(done.detail),
        )

    def all_steps(self) -> Registered:
        self.start()
        self.identify()
        self.card()
        self.sms()
        return self.register()


def enroll(center: Center, registered: Registered, index: int = 0) -> tuple[JointEnrolled, bytes]:
    """What the CMP server does with a right MAC: (the answer, the transaction id)."""
    tid = os.urandom(16)
    authority = center.joint_authority
    assert authority.shared_secret(registered.reference) == registered.code.encode()
    enrolled = authority.enroll(
        registered.reference,
        public_key_der=spki(rsa_key(index)),
        requested_subject=None,
        transaction_id=tid,
    )
    return enrolled, tid
