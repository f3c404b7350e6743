"""The blocks of several subjects in one read: the first blocked subject's longest block."""

from __future__ import annotations

from datetime import timedelta

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import Block, new_id


def _block(kind: str, subject: str, clock: FrozenClock, minutes: int) -> Block:
    now = clock.now()
    return Block(
        id=new_id(),
        subject_kind=kind,
        subject=subject,
        reason="test",
        created_at=now,
        blocked_until=now + timedelta(minutes=minutes),
    )


def test_the_first_blocked_subject_answers_with_its_longest_block(
    center: Center, clock: FrozenClock
) -> None:
    with center.uow_factory() as uow:
        uow.blocks.add(_block("device", "D1", clock, 10))
        uow.blocks.add(_block("device", "D1", clock, 30))
        uow.blocks.add(_block("customer", "C1", clock, 5))
        uow.blocks.add(_block("customer", "C2", clock, -1))  # over already
        uow.commit()
    now = clock.now()
    with center.uow_factory(read_only=True) as uow:
        first = uow.blocks.first_active([("customer", "C1"), ("device", "D1")], now)
        device = uow.blocks.first_active([("customer", "C2"), ("device", "D1")], now)
        none = uow.blocks.first_active([("customer", "C2"), ("device", "D2")], now)
        nothing_asked = uow.blocks.first_active([], now)
        # the same subject name under another kind is not blocked
        other_kind = uow.blocks.first_active([("device", "C1")], now)
    assert first is not None and (first.subject_kind, first.subject) == ("customer", "C1")
    assert device is not None and device.blocked_until == now + timedelta(minutes=30)
    assert none is None and nothing_asked is None and other_kind is None
