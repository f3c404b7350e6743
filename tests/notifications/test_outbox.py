"""Writing notifications: one outbox row per channel, in the caller's transaction, templated."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.config import Settings
from certcenter.entities import Customer
from certcenter.notifications import TEMPLATES, Event, Outbox
from certcenter.notifications.messages import required_values
from tests.notifications.conftest import demo_customer

VALUES = {"device": "SM-S928N", "until": date(2028, 11, 23)}


def all_channels(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "notification_channels": ["sms", "email", "webhook"],
            "webhook_url": "https://user:pw@hooks.bank.example/certcenter?token=abc",
        }
    )


def test_one_message_per_channel_written_with_the_change(
    center: Center, settings: Settings, clock: FrozenClock
) -> None:
    outbox = Outbox(all_channels(settings), clock)
    customer = demo_customer(center)
    with center.uow_factory() as uow:
        messages = outbox.notify(
            uow, event=Event.ISSUED, customer=customer, values={"device": "SM-S928N"}
        )
        uow.commit()
    assert [m.channel for m in messages] == ["sms", "email", "webhook"]
    sms, email, webhook = messages
    expected = (
        "[certcenter Demo Bank] KB국민인증서가 SM-S928N 기기에서 2026-11-23 10:00 발급되었습니다. "
        "본인이 아니면 1588-9999로 신고해 주세요."
    )
    assert (sms.recipient, sms.body, sms.subject) == ("01020000001", expected, "")
    assert email.recipient == "c001@customers.example.org"
    assert email.subject == "[certcenter Demo Bank] KB국민인증서 발급 안내"
    assert email.body.startswith(expected + "\n\n[certcenter Demo Bank] Your mobile certificate")
    assert webhook.recipient == "https://hooks.bank.example/certcenter"  # no credentials
    for message in messages:
        assert message.status == "pending" and message.attempts == 0
        assert message.next_attempt_at == clock.now() == message.created_at
        assert message.customer_id == customer.id and message.event == "issued"
    with center.uow_factory() as uow:
        stored = uow.outbox.for_customer(customer.id)
    assert {m.id for m in stored} == {m.id for m in messages}


def test_the_webhook_body_names_the_customer_only_by_number(
    center: Center, settings: Settings, clock: FrozenClock
) -> None:
    outbox = Outbox(all_channels(settings), clock)
    customer = demo_customer(center)
    with center.uow_factory() as uow:
        webhook = outbox.notify(
            uow,
            event=Event.REVOKED,
            customer=customer,
            data={"serial": "5F3A", "reason": "keyCompromise", "phone": customer.phone},
        )[-1]
    body = json.loads(webhook.body)
    assert body == {
        "id": webhook.id,
        "event": "revoked",
        "customer_number": "C001",
        "time": "2026-11-23T01:00:00.000000Z",
        "data": {"serial": "5F3A", "reason": "keyCompromise", "phone": "010-****-0001"},
    }
    for personal in (customer.phone, customer.name, "c001@", customer.ci):
        assert personal not in webhook.body


def test_nothing_is_written_without_the_callers_commit(
    center: Center, settings: Settings, clock: FrozenClock
) -> None:
    outbox = Outbox(settings, clock)
    customer = demo_customer(center)
    with center.uow_factory() as uow:
        outbox.notify(uow, event=Event.SUSPENDED, customer=customer)
        # the change is rolled back: so is its notice
    with center.uow_factory() as uow:
        assert uow.outbox.for_customer(customer.id) == []


def test_email_is_skipped_for_a_customer_without_an_address(
    settings: Settings, clock: FrozenClock
) -> None:
    outbox = Outbox(all_channels(settings), clock)
    customer = Customer(
        id="c-1",
        customer_number="C999",
        name="홍길동",
        ci="ci",
        birth_date=date(1990, 1, 1),
        phone="01099990000",
        created_at=clock.now(),
    )
    added = []

    class FakeOutboxRepo:
        def add(self, message: object) -> None:
            added.append(message)

    class FakeUow:
        outbox = FakeOutboxRepo()

    messages = outbox.notify(FakeUow(), event="released", customer=customer)  # type: ignore[arg-type]
    assert [m.channel for m in messages] == ["sms", "webhook"]
    assert added == messages


def test_free_text_form(settings: Settings, clock: FrozenClock) -> None:
    outbox = Outbox(all_channels(settings), clock)
    customer = Customer(
        id="c-1",
        customer_number="C998",
        name="홍길동",
        ci="ci",
        birth_date=date(1990, 1, 1),
        phone="01099990000",
        created_at=clock.now(),
        email="hong@example.org",
    )

    class FakeUow:
        class outbox:  # noqa: N801 - stands in for the repository attribute
            @staticmethod
            def add(message: object) -> None:
                return None

    sms, email, webhook = outbox.notify(
        FakeUow(),  # type: ignore[arg-type]
        event="maintenance",
        customer=customer,
        text_ko="[데모] 점검 안내",
        text_en="[Demo] Maintenance",
        subject="점검 안내",
        data={"window": "02:00-04:00"},
    )
    assert sms.body == "[데모] 점검 안내"
    assert (email.subject, email.body) == ("점검 안내", "[데모] 점검 안내\n\n[Demo] Maintenance")
    assert json.loads(webhook.body)["data"] == {"window": "02:00-04:00"}
    with pytest.raises(ValueError, match="text_ko"):
        outbox.notify(FakeUow(), event="x", customer=customer, text_en="only English")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no message template"):
        outbox.notify(FakeUow(), event="maintenance", customer=customer)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="event must be"):
        outbox.notify(FakeUow(), event="Bad Event", customer=customer, text_ko="x")  # type: ignore[arg-type]


@pytest.mark.parametrize("event", list(Event))
def test_every_lifecycle_event_has_a_korean_and_english_text(
    event: Event, settings: Settings, clock: FrozenClock
) -> None:
    outbox = Outbox(settings, clock)
    rendered = outbox.render(event, {k: VALUES[k] for k in required_values(event)})
    assert rendered.text_ko.startswith("[certcenter Demo Bank] ")
    assert rendered.text_en.startswith("[certcenter Demo Bank] ")
    assert rendered.subject.startswith("[certcenter Demo Bank] ")
    assert "{" not in rendered.text_ko + rendered.text_en + rendered.subject
    assert "2026-11-23 10:00" in rendered.text_ko  # the time, in Korean time
    if required_values(event):
        with pytest.raises(ValueError, match="needs the values"):
            outbox.render(event, {})


def test_templates_cover_the_lifecycle_and_values_are_formatted(
    settings: Settings, clock: FrozenClock
) -> None:
    assert set(TEMPLATES) == {
        "issued",
        "renewed",
        "revoked",
        "suspended",
        "released",
        "device_registered",
        "device_deregistered",
        "auto_revoked",
    }
    outbox = Outbox(settings, clock)
    renewed = outbox.render(Event.RENEWED, {"until": datetime(2028, 11, 22, 15, 0, tzinfo=UTC)})
    assert "2028-11-23 00:00까지" in renewed.text_ko  # shown in KST
    auto = outbox.render(Event.AUTO_REVOKED)
    assert "365일 동안 사용하지 않아" in auto.text_ko
