"""Customer notifications: written to the outbox with the change, sent later by the sender.

    outbox = Outbox(settings, clock)
    outbox.notify(uow, event=Event.ISSUED, customer=customer, values={"device": "SM-S928N"})
    uow.commit()
    OutboxSender(uow_factory, channels_from_settings(settings, sms), clock,
                 settings.policy).deliver_due()

See ``docs/audit-and-notifications.md``.
"""

from certcenter.notifications.channels import (
    Channel,
    DeliveryError,
    EmailChannel,
    SmsChannel,
    WebhookChannel,
    channels_from_settings,
    sign_body,
)
from certcenter.notifications.messages import TEMPLATES, Event, RenderedMessage, render
from certcenter.notifications.outbox import Outbox
from certcenter.notifications.sender import DeliveryReport, OutboxSender, retry_delay

__all__ = [
    "TEMPLATES",
    "Channel",
    "DeliveryError",
    "DeliveryReport",
    "EmailChannel",
    "Event",
    "Outbox",
    "OutboxSender",
    "RenderedMessage",
    "SmsChannel",
    "WebhookChannel",
    "channels_from_settings",
    "render",
    "retry_delay",
    "sign_body",
]
