"""The financial certificate over HTTP: a browser registered by SMS code and an additional
medium, login, a transfer
the center signs remotely (its CMS evidence verifies with OpenSSL and shows exactly the amount
and the payee), devices, the PIN release, the CA and CRL publication points, refusals."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.clock import FrozenClock
from tests.conftest import LiveServer
from tests.financial.support import (
    BIRTH,
    NAME,
    PHONE,
    PIN,
    Browser,
    issue,
    latest_code,
    openssl,
    write,
)
from tests.mobile_enrollment.test_refusals import assert_refusal

ACCOUNT_PASSWORD = "2580"
SAVINGS = ("004", "12340100000101")
SAVINGS_OF_C001 = "12340100000001"  # the additional medium: C001's own account
PAYEE = ("088", "110000000002")


@pytest.fixture
def client(api: LiveServer) -> Iterator[CenterClient]:
    made = CenterClient(api.url)
    yield made
    made.close()


def refused(work: Any, code: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        work()
    assert_refusal(caught.value, code)
    return caught.value


def register(center: Center, client: CenterClient, browser: Browser) -> str:
    client.token = None
    started = client.call(
        "POST",
        "/v1/financial/devices/registrations",
        {
            "name": NAME,
            "phone": "010-2000-0001",
            "birth_date": BIRTH,
            "public_key": browser.spki_b64,
            "label": "집 노트북 크롬",
        },
    )
    assert started["phone"] == "010-****-0001"
    client.token = started["token"]
    path = f"/v1/financial/devices/registrations/{started['registration_id']}"
    code = client.call("POST", f"{path}/code", {"code": latest_code(center)})
    assert code["state"] == "code_verified" and code["next_step"] == "medium"
    asked = client.call("POST", f"{path}/medium", {"medium": "account"})
    assert asked["detail"]["accounts"][0]["account_number"] == "1234*******001"
    device: dict[str, Any] = client.call(
        "POST",
        f"{path}/complete",
        {"account_number": SAVINGS_OF_C001, "account_password": ACCOUNT_PASSWORD},
    )
    client.token = None
    assert device["label"] == "집 노트북 크롬"
    return str(device["id"])


def login(client: CenterClient, browser: Browser, device_id: str, pin: str = PIN) -> str:
    client.token = None
    activation = client.call("POST", "/v1/financial/login/activations", {"device_id": device_id})
    assert activation["purpose"] == "login"
    signature = browser.sign(base64.b64decode(activation["sign_b64"]))
    session = client.call(
        "POST",
        "/v1/financial/login",
        {"activation_id": activation["activation_id"], "device_signature": signature, "pin": pin},
    )
    assert session["method"] == "financial" and session["device_id"] == device_id
    client.token = session["token"]
    return str(session["certificate_serial"])


def prepare(client: CenterClient, amount: int) -> dict[str, Any]:
    result: dict[str, Any] = client.call(
        "POST",
        "/v1/transfers",
        {
            "from_bank": SAVINGS[0],
            "from_account": SAVINGS[1],
            "to_bank": PAYEE[0],
            "to_account": PAYEE[1],
            "amount": amount,
            "memo": "월세",
        },
    )
    return result


def confirm(
    client: CenterClient,
    browser: Browser,
    transfer_id: str,
    activation: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    if activation is None:
        activation = client.call("POST", f"/v1/financial/transfers/{transfer_id}/activation")
    signature = browser.sign(activation["sign"].encode())
    body = {"activation_id": activation["activation_id"], "device_signature": signature, "pin": PIN}
    body.update(fields)
    result: dict[str, Any] = client.call(
        "POST", f"/v1/financial/transfers/{transfer_id}/confirm", body
    )
    return result


def test_register_login_and_a_transfer_signed_by_the_center(
    center: Center, client: CenterClient, tmp_path: Path
) -> None:
    issued = issue(center)  # without a browser: this one is registered by SMS code
    browser = Browser()
    device_id = register(center, client, browser)
    serial = login(client, browser, device_id)
    assert serial == issued.serial

    prepared = prepare(client, 3_000_000)
    assert prepared["factors"] == ["account_password", "pin"]
    activation = client.call("POST", f"/v1/financial/transfers/{prepared['id']}/activation")
    assert activation["purpose"] == "transfer"
    document = base64.b64decode(prepared["document_b64"])
    assert activation["data_sha256"] == hashlib.sha256(document).hexdigest()
    # the account password is still needed for this tier
    refused(lambda: confirm(client, browser, prepared["id"], activation), "INVALID_REQUEST")
    again = prepare(client, 3_000_000)
    used = client.call("POST", f"/v1/financial/transfers/{again['id']}/activation")
    done = confirm(client, browser, again["id"], used, account_password=ACCOUNT_PASSWORD)
    assert done["status"] == "completed" and done["bank_reference"]
    assert center.sim_store.statement(*PAYEE)[0]["amount"] == 3_000_000

    # the evidence: CMS SignedData signed with the cloud key, the document inside
    response = client.http.get(
        done["evidence_url"], headers={"Authorization": f"Bearer {client.token}"}
    )
    assert response.status_code == 200
    p7m = write(tmp_path / "transfer.p7m", response.content)
    root = center.settings.ca_path / "root-ca.pem"
    verified = openssl("cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root))
    assert verified.returncode == 0, verified.stderr
    assert b"Verification successful" in verified.stderr
    shown = verified.stdout.decode()
    assert verified.stdout == base64.b64decode(again["document_b64"])
    assert "amount-krw: 3000000\n" in shown and "amount: 3,000,000원 (KRW)" in shown
    assert "payee: 이서연\n" in shown and "to: 088" in shown and "110000000002" in shown
    signer = openssl(
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        str(p7m),
        "-noverify",
        "-signer",
        str(tmp_path / "signer.pem"),
    )
    assert signer.returncode == 0
    signer_cert = x509.load_pem_x509_certificate((tmp_path / "signer.pem").read_bytes())
    assert f"{signer_cert.serial_number:X}" == issued.serial

    # used once: the same activation cannot confirm anything again
    refused(
        lambda: confirm(client, browser, prepared["id"], used, account_password=ACCOUNT_PASSWORD),
        "FINANCIAL_ACTIVATION_USED",
    )
    # the first transfer's activation (not spent by the refusal above) still works for it
    done = confirm(client, browser, prepared["id"], activation, account_password=ACCOUNT_PASSWORD)
    assert done["status"] == "completed"


def test_an_activation_for_one_transfer_cannot_sign_another(
    center: Center, client: CenterClient
) -> None:
    browser = Browser()
    device_id = issue(center, browser).device_id or ""
    login(client, browser, device_id)
    small = prepare(client, 10_000)
    big = prepare(client, 1_900_000)
    assert small["factors"] == big["factors"] == ["pin"]
    for_small = client.call("POST", f"/v1/financial/transfers/{small['id']}/activation")
    err = refused(
        lambda: confirm(client, browser, big["id"], for_small), "FINANCIAL_ACTIVATION_INVALID"
    )
    assert err.status == 401
    ended = client.call("GET", f"/v1/transfers/{big['id']}")
    assert ended["status"] == "refused"  # a failed confirmation ends the transfer
    assert center.sim_store.statement(*PAYEE) == [] or all(
        e["amount"] != 1_900_000 for e in center.sim_store.statement(*PAYEE)
    )
    done = confirm(client, browser, small["id"])
    assert done["status"] == "completed"


def test_bad_inputs_are_refused_with_catalog_codes(center: Center, client: CenterClient) -> None:
    browser = Browser()
    device_id = issue(center, browser).device_id or ""
    registration = {"name": NAME, "phone": PHONE, "birth_date": BIRTH, "label": None}
    refused(
        lambda: client.call(
            "POST",
            "/v1/financial/devices/registrations",
            {**registration, "public_key": base64.b64encode(b"x" * 40).decode()},
        ),
        "FINANCIAL_DEVICE_KEY_INVALID",
    )
    refused(
        lambda: client.call(
            "POST",
            "/v1/financial/devices/registrations",
            {**registration, "public_key": "!" * 60},
        ),
        "INVALID_REQUEST",
    )
    other = Browser()
    started = client.call(
        "POST",
        "/v1/financial/devices/registrations",
        {**registration, "public_key": other.spki_b64},
    )
    flow = f"/v1/financial/devices/registrations/{started['registration_id']}"
    refused(
        lambda: client.call("POST", f"{flow}/code", {"code": "123456"}),
        ("FINANCIAL_REGISTRATION_INVALID"),
    )  # no token
    client.token = started["token"]
    code = latest_code(center)
    refused(
        lambda: client.call(
            "POST", f"{flow}/code", {"code": "000000" if code != "000000" else "1"}
        ),
        "CODE_INVALID",
    )
    refused(lambda: client.call("POST", f"{flow}/complete", {}), "FINANCIAL_CODE_REQUIRED")
    refused(lambda: client.call("POST", f"{flow}/medium", {"medium": "fax"}), "INVALID_REQUEST")
    client.token = None
    # a garbage device signature at login counts as a failure
    activation = client.call("POST", "/v1/financial/login/activations", {"device_id": device_id})
    err = refused(
        lambda: client.call(
            "POST",
            "/v1/financial/login",
            {
                "activation_id": activation["activation_id"],
                "device_signature": "garbage-signature",
                "pin": PIN,
            },
        ),
        "FINANCIAL_AUTH_FAILED",
    )
    assert err.problem["context"]["tries_left"] == 4
    refused(
        lambda: client.call(
            "POST", "/v1/financial/login/activations", {"device_id": "unknown-device"}
        ),
        "FINANCIAL_DEVICE_NOT_REGISTERED",
    )
    refused(
        lambda: client.call(
            "POST",
            "/v1/financial/activations",
            {"device_id": device_id, "purpose": "transfer", "data_b64": "AAAA"},
        ),
        "INVALID_REQUEST",
    )
    refused(
        lambda: client.call("POST", "/v1/financial/sign", {"grant": "g" * 43, "data_b64": "AAAA"}),
        "FINANCIAL_ACTIVATION_INVALID",
    )
    refused(lambda: client.call("GET", "/v1/financial/devices"), "SESSION_INVALID")


def test_activation_sign_devices_overview_and_pin_release(
    center: Center, client: CenterClient, clock: FrozenClock, tmp_path: Path
) -> None:
    browser = Browser()
    issued = issue(center, browser)
    device_id = issued.device_id or ""
    data = "전자문서: 동의합니다".encode()
    activation = client.call(
        "POST",
        "/v1/financial/activations",
        {
            "device_id": device_id,
            "purpose": "document",
            "data_b64": base64.b64encode(data).decode(),
        },
    )
    grant = client.call(
        "POST",
        f"/v1/financial/activations/{activation['activation_id']}/authorize",
        {"device_signature": browser.sign(activation["sign"].encode()), "pin": PIN},
    )
    body = {"grant": grant["grant"], "data_b64": base64.b64encode(data).decode()}
    signed = client.call("POST", "/v1/financial/sign", body)
    assert signed["certificate_serial"] == issued.serial
    p7m = write(tmp_path / "doc.p7m", base64.b64decode(signed["cms_b64"]))
    root = center.settings.ca_path / "root-ca.pem"
    verified = openssl("cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root))
    assert verified.returncode == 0 and verified.stdout == data
    refused(lambda: client.call("POST", "/v1/financial/sign", body), "FINANCIAL_ACTIVATION_USED")

    # my certificate and devices (in a financial session)
    clock.advance(seconds=30)  # policy: a phone waits 30 s for another code
    second = Browser()
    second_id = register(center, client, second)
    login(client, browser, device_id)
    overview = client.call("GET", "/v1/financial/certificate")
    assert overview["serial"] == issued.serial and overview["pin_locked"] is False
    assert [d["id"] for d in overview["devices"]] == [device_id, second_id]
    client.call("DELETE", f"/v1/financial/devices/{second_id}")
    assert [d["id"] for d in client.call("GET", "/v1/financial/devices")] == [device_id]
    refused(
        lambda: client.call("DELETE", f"/v1/financial/devices/{second_id}"),
        "FINANCIAL_DEVICE_NOT_REGISTERED",
    )
    client.token = None

    # lock the PIN, then release it by re-verification
    for _ in range(center.settings.policy.financial_pin_max_failures):
        with pytest.raises(ApiError):
            login(client, browser, device_id, pin="000000")
    refused(lambda: login(client, browser, device_id), "FINANCIAL_PIN_LOCKED")
    clock.advance(seconds=30)
    started = client.call(
        "POST", "/v1/financial/pin/resets", {"name": NAME, "phone": PHONE, "birth_date": BIRTH}
    )
    client.token = started["token"]
    flow = f"/v1/financial/pin/resets/{started['reset_id']}"
    client.call("POST", f"{flow}/code", {"code": latest_code(center)})
    refused(
        lambda: client.call(
            "POST", f"{flow}/complete", {"new_pin": "591734", "new_pin_confirmation": "591734"}
        ),
        "FINANCIAL_MEDIUM_REQUIRED",
    )
    client.call("POST", f"{flow}/medium", {"medium": "account"})
    client.call(
        "POST",
        f"{flow}/complete",
        {
            "account_number": SAVINGS_OF_C001,
            "account_password": ACCOUNT_PASSWORD,
            "new_pin": "591734",
            "new_pin_confirmation": "591734",
        },
    )
    refused(lambda: login(client, browser, device_id), "FINANCIAL_AUTH_FAILED")
    login(client, browser, device_id, pin="591734")

    # revoke (폐기) from the financial session: gone, and the session with it
    revoked = client.call("DELETE", "/v1/financial/certificate")
    assert revoked == {"revoked": [issued.serial]}
    refused(lambda: client.call("GET", "/v1/financial/devices"), "SESSION_INVALID")


def test_the_financial_ca_and_crls_are_published(center: Center, client: CenterClient) -> None:
    issued = issue(center)
    ca = client.http.get("/ca/financial-ca.der")
    assert ca.status_code == 200 and ca.headers["content-type"] == "application/pkix-cert"
    assert (
        x509.load_der_x509_certificate(ca.content)
        == center.hierarchy().issuing("financial").certificate
    )
    chain = client.http.get("/v1/ca/financial/chain")
    assert chain.status_code == 200 and chain.text.count("BEGIN CERTIFICATE") == 2
    points = issued.certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    url = str(points.value[0].full_name[0].value)  # type: ignore[index]
    crl = client.http.get(url.removeprefix(center.settings.public_base_url))
    assert crl.status_code == 200
    loaded = x509.load_der_x509_crl(crl.content)
    assert loaded.issuer == center.hierarchy().issuing("financial").certificate.subject
