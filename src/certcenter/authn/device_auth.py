"""The customer proves it is them on their registered device: a single-use challenge signed
by the device's certificate key, and the PIN (간편비밀번호) checked by the server.

    auth = DeviceAuthenticator(hasher, clock, policy)
    challenge = auth.issue_challenge(uow, device_id=..., purpose="revoke")   # to the app
    # the app signs challenge_message("revoke", challenge.challenge) with its key (ECDSA-SHA256)
    who = auth.verify(uow, device_id=..., purpose="revoke", challenge=..., signature=..., pin=...)

The signature over the single-use challenge is checked first: possession of the device key
must be proven before the PIN is tried at all. A bad signature is refused and counted against
the client's address (:func:`~certcenter.authn.factors.address_subject`), never against the
owner's PIN, so knowing a device id is not enough to lock its owner out; an address at the
limit is refused for ``block_hours`` *(policy)*. Only then is a PIN try counted against the
PIN's lockout counter, atomically and before the hash is compared; at the policy's limit the
PIN is locked and only re-verification (re-issue) or an operator unlocks it. A wrong PIN and a
wrong signature answer with the same code.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.authn.factors import DEVICE_KEY, FactorGuard, address_subject
from certcenter.authn.factors import PIN as PIN_FACTOR
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import CertificateRecord, Customer, Device, DeviceChallenge, new_id
from certcenter.errors import CertCenterError
from certcenter.ports import UnitOfWork

PURPOSES = frozenset(
    {"revoke", "renew", "deregister", "release", "reissue", "login", "overseas_access"}
)


def challenge_message(purpose: str, challenge: str) -> bytes:
    """What the device signs: the purpose is bound into the signed bytes."""
    return f"certcenter:{purpose}:{challenge}".encode()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_TAG_PURPOSE = "device-challenge"
_CHALLENGE = re.compile(r"([A-Za-z0-9_-]{43})\.([0-9]{1,17})\.([A-Za-z0-9_-]{22})")


def _tagged_text(purpose: str, device_id: str, body: str) -> str:
    return f"{purpose}\n{device_id}\n{body}"


def _opened(
    hasher: SecretHasher, challenge: str, *, device_id: str, purpose: str
) -> datetime | None:
    """The expiry a challenge issued for ``device_id`` and ``purpose`` carries; None for
    anything else (not one of ours, another device's or purpose's, altered)."""
    parts = _CHALLENGE.fullmatch(challenge)
    if parts is None:
        return None
    body = f"{parts.group(1)}.{parts.group(2)}"
    text = _tagged_text(purpose, device_id, body)
    if not hasher.tag_matches(text, parts.group(3), purpose=_TAG_PURPOSE):
        return None
    return _EPOCH + int(parts.group(2)) * _MICROSECOND


@dataclass(frozen=True)
class Authenticated:
    customer: Customer
    device: Device
    certificate: CertificateRecord


class DeviceAuthenticator:
    def __init__(
        self, hasher: SecretHasher, clock: Clock, policy: Policy, guard: FactorGuard | None = None
    ) -> None:
        self.hasher = hasher
        self.clock = clock
        self.policy = policy
        self.guard = guard or FactorGuard(policy, clock)

    def registered(self, uow: UnitOfWork, device_id: str) -> tuple[Device, CertificateRecord]:
        """The registered device and its usable mobile certificate (its customer is loaded
        into ``uow`` with them); otherwise the refusal that says why not."""
        found = uow.devices.in_use(device_id, "mobile")
        if found is not None:
            return found[0], found[1]
        device = uow.devices.active_by_device_id(device_id)
        if device is None:
            raise self._not_registered(uow, device_id)
        mine = [
            c
            for c in uow.certificates.for_customer(device.customer_id, family="mobile")
            if c.device_id == device_id
        ]
        usable = [c for c in mine if c.status in ("active", "suspended")]
        if usable:
            return device, usable[0]
        latest = max(mine, key=lambda c: c.created_at, default=None)
        if latest is not None and _revoked_for_inactivity(latest, self.policy):
            # The inactivity rule revoked it: the catalog tells the customer to re-issue.
            raise CertCenterError(
                "INACTIVE_CERTIFICATE_REVOKED", days=self.policy.mobile_inactivity_days
            )
        raise CertCenterError("DEVICE_NOT_REGISTERED")

    def _not_registered(self, uow: UnitOfWork, device_id: str) -> CertCenterError:
        """Why a device has no registration: its certificate was revoked (it left with it: the
        customer is told so, and to have a new one issued), or it never had one."""
        last = uow.devices.latest_by_device_id(device_id) if 0 < len(device_id) <= 64 else None
        if last is not None:
            mine = [
                c
                for c in uow.certificates.for_customer(last.customer_id, family="mobile")
                if c.device_id == device_id
            ]
            latest = max(mine, key=lambda c: c.created_at, default=None)
            if latest is not None and latest.status == "revoked":
                return CertCenterError(
                    "CERTIFICATE_REVOKED", reason=latest.revocation_reason or "unspecified"
                )
        return CertCenterError("DEVICE_NOT_REGISTERED")

    def new_challenge(
        self, *, device_id: str, purpose: str, customer_id: str = ""
    ) -> DeviceChallenge:
        """A fresh single-use challenge (256 random bits) for ``device_id`` and ``purpose``,
        expiring ``challenge_ttl_seconds`` *(policy)* from now. Nothing is stored: the value
        carries its expiry and a tag keyed by the pepper over the device, the purpose and
        both (``<random>.<expiry in µs since 1970>.<tag>``), and :meth:`take_challenge`
        records its one use."""
        now = self.clock.now()
        expires_at = now + timedelta(seconds=self.policy.challenge_ttl_seconds)
        body = f"{secrets.token_urlsafe(32)}.{(expires_at - _EPOCH) // _MICROSECOND}"
        tag = self.hasher.tag(_tagged_text(purpose, device_id, body), purpose=_TAG_PURPOSE)
        return DeviceChallenge(
            id=new_id(),
            customer_id=customer_id,
            device_id=device_id,
            purpose=purpose,
            challenge=f"{body}.{tag}",
            created_at=now,
            expires_at=expires_at,
        )

    def issue_challenge(self, uow: UnitOfWork, *, device_id: str, purpose: str) -> DeviceChallenge:
        """A challenge for a registered device (``DEVICE_NOT_REGISTERED`` otherwise)."""
        if purpose not in PURPOSES:
            raise CertCenterError(
                "INVALID_REQUEST", detail=f"purpose: {', '.join(sorted(PURPOSES))}"
            )
        device, _ = self.registered(uow, device_id)
        return self.new_challenge(
            device_id=device_id, purpose=purpose, customer_id=device.customer_id
        )

    def take_challenge(
        self,
        uow: UnitOfWork,
        *,
        device_id: str,
        purpose: str,
        challenge: str,
        customer_id: str = "",
    ) -> None:
        """Use the challenge up: it must have been issued for this device and purpose, be
        unexpired and never used before (``CHALLENGE_INVALID`` otherwise). Its use is a row
        of ``device_challenges`` whose value is unique, written in ``uow``: of two requests
        with the same challenge, only the first to commit goes through."""
        now = self.clock.now()
        refused = CertCenterError("CHALLENGE_INVALID", seconds=self.policy.challenge_ttl_seconds)
        if len(challenge) > 128:
            raise refused
        expires_at = _opened(self.hasher, challenge, device_id=device_id, purpose=purpose)
        if expires_at is None or expires_at <= now:
            raise refused
        used = DeviceChallenge(
            id=new_id(),
            customer_id=customer_id,
            device_id=device_id,
            purpose=purpose,
            challenge=challenge,
            created_at=now,
            expires_at=expires_at,
            used_at=now,
        )
        if not uow.challenges.use(used):
            raise refused

    def verify(
        self,
        uow: UnitOfWork,
        *,
        device_id: str,
        purpose: str,
        challenge: str,
        signature: str,
        pin: str,
        client_ip: str | None = None,
    ) -> Authenticated:
        """Consume the challenge, check the signature, then the PIN; refusals are committed
        (the used challenge, the counted failure) before they are raised."""
        self.take_challenge(uow, device_id=device_id, purpose=purpose, challenge=challenge)
        device, certificate = self.registered(uow, device_id)
        customer = uow.customers.get(device.customer_id)
        if customer is None:
            raise CertCenterError("DEVICE_NOT_REGISTERED")
        self.prove_possession(
            uow,
            proven=signature_valid(certificate, challenge_message(purpose, challenge), signature),
            client_ip=client_ip,
        )
        try:
            attempts = self.guard.reserve(uow, customer.id, [PIN_FACTOR])
        except CertCenterError:
            uow.commit()  # the challenge stays used
            raise
        pin_ok = device.pin_hash is not None and self.hasher.verify(
            device.pin_hash, pin, purpose="pin"
        )
        refusal = self.guard.settle(
            uow,
            customer.id,
            {PIN_FACTOR: pin_ok},
            failed="DEVICE_AUTH_FAILED",
            attempts=attempts,
        )
        if refusal is not None:
            uow.commit()
            raise refusal
        if device.pin_hash is not None:  # an older pepper generation or cost: a new hash
            fresh = self.hasher.rehashed(device.pin_hash, pin, purpose="pin")
            if fresh is not None:
                uow.secret_hashes.replace("device-pin", device.id, device.pin_hash, fresh)
        return Authenticated(customer=customer, device=device, certificate=certificate)

    def prove_possession(self, uow: UnitOfWork, *, proven: bool, client_ip: str | None) -> None:
        """Go on only when the device's key signed the challenge (``proven``) and the client's
        address is not locked for unproven tries. Otherwise the try is counted against the
        address — not the device's owner — committed, and refused: ``DEVICE_AUTH_FAILED``,
        ``AUTH_LAST_TRY``, then ``DEVICE_PROOF_LOCKED`` for ``block_hours``."""
        subject = address_subject(client_ip)
        now = self.clock.now()
        counter = uow.factors.get(subject, DEVICE_KEY)
        if counter is not None and (
            (
                counter.locked_at is not None
                and counter.locked_at + timedelta(hours=self.policy.block_hours) <= now
            )
            or (
                counter.locked_at is None
                and counter.updated_at + timedelta(minutes=self.policy.failure_window_minutes)
                <= now
            )
        ):
            uow.factors.reset(subject, DEVICE_KEY, now)  # the lock or the window has passed
        if self.guard.is_locked(uow, subject, DEVICE_KEY):
            uow.commit()  # the challenge stays used
            raise self.guard.locked_error(DEVICE_KEY)
        if proven:
            return
        try:
            attempts = self.guard.reserve(uow, subject, [DEVICE_KEY])
        except CertCenterError:
            uow.commit()
            raise
        refusal = self.guard.settle(
            uow, subject, {DEVICE_KEY: False}, failed="DEVICE_AUTH_FAILED", attempts=attempts
        )
        uow.commit()
        raise refusal or CertCenterError("DEVICE_AUTH_FAILED", tries_left=0)


def signature_valid(certificate: CertificateRecord, message: bytes, signature: str) -> bool:
    """An ECDSA-SHA256 signature (base64 DER) by the certificate's key over ``message``."""
    if certificate.der is None:
        return False
    public_key = x509.load_der_x509_certificate(certificate.der).public_key()
    return key_signature_valid(public_key, message, signature)


def key_signature_valid(public_key: object, message: bytes, signature: str) -> bool:
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or len(signature) > 400:
        return False
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(raw, message, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True


def _revoked_for_inactivity(record: CertificateRecord, policy: Policy) -> bool:
    last = record.last_used_at or record.issued_at
    return (
        record.revocation_reason == "cessationOfOperation"
        and record.revoked_at is not None
        and last is not None
        and record.revoked_at - last >= timedelta(days=policy.mobile_inactivity_days)
    )
