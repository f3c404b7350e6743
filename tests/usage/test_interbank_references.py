"""The interbank simulator's transfers by the sender's reference: money moves once per
reference and paying account; an inquiry answers what became of it; a reference settled
before it arrived never moves money."""

from __future__ import annotations

import pytest

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.simulators.bank import SimulatedInterbank
from tests.usage.support import C001_ACCOUNT, C001_SAVINGS, PAYEE


def _bank(center: Center) -> SimulatedInterbank:
    bank = center.providers.banking
    assert isinstance(bank, SimulatedInterbank)
    return bank


def _send(bank: SimulatedInterbank, source: tuple[str, str], amount: int, reference: str) -> str:
    return bank.transfer(
        from_bank=source[0],
        from_account=source[1],
        to_bank=PAYEE[0],
        to_account=PAYEE[1],
        amount=amount,
        sender_text="김민준",
        payee_text="이서연",
        reference=reference,
    )


def _balance(center: Center, account: tuple[str, str]) -> int:
    row = center.sim_store.account(*account)
    assert row is not None
    return int(row["balance"])


def test_a_reference_moves_money_once_and_the_inquiry_says_so(center: Center) -> None:
    bank = _bank(center)
    before = _balance(center, C001_SAVINGS)
    first = _send(bank, C001_SAVINGS, 700_000, "ref-once-0001")
    assert _send(bank, C001_SAVINGS, 700_000, "ref-once-0001") == first  # sent again
    assert before - _balance(center, C001_SAVINGS) == 700_000
    asked = bank.inquire_reference(
        reference="ref-once-0001", from_bank=C001_SAVINGS[0], from_account=C001_SAVINGS[1]
    )
    assert (asked.status, asked.bank_reference) == ("completed", first)
    settled = bank.settle_reference(
        reference="ref-once-0001", from_bank=C001_SAVINGS[0], from_account=C001_SAVINGS[1]
    )
    assert settled == asked  # a completed reference is not cancelled
    # the same reference from another account is another transfer (a fee and its refund)
    _send(bank, C001_ACCOUNT, 1_000, "ref-once-0001")
    assert before - _balance(center, C001_SAVINGS) == 700_000


def test_a_reference_never_seen_is_cancelled_by_the_inquiry_and_never_moves_money(
    center: Center,
) -> None:
    bank = _bank(center)
    never = bank.inquire_reference(
        reference="ref-late-0001", from_bank=C001_SAVINGS[0], from_account=C001_SAVINGS[1]
    )
    assert never.status == "unknown"
    settled = bank.settle_reference(
        reference="ref-late-0001", from_bank=C001_SAVINGS[0], from_account=C001_SAVINGS[1]
    )
    assert settled.status == "cancelled"
    before = _balance(center, C001_SAVINGS)
    with pytest.raises(CertCenterError) as late:
        _send(bank, C001_SAVINGS, 700_000, "ref-late-0001")
    assert late.value.code == "TRANSFER_NOT_EXECUTED"
    assert _balance(center, C001_SAVINGS) == before


def test_a_refused_reference_may_be_tried_again_once_the_money_is_there(center: Center) -> None:
    bank = _bank(center)
    with pytest.raises(CertCenterError) as refused:
        _send(bank, C001_ACCOUNT, 1_800_000, "ref-poor-0001")  # 1,500,000 on the account
    assert refused.value.code == "INSUFFICIENT_FUNDS"
    asked = bank.inquire_reference(
        reference="ref-poor-0001", from_bank=C001_ACCOUNT[0], from_account=C001_ACCOUNT[1]
    )
    assert (asked.status, asked.refusal) == ("refused", "INSUFFICIENT_FUNDS")
    center.sim_store.post_entry(
        bank_code=C001_ACCOUNT[0],
        account_number=C001_ACCOUNT[1],
        amount=500_000,
        description="입금",
        at=center.clock.now(),
    )
    before = _balance(center, C001_ACCOUNT)
    assert _send(bank, C001_ACCOUNT, 1_800_000, "ref-poor-0001")
    assert before - _balance(center, C001_ACCOUNT) == 1_800_000
