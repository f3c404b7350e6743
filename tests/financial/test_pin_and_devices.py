"""The financial PIN locks after the policy's failures and is released by verifying the
customer again; browsers are registered by SMS code, listed, limited and removed."""

from __future__ import annotations

import pytest

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef
from tests.financial.support import (
    BIRTH,
    NAME,
    PHONE,
    PIN,
    Browser,
    customer,
    events,
    issue,
    latest_code,
    remote_sign,
)


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
        "AUTH_LAST_TRY",
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

    # re-verification: name, phone, birth date, the SMS code; a wrong code first
    refused(
        lambda: center.financial_pin.start(name="김민수", phone=PHONE, birth_date=BIRTH),
        "FINANCIAL_HOLDER_NOT_FOUND",
    )
    started = center.financial_pin.start(name=NAME, phone=PHONE, birth_date=BIRTH)
    assert started.phone == "010-****-0001"
    code = latest_code(center)
    wrong = "000000" if code != "000000" else "111111"
    refused(
        lambda: center.financial_pin.complete(started.reset_id, started.token, wrong),
        ("CODE_INVALID"),
    )
    refused(
        lambda: center.financial_pin.complete(started.reset_id, "forged-token", code),
        "FINANCIAL_RESET_INVALID",
    )
    refused(
        lambda: center.financial_pin.complete(
            started.reset_id, started.token, code, new_pin="111111"
        ),
        "PIN_WEAK",
    )
    center.financial_pin.complete(started.reset_id, started.token, code, new_pin="591734")
    assert not center.financial_pin.is_locked(holder.id)
    refused(
        lambda: center.financial_pin.complete(started.reset_id, started.token, code),
        "FINANCIAL_RESET_INVALID",
    )
    assert "financial_pin_reset" in events(center, holder.id)
    # the old PIN is gone, the new one signs
    assert wrong_pin(center, browser, device_id).code == "FINANCIAL_AUTH_FAILED"
    assert remote_sign(center, browser, device_id, b"after", pin="591734").signature


def test_release_without_a_new_pin_accepts_the_old_one_again(
    center: Center, clock: FrozenClock
) -> None:
    browser = Browser()
    device_id = issue(center, browser).device_id or ""
    for _ in range(center.settings.policy.financial_pin_max_failures):
        wrong_pin(center, browser, device_id)
    started = center.financial_pin.start(name=NAME, phone=PHONE, birth_date=BIRTH)
    code = latest_code(center)
    clock.advance(seconds=center.settings.policy.device_registration_ttl_seconds)
    refused(
        lambda: center.financial_pin.complete(started.reset_id, started.token, code),
        ("FINANCIAL_RESET_EXPIRED"),
    )
    started = center.financial_pin.start(name=NAME, phone=PHONE, birth_date=BIRTH)
    center.financial_pin.complete(started.reset_id, started.token, latest_code(center))
    assert remote_sign(center, browser, device_id, b"after").signature


def register(center: Center, browser: Browser, label: str = "회사 PC") -> str:
    started = center.financial_devices.start_registration(
        name=NAME, phone=PHONE, birth_date=BIRTH, public_key=browser.spki, label=label
    )
    device = center.financial_devices.complete_registration(
        started.registration_id, started.token, latest_code(center)
    )
    return device.id


def test_a_browser_is_registered_by_sms_code_and_can_then_sign(center: Center) -> None:
    issue(center, Browser())
    browser = Browser()
    devices = center.financial_devices
    # who the customer says they are must match, all three
    for name, phone, birth in ((NAME, "01020000002", BIRTH), (NAME, PHONE, "1990-03-16")):
        refused(
            lambda n=name, p=phone, b=birth: devices.start_registration(
                name=n, phone=p, birth_date=b, public_key=browser.spki, label=None
            ),
            "FINANCIAL_HOLDER_NOT_FOUND",
        )
    refused(
        lambda: devices.start_registration(
            name=NAME, phone=PHONE, birth_date=BIRTH, public_key=b"\x30\x03bad", label=None
        ),
        "FINANCIAL_DEVICE_KEY_INVALID",
    )
    started = devices.start_registration(
        name=NAME, phone=PHONE, birth_date=BIRTH, public_key=browser.spki, label="회사 PC"
    )
    code = latest_code(center)
    wrong = "000000" if code != "000000" else "111111"
    refused(
        lambda: devices.complete_registration(started.registration_id, started.token, wrong),
        ("CODE_INVALID"),
    )
    refused(
        lambda: devices.complete_registration(started.registration_id, "forged", code),
        "FINANCIAL_REGISTRATION_INVALID",
    )
    device = devices.complete_registration(started.registration_id, started.token, code)
    assert device.label == "회사 PC"
    refused(
        lambda: devices.complete_registration(started.registration_id, started.token, code),
        "FINANCIAL_REGISTRATION_INVALID",
    )
    assert remote_sign(center, browser, device.id, b"from the office").signature
    # the same key cannot be registered twice
    refused(
        lambda: devices.start_registration(
            name=NAME, phone=PHONE, birth_date=BIRTH, public_key=browser.spki, label=None
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
    err = refused(
        lambda: center.financial_devices.start_registration(
            name=NAME, phone=PHONE, birth_date=BIRTH, public_key=one_too_many.spki, label=None
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
    refused(
        lambda: center.financial_devices.start_registration(
            name=NAME, phone=PHONE, birth_date=BIRTH, public_key=browser.spki, label=None
        ),
        "FINANCIAL_CERTIFICATE_NOT_FOUND",
    )
    issue(center)
    started = center.financial_devices.start_registration(
        name=NAME, phone=PHONE, birth_date=BIRTH, public_key=browser.spki, label=None
    )
    code = latest_code(center)
    clock.advance(seconds=center.settings.policy.device_registration_ttl_seconds)
    refused(
        lambda: center.financial_devices.complete_registration(
            started.registration_id, started.token, code
        ),
        "FINANCIAL_REGISTRATION_EXPIRED",
    )
