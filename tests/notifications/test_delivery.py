"""Delivering the outbox: real SMS inbox, real SMTP, real HTTP; retries, races and crashes."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.config import Policy, Settings
from certcenter.entities import OutboxMessage
from certcenter.notifications import (
    DeliveryError,
    EmailChannel,
    Event,
    Outbox,
    OutboxSender,
    SmsChannel,
    WebhookChannel,
    channels_from_settings,
    retry_delay,
)
from certcenter.notifications.channels import Channel
from tests.notifications.conftest import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpServer,
    TlsFiles,
    WebhookReceiver,
    demo_customer,
    free_port,
)

SECRET = "webhook-test-secret"


def notify(
    center: Center,
    settings: Settings,
    event: str = Event.ISSUED,
    customer_number: str = "C001",
    **values: object,
) -> list[OutboxMessage]:
    outbox = Outbox(settings, center.clock)
    customer = demo_customer(center, customer_number)
    with center.uow_factory() as uow:
        messages = outbox.notify(
            uow, event=event, customer=customer, values=values or {"device": "SM-S928N"}
        )
        uow.commit()
    return messages


def stored(center: Center, message_id: str) -> OutboxMessage:
    with center.uow_factory() as uow:
        message = uow.outbox.get(message_id)
    assert message is not None
    return message


def sender_for(center: Center, channels: dict[str, Channel], **policy: int) -> OutboxSender:
    return OutboxSender(
        center.uow_factory,
        channels,
        center.clock,
        center.settings.policy.model_copy(update=policy),
    )


# -- the channels, end to end


def test_sms_lands_in_the_demo_phones_inbox(center: Center) -> None:
    (message,) = notify(center, center.settings)
    channels = channels_from_settings(center.settings, center.providers.sms)
    assert set(channels) == {"sms"}
    sender = OutboxSender(center.uow_factory, channels, center.clock, center.settings.policy)
    assert sender.deliver_due().sent == 1
    inbox = center.sim_store.messages("01020000001")
    assert inbox[0]["body"] == message.body and "SM-S928N 기기에서" in inbox[0]["body"]
    assert (inbox[0]["sender"], inbox[0]["folder"]) == ("1588-9999", "inbox")
    sent = stored(center, message.id)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, center.clock.now())
    assert sender.deliver_due().claimed == 0  # sent once, never again


def test_email_through_a_real_smtp_server(center: Center, smtp_server: SmtpServer) -> None:
    settings = center.settings.model_copy(
        update={
            "notification_channels": ["email"],
            "smtp_port": smtp_server.port,
            "smtp_from": "certcenter@bank.example",
        }
    )
    (message,) = notify(center, settings, Event.DEVICE_REGISTERED, device="Galaxy S24 울트라")
    channels = channels_from_settings(settings, center.providers.sms)
    assert (
        OutboxSender(center.uow_factory, channels, center.clock, settings.policy).deliver_due().sent
        == 1
    )

    (received,) = smtp_server.received
    assert received.mail_from == "certcenter@bank.example"
    assert received.rcpt_tos == ["c001@customers.example.org"]
    parsed = email.message_from_bytes(received.content, policy=email.policy.default)
    assert parsed["Subject"] == "[certcenter Demo Bank] 인증서 이용 기기 등록 안내"
    assert parsed["From"] == "certcenter@bank.example"
    assert parsed["To"] == "c001@customers.example.org"
    assert parsed["Message-ID"] == f"<{message.id}@bank.example>"
    assert parsed["Date"]
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    body = parsed.get_content()
    assert body.rstrip("\n") == message.body
    assert "Galaxy S24 울트라 기기가 2026-11-23 10:00 KB국민인증서 이용 기기로 등록" in body
    assert received.content.isascii()  # 7-bit clean on the wire (base64 body, RFC 2047)


def test_email_with_starttls_and_login(
    center: Center, tls_smtp_server: SmtpServer, tls_files: TlsFiles
) -> None:
    settings = center.settings.model_copy(update={"notification_channels": ["email"]})
    (message,) = notify(center, settings, Event.SUSPENDED)
    channel = EmailChannel(
        host="127.0.0.1",
        port=tls_smtp_server.port,
        sender="certcenter@bank.example",
        starttls=True,
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        ssl_context=tls_files.client_context(),
    )
    channel.send(message)
    (received,) = tls_smtp_server.received
    assert received.authenticated and tls_smtp_server.logins
    # without STARTTLS the server refuses (it requires TLS), and says so briefly
    plain = EmailChannel(host="127.0.0.1", port=tls_smtp_server.port, sender="x@bank.example")
    with pytest.raises(DeliveryError, match="SMTP 530"):
        plain.send(message)
    # a wrong password is refused
    wrong = EmailChannel(
        host="127.0.0.1",
        port=tls_smtp_server.port,
        sender="x@bank.example",
        starttls=True,
        username=SMTP_USER,
        password="wrong",
        ssl_context=tls_files.client_context(),
    )
    with pytest.raises(DeliveryError, match="SMTP 535"):
        wrong.send(message)
    # a server certificate the client does not trust is a failure, not a silent downgrade
    untrusting = EmailChannel(
        host="127.0.0.1", port=tls_smtp_server.port, sender="x@bank.example", starttls=True
    )
    with pytest.raises(DeliveryError, match="SSL"):
        untrusting.send(message)
    assert len(tls_smtp_server.received) == 1


def test_webhook_is_signed_and_carries_no_personal_data(
    center: Center, webhook_receiver: WebhookReceiver
) -> None:
    settings = center.settings.model_copy(
        update={
            "notification_channels": ["sms", "webhook"],
            "webhook_url": webhook_receiver.url,
            "webhook_secret": SecretStr(SECRET),
        }
    )
    messages = notify(center, settings, Event.RENEWED, until="2028-11-23")
    channels = channels_from_settings(settings, center.providers.sms)
    assert set(channels) == {"sms", "webhook"}
    report = OutboxSender(center.uow_factory, channels, center.clock, settings.policy).deliver_due()
    assert report.sent == 2

    (request,) = webhook_receiver.requests
    assert request.path == "/hooks/certcenter"
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json; charset=utf-8"
    expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-certcenter-signature"], expected)
    body = json.loads(request.body)
    assert body == {
        "id": messages[1].id,
        "event": "renewed",
        "customer_number": "C001",
        "time": "2026-11-23T01:00:00.000000Z",
        "data": {"until": "2028-11-23"},
    }
    assert headers["x-certcenter-delivery"] == messages[1].id
    for personal in ("01020000001", "김민준", "c001@"):
        assert personal not in request.body.decode("utf-8")


@pytest.mark.parametrize(("status", "reason"), [(500, "HTTP 500"), (302, "HTTP 302")])
def test_a_webhook_answer_other_than_2xx_is_a_failure(
    webhook_receiver: WebhookReceiver, status: int, reason: str
) -> None:
    webhook_receiver.status = status
    webhook_receiver.headers_out = {"Location": webhook_receiver.url + "/elsewhere"}
    channel = WebhookChannel(webhook_receiver.url, SECRET, timeout=5)
    with pytest.raises(DeliveryError, match=reason):
        channel.send(_message("webhook", "{}"))
    assert len(webhook_receiver.requests) == 1  # the redirect was not followed


def test_a_slow_or_absent_webhook_is_a_failure(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.delay = 1.0
    with pytest.raises(DeliveryError, match="timed out"):
        WebhookChannel(webhook_receiver.url, SECRET, timeout=0.2).send(_message("webhook", "{}"))
    closed = f"http://127.0.0.1:{_closed_port()}/hook"
    with pytest.raises(DeliveryError, match="webhook"):
        WebhookChannel(closed, SECRET, timeout=2).send(_message("webhook", "{}"))


def test_channels_from_settings_checks_the_webhook_settings(center: Center) -> None:
    settings = center.settings.model_copy(update={"notification_channels": ["webhook"]})
    with pytest.raises(ValueError, match="webhook_url and webhook_secret"):
        channels_from_settings(settings, center.providers.sms)
    with pytest.raises(ValueError, match="http"):
        WebhookChannel("file:///etc/passwd", SECRET)
    with pytest.raises(ValueError, match="secret"):
        WebhookChannel("https://hooks.bank.example/", "")
    email_only = center.settings.model_copy(
        update={
            "notification_channels": ["email"],
            "smtp_username": "relay",
            "smtp_password": SecretStr("pw"),
            "smtp_starttls": True,
        }
    )
    (channel,) = channels_from_settings(email_only, center.providers.sms).values()
    assert isinstance(channel, EmailChannel)
    assert (channel.username, channel.password, channel.starttls) == ("relay", "pw", True)


# -- the sender: retries, races, crashes


class FlakyChannel:
    """Fails ``failures`` times (naming the recipient, as a careless library might), then sends."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[str] = []
        self.tries = 0

    def send(self, message: OutboxMessage) -> None:
        self.tries += 1
        if self.tries <= self.failures:
            raise ConnectionError(f"gateway down while sending to {message.recipient}")
        self.sent.append(message.id)


def test_a_failing_channel_is_retried_with_backoff_then_marked_failed(
    center: Center, clock: FrozenClock
) -> None:
    (message,) = notify(center, center.settings)
    channel = FlakyChannel(failures=100)
    sender = sender_for(
        center, {"sms": channel}, notification_max_attempts=4, notification_retry_base_seconds=30
    )
    start = clock.now()
    for attempt, wait in enumerate((30, 60, 120), start=1):
        report = sender.deliver_due()
        assert (report.retried, report.sent, report.failed) == (1, 0, 0)
        row = stored(center, message.id)
        assert (row.status, row.attempts) == ("pending", attempt)
        assert row.next_attempt_at == clock.now() + timedelta(seconds=wait)
        assert row.last_error == "ConnectionError: gateway down while sending to 010-****-0001"
        clock.advance(seconds=wait - 1)
        assert sender.deliver_due().claimed == 0  # not yet due
        clock.advance(seconds=1)
    report = sender.deliver_due()
    assert report.failed == 1
    row = stored(center, message.id)
    assert (row.status, row.attempts, row.sent_at) == ("failed", 4, None)
    assert clock.now() - start == timedelta(seconds=30 + 60 + 120)
    clock.advance(days=1)
    assert sender.deliver_due().claimed == 0  # failed is final
    assert channel.tries == 4


def test_a_message_sent_on_a_later_attempt_is_marked_sent(
    center: Center, clock: FrozenClock
) -> None:
    (message,) = notify(center, center.settings)
    channel = FlakyChannel(failures=1)
    sender = sender_for(center, {"sms": channel})
    assert sender.deliver_due().retried == 1
    clock.advance(seconds=center.settings.policy.notification_retry_base_seconds)
    assert sender.deliver_due().sent == 1
    row = stored(center, message.id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert channel.sent == [message.id]


def test_a_real_failing_webhook_is_retried(
    center: Center, clock: FrozenClock, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.status = 503
    settings = center.settings.model_copy(
        update={
            "notification_channels": ["webhook"],
            "webhook_url": webhook_receiver.url,
            "webhook_secret": SecretStr(SECRET),
        }
    )
    (message,) = notify(center, settings, Event.REVOKED)
    sender = OutboxSender(
        center.uow_factory,
        channels_from_settings(settings, center.providers.sms),
        clock,
        settings.policy.model_copy(update={"notification_max_attempts": 2}),
    )
    assert sender.deliver_due().retried == 1
    assert stored(center, message.id).last_error == "webhook: HTTP 503"
    clock.advance(seconds=settings.policy.notification_retry_base_seconds)
    webhook_receiver.status = 200
    assert sender.deliver_due().sent == 1
    assert len(webhook_receiver.requests) == 2
    assert webhook_receiver.requests[0].body == webhook_receiver.requests[1].body  # same id


def test_a_message_for_an_unconfigured_channel_is_not_lost_silently(
    center: Center, clock: FrozenClock
) -> None:
    (message,) = notify(center, center.settings)
    sender = sender_for(center, {}, notification_max_attempts=1)
    assert sender.deliver_due().failed == 1
    assert stored(center, message.id).last_error == "channel 'sms' is not configured"


def test_backoff_is_exponential_and_capped() -> None:
    cap = timedelta(hours=1)
    delays = [retry_delay(n, 30, cap).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retry_delay(10_000, 30, cap) == cap


def test_two_senders_never_send_a_message_twice(center: Center) -> None:
    count = 12
    customer = demo_customer(center)
    outbox = Outbox(center.settings, center.clock)
    with center.uow_factory() as uow:
        for _ in range(count):
            outbox.notify(uow, event=Event.RELEASED, customer=customer)
        uow.commit()

    sends: Counter[str] = Counter()
    lock = threading.Lock()

    class SlowChannel:
        def send(self, message: OutboxMessage) -> None:
            with lock:
                sends[message.id] += 1
            time.sleep(0.02)  # long enough for the other sender to try the same row

    barrier = threading.Barrier(2)
    reports = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sender = sender_for(center, {"sms": SlowChannel()})
            barrier.wait()
            reports.append(sender.deliver_due(limit=count))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len(sends) == count and set(sends.values()) == {1}
    assert sum(r.sent for r in reports) == count
    with center.uow_factory() as uow:
        rows = uow.outbox.for_customer(customer.id, limit=100)
    assert {m.status for m in rows} == {"sent"} and {m.attempts for m in rows} == {1}


class ProcessDied(BaseException):
    """The process ends between handing the message over and committing (kill -9, power)."""


def test_a_crash_after_sending_loses_nothing_at_least_once(center: Center) -> None:
    (message,) = notify(center, center.settings)
    real = SmsChannel(center.providers.sms, "1588-9999")

    class DiesAfterSending:
        def send(self, message: OutboxMessage) -> None:
            real.send(message)
            raise ProcessDied

    with pytest.raises(ProcessDied):
        sender_for(center, {"sms": DiesAfterSending()}).deliver_due()
    row = stored(center, message.id)
    assert (row.status, row.attempts, row.sent_at) == ("pending", 0, None)
    assert len(center.sim_store.messages("01020000001")) == 1

    # the next start sends it again: delivered at least once (here: twice)
    assert sender_for(center, {"sms": real}).deliver_due().sent == 1
    assert stored(center, message.id).status == "sent"
    inbox = center.sim_store.messages("01020000001")
    assert [m["body"] for m in inbox] == [message.body, message.body]


def test_run_forever_delivers_in_the_background(center: Center) -> None:
    (message,) = notify(center, center.settings)
    sender = OutboxSender(
        center.uow_factory,
        channels_from_settings(center.settings, center.providers.sms),
        center.clock,
        center.settings.policy,
    )
    stop = threading.Event()
    thread = threading.Thread(target=sender.run_forever, args=(stop, 0.05))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while stored(center, message.id).status != "sent" and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert stored(center, message.id).status == "sent"


def test_wake_sends_at_once_and_stop_is_prompt(center: Center) -> None:
    sender = OutboxSender(
        center.uow_factory,
        channels_from_settings(center.settings, center.providers.sms),
        center.clock,
        center.settings.policy,
    )
    stop = threading.Event()
    thread = threading.Thread(target=sender.run_forever, args=(stop, 600))
    thread.start()
    try:
        time.sleep(0.3)  # it has looked once and now waits its (long) interval
        (message,) = notify(center, center.settings)
        sender.wake()
        deadline = time.monotonic() + 10
        while stored(center, message.id).status != "sent" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stored(center, message.id).status == "sent"
    finally:
        stopped_at = time.monotonic()
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - stopped_at < 2


def test_run_forever_survives_a_broken_database(
    clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0

    def broken_factory() -> object:
        nonlocal calls
        calls += 1
        raise OSError("database unreachable")

    sender = OutboxSender(
        broken_factory,  # type: ignore[arg-type]
        {},
        clock,
        Policy(),
    )
    stop = threading.Event()
    thread = threading.Thread(target=sender.run_forever, args=(stop, 0.01))
    thread.start()
    deadline = time.monotonic() + 5
    while calls < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(timeout=5)
    assert calls >= 3 and not thread.is_alive()
    assert "outbox delivery failed" in caplog.text


def _message(channel: str, body: str) -> OutboxMessage:
    now = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    return OutboxMessage(
        id="00000000-0000-0000-0000-000000000001",
        created_at=now,
        event="issued",
        channel=channel,
        recipient="https://hooks.bank.example/",
        body=body,
        next_attempt_at=now,
    )


def _closed_port() -> int:
    return free_port()
