"""One public key, one customer and one device: the CA never certifies a key twice for
different holders."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from certcenter.bootstrap import Center
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory


def _csr_with(key: object, name: str) -> str:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


@pytest.mark.parametrize(("holder", "taker"), [("C018", "C010"), ("C001", "C011")])
def test_keys_another_customers_key_is_refused(
    new_flow: FlowFactory, center: Center, holder: str, taker: str
) -> None:
    first = new_flow(holder)
    first.through("csr")
    key = first.keystore.load_key("certificate")
    second = new_flow(taker)
    second.through("credentials")
    assert_refusal(second.refused("csr", _csr_with(key, "x")), "PUBLIC_KEY_ALREADY_BOUND")
    with center.uow_factory() as uow:
        customer = uow.customers.by_number(taker)
        assert customer is not None
        assert not [
            c for c in uow.certificates.for_customer(customer.id) if c.status != "abandoned"
        ]
    # the taker is issued a certificate for a key of their own
    assert second.csr()["certificate"]


def test_keys_a_retried_csr_with_the_same_key_is_still_issued(new_flow: FlowFactory) -> None:
    flow = new_flow("C001")
    flow.through("credentials")
    pem = flow.keystore.new_certificate_request(common_name="x")
    assert flow.csr(pem)["certificate"]
