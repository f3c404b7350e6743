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
    return [None if at is None else round((now - at) / timedelta(minutes=1)) for at in found.full]


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


def test_sms_budget_forgets_day_old_sends_only_when_it_keeps_some(center: Center) -> None:
    """A send is forgotten a day after it went, at the subject's next send: the count says
    whether one is kept, and the next send deletes only then."""
    now = center.clock.now()
    day = timedelta(days=1)
    _send(center, [60])  # nothing a day old: nothing to forget
    with center.uow_factory(read_only=True) as uow:
        counted = uow.sms_budget.latest_over(KIND, SUBJECT, [], forget_before=now - day)
        assert counted == ([], False)
    _send(center, [25 * 60, 26 * 60])  # recorded with their own day's cut-off: both kept
    with center.uow_factory() as uow:
        counted = uow.sms_budget.latest_over(
            KIND, SUBJECT, [(now - day, 100)], forget_before=now - day
        )
        assert counted.forgettable and counted.full == [None]
        uow.sms_budget.record(KIND, SUBJECT, now, forget_before=now - day)
        uow.commit()
    with center.uow_factory(read_only=True) as uow:
        counted = uow.sms_budget.latest_over(
            KIND, SUBJECT, [(now - 2 * day, 3)], forget_before=now - day
        )
    # the two day-old sends are gone; the hour-old one and the new one are kept
    assert counted == ([None], False)
    assert _latest_over(center, [(2 * day, 2)]) == [60]
