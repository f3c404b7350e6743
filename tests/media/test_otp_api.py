"""``/v1/otp`` over HTTP: a logged-in customer registers a mobile OTP, sees its secret once
(URI, base32, QR code), verifies codes, cancels; without a session nothing happens."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import segno

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.clock import FrozenClock
from certcenter.media.otp import totp
from certcenter.simulators.world import DEMO_ACCOUNT_PASSWORD
from tests.conftest import LiveServer
from tests.media.test_otp_algorithm import png_size
from tests.media.test_otp_service import APP_PIN, app_device, customer, oathtool
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.outbox import inbox

PHONE = "01020000001"


@pytest.fixture
def client(api: LiveServer, center: Center) -> Iterator[CenterClient]:
    """The app of demo customer C001, logged in."""
    who = customer(center, "C001")
    opened = center.sessions.open(
        customer_id=who.id,
        device_id=app_device(center, who, "dev-otp-test"),
        certificate_serial="5E55",
        method="pin",
    )
    with CenterClient(api.url, locale="en") as made:
        made.token = opened.token
        yield made


def refused(client: CenterClient, method: str, path: str, body: dict | None = None) -> ApiError:
    try:
        client.call(method, path, body)
    except ApiError as err:
        return err
    raise AssertionError(f"{method} {path} was not refused")


def confirm_body(code: str, **extra: str) -> dict[str, str]:
    return {
        "sms_code": code,
        "bank_code": "004",
        "account_number": "12340100000001",
        "account_password": DEMO_ACCOUNT_PASSWORD,
        **extra,
    }


def test_register_verify_and_cancel_over_http(
    client: CenterClient, center: Center, clock: FrozenClock
) -> None:
    assert client.call("GET", "/v1/otp") == {
        "registered": False,
        "status": "none",
        "token_id": None,
        "issuer": None,
        "algorithm": None,
        "digits": None,
        "period": None,
        "activated_at": None,
        "revoked_at": None,
        "locked": False,
    }
    started = client.call("POST", "/v1/otp/registrations")
    assert started["phone"] == "010-****-0001" and started["customer_number"] == "C001"
    code = client.latest_sms_code(PHONE)
    assert code is not None
    path = f"/v1/otp/registrations/{started['registration_id']}/confirm"
    made = client.call("POST", path, confirm_body(code))

    # the provisioning: a Key URI, its secret in base32 and the QR code of the URI
    uri = made["otpauth_uri"]
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    issuer = center.settings.policy.otp_issuer
    assert unquote(parts.path) == f"/{issuer}:C001"
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {
        "secret": [made["secret"].rstrip("=")],
        "issuer": [issuer],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    secret = base64.b32decode(made["secret"])
    assert len(secret) == 20
    image = base64.b64decode(made["qr_png_base64"], validate=True)
    assert len(image) > 0 and image[:8] == b"\x89PNG\r\n\x1a\n"
    assert png_size(image)[0] > 0
    expected = segno.make(uri, error="m", micro=False).png_data_uri(scale=5, border=4)
    assert expected == "data:image/png;base64," + made["qr_png_base64"]  # segno made it

    # afterwards the secret is never shown again
    shown = client.http.get("/v1/otp", headers={"Authorization": f"Bearer {client.token}"})
    assert shown.status_code == 200
    for form in (made["secret"], made["secret"].rstrip("="), secret.hex(), uri):
        assert form not in shown.text
    status = shown.json()
    assert status["registered"] and status["status"] == "active"
    assert status["token_id"] == made["token_id"] and "secret" not in status
    again = refused(client, "POST", path, confirm_body(code))
    assert_refusal(again, "OTP_REGISTRATION_INVALID")
    assert_refusal(refused(client, "POST", "/v1/otp/registrations"), "OTP_ALREADY_REGISTERED")
    openapi = client.call("GET", "/openapi.json")
    assert "/v1/otp/registrations/{registration_id}/confirm" in openapi["paths"]

    # a code from oathtool now is accepted once
    now_code = oathtool(made["secret"], clock.now())
    assert now_code == totp(secret, clock.now())
    assert client.call("POST", "/v1/otp/verify", {"code": now_code}) == {"ok": True}
    err = refused(client, "POST", "/v1/otp/verify", {"code": now_code})
    assert_refusal(err, "AUTH_FAILED")
    ahead = oathtool(made["secret"], clock.now() + timedelta(seconds=30))
    assert client.call("POST", "/v1/otp/verify", {"code": ahead}) == {"ok": True}
    too_far = oathtool(made["secret"], clock.now() + timedelta(seconds=60))
    assert_refusal(refused(client, "POST", "/v1/otp/verify", {"code": too_far}), "AUTH_FAILED")

    cancelled = client.call("DELETE", "/v1/otp", {"pin": APP_PIN})
    assert cancelled["status"] == "revoked" and not cancelled["registered"]
    assert client.call("GET", "/v1/otp")["status"] == "revoked"
    err = refused(client, "POST", "/v1/otp/verify", {"code": too_far})
    assert_refusal(err, "OTP_NOT_REGISTERED")
    assert_refusal(refused(client, "DELETE", "/v1/otp", {"pin": APP_PIN}), "OTP_NOT_REGISTERED")


def test_registration_refusals_over_http(
    client: CenterClient, center: Center, clock: FrozenClock
) -> None:
    started = client.call("POST", "/v1/otp/registrations")
    path = f"/v1/otp/registrations/{started['registration_id']}/confirm"
    code = client.latest_sms_code(PHONE)
    assert code is not None
    wrong = "000000" if code != "000000" else "111111"
    # a wrong SMS code and a wrong account password: the same answer
    by_code = refused(client, "POST", path, confirm_body(wrong))
    by_password = refused(client, "POST", path, confirm_body(code, account_password="0000"))
    assert_refusal(by_code, "AUTH_FAILED")
    assert_refusal(by_password, "AUTH_FAILED")
    assert by_code.problem["message"] == by_password.problem["message"]
    assert by_code.problem["remedy"] == by_password.problem["remedy"]
    # someone else's account (C002's)
    other = confirm_body(code, bank_code="088", account_number="110000000002")
    assert_refusal(refused(client, "POST", path, other), "ACCOUNT_NOT_OWN")
    # a malformed body is refused by shape
    bad = refused(client, "POST", path, {**confirm_body(code), "bank_code": "4"})
    assert bad.status == 422
    # expired
    clock.advance(seconds=center.settings.policy.sms_code_ttl_seconds + 1)
    assert_refusal(refused(client, "POST", path, confirm_body(code)), "OTP_REGISTRATION_INVALID")


def test_everything_needs_a_session(api: LiveServer, center: Center) -> None:
    with CenterClient(api.url) as anonymous:
        calls = [
            ("GET", "/v1/otp", None),
            ("DELETE", "/v1/otp", None),
            ("POST", "/v1/otp/registrations", None),
            ("POST", "/v1/otp/registrations/x/confirm", confirm_body("123456")),
            ("POST", "/v1/otp/verify", {"code": "123456"}),
        ]
        for token in (None, "not-a-session"):
            anonymous.token = token
            for method, path, body in calls:
                assert_refusal(refused(anonymous, method, path, body), "SESSION_INVALID")
    assert inbox(center, PHONE) == []  # no SMS went out
