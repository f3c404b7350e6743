"""Delivery channels: how an outbox message leaves the center (SMS, e-mail, webhook).

A channel's ``send`` returns when the message was handed over and raises when it was not
(:class:`DeliveryError` with a short text that names no person); the sender retries. Only the
standard library is used (``smtplib``, ``urllib.request``):

    channels = channels_from_settings(settings, providers.sms)
    channels["sms"].send(message)

Webhook requests are ``POST`` with the message's JSON body and the header
``X-Certcenter-Signature: sha256=<hex HMAC-SHA256 of the body under webhook_secret>``; the
receiver recomputes it over the raw body and compares in constant time. Any status other than
2xx (redirects included: they are not followed) is a failure.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from certcenter.audit.redaction import redact_text
from certcenter.config import Settings
from certcenter.entities import OutboxMessage
from certcenter.identity.providers import SmsGateway

__all__ = [
    "SIGNATURE_HEADER",
    "Channel",
    "DeliveryError",
    "EmailChannel",
    "SmsChannel",
    "WebhookChannel",
    "channels_from_settings",
    "sign_body",
]

SIGNATURE_HEADER = "X-Certcenter-Signature"
DEFAULT_TIMEOUT = 10.0


class DeliveryError(Exception):
    """A message was not handed over; the text is short and names no person."""


@runtime_checkable
class Channel(Protocol):
    """Hands one message to the outside; raises when it could not."""

    def send(self, message: OutboxMessage) -> None: ...


class SmsChannel:
    """Text messages through the SMS provider (the telco simulator in the demo)."""

    def __init__(self, gateway: SmsGateway, sender: str) -> None:
        self.gateway = gateway
        self.sender = sender

    def send(self, message: OutboxMessage) -> None:
        self.gateway.send(phone=message.recipient, sender=self.sender, text=message.body)


class EmailChannel:
    """E-mail over SMTP: STARTTLS and login when configured, UTF-8 text body (base64).

    ``Message-ID`` is derived from the outbox message's id, so a message delivered twice
    (at-least-once) carries the same id both times.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if password is not None and username is None:
            raise ValueError("an SMTP password needs an SMTP user name")
        self.host = host
        self.port = port
        self.sender = sender
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ssl_context = ssl_context

    def build(self, message: OutboxMessage) -> EmailMessage:
        email = EmailMessage()
        email["Subject"] = message.subject or "certcenter"
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Date"] = formatdate(usegmt=True)
        domain = self.sender.rpartition("@")[2] or "certcenter"
        email["Message-ID"] = f"<{message.id}@{domain}>"
        email.set_content(message.body, charset="utf-8", cte="base64")
        return email

    def send(self, message: OutboxMessage) -> None:
        email = self.build(message)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    context = self.ssl_context or ssl.create_default_context()
                    smtp.starttls(context=context)
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                refused = smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused:
            raise DeliveryError("SMTP: recipient refused") from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP {exc.smtp_code}: {_short(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP: {type(exc).__name__}: {_short(exc)}") from None
        if refused:
            raise DeliveryError("SMTP: recipient refused")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an answer other than 2xx: a failure


def sign_body(body: bytes, secret: bytes) -> str:
    """The ``X-Certcenter-Signature`` value: ``sha256=<hex HMAC-SHA256(secret, body)>``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """JSON ``POST`` to the bank's endpoint, signed with HMAC-SHA256 over the body."""

    def __init__(self, url: str, secret: str | bytes, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("the webhook URL must be http:// or https://")
        if not secret:
            raise ValueError("the webhook needs a secret to sign with")
        self.url = url
        self.secret = secret.encode("utf-8") if isinstance(secret, str) else secret
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects())

    def send(self, message: OutboxMessage) -> None:
        body = message.body.encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "certcenter-webhook/1",
                SIGNATURE_HEADER: sign_body(body, self.secret),
                "X-Certcenter-Event": message.event,
                "X-Certcenter-Delivery": message.id,
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = int(response.status)
                response.read(65536)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise DeliveryError(f"webhook: HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise DeliveryError(f"webhook: {_short(exc.reason)}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryError(f"webhook: {type(exc).__name__}: {_short(exc)}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"webhook: HTTP {status}")


def channels_from_settings(settings: Settings, sms_gateway: SmsGateway) -> dict[str, Channel]:
    """The channels named in ``settings.notification_channels``, built from their settings.

    ``ValueError`` when the webhook is configured without ``webhook_url`` or
    ``webhook_secret``.
    """
    channels: dict[str, Channel] = {}
    for name in settings.notification_channels:
        if name == "sms":
            channels[name] = SmsChannel(sms_gateway, settings.policy.sms_sender_number)
        elif name == "email":
            password = settings.smtp_password
            channels[name] = EmailChannel(
                host=settings.smtp_host,
                port=settings.smtp_port,
                sender=settings.smtp_from,
                starttls=settings.smtp_starttls,
                username=settings.smtp_username,
                password=password.get_secret_value() if password is not None else None,
            )
        elif name == "webhook":
            if not settings.webhook_url or settings.webhook_secret is None:
                raise ValueError("the webhook channel needs webhook_url and webhook_secret")
            channels[name] = WebhookChannel(
                settings.webhook_url, settings.webhook_secret.get_secret_value()
            )
    return channels


def _short(value: object, limit: int = 120) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return redact_text(" ".join(text.split()))[:limit]
