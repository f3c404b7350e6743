"""CRLs as a relying party sees them: fetched from the live server, checked by openssl."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.api.routes.status import revocation_status
from certcenter.bootstrap import Center
from certcenter.entities import CertificateStatus
from tests.revocation import lint
from tests.revocation.support import (
    Pki,
    change_status,
    crl_pem,
    issue,
    openssl_verify,
    run,
    serials_in_shard,
)
from tests.support.flow import FlowFactory


def _fetch(url: str, name: str, tmp_path: Path) -> tuple[x509.CertificateRevocationList, Path]:
    answer = httpx.get(f"{url}/crl/{name}.crl", timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pkix-crl"
    assert "public" in answer.headers["cache-control"]
    der = tmp_path / f"{name}.crl"
    der.write_bytes(answer.content)
    return x509.load_der_x509_crl(answer.content), der


def _distribution_point(certificate: x509.Certificate) -> str:
    points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    return str(points[0].full_name[0].value)  # type: ignore[index]


def test_partition_crls_list_revoked_certificates_and_openssl_checks_them(
    center: Center,
    pki: Pki,
    status_url: str,
    new_flow: FlowFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shards = center.settings.policy.crl_shards
    serials_in_shard(monkeypatch, 5, shards)
    revoked = issue(new_flow, "C001", tmp_path)
    good_same = issue(new_flow, "C002", tmp_path)
    serials_in_shard(monkeypatch, 9, shards)
    good_other = issue(new_flow, "C007", tmp_path)
    monkeypatch.undo()

    base = center.settings.public_base_url
    assert _distribution_point(revoked.certificate) == f"{base}/crl/mobile-5.crl"
    assert _distribution_point(good_same.certificate) == f"{base}/crl/mobile-5.crl"
    assert _distribution_point(good_other.certificate) == f"{base}/crl/mobile-9.crl"

    partition = change_status(
        center, revoked.serial, CertificateStatus.REVOKED, x509.ReasonFlags.key_compromise
    )
    assert partition == ("mobile", 5)

    crl5, der5 = _fetch(status_url, "mobile-5", tmp_path)
    crl9, der9 = _fetch(status_url, "mobile-9", tmp_path)  # published on demand
    issuing = center.hierarchy().issuing("mobile").certificate
    for crl in (crl5, crl9):
        assert crl.is_signature_valid(issuing.public_key())  # type: ignore[arg-type]
        assert crl.issuer == issuing.subject
    listed = crl5.get_revoked_certificate_by_serial_number(revoked.number)
    assert listed is not None
    assert listed.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.key_compromise
    )
    assert [entry.serial_number for entry in crl5] == [revoked.number]
    assert len(crl9) == 0
    idp = crl5.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    assert idp.critical
    assert idp.value.only_contains_user_certs
    assert [n.value for n in idp.value.full_name or []] == [f"{base}/crl/mobile-5.crl"]

    # openssl crl verifies the signature with the issuing CA
    signature = run("openssl", "crl", "-inform", "DER", "-in", der5, "-CAfile", pki.issuing,
                    "-noout")  # fmt: skip
    assert signature.returncode == 0 and "verify OK" in signature.stderr, signature.stderr

    pem5 = crl_pem(der5.read_bytes(), tmp_path / "mobile-5.pem")
    pem9 = crl_pem(der9.read_bytes(), tmp_path / "mobile-9.pem")
    refused = openssl_verify(pki, revoked.leaf, pem5)
    assert refused.returncode != 0
    assert "certificate revoked" in refused.stdout + refused.stderr
    accepted = openssl_verify(pki, good_same.leaf, pem5)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert accepted.stdout.strip().endswith(": OK")
    # a partition's CRL does not speak for the others: openssl wants the certificate's own
    out_of_scope = openssl_verify(pki, good_other.leaf, pem5)
    assert out_of_scope.returncode != 0
    assert "different CRL scope" in out_of_scope.stdout + out_of_scope.stderr
    own = openssl_verify(pki, good_other.leaf, pem9)
    assert own.returncode == 0, own.stdout + own.stderr

    # the whole chain, the root's CRL included (-crl_check_all)
    _, root_der = _fetch(status_url, "root", tmp_path)
    root_pem = crl_pem(root_der.read_bytes(), tmp_path / "root.pem")
    chain = openssl_verify(pki, good_same.leaf, pem5, root_pem, all_crls=True)
    assert chain.returncode == 0, chain.stdout + chain.stderr
    chain_revoked = openssl_verify(pki, revoked.leaf, pem5, root_pem, all_crls=True)
    assert "certificate revoked" in chain_revoked.stdout + chain_revoked.stderr


def test_suspension_is_listed_as_certificate_hold(
    center: Center,
    pki: Pki,
    status_url: str,
    new_flow: FlowFactory,
    tmp_path: Path,
) -> None:
    held = issue(new_flow, "C014", tmp_path)
    family, shard = change_status(
        center, held.serial, CertificateStatus.SUSPENDED, x509.ReasonFlags.certificate_hold
    )
    crl, der = _fetch(status_url, f"{family}-{shard}", tmp_path)
    entry = crl.get_revoked_certificate_by_serial_number(held.number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason is (
        x509.ReasonFlags.certificate_hold
    )
    refused = openssl_verify(pki, held.leaf, crl_pem(der.read_bytes(), tmp_path / "held.pem"))
    assert "certificate revoked" in refused.stdout + refused.stderr


def test_root_crl_and_the_complete_family_crl(
    center: Center, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    revoked = issue(new_flow, "C018", tmp_path)
    change_status(center, revoked.serial, CertificateStatus.REVOKED, x509.ReasonFlags.superseded)

    root, _ = _fetch(status_url, "root", tmp_path)
    hierarchy = center.hierarchy()
    assert root.issuer == hierarchy.root.certificate.subject
    assert root.is_signature_valid(hierarchy.root.certificate.public_key())  # type: ignore[arg-type]
    assert len(root) == 0
    # complete: no issuingDistributionPoint, so it also covers the root in -crl_check_all
    assert not [e for e in root.extensions if isinstance(e.value, x509.IssuingDistributionPoint)]
    # the issuing CA's own CRL distribution point names it
    assert _distribution_point(hierarchy.issuing("mobile").certificate).endswith("/crl/root.crl")

    complete, _ = _fetch(status_url, "mobile", tmp_path)  # all partitions in one
    assert complete.get_revoked_certificate_by_serial_number(revoked.number) is not None
    idp = complete.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    url = f"{center.settings.public_base_url}/crl/mobile.crl"
    assert idp.full_name == [x509.UniformResourceIdentifier(url)]

    for crl in (root, complete):
        assert lint.errors(lint.crl_findings(crl.public_bytes(Encoding.DER))) == []


def test_numbers_grow_and_the_latest_is_served(
    center: Center, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    first, _ = _fetch(status_url, "mobile-0", tmp_path)
    again, _ = _fetch(status_url, "mobile-0", tmp_path)
    number = first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert again.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number
    revocation_status(center).publish("mobile", 0)
    newer, _ = _fetch(status_url, "mobile-0", tmp_path)
    assert newer.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number + 1


@pytest.mark.parametrize(
    "name", ["mobile-16", "mobile-99", "root-0", "corporate-1", "mobile-01", "MOBILE-1", "x"]
)
def test_unknown_crl_names_are_not_found(center: Center, status_url: str, name: str) -> None:
    answer = httpx.get(f"{status_url}/crl/{name}.crl", timeout=30)
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "NOT_FOUND"
