"""What a customer does to their own certificate from the app (인증/보안 메뉴): revoke
(인증서 폐기), renew, release a suspension, deregister the device (기기등록 해지) — each
authorised by a fresh challenge signed with the device's key and the PIN.

    actions.challenge(device_id, "revoke")         # the app signs it, the customer types the PIN
    actions.revoke(serial, DeviceProof(device_id, challenge, signature, pin), "keyCompromise", ip)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from certcenter.authn.device_auth import Authenticated, DeviceAuthenticator
from certcenter.entities import DeviceChallenge
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef, LifecycleService, Outcome
from certcenter.ports import UnitOfWorkFactory


@dataclass(frozen=True)
class DeviceProof:
    device_id: str
    challenge: str
    signature: str  # base64 ECDSA-SHA256 over challenge_message(purpose, challenge)
    pin: str

    def __repr__(self) -> str:  # the PIN never reaches a log through a repr
        return f"DeviceProof(device_id={self.device_id!r}, challenge=…, signature=…, pin=…)"


@contextmanager
def _revoking_again(purpose: str) -> Iterator[None]:
    """Revoking a certificate that is already revoked is told just that (its phone left with
    it, so the device no longer answers as registered): nothing is left to do."""
    try:
        yield
    except CertCenterError as err:
        if purpose == "revoke" and err.code == "CERTIFICATE_REVOKED":
            raise CertCenterError("CERTIFICATE_ALREADY_REVOKED", **err.context) from None
        raise


class CustomerActions:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        authenticator: DeviceAuthenticator,
        lifecycle: LifecycleService,
    ) -> None:
        self.uow_factory = uow_factory
        self.authenticator = authenticator
        self.lifecycle = lifecycle

    def challenge(self, device_id: str, purpose: str) -> DeviceChallenge:
        # nothing is stored until the challenge is used: only the device is read
        with self.uow_factory(read_only=True) as uow, _revoking_again(purpose):
            return self.authenticator.issue_challenge(uow, device_id=device_id, purpose=purpose)

    def _authorise(
        self, proof: DeviceProof, purpose: str, source_ip: str | None = None
    ) -> Authenticated:
        with self.uow_factory() as uow, _revoking_again(purpose):
            who = self.authenticator.verify(
                uow,
                device_id=proof.device_id,
                purpose=purpose,
                challenge=proof.challenge,
                signature=proof.signature,
                pin=proof.pin,
                client_ip=source_ip,
            )
            uow.commit()
        return who

    def _own(self, who: Authenticated, serial: str) -> None:
        if who.certificate.serial != serial.upper():
            raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=serial[:64])

    def revoke(
        self, serial: str, proof: DeviceProof, reason: str, source_ip: str | None
    ) -> Outcome:
        who = self._authorise(proof, "revoke", source_ip)
        self._own(who, serial)
        actor = ActorRef.customer(who.customer.customer_number, source_ip)
        return self.lifecycle.revoke(who.certificate.serial, reason, actor)

    def renew(self, serial: str, proof: DeviceProof, source_ip: str | None) -> Outcome:
        who = self._authorise(proof, "renew", source_ip)
        self._own(who, serial)
        actor = ActorRef.customer(who.customer.customer_number, source_ip)
        return self.lifecycle.renew(who.certificate.serial, actor)

    def release(self, serial: str, proof: DeviceProof, source_ip: str | None) -> Outcome:
        who = self._authorise(proof, "release", source_ip)
        self._own(who, serial)
        actor = ActorRef.customer(who.customer.customer_number, source_ip)
        return self.lifecycle.release(who.certificate.serial, actor)

    def deregister(self, proof: DeviceProof, source_ip: str | None) -> list[Outcome]:
        who = self._authorise(proof, "deregister", source_ip)
        actor = ActorRef.customer(who.customer.customer_number, source_ip)
        return self.lifecycle.deregister_device(proof.device_id, actor)
