"""The interbank simulator: account checks, the 1-won deposit (1원 입금), statements, and
transfers by the sender's reference with their inquiry (거래 결과 조회).

banks = SimulatedInterbank(store, clock)
banks.check_account(bank_code="004", account_number="12340100000001", holder_ci=ci)
banks.deposit_one_won(bank_code="004", account_number="12340100000001",
                      depositor_text="인증센터 4821")
banks.settle_reference(reference=transfer_id, from_bank="004", from_account="12340100000101")
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets

from certcenter.clock import Clock
from certcenter.errors import CertCenterError
from certcenter.identity.banks import BANKS
from certcenter.identity.providers import AccountFacts, TransferInquiry
from certcenter.storage.simulator_store import SimulatorStore

_STATUS_REFUSALS = {
    "dormant": "ACCOUNT_DORMANT",
    "suspended": "ACCOUNT_SUSPENDED",
    "transfer_restricted": "ACCOUNT_TRANSFER_RESTRICTED",
}


class SimulatedInterbank:
    """Every bank's accounts, reachable through one interbank network."""

    def __init__(self, store: SimulatorStore, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def check_account(self, *, bank_code: str, account_number: str, holder_ci: str) -> None:
        if bank_code not in BANKS:
            raise CertCenterError("BANK_UNKNOWN", bank_code=bank_code)
        account = self.store.account(bank_code, account_number)
        if account is None:
            raise CertCenterError("ACCOUNT_NOT_FOUND")
        if not hmac.compare_digest(str(account["holder_ci"]).encode(), holder_ci.encode()):
            raise CertCenterError("ACCOUNT_NOT_OWN")
        refusal = _STATUS_REFUSALS.get(str(account["status"]))
        if refusal:
            raise CertCenterError(refusal)

    def accounts_of(self, holder_ci: str) -> list[AccountFacts]:
        """계좌통합조회: the person's accounts at every bank, and what would refuse each."""
        return [
            AccountFacts(
                bank_code=str(row["bank_code"]),
                account_number=str(row["account_number"]),
                status=str(row["status"]),
                refusal=_STATUS_REFUSALS.get(str(row["status"])),
            )
            for row in self.store.accounts_of(holder_ci)
        ]

    def deposit_one_won(self, *, bank_code: str, account_number: str, depositor_text: str) -> None:
        self.store.post_entry(
            bank_code=bank_code,
            account_number=account_number,
            amount=1,
            description=depositor_text,
            at=self.clock.now(),
        )

    # -- core banking: recipient inquiry, account password, transfers

    def payee_name(self, *, bank_code: str, account_number: str) -> str:
        if bank_code not in BANKS:
            raise CertCenterError("BANK_UNKNOWN", bank_code=bank_code)
        account = self.store.account(bank_code, account_number)
        if account is None or account["status"] == "suspended":
            raise CertCenterError("PAYEE_ACCOUNT_NOT_FOUND")
        return str(account["holder_name"])

    def available_balance(self, *, bank_code: str, account_number: str, holder_ci: str) -> int:
        """출금가능금액: what the holder's own account can pay out now."""
        self.check_account(bank_code=bank_code, account_number=account_number, holder_ci=holder_ci)
        account = self.store.account(bank_code, account_number)
        return max(int(account["balance"]), 0) if account is not None else 0

    def verify_account_password(
        self, *, bank_code: str, account_number: str, password: str
    ) -> bool:
        account = self.store.account(bank_code, account_number)
        stored = None if account is None else account.get("password_hash")
        if not stored:
            hash_account_password(password)  # the same work either way
            return False
        return check_account_password(str(stored), password)

    def transfer(
        self,
        *,
        from_bank: str,
        from_account: str,
        to_bank: str,
        to_account: str,
        amount: int,
        sender_text: str,
        payee_text: str,
        reference: str,
    ) -> str:
        source = self.store.account(from_bank, from_account)
        if source is None:
            raise CertCenterError("ACCOUNT_NOT_FOUND")
        refusal = _STATUS_REFUSALS.get(str(source["status"]))
        if refusal:
            raise CertCenterError(refusal)
        target = self.store.account(to_bank, to_account)
        if target is None or target["status"] == "suspended":
            raise CertCenterError("PAYEE_ACCOUNT_NOT_FOUND")
        booked = self.store.book_transfer(
            reference=reference,
            debit=(from_bank, from_account),
            credit=(to_bank, to_account),
            amount=amount,
            debit_text=payee_text,
            credit_text=sender_text,
            bank_reference=f"{from_bank}-{reference[:8].upper()}-{secrets.token_hex(4).upper()}",
            at=self.clock.now(),
        )
        if booked["status"] == "completed":
            return str(booked["bank_reference"])
        if booked["status"] == "cancelled":
            raise CertCenterError("TRANSFER_NOT_EXECUTED")
        raise CertCenterError(str(booked["refusal"] or "INSUFFICIENT_FUNDS"))

    def settle_reference(
        self, *, reference: str, from_bank: str, from_account: str
    ) -> TransferInquiry:
        """거래 결과 조회: what became of the center's ``reference``; one the network never saw
        is cancelled here, so it cannot move money later."""
        row = self.store.cancel_transfer(reference, (from_bank, from_account), self.clock.now())
        return _inquiry(row)

    def inquire_reference(
        self, *, reference: str, from_bank: str, from_account: str
    ) -> TransferInquiry:
        """The inquiry alone (nothing changes): ``unknown`` for a reference never seen."""
        row = self.store.interbank_transfer(reference, (from_bank, from_account))
        return TransferInquiry(status="unknown") if row is None else _inquiry(row)


def _inquiry(row: dict[str, object]) -> TransferInquiry:
    reference, refusal = row.get("bank_reference"), row.get("refusal")
    return TransferInquiry(
        status=str(row["status"]),
        bank_reference=None if reference is None else str(reference),
        refusal=None if refusal is None else str(refusal),
    )


# The bank's own storage of account passwords (the other side): salted scrypt.
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_account_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_account_password(stored: str, password: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), dklen=32, **_SCRYPT)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, got)
