"""What the financial-certificate services share: the family, the PIN's lockout counter, and
finding a holder, their cloud account and their certificate.

    guard = FinancialPinGuard(policy, clock)
    tries = guard.reserve(uow, customer.id, [FINANCIAL_PIN])     # before the PIN is compared
    account, certificate = holding(uow, customer.id)             # FINANCIAL_CERTIFICATE_NOT_FOUND

The financial PIN has its own counter (factor ``financial_pin``), apart from the mobile
certificate's PIN: locking one does not lock the other.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date

from certcenter.authn.factors import FactorGuard
from certcenter.certificates.records import require_active
from certcenter.entities import CertificateRecord, CertificateStatus, CloudAccount
from certcenter.errors import CertCenterError
from certcenter.pki.hierarchy import FINANCIAL
from certcenter.ports import UnitOfWork

__all__ = [
    "FAMILY",
    "FINANCIAL_PIN",
    "PIN_PURPOSE",
    "FinancialPinGuard",
    "holding",
    "new_token",
    "parse_birth_date",
    "token_digest",
    "token_matches",
]

FAMILY = FINANCIAL  # the certificate family and profile name
FINANCIAL_PIN = "financial_pin"  # the lockout counter's factor name
PIN_PURPOSE = "financial-pin"  # what the PIN's argon2id hash is bound to


class FinancialPinGuard(FactorGuard):
    """:class:`FactorGuard` that also knows the financial PIN (limit
    ``policy.financial_pin_max_failures``, lock code ``FINANCIAL_PIN_LOCKED``)."""

    def max_failures(self, factor: str) -> int:
        if factor == FINANCIAL_PIN:
            return self.policy.financial_pin_max_failures
        return super().max_failures(factor)

    def locked_error(self, factor: str) -> CertCenterError:
        if factor == FINANCIAL_PIN:
            return CertCenterError(
                "FINANCIAL_PIN_LOCKED", max_failures=self.policy.financial_pin_max_failures
            )
        return super().locked_error(factor)

    def last_try_error(self, factor: str) -> CertCenterError:
        if factor == FINANCIAL_PIN:  # a lock is lifted online: the remedy says so
            return CertCenterError("FINANCIAL_PIN_LAST_TRY")
        return super().last_try_error(factor)


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(stored_digest: str, token: str) -> bool:
    return (
        bool(token)
        and len(token) <= 200
        and hmac.compare_digest(stored_digest, token_digest(token))
    )


def parse_birth_date(value: date | str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise CertCenterError("INVALID_REQUEST", detail="birth_date: YYYY-MM-DD") from None


def holding(uow: UnitOfWork, customer_id: str) -> tuple[CloudAccount, CertificateRecord]:
    """The customer's active cloud account and the financial certificate in it;
    ``FINANCIAL_CERTIFICATE_NOT_FOUND`` when there is none (never issued, or deleted)."""
    account = uow.cloud_accounts.active_for_customer(customer_id)
    if account is None:
        raise CertCenterError("FINANCIAL_CERTIFICATE_NOT_FOUND")
    issued = [c for c in uow.certificates.for_customer(customer_id, family=FAMILY) if c.der]
    usable = [c for c in issued if c.status in _USABLE]
    if usable:
        return account, usable[0]
    latest = max(issued, key=lambda c: c.created_at, default=None)
    if latest is not None:
        require_active(latest, latest.not_after)  # says why: expired, revoked, …
    raise CertCenterError("FINANCIAL_CERTIFICATE_NOT_FOUND")


_USABLE = (CertificateStatus.ACTIVE.value, CertificateStatus.SUSPENDED.value)
