"""User ID and resident number (사용자 ID와 주민등록번호), checked the same way wherever a flow
asks for them: the financial certificate's issuance and the joint certificate's registration.

    check = UserIdCheck(policy, clock, codes=JOINT_CODES)
    customer = check.confirm(uow, user_id="c001user", ci=ci, client_ip="211.36.1.1")

The two must name one customer; an unknown ID and a mismatch are answered alike. Every try is
counted before the comparison, under the customer (or the claimed ID when it names nobody) and
under the client address, in ``factor_counters`` (factor ``financial_identity``: one counter
for both flows, so trying in one does not add guesses in the other). At
``policy.financial_identity_max_failures`` (per address:
``…_per_address``) the check is paused for ``policy.block_hours``. A refusal commits the
counted try first, then raises.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from certcenter.authn.factors import unknown_subject as _unknown
from certcenter.clock import Clock, as_utc
from certcenter.config import Policy
from certcenter.entities import Customer
from certcenter.errors import CertCenterError
from certcenter.ports import UnitOfWork

__all__ = ["FINANCIAL_CODES", "IDENTITY_FACTOR", "MAX_USER_ID", "IdentityCodes", "UserIdCheck"]

IDENTITY_FACTOR = "financial_identity"  # the counter of user ID + resident number tries
MAX_USER_ID = 40


@dataclass(frozen=True)
class IdentityCodes:
    """The refusals a flow answers with."""

    not_confirmed: str
    locked: str
    internet_banking_required: str


FINANCIAL_CODES = IdentityCodes(
    not_confirmed="FINANCIAL_IDENTITY_NOT_CONFIRMED",
    locked="FINANCIAL_IDENTITY_LOCKED",
    internet_banking_required="FINANCIAL_INTERNET_BANKING_REQUIRED",
)


class UserIdCheck:
    def __init__(self, policy: Policy, clock: Clock, *, codes: IdentityCodes) -> None:
        self.policy = policy
        self.clock = clock
        self.codes = codes

    def confirm(self, uow: UnitOfWork, *, user_id: str, ci: str, client_ip: str) -> Customer:
        """The customer ``user_id`` names if its CI is ``ci`` and they use internet banking;
        else the refusal, with the counted try committed."""
        claimed = str(user_id).strip()[: MAX_USER_ID + 1]
        customer = uow.customers.by_user_id(claimed) if 0 < len(claimed) <= MAX_USER_ID else None
        subjects = [
            customer.id if customer else _unknown("financial-id:" + claimed),
            _unknown("financial-ip:" + client_ip),
        ]
        self._reserve(uow, subjects)
        matched = customer is not None and hmac.compare_digest(
            customer.ci.encode("utf-8"), ci.encode("utf-8")
        )
        if customer is None or not matched:
            refusal = self._failure(uow, subjects)
            holder = uow.customers.by_ci(ci) if customer is None else None
            if (
                refusal.code != self.codes.locked
                and holder is not None
                and holder.user_id is None
                and not holder.internet_banking
            ):
                refusal = CertCenterError(self.codes.internet_banking_required)
            uow.commit()
            raise refusal
        now = self.clock.now()
        uow.factors.reset(subjects[0], IDENTITY_FACTOR, now)
        uow.factors.release_attempt(subjects[1], IDENTITY_FACTOR, now)
        if not customer.internet_banking:
            uow.commit()
            raise CertCenterError(self.codes.internet_banking_required)
        return customer

    def _limits(self, subjects: list[str]) -> list[tuple[str, int]]:
        """The customer's (or the claimed ID's) limit, then the address's."""
        return [
            (subjects[0], self.policy.financial_identity_max_failures),
            (subjects[1], self.policy.financial_identity_max_failures_per_address),
        ]

    def _reserve(self, uow: UnitOfWork, subjects: list[str]) -> None:
        """Count this try under the customer (or the claimed ID) and the address before
        comparing; a pause ends ``block_hours`` after it began."""
        now = self.clock.now()
        pause = timedelta(hours=self.policy.block_hours)
        for subject in subjects:
            counter = uow.factors.get(subject, IDENTITY_FACTOR)
            if counter is not None and counter.failures:
                began = as_utc(counter.locked_at or counter.updated_at)
                if began + pause <= now:
                    uow.factors.reset(subject, IDENTITY_FACTOR, now)
        taken: list[str] = []
        for subject, limit in self._limits(subjects):
            if uow.factors.reserve_attempt(subject, IDENTITY_FACTOR, limit, now) is None:
                for earlier in taken:
                    uow.factors.release_attempt(earlier, IDENTITY_FACTOR, now)
                uow.factors.lock(subject, IDENTITY_FACTOR, now)
                refusal = self._locked(uow, subject, limit, now)
                uow.commit()
                raise refusal
            taken.append(subject)

    def _failure(self, uow: UnitOfWork, subjects: list[str]) -> CertCenterError:
        now = self.clock.now()
        left = self.policy.financial_identity_max_failures
        locked: tuple[str, int] | None = None
        for subject, limit in self._limits(subjects):
            counter = uow.factors.get(subject, IDENTITY_FACTOR)
            failures = counter.failures if counter is not None else limit
            if failures >= limit:
                uow.factors.lock(subject, IDENTITY_FACTOR, now)
                locked = locked or (subject, limit)
            left = min(left, max(limit - failures, 0))
        if locked is not None:
            return self._locked(uow, locked[0], locked[1], now)
        return CertCenterError(self.codes.not_confirmed, tries_left=left)

    def _locked(self, uow: UnitOfWork, subject: str, limit: int, now: datetime) -> CertCenterError:
        counter = uow.factors.get(subject, IDENTITY_FACTOR)
        began = as_utc(counter.locked_at) if counter and counter.locked_at else now
        return CertCenterError(
            self.codes.locked,
            max_failures=limit,
            until=(began + timedelta(hours=self.policy.block_hours)).isoformat(timespec="minutes"),
        )
