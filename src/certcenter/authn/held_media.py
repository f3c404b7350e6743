"""추가 인증 수단: the security media a customer holds besides the phone — the withdrawal
account and its password, the mobile OTP, the security card — and the one place that asks
"does the customer hold it?" and "is this answer right?". The financial issuance's additional
step and the lost-phone report both verify a medium here.

    media = HeldMedia(providers, otp=otp_service, cards=security_cards)
    inputs = medium_inputs("otp", MediumAnswer(otp_code="123456"))   # INVALID_REQUEST if missing
    if media.held(uow, customer, "otp"):
        ok = media.check(customer, "otp", inputs, subject=flow_id)     # no transaction open

Tries are not counted here: the caller reserves one with :class:`FactorGuard` under
:data:`FACTOR_OF` before it compares, and settles it after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from certcenter.authn.factors import ACCOUNT_PASSWORD, OTP, SECURITY_CARD
from certcenter.entities import Customer
from certcenter.errors import CertCenterError
from certcenter.identity.banks import OWN_BANK_CODE
from certcenter.identity.providers import Providers
from certcenter.ports import UnitOfWork

__all__ = [
    "FACTOR_OF",
    "HELD_MEDIA",
    "CardChecker",
    "CardQuestion",
    "HeldMedia",
    "MediumAnswer",
    "OtpChecker",
    "medium_inputs",
]

# the media checked here, and the lockout counter (factor) each one's tries count under
HELD_MEDIA = ("account", "security_card", "otp")
FACTOR_OF = {"account": ACCOUNT_PASSWORD, "otp": OTP, "security_card": SECURITY_CARD}


class OtpChecker(Protocol):
    def check(self, customer_id: str, code: str) -> bool: ...


class CardQuestion(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def slot_a(self) -> int: ...
    @property
    def slot_b(self) -> int: ...
    @property
    def expires_at(self) -> datetime: ...


class CardChecker(Protocol):
    def challenge(self, customer_id: str, *, subject: str | None = None) -> CardQuestion: ...
    def check(
        self, customer_id: str, challenge_id: str, answer: str, *, subject: str | None = None
    ) -> bool: ...


@dataclass(frozen=True)
class MediumAnswer:
    """The answer for the chosen medium (only its own fields are read)."""

    bank_code: str = OWN_BANK_CODE
    account_number: str | None = None
    account_password: str | None = None
    otp_code: str | None = None
    card_challenge_id: str | None = None
    card_answer: str | None = None

    def __repr__(self) -> str:
        return "MediumAnswer(<hidden>)"


def medium_inputs(medium: str, answer: MediumAnswer) -> dict[str, str]:
    """The fields ``medium`` needs, cleaned; ``INVALID_REQUEST`` names a missing one."""
    if medium == "account":
        number = "".join(ch for ch in (answer.account_number or "") if ch != "-").strip()
        if answer.bank_code != OWN_BANK_CODE:
            raise CertCenterError(
                "INVALID_REQUEST",
                detail=f"the withdrawal account is one of this bank's ({OWN_BANK_CODE})",
            )
        if not number.isdigit() or not 10 <= len(number) <= 16 or not answer.account_password:
            raise CertCenterError(
                "INVALID_REQUEST", detail="account_number (10-16 digits) and account_password"
            )
        return {"account_number": number, "account_password": answer.account_password}
    if medium == "otp":
        if not answer.otp_code:
            raise CertCenterError("INVALID_REQUEST", detail="required: otp_code")
        return {"otp_code": answer.otp_code}
    if medium != "security_card":
        raise CertCenterError("INVALID_REQUEST", detail=f"medium: {', '.join(HELD_MEDIA)}")
    if not answer.card_challenge_id or not answer.card_answer:
        raise CertCenterError("INVALID_REQUEST", detail="required: card_challenge_id, card_answer")
    return {"challenge_id": answer.card_challenge_id, "answer": answer.card_answer}


class HeldMedia:
    """Asks the bank (accounts), the OTP service and the security-card service."""

    def __init__(self, providers: Providers, *, otp: OtpChecker, cards: CardChecker) -> None:
        self.providers = providers
        self.otp = otp
        self.cards = cards

    def accounts(self, customer: Customer) -> list[tuple[str, str]]:
        """The customer's usable accounts at this bank (the bank is asked)."""
        return [
            (a.bank_code, a.account_number)
            for a in self.providers.accounts.accounts_of(customer.ci)
            if a.bank_code == OWN_BANK_CODE and a.refusal is None
        ]

    def account_refusal(self, customer: Customer) -> CertCenterError:
        """Why the customer has no usable account at this bank for 출금계좌 인증: the refusal
        of one they hold here (dormant, suspended, …), else ``MEDIUM_ACCOUNT_NOT_HERE``."""
        held = self.providers.accounts.accounts_of(customer.ci)
        for account in held:
            if account.bank_code == OWN_BANK_CODE and account.refusal:
                return CertCenterError(account.refusal)
        return CertCenterError("MEDIUM_ACCOUNT_NOT_HERE")

    def held(
        self,
        uow: UnitOfWork,
        customer: Customer,
        medium: str,
        accounts: Sequence[tuple[str, str]] = (),
    ) -> bool:
        """Does the customer hold ``medium``? For the account: ``accounts`` (from
        :meth:`accounts`, asked before the transaction) is not empty."""
        if medium == "account":
            return bool(accounts)
        if medium == "otp":
            return uow.otp.active_for_customer(customer.id) is not None
        if medium == "security_card":
            return uow.security_cards.active_for_customer(customer.id) is not None
        return False

    def check(
        self, customer: Customer, medium: str, inputs: dict[str, str], *, subject: str
    ) -> bool:
        """Compare the answer (no transaction of the caller's is open). Raises when nothing
        could be compared (an account that is not the customer's, a spent card challenge);
        ``subject`` names the flow a card challenge was asked for."""
        if medium == "account":
            self.providers.accounts.check_account(
                bank_code=OWN_BANK_CODE,
                account_number=inputs["account_number"],
                holder_ci=customer.ci,
            )
            return self.providers.banking.verify_account_password(
                bank_code=OWN_BANK_CODE,
                account_number=inputs["account_number"],
                password=inputs["account_password"],
            )
        if medium == "otp":
            return self.otp.check(customer.id, inputs["otp_code"])
        return self.cards.check(
            customer.id, inputs["challenge_id"], inputs["answer"], subject=subject
        )
