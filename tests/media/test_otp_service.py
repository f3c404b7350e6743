"""The mobile OTP service on both databases: registration with its refusals, codes from an
independent generator (oathtool) at the center's time, the window, replays, the lockout, and
the secret kept sealed."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from certcenter.bootstrap import SEAL_LABEL, Center
from certcenter.clock import FrozenClock
from certcenter.entities import Customer, Device, FactorChallenge, new_id
from certcenter.errors import CertCenterError
from certcenter.media.otp import OTP_REGISTRATION, OtpProvisioning, hotp, time_step, totp
from certcenter.simulators.world import DEMO_ACCOUNT_PASSWORD

C001_ACCOUNT = ("004", "12340100000001")
C002_ACCOUNT = ("088", "110000000002")


# ---------------------------------------------------------------- helpers


def customer(center: Center, number: str = "C001") -> Customer:
    with center.uow_factory() as uow:
        found = uow.customers.by_number(number)
    assert found is not None
    return found


APP_PIN = "135790"


def app_device(center: Center, who: Customer, device_id: str = "dev-otp-app") -> str:
    """A registered app of ``who`` with :data:`APP_PIN` (the PIN a cancellation asks for)."""
    with center.uow_factory() as uow:
        if uow.devices.active_by_device_id(device_id) is None:
            uow.devices.add(
                Device(
                    id=new_id(),
                    device_id=device_id,
                    customer_id=who.id,
                    platform="android",
                    model="SM-S918N",
                    app_version="1.0.0",
                    registered_at=center.clock.now(),
                    pin_hash=center.hasher.hash(APP_PIN, purpose="pin"),
                )
            )
            uow.commit()
    return device_id


def sms_code(center: Center, phone: str) -> str:
    """The code in the newest message on the demo phone (what the customer reads)."""
    newest = center.sim_store.messages(phone)[0]
    match = re.search(r"\[(\d{6})\]", str(newest["body"]))
    assert match, newest["body"]
    return match.group(1)


def refused(work: Callable[[], Any]) -> CertCenterError:
    try:
        work()
    except CertCenterError as err:
        return err
    raise AssertionError("not refused")


def register(
    center: Center, number: str = "C001", account: tuple[str, str] = C001_ACCOUNT
) -> tuple[Customer, OtpProvisioning]:
    who = customer(center, number)
    started = center.otp.start_registration(who.id)
    made = center.otp.confirm_registration(
        who.id,
        started.registration_id,
        sms_code=sms_code(center, who.phone),
        bank_code=account[0],
        account_number=account[1],
        account_password=DEMO_ACCOUNT_PASSWORD,
    )
    return who, made


def secret_of(made: OtpProvisioning) -> bytes:
    return base64.b32decode(made.secret_base32)


def oathtool(secret32: str, when: datetime) -> str:
    """A code from oathtool (OATH Toolkit), an implementation that is not ours."""
    tool = shutil.which("oathtool")
    if tool is None:
        message = "oathtool is not installed (apt-get install oathtool)"
        if os.environ.get("CERTCENTER_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    stamp = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    result = subprocess.run(
        [tool, "--totp", "-b", secret32, "--now", stamp],
        check=True,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return result.stdout.strip()


def wrong_code(made: OtpProvisioning, now: datetime, window: int) -> str:
    """A well-formed code that no step of the window makes."""
    step = time_step(now, made.period)
    valid = {hotp(secret_of(made), s) for s in range(step - window, step + window + 1)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


# ---------------------------------------------------------------- registration


def test_registration_issues_an_active_otp_once(center: Center, clock: FrozenClock) -> None:
    who = customer(center)
    started = center.otp.start_registration(who.id, source_ip="211.36.1.1")
    assert started.phone == "010-****-0001" and started.customer_number == "C001"
    assert started.expires_at == clock.now() + timedelta(seconds=180)
    message = center.sim_store.messages(who.phone)[0]
    assert message["sender"] == center.settings.policy.sms_sender_number
    assert "모바일 OTP" in message["body"]

    made = center.otp.confirm_registration(
        who.id,
        started.registration_id,
        sms_code=sms_code(center, who.phone),
        bank_code="004",
        account_number="1234-0100-000001",  # typed with hyphens
        account_password=DEMO_ACCOUNT_PASSWORD,
        source_ip="211.36.1.1",
    )
    assert len(secret_of(made)) == 20  # 160 bits
    assert (made.digits, made.period, made.algorithm) == (6, 30, "SHA1")
    assert made.account_name == "C001" and made.issuer == center.settings.policy.otp_issuer
    assert made.secret_base32 not in repr(made)
    status = center.otp.status(who.id)
    assert status.registered and status.status == "active" and not status.locked
    assert status.token_id == made.token_id

    # the registration is spent, and there is one OTP per customer
    err = refused(
        lambda: center.otp.confirm_registration(
            who.id,
            started.registration_id,
            sms_code="000000",
            bank_code="004",
            account_number="12340100000001",
            account_password="2580",
        )
    )
    assert err.code == "OTP_REGISTRATION_INVALID"
    assert refused(lambda: center.otp.start_registration(who.id)).code == "OTP_ALREADY_REGISTERED"

    with center.uow_factory() as uow:
        trail = uow.audit.for_subject("otp", made.token_id)
        assert [e.action for e in trail] == ["otp.register"]
        assert trail[0].actor == "C001" and trail[0].actor_kind == "customer"
        assert trail[0].details["account"] == "**********0001"  # masked
        start = uow.audit.for_subject("otp_registration", started.registration_id)
        assert [e.action for e in start] == ["otp.registration_start"]
        everything = str([(e.details, e.outcome) for e in uow.audit.entries()])
    assert made.secret_base32 not in everything


def test_wrong_sms_code_and_wrong_password_answer_alike(center: Center, clock: FrozenClock) -> None:
    who = customer(center)

    def attempt(code: str | None, password: str) -> CertCenterError:
        clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
        started = center.otp.start_registration(who.id)
        right = sms_code(center, who.phone)
        return refused(
            lambda: center.otp.confirm_registration(
                who.id,
                started.registration_id,
                sms_code=right if code is None else code,
                bank_code="004",
                account_number="12340100000001",
                account_password=password,
            )
        )

    wrong_sms = attempt("12345", DEMO_ACCOUNT_PASSWORD)  # no 6-digit code: never right
    wrong_password = attempt(None, "9999")
    for err in (wrong_sms, wrong_password):
        assert err.code == "AUTH_FAILED"
        assert err.context == {"tries_left": 4}
    assert wrong_sms.cause("en") == wrong_password.cause("en")
    assert center.otp.status(who.id).status == "none"


def test_a_registration_is_spent_after_its_tries(center: Center) -> None:
    who = customer(center)
    started = center.otp.start_registration(who.id)
    right = sms_code(center, who.phone)
    wrong = "000000" if right != "000000" else "111111"

    def confirm(code: str) -> CertCenterError:
        return refused(
            lambda: center.otp.confirm_registration(
                who.id,
                started.registration_id,
                sms_code=code,
                bank_code="004",
                account_number="12340100000001",
                account_password=DEMO_ACCOUNT_PASSWORD,
            )
        )

    assert [confirm(wrong).context.get("tries_left") for _ in range(3)] == [4, 3, 2]
    assert confirm("12ab").code == "AUTH_LAST_TRY"  # malformed counts too
    assert confirm(wrong).code == "OTP_REGISTRATION_TRIES_EXCEEDED"
    assert confirm(right).code == "OTP_REGISTRATION_INVALID"  # even the right one now
    # the password was right every time: its counter is untouched
    with center.uow_factory() as uow:
        counter = uow.factors.get(who.id, "account_password")
        assert counter is None or counter.failures == 0


def test_the_account_password_locks(center: Center, clock: FrozenClock) -> None:
    who = customer(center)
    limit = center.settings.policy.account_password_max_failures
    codes = []
    for _ in range(limit):
        clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
        started = center.otp.start_registration(who.id)
        err = refused(
            lambda started=started: center.otp.confirm_registration(
                who.id,
                started.registration_id,
                sms_code=sms_code(center, who.phone),
                bank_code="004",
                account_number="12340100000001",
                account_password="0000",
            )
        )
        codes.append(err.code)
    assert codes == ["AUTH_FAILED"] * (limit - 2) + ["AUTH_LAST_TRY", "ACCOUNT_PASSWORD_LOCKED"]


def test_someone_elses_expired_or_foreign_registrations_are_refused(
    center: Center, clock: FrozenClock
) -> None:
    who, other = customer(center, "C001"), customer(center, "C002")
    started = center.otp.start_registration(who.id)
    code = sms_code(center, who.phone)

    def confirm(
        customer_id: str, registration_id: str, account: tuple[str, str] = C001_ACCOUNT
    ) -> CertCenterError:
        return refused(
            lambda: center.otp.confirm_registration(
                customer_id,
                registration_id,
                sms_code=code,
                bank_code=account[0],
                account_number=account[1],
                account_password=DEMO_ACCOUNT_PASSWORD,
            )
        )

    # C002's account: refused before any try is counted
    assert confirm(who.id, started.registration_id, C002_ACCOUNT).code == "ACCOUNT_NOT_OWN"
    with center.uow_factory() as uow:
        challenge = uow.factor_challenges.get(started.registration_id)
        assert challenge is not None and challenge.data["tries"] == 0
        assert uow.factors.get(who.id, "account_password") is None
    # not C002's registration; no such registration
    assert confirm(other.id, started.registration_id).code == "OTP_REGISTRATION_INVALID"
    assert confirm(who.id, "no-such-registration").code == "OTP_REGISTRATION_INVALID"
    # expired
    clock.advance(seconds=center.settings.policy.sms_code_ttl_seconds)
    assert confirm(who.id, started.registration_id).code == "OTP_REGISTRATION_INVALID"
    assert center.otp.status(who.id).status == "none"


def test_codes_are_hashed_and_the_secret_is_sealed(center: Center) -> None:
    who = customer(center)
    started = center.otp.start_registration(who.id)
    code = sms_code(center, who.phone)
    with center.uow_factory() as uow:
        challenge = uow.factor_challenges.get(started.registration_id)
        assert isinstance(challenge, FactorChallenge) and challenge.factor == OTP_REGISTRATION
        assert set(challenge.data) == {"code_hash", "tries"}
        stored = challenge.data["code_hash"]
        assert stored.startswith("hmac-sha256$") and code not in stored  # a keyed digest
        assert stored == center.hasher.code_digest(code, purpose="code:otp_registration")
        assert center.hasher.code_matches(stored, code, purpose="code:otp_registration")
        assert not any("OTP" in m.body for m in uow.outbox.for_customer(who.id))
    made = center.otp.confirm_registration(
        who.id,
        started.registration_id,
        sms_code=code,
        bank_code="004",
        account_number="12340100000001",
        account_password=DEMO_ACCOUNT_PASSWORD,
    )
    secret = secret_of(made)
    forms = [secret, secret.hex().encode(), made.secret_base32.encode()]
    forms += [made.secret_base32.rstrip("=").encode(), base64.b64encode(secret)]
    with center.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM otp_tokens")).all()
    assert len(rows) == 1
    for value in rows[0]:
        raw = bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for form in forms:
            assert form not in raw and form.lower() not in raw.lower()
    with center.uow_factory() as uow:
        token = uow.otp.get(made.token_id)
    assert token is not None
    # sealed under the center's key and bound to the token: it opens only as itself
    assert center.keys.decrypt(SEAL_LABEL, token.secret_sealed, context=token.id.encode()) == (
        secret
    )
    with pytest.raises(CertCenterError):
        center.keys.decrypt(SEAL_LABEL, token.secret_sealed, context=b"another-token")


# ---------------------------------------------------------------- using the OTP


def test_oathtool_codes_are_accepted_within_the_window(center: Center, clock: FrozenClock) -> None:
    who, made = register(center)
    period = timedelta(seconds=made.period)
    now = clock.now()
    codes = {k: oathtool(made.secret_base32, now + k * period) for k in (-2, -1, 0, 1, 2)}
    for k, code in codes.items():  # the same generator as ours
        assert code == totp(secret_of(made), now + k * period)
    # two steps away is outside the ±1 window, either way (and nothing is recorded)
    assert center.otp.check(who.id, codes[-2]) is False
    assert center.otp.check(who.id, codes[2]) is False
    # one step behind, the current one, one step ahead: each accepted, in that order
    assert center.otp.check(who.id, codes[-1]) is True
    center.otp.verify(who.id, codes[0])
    assert center.otp.check(who.id, codes[1]) is True
    # each once only: the same code again, or an earlier one after a later one
    for k in (1, 0, -1):
        assert center.otp.check(who.id, codes[k]) is False
    # 30 s on, the code for the new step after next is accepted (the window moved)
    clock.advance(seconds=made.period)
    assert center.otp.check(who.id, oathtool(made.secret_base32, clock.now() + period)) is True


def test_a_replayed_code_is_refused(center: Center, clock: FrozenClock) -> None:
    who, made = register(center)
    code = oathtool(made.secret_base32, clock.now())
    center.otp.verify(who.id, code)
    assert refused(lambda: center.otp.verify(who.id, code)).code == "AUTH_FAILED"
    clock.advance(seconds=made.period)  # still inside the window, but used
    assert center.otp.check(who.id, code) is False
    # a code for an earlier step after a later one was accepted
    later = totp(secret_of(made), clock.now() + timedelta(seconds=made.period))
    assert center.otp.check(who.id, later) is True
    assert center.otp.check(who.id, totp(secret_of(made), clock.now())) is False


def test_concurrent_use_of_one_code_is_accepted_once(center: Center, clock: FrozenClock) -> None:
    who, made = register(center)
    code = totp(secret_of(made), clock.now())
    barrier = threading.Barrier(6)

    def attempt() -> bool:
        barrier.wait()
        return center.otp.check(who.id, code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: attempt(), range(6)))
    assert results.count(True) == 1


def test_lockout_after_the_policy_number_of_wrong_codes(center: Center, clock: FrozenClock) -> None:
    who, made = register(center)
    limit = center.settings.policy.otp_max_failures
    window = center.settings.policy.otp_window_steps
    wrong = wrong_code(made, clock.now(), window)
    answers = [refused(lambda: center.otp.verify(who.id, wrong)) for _ in range(limit)]
    assert [a.code for a in answers] == ["AUTH_FAILED"] * (limit - 2) + [
        "AUTH_LAST_TRY",
        "OTP_LOCKED",
    ]
    assert answers[0].context == {"tries_left": limit - 1}
    right = totp(secret_of(made), clock.now())
    assert refused(lambda: center.otp.verify(who.id, right)).code == "OTP_LOCKED"
    assert refused(lambda: center.otp.verify(who.id, "12x")).code == "OTP_LOCKED"
    assert center.otp.status(who.id).locked
    # a check() by another medium's caller does not count, and the right code was not used
    assert center.otp.check(who.id, right) is True

    # cancelling and registering again (identity verified again) ends the lock
    center.otp.cancel(who.id, device_id=app_device(center, who), pin=APP_PIN)
    clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    _, again = register(center)
    assert not center.otp.status(who.id).locked
    clock.advance(seconds=again.period)
    center.otp.verify(who.id, totp(secret_of(again), clock.now()))


def test_malformed_codes_and_no_otp(center: Center, clock: FrozenClock) -> None:
    who = customer(center)
    assert refused(lambda: center.otp.check(who.id, "123456")).code == "OTP_NOT_REGISTERED"
    assert refused(lambda: center.otp.verify(who.id, "123456")).code == "OTP_NOT_REGISTERED"
    assert refused(lambda: center.otp.cancel(who.id, device_id="x", pin="")).code == (
        "OTP_NOT_REGISTERED"
    )
    assert center.otp.status(who.id).status == "none"
    _, made = register(center)
    code = totp(secret_of(made), clock.now())
    for garbage in ("", code[:-1], code + "0", f" {code[:3]} {code[3:]}", "١٢٣٤٥٦"):
        assert center.otp.check(who.id, garbage) is False
    assert center.otp.check(who.id, f" {code}\n") is True  # surrounding space is forgiven

    cancelled = center.otp.cancel(who.id, device_id=app_device(center, who), pin=APP_PIN)
    assert cancelled.status == "revoked" and not cancelled.registered
    assert cancelled.revoked_at == clock.now()
    assert refused(lambda: center.otp.check(who.id, code)).code == "OTP_NOT_REGISTERED"
    with center.uow_factory() as uow:
        assert [e.action for e in uow.audit.for_subject("otp", made.token_id)] == [
            "otp.cancel",
            "otp.register",
        ]
