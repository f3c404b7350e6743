"""Messages are sent after the request, by the sender: a request writes them to the outbox
with its change and only wakes the sender of its process."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from certcenter.bootstrap import Center, build_center
from certcenter.clock import FrozenClock
from certcenter.entities import OutboxMessage
from certcenter.notifications import DeliveryError, Event, Outbox, OutboxSender, SmsChannel
from certcenter.notifications.sender import retry_delay
from tests.conftest import LiveServer
from tests.notifications.conftest import demo_customer
from tests.support.outbox import deliver_pending, inbox

PHONE = "01020000012"  # C012 holds a certificate on the demo world's old phone


def _serial(center: Center) -> str:
    customer = demo_customer(center, "C012")
    with center.uow_factory() as uow:
        (record,) = uow.certificates.for_customer(customer.id, statuses=["active"])
    return record.serial


def _operator(center: Center, api: LiveServer) -> Callable[[str], httpx.Response]:
    token = center.operators.create("kim", ["operator"])
    serial = _serial(center)

    def act(action: str) -> httpx.Response:
        return httpx.post(
            f"{api.url}/v1/operator/certificates/{serial}/{action}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )

    return act


def _messages(center: Center, event: str) -> list[OutboxMessage]:
    customer = demo_customer(center, "C012")
    with center.uow_factory() as uow:
        return [m for m in uow.outbox.for_customer(customer.id) if m.event == event]


def _until(done: Callable[[], bool], seconds: float = 10) -> bool:
    """Poll ``done`` until it holds or ``seconds`` pass (a bound, not a measurement)."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@contextmanager
def running(*senders: OutboxSender, interval: float = 600) -> Iterator[None]:
    """The senders' loops, as the server's workers run them; with the long interval only a
    wake makes a loop look again after its first pass."""
    stop = threading.Event()
    threads = [threading.Thread(target=s.run_forever, args=(stop, interval)) for s in senders]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        assert not any(t.is_alive() for t in threads)


def test_a_request_returns_without_sending(center: Center, api: LiveServer) -> None:
    act = _operator(center, api)
    before = len(center.sim_store.messages(PHONE))

    answer = act("suspend")

    assert answer.status_code == 200, answer.text
    (message,) = _messages(center, "suspended")
    assert message.status == "pending" and message.attempts == 0
    assert message.next_attempt_at <= center.clock.now()  # due: for the sender to send
    assert len(center.sim_store.messages(PHONE)) == before  # nothing sent in the request

    assert deliver_pending(center).sent == 1
    assert "정지" in inbox(center, PHONE)[0]["body"]
    assert _messages(center, "suspended")[0].status == "sent"


def test_the_woken_sender_sends_at_once(center: Center, api: LiveServer) -> None:
    act = _operator(center, api)
    with running(center.sender):
        assert act("suspend").status_code == 200
        assert _until(lambda: _messages(center, "suspended")[0].status == "sent")
        # the loop has made its passes and waits its ten minutes: only the wake of the
        # next request's commit makes it send the next message
        assert act("release").status_code == 200
        assert _until(lambda: [m.status for m in _messages(center, "released")] == ["sent"])
    bodies = [m["body"] for m in center.sim_store.messages(PHONE)]
    assert "해제" in bodies[0] and "정지" in bodies[1]


def test_the_outbox_wakes_only_after_a_commit(center: Center) -> None:
    woken: list[str] = []
    outbox = Outbox(center.settings, center.clock, wake=lambda: woken.append("wake"))
    customer = demo_customer(center, "C012")
    with center.uow_factory() as uow:
        outbox.notify(uow, event=Event.RELEASED, customer=customer)
        assert woken == []  # not while the transaction is open
        uow.rollback()
    assert woken == [] and _messages(center, "released") == []
    with center.uow_factory() as uow:
        outbox.notify(uow, event=Event.RELEASED, customer=customer)
        uow.commit()
    assert woken == ["wake"] and len(_messages(center, "released")) == 1


def test_two_sender_loops_on_one_database_send_each_message_once(center: Center) -> None:
    other = build_center(center.settings, center.clock)  # another worker: its own pool
    try:
        sends: Counter[str] = Counter()
        lock = threading.Lock()
        real = SmsChannel(center.providers.sms, center.settings.policy.sms_sender_number)

        class Counting:
            def send(self, message: OutboxMessage) -> None:
                with lock:
                    sends[message.id] += 1
                real.send(message)
                time.sleep(0.01)  # long enough for the other loop to try the same row

        senders = [
            OutboxSender(c.uow_factory, {"sms": Counting()}, c.clock, c.settings.policy)
            for c in (center, other)
        ]
        customer = demo_customer(center, "C012")
        outbox = Outbox(center.settings, center.clock)
        with running(*senders):
            for _ in range(3):  # three requests, each waking both workers' senders
                with center.uow_factory() as uow:
                    for _ in range(4):
                        outbox.notify(uow, event=Event.RELEASED, customer=customer)
                    uow.commit()
                for sender in senders:
                    sender.wake()
            assert _until(lambda: {m.status for m in _messages(center, "released")} == {"sent"})
        rows = _messages(center, "released")
        assert len(rows) == 12 and {m.attempts for m in rows} == {1}
        assert set(sends) == {m.id for m in rows} and set(sends.values()) == {1}
        assert len(center.sim_store.messages(PHONE)) == 12
    finally:
        other.close()


class Down:
    """An SMS gateway that does not answer."""

    def __init__(self) -> None:
        self.calls = 0

    def send(self, message: OutboxMessage) -> None:
        self.calls += 1
        raise DeliveryError("SMS gateway: connection refused")


def test_a_failing_channel_fails_no_request_and_is_retried_by_the_policy(
    center: Center, api: LiveServer, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = Down()
    monkeypatch.setitem(center.sender.channels, "sms", down)
    act = _operator(center, api)
    policy = center.settings.policy
    with running(center.sender):
        assert act("suspend").status_code == 200  # the gateway's failure is not the request's
        assert _until(lambda: _messages(center, "suspended")[0].attempts == 1)
    (message,) = _messages(center, "suspended")
    first_retry = clock.now() + retry_delay(
        1, policy.notification_retry_base_seconds, center.sender.max_delay
    )
    assert message.status == "pending" and message.next_attempt_at == first_retry
    assert "connection refused" in (message.last_error or "")
    assert deliver_pending(center).claimed == 0  # not due before its time

    clock.advance(seconds=policy.notification_retry_base_seconds)
    assert deliver_pending(center).retried == 1  # still down: the wait doubles
    (message,) = _messages(center, "suspended")
    assert message.attempts == 2
    assert message.next_attempt_at == clock.now() + retry_delay(
        2, policy.notification_retry_base_seconds, center.sender.max_delay
    )

    monkeypatch.setitem(
        center.sender.channels, "sms", SmsChannel(center.providers.sms, policy.sms_sender_number)
    )
    clock.advance(seconds=2 * policy.notification_retry_base_seconds)
    assert deliver_pending(center).sent == 1
    (message,) = _messages(center, "suspended")
    assert (message.status, message.attempts, message.last_error) == ("sent", 3, None)
    assert down.calls == 2 and "정지" in center.sim_store.messages(PHONE)[0]["body"]
