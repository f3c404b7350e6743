"""The whole issuance flow over HTTP: what a customer does, and what they end up holding."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.bootstrap import Center
from tests.support.flow import FlowFactory
from tests.support.pkilint import Linter


def test_customer_gets_a_device_bound_certificate_that_openssl_verifies(
    center: Center, tmp_path: Path, new_flow: FlowFactory
) -> None:
    flow = new_flow("C001")
    flow.through("csr")
    issued = flow.issued
    assert issued is not None

    chain = tmp_path / "chain.pem"
    chain.write_text("".join(issued["chain"]))
    cert_file = tmp_path / "cert.pem"
    cert_file.write_text(issued["certificate"])
    root = center.settings.ca_path / "root-ca.pem"
    result = subprocess.run(
        ["openssl", "verify", "-CAfile", str(root), "-untrusted", str(chain), str(cert_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(": OK")

    cert = x509.load_pem_x509_certificate(issued["certificate"].encode())
    assert Linter().errors(cert) == []  # pkilint: no ERROR or FATAL findings
    cn = cert.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value
    assert cn == "김민준"
    assert issued["device_id"] == flow.device.device_id

    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C001")
        assert customer is not None
        device = uow.devices.active_for_customer(customer.id)
        assert device is not None and device.device_id == flow.device.device_id
        assert device.pin_hash and device.pin_hash.startswith("$argon2id$")
        assert device.biometric_public_key is not None
        record = uow.certificates.get(issued["serial"])
        assert record is not None and record.status == "active"
        assert record.der == cert.public_bytes(Encoding.DER)

    # The issuance SMS names the device and the time (KST).
    newest = flow.messages("01020000001")[0]["body"]
    assert "SM-S928N" in newest and "2026-11-23 10:00" in newest and "발급" in newest

    # Anyone can read the certificate and its status.
    shown = flow.client.certificate(issued["serial"])
    assert shown["status"] == "active" and shown["certificate"] == issued["certificate"]


def test_new_internet_banking_customer_is_enrolled_in_the_same_flow(
    center: Center, new_flow: FlowFactory
) -> None:
    flow = new_flow("C003")  # 박지훈: no internet banking, passport
    flow.through("phone")
    verified = flow.phone_verify()
    assert verified["detail"]["new_customer"] is True
    for step in ("account", "account_verify", "id", "credentials", "csr"):
        getattr(flow, step)()
    with center.uow_factory() as uow:
        customer = uow.customers.by_number("C003")
        assert customer is not None and customer.internet_banking is True


def test_corporate_line_with_personal_service_and_mvno_lines_are_issued(
    new_flow: FlowFactory,
) -> None:
    for person in ("C007", "C002", "C018"):  # corporate+service, KT MVNO+licence, SKT MVNO
        flow = new_flow(person)
        flow.through("csr")
        assert flow.issued is not None and flow.issued["customer_number"] == person
