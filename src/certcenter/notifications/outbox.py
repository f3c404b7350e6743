"""Writing notifications: one outbox row per configured channel, in the caller's transaction.

The message is written with the change it announces and sent later by
:class:`~certcenter.notifications.sender.OutboxSender`, so a customer is never told about a
change that was rolled back, and a change is never committed without its notice:

    outbox = Outbox(settings, clock, wake=sender.wake)
    with uow_factory() as uow:
        ...                                              # revoke the certificate
        outbox.notify(uow, event=Event.REVOKED, customer=customer)
        uow.commit()                                     # … then sender.wake(): no sending here

After the commit (``uow.after_commit``, never on a rollback) the outbox calls ``wake``: the
sender of this process sends the message at once, outside the request.

Channels (``settings.notification_channels``): ``sms`` to the customer's phone, ``email`` to
the customer's address (skipped when the customer has none), ``webhook`` to
``settings.webhook_url`` with a JSON body that names the customer only by customer number.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from certcenter.audit.redaction import iso_utc, redact_details
from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.entities import Customer, OutboxMessage, new_id
from certcenter.notifications.messages import RenderedMessage, render
from certcenter.ports import UnitOfWork

__all__ = ["Outbox", "webhook_body"]

log = logging.getLogger(__name__)
_EVENT_RE = re.compile(r"[a-z][a-z0-9_.]{0,39}", re.ASCII)


def webhook_body(
    *, message_id: str, event: str, customer_number: str, at: str, data: Mapping[str, Any]
) -> str:
    """The webhook's JSON: ``{"data", "event", "customer_number", "id", "time"}``, sorted."""
    return json.dumps(
        {
            "id": message_id,
            "event": event,
            "customer_number": customer_number,
            "time": at,
            "data": redact_details(data),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


class Outbox:
    """Writes notifications to the outbox; never commits, never sends: after the caller's
    commit it calls ``wake`` (``OutboxSender.wake``, which returns at once)."""

    def __init__(
        self, settings: Settings, clock: Clock, *, wake: Callable[[], None] | None = None
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.wake = wake

    def render(self, event: str, values: Mapping[str, object] | None = None) -> RenderedMessage:
        """The texts ``notify`` would send for ``event`` now (for previews and tests)."""
        return render(
            event,
            values=values,
            bank_name=self.settings.bank_name,
            sender_number=self.settings.policy.sms_sender_number,
            inactivity_days=self.settings.policy.mobile_inactivity_days,
            now=self.clock.now(),
        )

    def notify(
        self,
        uow: UnitOfWork,
        *,
        event: str,
        customer: Customer,
        values: Mapping[str, object] | None = None,
        text_ko: str | None = None,
        text_en: str | None = None,
        subject: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> list[OutboxMessage]:
        """Add one message per configured channel to ``uow`` and return them (no commit).

        Templated (the usual form): ``notify(uow, event="issued", customer=c,
        values={"device": "SM-S928N"})`` — the texts come from
        :mod:`~certcenter.notifications.messages`; ``ValueError`` if a value is missing.
        Free text: ``notify(uow, event="notice", customer=c, text_ko="…", text_en="…",
        subject="…")``. The webhook's ``data`` is ``data`` if given, else ``values``; it is
        redacted like the audit trail's details.
        """
        if not _EVENT_RE.fullmatch(event):
            raise ValueError("event must be 1-40 lower-case letters, digits, _ and .")
        now = self.clock.now()
        if text_ko is None:
            if text_en is not None or subject is not None:
                raise ValueError("text_en and subject come with text_ko (free text)")
            rendered = self.render(event, values)
        else:
            rendered = RenderedMessage(
                subject=subject or f"[{self.settings.bank_name}] 인증서 알림",
                text_ko=text_ko,
                text_en=text_en or "",
            )
        if len(rendered.subject) > 200:
            raise ValueError("subject must be at most 200 characters")
        webhook_data: Mapping[str, Any] = data if data is not None else dict(values or {})

        messages: list[OutboxMessage] = []
        for channel in dict.fromkeys(self.settings.notification_channels):
            message_id = new_id()
            if channel == "sms":
                recipient, title, body = customer.phone, "", rendered.text_ko
            elif channel == "email":
                if not customer.email:
                    continue
                recipient, title = customer.email, rendered.subject
                body = rendered.text_ko
                if rendered.text_en:
                    body += "\n\n" + rendered.text_en
            elif channel == "webhook":
                if not self.settings.webhook_url:
                    log.warning("webhook channel configured without webhook_url: skipped")
                    continue
                # The row names the endpoint without credentials or query; the channel posts
                # to the URL configured when it sends.
                recipient, title = _display_url(self.settings.webhook_url), event
                body = webhook_body(
                    message_id=message_id,
                    event=event,
                    customer_number=customer.customer_number,
                    at=iso_utc(now),
                    data=webhook_data,
                )
            else:  # pragma: no cover - Settings allows only the three
                raise ValueError(f"unknown notification channel {channel!r}")
            message = OutboxMessage(
                id=message_id,
                created_at=now,
                event=event,
                channel=channel,
                recipient=recipient,
                subject=title,
                body=body,
                next_attempt_at=now,
                customer_id=customer.id,
            )
            uow.outbox.add(message)
            messages.append(message)
        if messages and self.wake is not None:
            uow.after_commit(self.wake)
        return messages


def _display_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"[:200]
