"""One-time signature activations: bound to one device, one purpose and exactly the data;
authorized once with the device proof and the PIN; used once; refused otherwise."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.errors import CertCenterError
from certcenter.lifecycle.service import ActorRef
from certcenter.pki.cms import signed_attributes
from tests.financial.support import PIN, Browser, customer, issue, openssl, remote_sign, write


def refused(work: object, code: str) -> CertCenterError:
    with pytest.raises(CertCenterError) as caught:
        work()  # type: ignore[operator]
    assert caught.value.code == code, caught.value
    return caught.value


@pytest.fixture
def browser() -> Browser:
    return Browser()


@pytest.fixture
def device_id(center: Center, browser: Browser) -> str:
    issued = issue(center, browser)
    assert issued.device_id is not None
    return issued.device_id


def test_a_document_signed_remotely_verifies_with_openssl(
    center: Center, browser: Browser, device_id: str, tmp_path: Path
) -> None:
    data = "계약서: 갑은 을에게 1,000,000원을 지급한다.\n".encode()
    signed = remote_sign(center, browser, device_id, data)
    certificate = x509.load_der_x509_certificate(signed.certificate_der)
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    # the key signed the CMS signed attributes: contentType, signingTime, messageDigest
    assert signed.signing_time is not None
    to_be_signed = signed_attributes(data, signed.signing_time)
    public_key.verify(signed.signature, to_be_signed, ec.ECDSA(hashes.SHA256()))
    p7m = write(tmp_path / "doc.p7m", center.remote_signer.cms(signed, data))
    root = center.settings.ca_path / "root-ca.pem"
    result = openssl("cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root))
    assert result.returncode == 0, result.stderr
    assert result.stdout == data
    # detached: the data is needed to verify
    detached = write(tmp_path / "d.p7m", center.remote_signer.cms(signed, data, detached=True))
    content = write(tmp_path / "content", data)
    args = ["-inform", "DER", "-in", str(detached), "-CAfile", str(root)]
    ok = openssl("cms", "-verify", *args, "-content", str(content), "-binary")
    assert ok.returncode == 0, ok.stderr
    write(tmp_path / "content", data + b" ")
    assert openssl("cms", "-verify", *args, "-content", str(content), "-binary").returncode != 0


def test_webcrypto_raw_and_der_device_signatures_are_both_accepted(
    center: Center, browser: Browser, device_id: str
) -> None:
    for der in (False, True):
        request = center.remote_signer.begin(device_id, "document", b"data")
        signature = browser.sign(request.message, der=der)
        assert len(base64.b64decode(signature)) == 64 or der
        grant = center.remote_signer.authorize(request.activation_id, signature, PIN)
        assert center.remote_signer.sign(grant.token, b"data").signature


def test_an_activation_cannot_be_reused_or_used_for_other_data(
    center: Center, browser: Browser, device_id: str
) -> None:
    signer = center.remote_signer
    request = signer.begin(device_id, "document", b"pay 10,000 KRW to A")
    grant = signer.authorize(request.activation_id, browser.sign(request.message), PIN)
    refused(
        lambda: signer.sign(grant.token, b"pay 9,000,000 KRW to B"),
        ("FINANCIAL_ACTIVATION_DATA_MISMATCH"),
    )
    assert signer.sign(grant.token, b"pay 10,000 KRW to A").signature
    refused(lambda: signer.sign(grant.token, b"pay 10,000 KRW to A"), "FINANCIAL_ACTIVATION_USED")
    # and it cannot be authorized again for a second grant
    refused(
        lambda: signer.authorize(request.activation_id, browser.sign(request.message), PIN),
        "FINANCIAL_ACTIVATION_USED",
    )
    refused(lambda: signer.sign("not-a-grant-at-all-00000", b"x"), "FINANCIAL_ACTIVATION_INVALID")


def test_a_device_signature_serves_its_own_activation_only(
    center: Center, browser: Browser, device_id: str
) -> None:
    signer = center.remote_signer
    first = signer.begin(device_id, "document", b"same data")
    second = signer.begin(device_id, "document", b"same data")
    assert first.message != second.message  # the id and challenge are bound in
    signature_for_first = browser.sign(first.message)
    refused(
        lambda: signer.authorize(second.activation_id, signature_for_first, PIN),
        "FINANCIAL_AUTH_FAILED",
    )
    # the failed authorization burnt the second activation
    refused(
        lambda: signer.authorize(second.activation_id, browser.sign(second.message), PIN),
        "FINANCIAL_ACTIVATION_USED",
    )
    assert signer.authorize(first.activation_id, signature_for_first, PIN).token


def test_expired_activations_and_grants_are_refused(
    center: Center, browser: Browser, device_id: str, clock: FrozenClock
) -> None:
    signer = center.remote_signer
    ttl = center.settings.policy.financial_activation_ttl_seconds
    late = signer.begin(device_id, "document", b"data")
    clock.advance(seconds=ttl)
    refused(
        lambda: signer.authorize(late.activation_id, browser.sign(late.message), PIN),
        "FINANCIAL_ACTIVATION_EXPIRED",
    )
    request = signer.begin(device_id, "document", b"data")
    grant = signer.authorize(request.activation_id, browser.sign(request.message), PIN)
    clock.advance(seconds=ttl)
    refused(lambda: signer.sign(grant.token, b"data"), "FINANCIAL_ACTIVATION_EXPIRED")


def test_another_browser_or_a_removed_device_cannot_sign(
    center: Center, browser: Browser, device_id: str
) -> None:
    signer = center.remote_signer
    intruder = Browser()
    request = signer.begin(device_id, "document", b"data")
    refused(
        lambda: signer.authorize(request.activation_id, intruder.sign(request.message), PIN),
        "FINANCIAL_AUTH_FAILED",
    )
    # an authorized grant dies with its device
    request = signer.begin(device_id, "document", b"data")
    grant = signer.authorize(request.activation_id, browser.sign(request.message), PIN)
    holder = customer(center)
    center.financial_devices.remove(holder.id, device_id, ActorRef.customer("C001", None))
    refused(lambda: signer.sign(grant.token, b"data"), "FINANCIAL_DEVICE_NOT_REGISTERED")
    refused(lambda: signer.begin(device_id, "document", b"data"), "FINANCIAL_DEVICE_NOT_REGISTERED")
    refused(
        lambda: signer.begin("no-such-device", "login", b"data"),
        ("FINANCIAL_DEVICE_NOT_REGISTERED"),
    )


@pytest.mark.parametrize(
    "garbage",
    ["", "!!!not base64!!!", base64.b64encode(b"\x00" * 64).decode(), "QUJD", "A" * 500],
)
def test_garbage_device_signatures_count_as_failures(
    center: Center, browser: Browser, device_id: str, garbage: str
) -> None:
    request = center.remote_signer.begin(device_id, "document", b"data")
    err = refused(
        lambda: center.remote_signer.authorize(request.activation_id, garbage, PIN),
        "FINANCIAL_AUTH_FAILED",
    )
    assert err.context["tries_left"] == center.settings.policy.financial_pin_max_failures - 1


def test_bad_requests_are_refused_with_catalog_codes(
    center: Center, browser: Browser, device_id: str
) -> None:
    signer = center.remote_signer
    refused(lambda: signer.begin(device_id, "launch-missiles", b"x"), "INVALID_REQUEST")
    refused(lambda: signer.begin(device_id, "document", b""), "INVALID_REQUEST")
    refused(lambda: signer.authorize("nope", "sig", PIN), "FINANCIAL_ACTIVATION_INVALID")
    refused(lambda: signer.authorize("x" * 100, "sig", PIN), "FINANCIAL_ACTIVATION_INVALID")
