"""The center as a signer (``signing.Signer``): under one grant it signs exactly the bytes the
activation was released for, for the same customer, device, purpose and subject, once; the
answer carries the financial certificate and the financial chain."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import CenterClient
from certcenter.errors import CertCenterError
from certcenter.financial import FAMILY
from certcenter.signing import SignedBy, SigningRequest
from tests.conftest import LiveServer
from tests.financial.support import PIN, Browser, customer, issue, openssl, write
from tests.financial.test_api import PAYEE, confirm, login, prepare, refused

DOCUMENT = "certcenter 이체 확인 / transfer confirmation v1\namount-krw: 10000\n".encode()


@pytest.fixture
def client(api: LiveServer) -> Iterator[CenterClient]:
    made = CenterClient(api.url)
    yield made
    made.close()


def _refused(work: object, code: str) -> None:
    with pytest.raises(CertCenterError) as caught:
        work()  # type: ignore[operator]
    assert caught.value.code == code, caught.value


def test_the_center_signs_once_under_the_grant_with_the_financial_chain(
    center: Center, tmp_path: Path
) -> None:
    browser = Browser()
    issued = issue(center, browser)
    device_id = issued.device_id or ""
    holder = customer(center)
    request = center.remote_signer.begin(
        device_id, "transfer", DOCUMENT, subject="t-1", customer_id=holder.id
    )
    grant = center.remote_signer.authorize(
        request.activation_id, browser.sign(request.message), PIN
    )
    signer = center.remote_signer.signer(grant.token)
    assert signer.stands_for_pin and signer.lacks == ()  # the activation had the PIN checked
    asked = SigningRequest(
        data=DOCUMENT,
        certificate_der=b"",  # the center signs with the customer's cloud key, whatever given
        customer_id=holder.id,
        device_id=device_id,
        purpose="transfer",
        subject="t-1",
    )
    # bound to what the activation was released for: refused without spending the grant
    _refused(lambda: signer.sign(replace(asked, subject="t-2")), "FINANCIAL_ACTIVATION_INVALID")
    _refused(
        lambda: signer.sign(replace(asked, purpose="document")), "FINANCIAL_ACTIVATION_INVALID"
    )
    _refused(
        lambda: signer.sign(replace(asked, data=DOCUMENT + b" ")),
        "FINANCIAL_ACTIVATION_DATA_MISMATCH",
    )

    signature = signer.sign(asked)
    assert signature.signed_by == SignedBy.CENTER
    assert f"{signature.certificate.serial_number:X}" == issued.serial
    assert list(signature.chain) == center.hierarchy().chain(FAMILY)
    assert signature.chain[0].subject == signature.certificate.issuer
    assert signature.verifies(DOCUMENT) and not signature.verifies(DOCUMENT + b" ")
    p7m = write(tmp_path / "signed.p7m", signature.cms(DOCUMENT))
    root = center.settings.ca_path / "root-ca.pem"
    verified = openssl("cms", "-verify", "-inform", "DER", "-in", str(p7m), "-CAfile", str(root))
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout == DOCUMENT
    _refused(lambda: signer.sign(asked), "FINANCIAL_ACTIVATION_USED")  # once


def test_a_missing_grant_is_named(center: Center) -> None:
    assert center.remote_signer.signer("").lacks == ("activation_grant",)


def test_a_transfer_refused_for_another_factor_does_not_spend_the_grant(
    center: Center, client: CenterClient
) -> None:
    browser = Browser()
    login(client, browser, issue(center, browser).device_id or "")
    prepared = prepare(client, 3_000_000)
    assert prepared["factors"] == ["account_password", "pin"]
    activation = client.call("POST", f"/v1/financial/transfers/{prepared['id']}/activation")
    wrong = "0000"  # not the account's password
    refused(
        lambda: confirm(client, browser, prepared["id"], activation, account_password=wrong),
        "AUTH_FAILED",
    )
    # the center was not asked to sign: the activation was released but never used
    with center.uow_factory() as uow:
        used = uow.activations.get(activation["activation_id"])
        assert used is not None and used.authorized_at is not None and used.used_at is None
    ended = client.call("GET", f"/v1/transfers/{prepared['id']}")
    assert ended["status"] == "refused" and ended["failure_code"] == "AUTH_FAILED"
    assert all(e["amount"] != 3_000_000 for e in center.sim_store.statement(*PAYEE))
