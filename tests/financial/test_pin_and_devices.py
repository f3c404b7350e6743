"""The financial PIN locks after the policy's failures and is released by verifying the
customer again (SMS code and an additional medium); browsers are registered the same way,
listed, limited and removed."""

from __future__ import annotations

import pytest

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.financial.media import MediumAnswer
from certcenter.lifecycle.service import ActorRef
from tests.financial.support import (
    BIRTH,
    NAME,
    PHONE,
    PIN,
    Browser,
    by_account,
    customer,
    events,
    issue,
    latest_code,
    register_browser,
    remote_sign,
    wait_for_next_code,
)
from tests.media.test_security_card import answer_for, issue_and_register

IP = "211.36.1.1"


def refused(work: object, code: str) -> CertCenterError:
    with pytest.raises(CertCenterError) as caught:
        work()  # type: ignore[operator]
    assert caught.value.code == code, caught.value
    return caught.value


def wrong_pin(center: Center, browser: Browser, device_id: str) -> CertCenterError:
    request = center.remote_signer.begin(device_id, "document", b"data")
    with pytest.raises(CertCenterError) as caught:
        center.remote_signer.authorize(
            request.activation_id, browser.sign(request.message), "000000"
        )
    return caught.value


def test_pin_locks_after_the_policy_count_and_is_released_by_reverification(
    center: Center,
) -> None:
    browser = Browser()
    device_id = issue(center, browser).device_id or ""
    limit = center.settings.policy.financial_pin_max_failures
    codes = [wrong_pin(center, browser, device_id).code for _ in range(limit)]
    assert codes == ["FINANCIAL_AUTH_FAILED"] * (limit - 2) + [
        "FINANCIAL_PIN_LAST_TRY",
        "FINANCIAL_PIN_LOCKED",
    ]
    # locked: even the right PIN is refused now
    request = center.remote_signer.begin(device_id, "document", b"data")
    refused(
        lambda: center.remote_signer.authorize(
            request.activation_id, browser.sign(request.message), PIN
        ),
        "FINANCIAL_PIN_LOCKED",
    )
    holder = customer(center)
    assert center.financial_pin.is_locked(holder.id)
    assert center.cloud_certificates.overview(holder.id).pin_locked
    # the mobile certificate's PIN counter is another one
    with center.uow_factory() as uow:
        assert uow.factors.get(holder.id, "pin") is None

    # re-verification: name, phone, birth date, the SMS code, the account password
    other = center.financial_pin.start(name="김민수", phone=PHONE, birth_date=BIRTH, source_ip=IP)
    assert other.phone == "010-****-0001"  # the same answer as for the customer
    wait_for_next_code(center)
    started = center.financial_pin.start(name=NAME, phone=PHONE, birth_date=BIRTH, source_ip=IP)
    assert started.phone == "010-****-0001"
    code = latest_code(center)
    wrong = "000000" if code != "000000" else "111111"
    pin = center.financial_pin
    refused(
        lambda: pin.verify_code(started.reset_id, started.token, wrong, source_ip=IP),
        "CODE_INVALID",
    )
    refused(
        lambda: pin.verify_code(started.reset_id, "forged-token", code, source_ip=IP),
        "FINANCIAL_RESET_INVALID",
    )
    # the code alone does not reset the PIN
    refused(
        lambda: pin.complete(
            started.reset_id, started.token, by_account(), new_pin="591734", source_ip=IP
        ),
        "FINANCIAL_CODE_REQUIRED",
    )
    pin.verify_code(started.reset_id, started.token, code, source_ip=IP)
    refused(
        lambda: pin.complete(
            started.reset_id, started.token, by_account(), new_pin="591734", source_ip=IP
        ),
        "FINANCIAL_MEDIUM_REQUIRED",
    )
    chosen = pin.choose_medium(started.reset_id, started.token, "account", source_ip=IP)
    assert chosen.detail["accounts"]
    refused(
        lambda: pin.complete(
            started.reset_id, started.token, by_account(), new_pin="111111", source_ip=IP
        ),
        "PIN_WEAK",
    )
    wrong_password = MediumAnswer(
        account_number=by_account().account_number, account_password="0000"
    )
    refused(
        lambda: pin.complete(
            started.reset_id, started.token, wrong_password, new_pin="591734", source_ip=IP
        ),
        "AUTH_FAILED",
    )
    assert pin.is_locked(holder.id)
    assert pin.complete(
        started.reset_id, started.token, by_account(), new_pin="591734", source_ip=IP
    )
    assert not pin.is_locked(holder.id)
    refused(
        lambda: pin.complete(started.reset_id, started.token, by_account(), source_ip=IP),
        "FINANCIAL_RESET_INVALID",
    )
    assert "financial_pin_reset" in events(center, holder.id)
    # the old PIN is gone, the new one signs
    assert wrong_pin(center, browser, device_id).code == "FINANCIAL_AUTH_FAILED"
    assert remote_sign(center, browser, device_id, b"after", pin="591734").signature


def reset(center: Center) -> tuple[str, str]:
    wait_for_next_code(center)
    started = center.financial_pin.start(name=NAME, phone=PHONE, birth_date=BIRTH, source_ip=IP)
    return started.reset_id, started.token


def test_release_without_a_new_pin_accepts_the_old_one_again(
    center: Center, clock: FrozenClock
) -> None:
    browser = Browser()
    device_id = issue(center, browser).device_id or ""
    for _ in range(center.settings.policy.financial_pin_max_failures):
        wrong_pin(center, browser, device_id)
    flow = reset(center)
    code = latest_code(center)
    clock.advance(seconds=center.settings.policy.device_registration_ttl_seconds)
    refused(
        lambda: center.financial_pin.verify_code(*flow, code, source_ip=IP),
        "FINANCIAL_RESET_EXPIRED",
    )
    flow = reset(center)
    center.financial_pin.verify_code(*flow, latest_code(center), source_ip=IP)
    center.financial_pin.choose_medium(*flow, "account", source_ip=IP)
    assert center.financial_pin.complete(*flow, by_account(), source_ip=IP)
    assert remote_sign(center, browser, device_id, b"after").signature


def register(center: Center, browser: Browser, label: str = "회사 PC") -> str:
    return register_browser(center, browser, label).id


def test_a_browser_is_registered_by_sms_code_and_a_medium_and_can_then_sign(
    center: Center,
) -> None:
    issue(center, Browser())
    browser = Browser()
    devices = center.financial_devices
    refused(
        lambda: devices.start_registration(
            name=NAME,
            phone=PHONE,
            birth_date=BIRTH,
            public_key=b"\x30\x03bad",
            label=None,
            source_ip=IP,
        ),
        "FINANCIAL_DEVICE_KEY_INVALID",
    )
    started = devices.start_registration(
        name=NAME,
        phone=PHONE,
        birth_date=BIRTH,
        public_key=browser.spki,
        label="회사 PC",
        source_ip=IP,
    )
    flow = (started.registration_id, started.token)
    code = latest_code(center)
    wrong = "000000" if code != "000000" else "111111"
    refused(lambda: devices.verify_code(*flow, wrong, source_ip=IP), "CODE_INVALID")
    refused(
        lambda: devices.verify_code(started.registration_id, "forged", code, source_ip=IP),
        "FINANCIAL_REGISTRATION_INVALID",
    )
    refused(
        lambda: devices.complete_registration(*flow, by_account(), source_ip=IP),
        "FINANCIAL_CODE_REQUIRED",
    )
    assert devices.verify_code(*flow, code, source_ip=IP).next_step == "medium"
    refused(
        lambda: devices.complete_registration(*flow, by_account(), source_ip=IP),
        "FINANCIAL_MEDIUM_REQUIRED",
    )
    refused(lambda: devices.choose_medium(*flow, "otp", source_ip=IP), "MEDIUM_NOT_REGISTERED")
    devices.choose_medium(*flow, "account", source_ip=IP)
    device = devices.complete_registration(*flow, by_account(), source_ip=IP)
    assert device is not None and device.label == "회사 PC"
    refused(
        lambda: devices.complete_registration(*flow, by_account(), source_ip=IP),
        "FINANCIAL_REGISTRATION_INVALID",
    )
    assert remote_sign(center, browser, device.id, b"from the office").signature
    # the same key cannot be registered twice
    refused(
        lambda: devices.start_registration(
            name=NAME,
            phone=PHONE,
            birth_date=BIRTH,
            public_key=browser.spki,
            label=None,
            source_ip=IP,
        ),
        "FINANCIAL_DEVICE_ALREADY_REGISTERED",
    )


def test_device_limit_listing_and_removal(center: Center, clock: FrozenClock) -> None:
    first = Browser()
    first_id = issue(center, first).device_id or ""
    holder = customer(center)
    limit = center.settings.policy.financial_max_devices
    ids = []
    for n in range(limit - 1):
        clock.advance(seconds=30)  # listed oldest first; a phone waits 30 s for a code
        ids.append(register(center, Browser(), f"기기 {n}"))
    listed = center.financial_devices.list(holder.id)
    assert [d.id for d in listed] == [first_id, *ids]
    one_too_many = Browser()
    wait_for_next_code(center)
    started = center.financial_devices.start_registration(
        name=NAME,
        phone=PHONE,
        birth_date=BIRTH,
        public_key=one_too_many.spki,
        label=None,
        source_ip=IP,
    )  # the limit is told once the phone is proven
    err = refused(
        lambda: center.financial_devices.verify_code(
            started.registration_id, started.token, latest_code(center), source_ip=IP
        ),
        "FINANCIAL_DEVICE_LIMIT",
    )
    assert err.context["max_devices"] == limit
    # remove one: room again, and the removed one can no longer sign
    me = ActorRef.customer("C001", "127.0.0.1")
    center.financial_devices.remove(holder.id, first_id, me)
    assert "financial_device_removed" in events(center, holder.id)
    refused(lambda: remote_sign(center, first, first_id, b"x"), "FINANCIAL_DEVICE_NOT_REGISTERED")
    refused(
        lambda: center.financial_devices.remove(holder.id, first_id, me),
        ("FINANCIAL_DEVICE_NOT_REGISTERED"),
    )
    clock.advance(seconds=30)
    register(center, one_too_many)
    assert len(center.financial_devices.list(holder.id)) == limit
    # another customer cannot remove mine
    other = customer(center, "C002")
    refused(
        lambda: center.financial_devices.remove(other.id, ids[0], me),
        ("FINANCIAL_DEVICE_NOT_REGISTERED"),
    )


def test_registration_expires_and_needs_a_certificate(center: Center, clock: FrozenClock) -> None:
    browser = Browser()
    devices = center.financial_devices
    started = devices.start_registration(
        name=NAME, phone=PHONE, birth_date=BIRTH, public_key=browser.spki, label=None, source_ip=IP
    )  # no certificate yet: the start does not say so, the code step does
    refused(
        lambda: devices.verify_code(
            started.registration_id, started.token, latest_code(center), source_ip=IP
        ),
        "FINANCIAL_CERTIFICATE_NOT_FOUND",
    )
    issue(center)
    wait_for_next_code(center)
    started = devices.start_registration(
        name=NAME, phone=PHONE, birth_date=BIRTH, public_key=browser.spki, label=None, source_ip=IP
    )
    code = latest_code(center)
    clock.advance(seconds=center.settings.policy.device_registration_ttl_seconds)
    refused(
        lambda: devices.verify_code(started.registration_id, started.token, code, source_ip=IP),
        "FINANCIAL_REGISTRATION_EXPIRED",
    )


def test_the_security_card_serves_as_the_additional_medium(center: Center) -> None:
    """C001 with a registered security card resets the PIN with it; a wrong answer counts
    against the card and gets new slots."""
    browser = Browser()
    device_id = issue(center, browser).device_id or ""
    _, _, slots = issue_and_register(center, "C001")
    pin = center.financial_pin
    flow = reset(center)
    pin.verify_code(*flow, latest_code(center), source_ip=IP)
    asked = pin.choose_medium(*flow, "security_card", source_ip=IP)
    card = asked.detail["security_card"]
    right = answer_for(slots, card["slot_a"], card["slot_b"])
    wrong = "0000" if right != "0000" else "1111"
    refused(
        lambda: pin.complete(
            *flow,
            MediumAnswer(card_challenge_id=card["challenge_id"], card_answer=wrong),
            source_ip=IP,
        ),
        "AUTH_FAILED",
    )
    with center.uow_factory() as uow:
        counter = uow.factors.get(customer(center).id, "security_card")
        assert counter is not None and counter.failures == 1
    card = pin.choose_medium(*flow, "security_card", source_ip=IP).detail["security_card"]
    answer = MediumAnswer(
        card_challenge_id=card["challenge_id"],
        card_answer=answer_for(slots, card["slot_a"], card["slot_b"]),
    )
    assert pin.complete(*flow, answer, new_pin="591734", source_ip=IP)
    assert remote_sign(center, browser, device_id, b"card", pin="591734").signature
