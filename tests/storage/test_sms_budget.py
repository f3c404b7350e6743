"""The SMS budget's windows are counted in the database; the send named when one is full must
be the one that ages out first for the window to have room again — the ``limit``-th latest,
not the oldest of the day."""

from __future__ import annotations

from datetime import timedelta

from certcenter.bootstrap import Center

KIND, SUBJECT = "phone", "digest-of-a-phone"


def _send(center: Center, minutes_ago: list[int]) -> None:
    now = center.clock.now()
    with center.uow_factory() as uow:
        for ago in sorted(minutes_ago, reverse=True):
            at = now - timedelta(minutes=ago)
            uow.sms_budget.lock(KIND, SUBJECT, at)
            uow.sms_budget.record(KIND, SUBJECT, at, forget_before=at - timedelta(days=1))
        uow.commit()


def _latest_over(center: Center, windows: list[tuple[timedelta, int]]) -> list[int | None]:
    """Minutes ago of the send named for each (window, limit), or None."""
    now = center.clock.now()
    with center.uow_factory(read_only=True) as uow:
        found = uow.sms_budget.latest_over(
            KIND, SUBJECT, [(now - window, limit) for window, limit in windows]
        )
    return [None if at is None else round((now - at) / timedelta(minutes=1)) for at in found]


def test_sms_budget_nothing_sent_leaves_every_window_open(center: Center) -> None:
    assert _latest_over(center, [(timedelta(hours=1), 1), (timedelta(days=1), 1)]) == [None, None]


def test_sms_budget_a_full_window_names_its_limit_th_latest_send(center: Center) -> None:
    # sends 200, 50, 40, 30, 20 and 10 minutes ago; the day holds all six, the hour five
    _send(center, [200, 50, 40, 30, 20, 10])
    hour, day = timedelta(hours=1), timedelta(days=1)
    assert _latest_over(center, [(hour, 3), (day, 4)]) == [30, 40]
    assert _latest_over(center, [(hour, 5), (day, 6)]) == [50, 200]
    # one under the limit: open
    assert _latest_over(center, [(hour, 6), (day, 7)]) == [None, None]
    # the windows are counted apart: a full hour with room in the day, and the reverse
    assert _latest_over(center, [(hour, 2), (day, 20)]) == [20, None]
    assert _latest_over(center, [(hour, 8), (day, 6)]) == [None, 200]


def test_sms_budget_the_lock_answers_the_last_send(center: Center) -> None:
    now = center.clock.now()
    with center.uow_factory() as uow:
        assert uow.sms_budget.lock(KIND, SUBJECT, now) is None
        uow.sms_budget.record(KIND, SUBJECT, now, forget_before=now - timedelta(days=1))
        uow.commit()
    with center.uow_factory() as uow:
        assert uow.sms_budget.lock(KIND, SUBJECT, now + timedelta(minutes=1)) == now
