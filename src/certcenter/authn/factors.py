"""Lockout counters for every authentication factor, one per factor per customer.

    guard = FactorGuard(policy, clock)
    guard.reserve(uow, customer_id, ["account_password", "pin"])   # commit this first
    ok = {"account_password": ..., "pin": ...}                      # slow checks, no transaction
    refusal = guard.settle(uow, customer_id, ok)                    # commit, then raise refusal

An attempt is counted *before* its secret is compared (an atomic conditional increment that
stops at the policy's limit), so any number of concurrent tries can never get more than the
limit past the check. A right answer gives its attempt back; a step where everything was right
clears the counters. A step with something wrong answers with one code, ``AUTH_FAILED`` (or
``AUTH_LAST_TRY`` when one try is left), whichever factor it was (PSD2 RTS art. 4(2)(a)); a
factor at its limit is locked until identity is verified again or an operator releases it.

Failures for someone unknown are counted too, under :func:`unknown_subject`, so that an
unknown customer or device is answered and timed like a real one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.errors import CertCenterError
from certcenter.ports import UnitOfWork

PIN = "pin"
PATTERN = "pattern"
OTP = "otp"
SECURITY_CARD = "security_card"
ACCOUNT_PASSWORD = "account_password"  # noqa: S105 (a factor name)
# Not a customer's factor: unproven device signatures, counted per client address
# (:func:`address_subject`), so a stranger's tries never touch the owner's counters.
DEVICE_KEY = "device_key"

FACTORS = (PIN, PATTERN, OTP, SECURITY_CARD, ACCOUNT_PASSWORD)

LOCK_CODES = {
    PIN: "PIN_LOCKED",
    PATTERN: "PATTERN_LOCKED",
    OTP: "OTP_LOCKED",
    SECURITY_CARD: "SECURITY_CARD_LOCKED",
    ACCOUNT_PASSWORD: "ACCOUNT_PASSWORD_LOCKED",
    DEVICE_KEY: "DEVICE_PROOF_LOCKED",
}


def unknown_subject(claimed: str) -> str:
    """The counter key for tries against someone who does not exist (a device, a number)."""
    return "unknown:" + hashlib.sha256(claimed.encode()).hexdigest()[:27]


def address_subject(client_ip: str | None) -> str:
    """The counter key for tries from one client address (unproven device signatures)."""
    return "address:" + hashlib.sha256((client_ip or "-").encode()).hexdigest()[:27]


class FactorGuard:
    def __init__(self, policy: Policy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock

    def max_failures(self, factor: str) -> int:
        limits = {
            PIN: self.policy.pin_max_failures,
            PATTERN: self.policy.pattern_max_failures,
            OTP: self.policy.otp_max_failures,
            SECURITY_CARD: self.policy.security_card_max_failures,
            ACCOUNT_PASSWORD: self.policy.account_password_max_failures,
            DEVICE_KEY: self.policy.pin_max_failures,
        }
        return limits[factor]

    def locked_error(self, factor: str) -> CertCenterError:
        return CertCenterError(LOCK_CODES[factor], max_failures=self.max_failures(factor))

    def last_try_error(self, factor: str) -> CertCenterError:
        """The refusal when one try of ``factor`` is left (it says how a lock is lifted)."""
        return CertCenterError("AUTH_LAST_TRY")

    def is_locked(self, uow: UnitOfWork, subject: str, factor: str) -> bool:
        counter = uow.factors.get(subject, factor)
        return counter is not None and counter.locked_at is not None

    def reserve(self, uow: UnitOfWork, subject: str, factors: Sequence[str]) -> dict[str, int]:
        """Count one try of each factor, or none of them when one is locked (its lock code
        is raised; the caller rolls back or commits — nothing was counted). Returns which try
        this is of each factor; hand it to :meth:`settle`.

        A try is counted in one statement that refuses a locked factor or one at its limit;
        only then are the counters read, to say which."""
        now = self.clock.now()
        taken: dict[str, int] = {}
        for factor in factors:
            count = uow.factors.reserve_attempt(subject, factor, self.max_failures(factor), now)
            if count is None:
                for earlier in taken:  # locked or at the limit: give back what was taken
                    uow.factors.release_attempt(subject, earlier, now)
                for named in factors:  # the first locked factor, in the order asked
                    if self.is_locked(uow, subject, named):
                        raise self.locked_error(named)
                # as many tries as the limit allows are being checked right now; until they
                # are decided, no other try may start
                raise CertCenterError("AUTH_BUSY")
            taken[factor] = count
        return taken

    def settle(
        self,
        uow: UnitOfWork,
        subject: str,
        results: Mapping[str, bool],
        *,
        failed: str = "AUTH_FAILED",
        attempts: Mapping[str, int] | None = None,
    ) -> CertCenterError | None:
        """Book the outcome of reserved tries. None when every factor was right; otherwise the
        refusal to raise once the unit of work is committed (``failed`` names its code while
        more than one try is left)."""
        now = self.clock.now()
        if all(results.values()):
            for factor in results:
                uow.factors.reset(subject, factor, now)
            return None
        tries_left: list[tuple[int, str]] = []
        newly_locked: str | None = None
        for factor, ok in results.items():
            if ok:
                uow.factors.release_attempt(subject, factor, now)
                continue
            if attempts is not None and factor in attempts:
                failures = attempts[factor]  # this was the n-th try, whatever came after it
            else:
                counter = uow.factors.get(subject, factor)
                failures = counter.failures if counter is not None else self.max_failures(factor)
            left = self.max_failures(factor) - failures
            if left <= 0:
                uow.factors.lock(subject, factor, now)
                newly_locked = newly_locked or factor
            tries_left.append((left, factor))
        if newly_locked is not None:
            return self.locked_error(newly_locked)
        fewest, factor = min(tries_left)
        if fewest == 1:
            return self.last_try_error(factor)
        return CertCenterError(failed, tries_left=fewest)

    def release(self, uow: UnitOfWork, subject: str, factor: str) -> None:
        """Unlock after identity was verified again (re-issue) or by an operator."""
        uow.factors.reset(subject, factor, self.clock.now())
