"""The diagnosis checklist (왜 발급이 안 되나요?) from the demo world's real state, on SQLite
and PostgreSQL: the carrier's lines, the banks' accounts, the center's records."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.diagnosis import DEFAULT_CHECKS, CheckItem, Checklist, Diagnosis, Situation
from certcenter.diagnosis.document import checklist_document
from certcenter.errors import CertCenterError, catalog
from certcenter.identity.phone_numbers import Carrier
from certcenter.identity.providers import LineFacts, VerifiedSubscriber
from certcenter.identity.rrn import RrnFront
from tests.diagnosis.support import (
    FOREIGN_IP,
    OPERATOR,
    customer,
    diagnose,
    not_ok,
    only,
    phone_step,
    phone_verified,
    refused,
    started,
)

# What the demo world's people meet (README "The demo world"): (key, status, code) of every
# item that is not ok, and whether nothing stops issuance.
EXPECTED: dict[str, tuple[bool, list[tuple[str, str, str | None]]]] = {
    "C001": (True, []),
    "C002": (True, []),
    "C003": (True, []),  # new to internet banking: joins in the same flow
    "C004": (False, [("phone_own_name", "problem", "PHONE_NOT_OWN_NAME")]),
    "C005": (True, []),  # an 알뜰폰 line: the carrier item names the one to choose
    "C006": (False, [("phone_corporate_line", "problem", "PHONE_CORPORATE_LINE")]),
    "C007": (True, []),  # corporate line with the personal service
    "C008": (False, [("account_usable", "problem", "ACCOUNT_DORMANT")]),
    "C009": (False, [("account_usable", "problem", "ACCOUNT_TRANSFER_RESTRICTED")]),
    "C012": (False, [("device_registered", "problem", "DEVICE_ALREADY_REGISTERED")]),
    "C013": (True, []),  # abroad, but the operator's question comes from no address
    "C015": (True, [("sms_spam_block", "warning", "PHONE_SMS_SPAM_BLOCKED")]),
    "C016": (False, [("account_usable", "problem", "ACCOUNT_SUSPENDED")]),
}


def assert_catalogued(checklist: Checklist) -> None:
    """Every item that is not ok names a catalog code with both languages, all filled in."""
    document = checklist_document(checklist)
    for item, shown in zip(checklist.items, document["items"], strict=True):
        if item.status == "problem":
            assert item.code in catalog(), item
        if item.code is None:
            assert "message" not in shown
            continue
        for field in ("message", "cause", "remedy"):
            for lang in ("ko", "en"):
                text = shown[field][lang]
                assert text.strip() and "{" not in text, (item, field, lang, text)
    for failure in checklist.item("recent_failures").context["failures"]:
        assert failure["code"] in catalog()


def test_the_demo_worlds_people_get_their_checklist(center: Center) -> None:
    for number, (ready, expected) in EXPECTED.items():
        checklist = diagnose(center, number)
        assert not_ok(checklist) == expected, number
        assert checklist.ready is ready, number
        assert checklist.customer_number == number
        assert_catalogued(checklist)

    everything = diagnose(center, "C001")
    keys = [item.key for item in everything.items]
    assert keys == [
        "internet_banking",
        "overseas_access",
        "blocks",
        "phone_corporate_line",
        "phone_own_name",
        "phone_carrier",
        "sms_spam_block",
        "account_usable",
        "account_usable",  # C001 has two accounts, each checked
        "device_registered",
        "certificate",
        "factor_locks",
        "recent_failures",
    ]
    assert only(diagnose(center, "C003"), "internet_banking").context["enrolled"] is False
    carrier = only(diagnose(center, "C005"), "phone_carrier").context
    assert carrier == {"carrier": "LGU_MVNO", "carrier_label": "LG U+ 알뜰폰", "mvno": True}
    corporate = only(diagnose(center, "C007"), "phone_corporate_line").context
    assert corporate == {"corporate": True, "personal_service": True}
    assert only(diagnose(center, "C007"), "phone_own_name").status == "ok"
    # a corporate line without the service proves no one: no own-name verdict is made up
    assert diagnose(center, "C006").all("phone_own_name") == []
    device = only(diagnose(center, "C012"), "device_registered").context
    assert device["device_id"] == "demo-old-phone-c012" and device["model"] == "SM-G991N"
    assert only(diagnose(center, "C012"), "certificate").context["certificate_status"] == "active"
    # the phone line's holder (C004's mother) is named nowhere
    assert "최영희" not in str(checklist_document(diagnose(center, "C004")))

    # the operator's look is audited
    checklist = center.diagnosis.for_customer_number(" c004 ", OPERATOR)
    assert checklist.customer_number == "C004"
    with center.uow_factory() as uow:
        (entry,) = [
            e for e in uow.audit.for_subject("customer", "C004") if e.action == "diagnose_customer"
        ]
    assert entry.actor == "kim" and entry.source_ip == "10.0.0.7"
    assert entry.details == {"ready": False, "problems": ["PHONE_NOT_OWN_NAME"]}
    unknown = refused(lambda: center.diagnosis.for_customer_number("C999", OPERATOR))
    assert unknown.code == "CUSTOMER_UNKNOWN"
    assert refused(lambda: center.diagnosis.for_customer("no-such-id")).code == "CUSTOMER_UNKNOWN"


def test_the_telco_and_the_banks_are_asked_now(center: Center) -> None:
    store = center.sim_store
    store.set_account_status("004", "12340100000001", "dormant")
    one = diagnose(center, "C001")
    # another of her accounts still takes the 1-won deposit: worth knowing, not a stop
    assert not_ok(one) == [("account_usable", "warning", "ACCOUNT_DORMANT")]
    assert one.ready
    store.set_account_status("004", "12340100000101", "suspended")
    both = diagnose(center, "C001")
    assert not_ok(both) == [
        ("account_usable", "problem", "ACCOUNT_DORMANT"),
        ("account_usable", "problem", "ACCOUNT_SUSPENDED"),
    ]
    assert [i.context["account"] for i in both.problems] == ["1234*******001", "1234*******101"]

    store.set_subscriber("01020000015", spam_blocks_1588=False)
    assert not_ok(diagnose(center, "C015")) == []
    store.set_subscriber("01020000006", corporate_personal_service=True)
    assert not_ok(diagnose(center, "C006")) == []
    store.set_subscriber("01020000006", user_ci="someone-else")
    assert not_ok(diagnose(center, "C006")) == [("phone_own_name", "problem", "PHONE_NOT_OWN_NAME")]
    store.set_subscriber("01020000002", carrier="KT")
    assert only(diagnose(center, "C002"), "phone_carrier").context["carrier_label"] == "KT"

    # a number the carrier does not know
    with center.uow_factory() as uow:
        found = uow.customers.by_number("C014")
        assert found is not None
        found.phone = "01099990000"
        uow.commit()
    checklist = diagnose(center, "C014")
    assert not_ok(checklist) == [("phone_own_name", "problem", "PHONE_SUBSCRIBER_NOT_FOUND")]
    assert only(checklist, "phone_own_name").context == {"phone": "010-****-0000"}
    assert checklist.all("sms_spam_block") == []


def test_a_locked_pin_is_a_problem_until_an_operator_releases_it(center: Center) -> None:
    guard = center.factor_guard
    subject = customer(center, "C007").id
    for _ in range(center.settings.policy.pin_max_failures):
        with center.uow_factory() as uow:
            guard.reserve(uow, subject, ["pin"])
            refusal = guard.settle(uow, subject, {"pin": False})
            uow.commit()
        assert refusal is not None
    assert refusal.code == "PIN_LOCKED"
    with center.uow_factory() as uow:  # the real refusal of the next try
        assert refused(lambda: guard.reserve(uow, subject, ["pin"])).code == "PIN_LOCKED"

    checklist = diagnose(center, "C007")
    assert not_ok(checklist) == [("factor_locks", "problem", "PIN_LOCKED")]
    lock = only(checklist, "factor_locks")
    assert lock.context["factor"] == "pin" and lock.context["max_failures"] == 5
    assert "5" in lock.error().cause("en")  # type: ignore[union-attr]
    assert_catalogued(checklist)

    center.operator_desk.unlock_factor("C007", "pin", OPERATOR)
    assert not_ok(diagnose(center, "C007")) == []


def test_repeated_failures_block_the_customer_and_are_listed(
    center: Center, clock: FrozenClock
) -> None:
    policy = center.settings.policy
    ref = phone_verified(center, "C008", device_id="c008-phone")
    for _ in range(policy.failure_max_in_window):
        clock.advance(seconds=20)
        err = refused(
            lambda: center.mobile_enrollment.request_account_deposit(
                ref, bank_code="004", account_number="12340100000008"
            )
        )
        assert err.code == "ACCOUNT_DORMANT"
    clock.advance(seconds=20)
    blocked = refused(
        lambda: center.mobile_enrollment.request_account_deposit(
            ref, bank_code="004", account_number="12340100000008"
        )
    )
    assert blocked.code == "TOO_MANY_ATTEMPTS"

    checklist = diagnose(center, "C008")
    assert not_ok(checklist) == [
        ("blocks", "problem", "TOO_MANY_ATTEMPTS"),
        ("blocks", "problem", "TOO_MANY_ATTEMPTS"),
        ("account_usable", "problem", "ACCOUNT_DORMANT"),
        ("recent_failures", "warning", None),
    ]
    blocks = checklist.all("blocks")
    assert [b.context["subject"] for b in blocks] == ["customer", "device"]
    assert blocks[0].context["until"].startswith("2026-11-24T01:0")  # 24 hours on
    failures = only(checklist, "recent_failures").context
    assert failures["total"] == policy.failure_max_in_window + 1
    # by code with counts, the most recent first
    assert [(f["code"], f["count"], f["step"]) for f in failures["failures"]] == [
        ("TOO_MANY_ATTEMPTS", 1, "account"),
        ("ACCOUNT_DORMANT", policy.failure_max_in_window, "account"),
    ]
    assert_catalogued(checklist)

    clock.advance(hours=policy.block_hours, minutes=1)
    later = diagnose(center, "C008")
    assert not_ok(later) == [("account_usable", "problem", "ACCOUNT_DORMANT")]
    assert only(later, "recent_failures").context["failures"] == []


def test_access_from_abroad(center: Center) -> None:
    asked = diagnose(center, "C013", client_ip=FOREIGN_IP)
    assert not_ok(asked) == [("overseas_access", "problem", "FOREIGN_IP_BLOCKED")]
    assert FOREIGN_IP in only(asked, "overseas_access").error().cause("en")  # type: ignore[union-attr]
    assert not_ok(diagnose(center, "C014", client_ip=FOREIGN_IP)) == []
    assert only(diagnose(center, "C013", client_ip="211.40.1.1"), "overseas_access").context == {
        "allowed": False,
        "domestic": True,
    }
    assert refused(lambda: diagnose(center, "C013", client_ip="nowhere")).code == (
        "INVALID_REQUEST"
    )

    # the operator asks from no address: the customer's refused try from abroad tells
    ref = started(center, "C013", ip=FOREIGN_IP)
    assert refused(lambda: phone_step(center, ref, "C013")).code == "FOREIGN_IP_BLOCKED"
    seen = center.diagnosis.for_customer_number("c013", OPERATOR)
    assert not_ok(seen) == [
        ("overseas_access", "problem", "FOREIGN_IP_BLOCKED"),
        ("recent_failures", "warning", None),
    ]
    assert only(seen, "overseas_access").context == {"ip": FOREIGN_IP}
    with center.uow_factory() as uow:
        found = uow.customers.by_number("C013")
        assert found is not None
        found.overseas_access = True
        uow.commit()
    assert [k for k, _, _ in not_ok(diagnose(center, "C013"))] == ["recent_failures"]


def test_certificate_state_and_one_device(center: Center) -> None:
    holder = customer(center, "C012")
    with center.uow_factory() as uow:
        (record,) = uow.certificates.for_customer(holder.id, statuses=["active"])
    center.lifecycle.suspend(record.serial, OPERATOR, why="operator")
    checklist = diagnose(center, "C012")
    assert not_ok(checklist) == [
        ("device_registered", "problem", "DEVICE_ALREADY_REGISTERED"),
        ("certificate", "warning", "CERTIFICATE_SUSPENDED"),
    ]
    # a new phone's flow refused for 1 person 1 device is the customer's failure
    ref = started(center, "C012", device_id="c012-new-phone")
    assert refused(lambda: phone_step(center, ref, "C012")).code == "DEVICE_ALREADY_REGISTERED"
    failures = only(diagnose(center, "C012"), "recent_failures").context["failures"]
    assert [f["code"] for f in failures] == ["DEVICE_ALREADY_REGISTERED"]

    # revoked, the certificate takes the phone's registration with it: nothing stops a new one
    center.lifecycle.revoke(record.serial, "keyCompromise", OPERATOR)
    assert only(diagnose(center, "C012"), "device_registered").status == "ok"


class _BrokenTelco:
    """A carrier whose inquiry service is down (a real adapter's time-out)."""

    def verify_subscriber(
        self, *, carrier: Carrier, name: str, rrn_front: RrnFront, phone: str
    ) -> VerifiedSubscriber:
        raise CertCenterError("SERVICE_UNAVAILABLE", detail="telco down")

    def line_facts(self, phone: str) -> LineFacts | None:
        raise CertCenterError("SERVICE_UNAVAILABLE", detail="telco down")


def test_checks_can_be_added_and_a_silent_provider_is_said(center: Center) -> None:
    def financial_device_limit(situation: Situation) -> Iterable[CheckItem]:
        yield CheckItem("financial_devices", "ok", context={"customer": situation.customer.id})

    subject = customer(center, "C002").id
    with center.uow_factory() as uow:
        uow.factors.reserve_attempt(subject, "financial_pin", 1, center.clock.now())
        uow.factors.lock(subject, "financial_pin", center.clock.now())
        uow.commit()
    diagnosis = Diagnosis(
        uow_factory=center.uow_factory,
        providers=dataclasses.replace(center.providers, telco=_BrokenTelco()),
        guard=center.factor_guard,
        policy=center.settings.policy,
        clock=center.clock,
        checks=[*DEFAULT_CHECKS, financial_device_limit],
        lock_codes={"financial_pin": "PIN_LOCKED"},
    )
    checklist = diagnosis.for_customer(subject)
    assert not_ok(checklist) == [
        ("phone_own_name", "warning", "SERVICE_UNAVAILABLE"),
        ("factor_locks", "problem", "PIN_LOCKED"),
    ]
    assert checklist.items[-1].key == "financial_devices"
    assert only(checklist, "factor_locks").context["factor"] == "financial_pin"
    assert_catalogued(checklist)
    # the default service does not know that factor: it says nothing made up about it
    assert not_ok(diagnose(center, "C002")) == []
