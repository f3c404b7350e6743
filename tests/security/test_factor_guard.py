"""The lockout counters, counted in one statement each: what that statement must refuse.

A try is counted by ``INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING`` with no read
before it; these pin down that it still refuses a locked factor (also one under a limit that
was raised since), counts nothing when it refuses, and names the same lock as before.
"""

from __future__ import annotations

import pytest

from certcenter.authn.factors import PIN, SECURITY_CARD, FactorGuard
from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError

SUBJECT = "guard-test-customer"


def _failures(center: Center, factor: str) -> tuple[int, bool] | None:
    with center.uow_factory() as uow:
        counter = uow.factors.get(SUBJECT, factor)
        return None if counter is None else (counter.failures, counter.locked_at is not None)


def _reserve(center: Center, guard: FactorGuard, factors: list[str]) -> dict[str, int] | str:
    with center.uow_factory() as uow:
        try:
            taken = guard.reserve(uow, SUBJECT, factors)
        except CertCenterError as err:
            uow.commit()  # as the services do: whatever was given back is kept given back
            return err.code
        uow.commit()
    return taken


def _fail(center: Center, guard: FactorGuard, taken: dict[str, int]) -> str | None:
    with center.uow_factory() as uow:
        refusal = guard.settle(uow, SUBJECT, dict.fromkeys(taken, False), attempts=taken)
        uow.commit()
    return None if refusal is None else refusal.code


def test_counting_a_first_try_creates_the_counter_at_one(center: Center) -> None:
    assert _failures(center, PIN) is None
    assert _reserve(center, center.factor_guard, [PIN]) == {PIN: 1}
    assert _failures(center, PIN) == (1, False)
    assert _reserve(center, center.factor_guard, [PIN]) == {PIN: 2}


def test_counting_stops_at_the_limit_and_a_lock_is_named(center: Center) -> None:
    guard = center.factor_guard
    limit = guard.max_failures(PIN)
    codes = []
    for _ in range(limit):
        taken = _reserve(center, guard, [PIN])
        assert isinstance(taken, dict), taken
        codes.append(_fail(center, guard, taken))
    assert codes[-1] == "PIN_LOCKED"
    assert _failures(center, PIN) == (limit, True)
    # locked: refused as locked, and nothing more is counted
    assert _reserve(center, guard, [PIN]) == "PIN_LOCKED"
    assert _failures(center, PIN) == (limit, True)


def test_counting_tries_in_flight_up_to_the_limit_make_the_next_one_wait(center: Center) -> None:
    guard = center.factor_guard
    limit = guard.max_failures(PIN)
    for n in range(1, limit + 1):
        assert _reserve(center, guard, [PIN]) == {PIN: n}
    # none of them decided yet: not locked, but no further try may start
    assert _reserve(center, guard, [PIN]) == "AUTH_BUSY"
    assert _failures(center, PIN) == (limit, False)


@pytest.mark.parametrize("raised_to", [6, 50])
def test_counting_a_lock_holds_when_the_limit_is_raised_later(
    center: Center, raised_to: int
) -> None:
    guard = center.factor_guard
    for _ in range(guard.max_failures(PIN)):
        taken = _reserve(center, guard, [PIN])
        assert isinstance(taken, dict)
        _fail(center, guard, taken)
    locked_at = _failures(center, PIN)
    assert locked_at is not None and locked_at[1]
    laxer = FactorGuard(
        center.settings.policy.model_copy(update={"pin_max_failures": raised_to}), center.clock
    )
    # the count is under the new limit, but the factor was locked: still refused
    assert _reserve(center, laxer, [PIN]) == "PIN_LOCKED"
    assert _failures(center, PIN) == locked_at


def test_counting_two_factors_with_the_second_locked_counts_neither(center: Center) -> None:
    guard = center.factor_guard
    for _ in range(guard.max_failures(PIN)):
        taken = _reserve(center, guard, [PIN])
        assert isinstance(taken, dict)
        _fail(center, guard, taken)
    assert _reserve(center, guard, [SECURITY_CARD]) == {SECURITY_CARD: 1}
    # the card is counted first, then the PIN is found locked: the card's try is given back
    assert _reserve(center, guard, [SECURITY_CARD, PIN]) == "PIN_LOCKED"
    assert _failures(center, SECURITY_CARD) == (1, False)
    # and the lock named is the first locked factor in the order asked
    with center.uow_factory() as uow:
        uow.factors.lock(SUBJECT, SECURITY_CARD, center.clock.now())
        uow.commit()
    assert _reserve(center, guard, [PIN, SECURITY_CARD]) == "PIN_LOCKED"
    assert _reserve(center, guard, [SECURITY_CARD, PIN]) == "SECURITY_CARD_LOCKED"
