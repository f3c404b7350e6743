"""What the server's sender would have sent by now, for tests on an in-process center.

A request writes its notices to the outbox with its change and only wakes the sender of its
process; the centers the tests build run no sender thread (nor does the live server of
tests/conftest.py: no lifespan). So a test that reads what a customer received runs the
sender first, as the server's thread does right after the request:

    inbox(center, "01020000001")     # the phone's messages, newest first, the outbox sent
    deliver_pending(center)          # before reading an SMTP mailbox or a webhook receiver

Verification codes never go through the outbox (they are sent by the step itself, after
its commit), so reading a code needs neither.
"""

from __future__ import annotations

from typing import Any

from certcenter.bootstrap import Center
from certcenter.notifications import DeliveryReport


def deliver_pending(center: Center) -> DeliveryReport:
    """Send every message that is due, through the center's own sender and channels."""
    return center.sender.drain()


def inbox(center: Center, phone: str, limit: int = 50) -> list[dict[str, Any]]:
    """The phone's messages in the telco simulator, newest first, after the outbox is sent."""
    deliver_pending(center)
    return center.sim_store.messages(phone, limit)
