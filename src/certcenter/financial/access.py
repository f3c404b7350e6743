"""What the financial-certificate services share: the family, the PIN's lockout counter, and
finding a holder, their cloud account and their certificate.

    guard = FinancialPinGuard(policy, clock)
    tries = guard.reserve(uow, customer.id, [FINANCIAL_PIN])     # before the PIN is compared
    customer = find_holder(uow, name="김민준", phone="010-2000-0001", birth_date="1990-03-15")
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
from certcenter.entities import CertificateRecord, CertificateStatus, CloudAccount, Customer
from certcenter.errors import CertCenterError
from certcenter.identity.phone_numbers import normalise_mobile
from certcenter.pki.hierarchy import FINANCIAL
from certcenter.ports import UnitOfWork

__all__ = [
    "FAMILY",
    "FINANCIAL_PIN",
    "PIN_PURPOSE",
    "FinancialPinGuard",
    "find_holder",
    "holding",
    "new_token",
    "parse_birth_date",
    "token_digest",
    "token_matches",
]

FAMILY = FINANCIAL  # the certificate family and profile name
FINANCIAL_PIN = "financial_pin"  # the lockout counter's factor name
PIN_PURPOSE = "financial-pin"  # what the PIN's argon2id hash is bound to
MAX_NAME = 80


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


def find_holder(uow: UnitOfWork, *, name: str, phone: str, birth_date: date | str) -> Customer:
    """The customer whose name, mobile number and birth date are these, all three;
    ``FINANCIAL_HOLDER_NOT_FOUND`` otherwise (which of them did not match is not told)."""
    number = normalise_mobile(phone)
    born = parse_birth_date(birth_date)
    clean = " ".join(str(name).split())
    if not 0 < len(clean) <= MAX_NAME:
        raise CertCenterError("INVALID_REQUEST", detail="name: 1 to 80 characters")
    matches = [
        c
        for c in uow.customers.search(number, limit=50)
        if c.phone == number and c.name == clean and c.birth_date == born
    ]
    if len(matches) != 1:
        raise CertCenterError("FINANCIAL_HOLDER_NOT_FOUND")
    return matches[0]


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
