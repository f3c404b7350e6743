"""Sending the outbox: claim a due message, send it, record the outcome — one at a time.

    sender = OutboxSender(uow_factory, channels, clock, settings.policy)
    report = sender.deliver_due()          # DeliveryReport(sent=…, retried=…, failed=…)
    report = sender.drain()                # every due message, batch after batch
    sender.run_forever(stop_event)         # the server's background thread
    sender.wake()                          # … look now (after a request committed a notice)

Requests never send: they write their messages to the outbox with their change, and the
outbox wakes this process's sender after the commit (:meth:`wake`, setting an event: no
database work, no waiting). The server runs :meth:`run_forever` in a thread of every worker;
it sends at once when woken and looks every ``notification_interval_seconds`` anyway, so a
message written by another worker, another host or a command is sent too. A command with
no server loop (``certcenter certificates revoke``, ``jobs run``) calls :meth:`drain` before
it ends.

Each message is claimed in its own transaction (``claim_due``: on PostgreSQL
``FOR UPDATE SKIP LOCKED``, on SQLite the write lock that ``BEGIN IMMEDIATE`` takes), sent
while that lock is held, and marked ``sent`` or rescheduled in the same transaction. Two
senders therefore never send the same message at the same time, and a message marked ``sent``
is never sent again.

Delivery is **at least once**: if the process dies (or the commit fails) after the channel
handed the message over and before the commit, the transaction rolls back, the message is
still ``pending`` with its attempts unchanged, and it is sent again. Receivers can recognise
a repeat: the webhook body's ``id`` and the e-mail's ``Message-ID`` are the outbox id.

A failed send is retried after ``notification_retry_base_seconds * 2**(attempts-1)``
(capped at ``max_delay``, one hour by default); after ``notification_max_attempts`` attempts
the message is ``failed``. ``last_error`` keeps a short reason with personal data masked.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from certcenter.audit.redaction import redact_text
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import MessageStatus, OutboxMessage
from certcenter.notifications.channels import Channel, DeliveryError
from certcenter.ports import UnitOfWorkFactory

__all__ = ["DeliveryReport", "OutboxSender", "retry_delay"]

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 200
_STOP_POLL_SECONDS = 0.2  # how soon run_forever notices ``stop`` while it waits


@dataclass
class DeliveryReport:
    """What one :meth:`OutboxSender.deliver_due` did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retried + self.failed


def retry_delay(attempts: int, base_seconds: int, max_delay: timedelta) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: base, 2×base, 4×base, … capped."""
    seconds = base_seconds * 2 ** min(max(attempts - 1, 0), 64)
    return max_delay if seconds >= max_delay.total_seconds() else timedelta(seconds=seconds)


class OutboxSender:
    """Delivers due outbox messages through the channels, with retries and backoff."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        channels: Mapping[str, Channel],
        clock: Clock,
        policy: Policy,
        *,
        max_delay: timedelta = timedelta(hours=1),
    ) -> None:
        self.uow_factory = uow_factory
        self.channels = dict(channels)
        self.clock = clock
        self.policy = policy
        self.max_delay = max_delay
        self._wake = threading.Event()

    def deliver_due(self, limit: int = 50) -> DeliveryReport:
        """Send up to ``limit`` due messages, each in its own transaction."""
        report = DeliveryReport()
        for _ in range(limit):
            if not self._deliver_one(report):
                break
        return report

    def drain(self, batch: int = 50) -> DeliveryReport:
        """Send every message due now, ``batch`` at a time, until a batch comes back short.
        A message that fails is rescheduled for later, so this ends."""
        total = DeliveryReport()
        while True:
            report = self.deliver_due(batch)
            total.sent += report.sent
            total.retried += report.retried
            total.failed += report.failed
            if report.claimed < batch:
                return total

    def wake(self) -> None:
        """Make :meth:`run_forever` look for due messages now instead of after its interval
        (the outbox calls it after a commit that wrote a message; returns at once)."""
        self._wake.set()

    def _deliver_one(self, report: DeliveryReport) -> bool:
        with self.uow_factory() as uow:
            claimed = uow.outbox.claim_due(self.clock.now(), limit=1)
            if not claimed:
                return False
            message = claimed[0]
            error = self._send(message)
            now = self.clock.now()
            message.attempts += 1
            if error is None:
                message.status = MessageStatus.SENT.value
                message.sent_at = now
                message.last_error = None
                outcome = "sent"
            elif message.attempts >= self.policy.notification_max_attempts:
                message.status = MessageStatus.FAILED.value
                message.last_error = error
                outcome = "failed"
            else:
                message.next_attempt_at = self._next_attempt(now, message.attempts)
                message.last_error = error
                outcome = "retried"
            uow.commit()
        if outcome == "sent":
            report.sent += 1
        elif outcome == "failed":
            report.failed += 1
            log.warning(
                "%s message %s (%s) failed after %d attempts: %s",
                message.channel,
                message.id,
                message.event,
                message.attempts,
                message.last_error,
            )
        else:
            report.retried += 1
            log.info(
                "%s message %s: attempt %d failed, next at %s: %s",
                message.channel,
                message.id,
                message.attempts,
                message.next_attempt_at.isoformat(),
                message.last_error,
            )
        return True

    def _send(self, message: OutboxMessage) -> str | None:
        """None when sent, else the reason (short, personal data masked)."""
        channel = self.channels.get(message.channel)
        if channel is None:
            return f"channel {message.channel!r} is not configured"
        try:
            channel.send(message)
        except DeliveryError as exc:
            return _short(str(exc))
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is retried
            return _short(f"{type(exc).__name__}: {exc}")
        return None

    def _next_attempt(self, now: datetime, attempts: int) -> datetime:
        return now + retry_delay(
            attempts, self.policy.notification_retry_base_seconds, self.max_delay
        )

    def run_forever(
        self, stop: threading.Event, interval: float | None = None, *, batch: int = 50
    ) -> None:
        """Deliver until ``stop`` is set: full batches back to back, then wait ``interval``
        seconds (default ``notification_interval_seconds``) or until :meth:`wake`. Errors are
        logged, not raised. A wake that comes while a pass runs is not lost: the event is
        cleared before the pass, so the wait after it returns at once."""
        wait = float(self.policy.notification_interval_seconds if interval is None else interval)
        while not stop.is_set():
            self._wake.clear()
            try:
                while not stop.is_set() and self.deliver_due(batch).claimed >= batch:
                    pass
            except Exception:
                log.exception("outbox delivery failed; trying again in %.0f s", wait)
            self._pause(stop, wait)

    def _pause(self, stop: threading.Event, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._wake.wait(min(remaining, _STOP_POLL_SECONDS)):
                return


def _short(text: str) -> str:
    return redact_text(" ".join(text.split()))[:MAX_ERROR_CHARS] or "failed"
