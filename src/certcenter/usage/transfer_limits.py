"""How much a transfer may move: the medium's limits (raised after the additional
verification), the customer's own lower limits, and — when the chosen medium cannot send the
amount — a refusal that names a medium that can.

    limits = TransferLimits(policy)
    limits.refusal(amount=300_000_000, factors=["account_password", "pin", "ars"],
                   medium="security_card", spent=0, own=(None, None), held={"certificate"})
    # TRANSFER_LIMIT_EXCEEDED: the security card stops at 10,000,000; the certificate can

The tiers (``policy.transfer_tiers``) say which factors an amount needs; each medium's
``per_transfer`` applies, or its ``per_transfer_verified`` when the tier's factors include the
ARS call (the raised limit after 추가인증), and its ``per_day`` over the customer's (KST) day.
The policy refuses to load a tier no medium can reach (:class:`certcenter.config.Policy`), so
every amount a tier allows has a medium; a refusal suggests one only if the customer holds it
and, with everything they have already sent today and their own limits, it would be accepted.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from certcenter.config import Policy
from certcenter.errors import CertCenterError, term

MEDIA = ("certificate", "otp", "security_card")
MEDIUM_NAMES = {medium: term(f"medium.{medium}") for medium in MEDIA}


@dataclass(frozen=True)
class Cap:
    """What one medium may still send: per transfer, and per day in all."""

    per_transfer: int
    per_day: int

    def allows(self, amount: int, spent: int) -> bool:
        return amount <= self.per_transfer and spent + amount <= self.per_day


class TransferLimits:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def bank_cap(self, medium: str, factors: list[str]) -> Cap:
        limit = self.policy.medium_limits[medium]
        return Cap(limit.per_transfer_with(factors), limit.per_day)

    def cap(self, medium: str, factors: list[str], own: tuple[int | None, int | None]) -> Cap:
        """The medium's cap under the customer's own lower limits (None: the bank's)."""
        bank = self.bank_cap(medium, factors)
        own_transfer, own_day = own
        return Cap(
            min(bank.per_transfer, own_transfer or bank.per_transfer),
            min(bank.per_day, own_day or bank.per_day),
        )

    def top(self) -> tuple[int, int]:
        """The highest per-transfer and per-day limits any medium has (the ceiling of the
        customer's own limits)."""
        limits = self.policy.medium_limits.values()
        return (
            max(max(m.per_transfer, m.per_transfer_verified or 0) for m in limits),
            max(m.per_day for m in limits),
        )

    def refusal(
        self,
        *,
        amount: int,
        factors: list[str],
        medium: str,
        spent: int,
        own: tuple[int | None, int | None],
        held: Collection[str],
    ) -> CertCenterError | None:
        """None when ``medium`` may send ``amount`` today; else the refusal, naming another
        medium the customer holds that would be accepted, when there is one."""
        cap = self.cap(medium, factors, own)
        if cap.allows(amount, spent):
            return None
        works = [
            m
            for m in MEDIA
            if m != medium and m in held and self.cap(m, factors, own).allows(amount, spent)
        ]
        alternative = (
            {"alternative": MEDIUM_NAMES[works[0]], "alternative_code": works[0]} if works else None
        )
        remaining = max(cap.per_day - spent, 0)
        if amount > cap.per_transfer:
            if alternative is not None:
                return CertCenterError(
                    "TRANSFER_LIMIT_EXCEEDED",
                    medium=MEDIUM_NAMES[medium],
                    limit=f"{cap.per_transfer:,}",
                    **alternative,
                )
            own_transfer = own[0]
            if own_transfer is not None and amount > own_transfer:
                return CertCenterError(
                    "TRANSFER_OWN_LIMIT_EXCEEDED",
                    limit=f"{own_transfer:,}",
                    bank_limit=f"{self.top()[0]:,}",
                )
        if alternative is not None:
            return CertCenterError(
                "TRANSFER_MEDIUM_DAILY_LIMIT_EXCEEDED",
                medium=MEDIUM_NAMES[medium],
                limit=f"{cap.per_day:,}",
                remaining=f"{remaining:,}",
                **alternative,
            )
        return CertCenterError(
            "TRANSFER_DAILY_LIMIT_EXCEEDED", limit=f"{cap.per_day:,}", remaining=f"{remaining:,}"
        )
