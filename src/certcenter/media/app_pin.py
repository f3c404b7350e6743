"""The app's PIN (간편비밀번호) asked again before a security medium is cancelled (해지).

A logged-in session alone cannot cancel the mobile OTP or the security card: the customer
types the PIN of the app the session runs on. The try is counted by
:class:`~certcenter.authn.factors.FactorGuard` under ``pin`` before the PIN is compared, like
every PIN try, and a session that is not on the customer's app is refused with
``DEVICE_NOT_REGISTERED``. Both media ask it the same way, through this module.

    device = session_app(uow, customer_id, device_id)     # DEVICE_NOT_REGISTERED
    attempts = guard.reserve(uow, customer_id, [PIN, ...]); uow.commit()
    answer = check_pin(hasher, device, pin)               # slow, outside any transaction
    refusal = guard.settle(uow, customer_id, {PIN: answer.ok, ...}, attempts=attempts)
    keep_fresh(uow, device, answer)                       # a right PIN under an older hash
"""

from __future__ import annotations

from dataclasses import dataclass

from certcenter.authn.hashing import SecretHasher
from certcenter.entities import Device
from certcenter.errors import CertCenterError
from certcenter.ports import UnitOfWork

__all__ = ["PinAnswer", "check_pin", "keep_fresh", "session_app"]


@dataclass(frozen=True)
class PinAnswer:
    ok: bool
    fresh: str | None  # a new hash of a right PIN stored under an older pepper or cost

    def __repr__(self) -> str:
        return f"PinAnswer(ok={self.ok})"


def session_app(uow: UnitOfWork, customer_id: str, device_id: str) -> Device:
    """The customer's registered app the session runs on, with a PIN."""
    device = uow.devices.active_by_device_id(device_id)
    if device is None or device.customer_id != customer_id or device.pin_hash is None:
        raise CertCenterError("DEVICE_NOT_REGISTERED")
    return device


def check_pin(hasher: SecretHasher, device: Device, pin: str) -> PinAnswer:
    """Compare ``pin`` with the app's PIN (its try already reserved)."""
    stored = device.pin_hash or ""  # session_app() found one
    ok = bool(stored) and hasher.verify(stored, pin, purpose="pin")
    fresh = hasher.rehashed(stored, pin, purpose="pin") if ok else None
    return PinAnswer(ok=ok, fresh=fresh)


def keep_fresh(uow: UnitOfWork, device: Device, answer: PinAnswer) -> None:
    if answer.fresh is not None and device.pin_hash is not None:
        uow.secret_hashes.replace("device-pin", device.id, device.pin_hash, answer.fresh)
