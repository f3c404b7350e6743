"""The interbank simulator: account checks, the 1-won deposit (1원 입금) and statements.

banks = SimulatedInterbank(store, clock)
banks.check_account(bank_code="004", account_number="12340100000001", holder_ci=ci)
banks.deposit_one_won(bank_code="004", account_number="12340100000001",
                      depositor_text="인증센터 4821")
"""

from __future__ import annotations

import hmac

from certcenter.clock import Clock
from certcenter.errors import CertCenterError
from certcenter.identity.banks import BANKS
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

    def deposit_one_won(self, *, bank_code: str, account_number: str, depositor_text: str) -> None:
        self.store.post_entry(
            bank_code=bank_code,
            account_number=account_number,
            amount=1,
            description=depositor_text,
            at=self.clock.now(),
        )
