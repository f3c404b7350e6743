"""Helpers of the status tests: issuing through the real flow, revoking as the lifecycle
does, running openssl."""

from __future__ import annotations

import base64
import subprocess
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.api.routes import status
from certcenter.bootstrap import Center
from certcenter.config import Settings
from certcenter.entities import CertificateRecord, CertificateStatus
from certcenter.keys import KeyBackend
from certcenter.pki.crl import crl_shard_of, encode_crl_entry
from certcenter.pki.hierarchy import CaHierarchy
from certcenter.pki.names import SubjectInfo
from tests.support.flow import FlowFactory


@dataclass(frozen=True)
class Ca:
    """The test session's keys and hierarchy, without a database."""

    settings: Settings
    backend: KeyBackend
    hierarchy: CaHierarchy


@dataclass
class Issued:
    serial: str
    certificate: x509.Certificate
    leaf: Path  # PEM

    @property
    def number(self) -> int:
        return self.certificate.serial_number


@dataclass
class Pki:
    """root-ca.pem and mobile-ca.pem written for openssl."""

    root: Path  # root-ca.pem
    issuing: Path  # mobile-ca.pem
    directory: Path


def issue(new_flow: FlowFactory, person: str, tmp_path: Path) -> Issued:
    """A mobile certificate issued through the real flow over HTTP."""
    flow = new_flow(person)
    flow.through("csr")
    assert flow.issued is not None
    certificate = x509.load_pem_x509_certificate(flow.issued["certificate"].encode())
    leaf = tmp_path / f"leaf-{person}.pem"
    leaf.write_text(flow.issued["certificate"])
    return Issued(flow.issued["serial"], certificate, leaf)


def change_status(
    center: Center,
    serial: str,
    new_status: CertificateStatus,
    reason: x509.ReasonFlags | None,
    *,
    when: datetime | None = None,
) -> tuple[str, int]:
    """Revoke or suspend as the lifecycle does: record, CRL entry, cache, CRL publication.
    Returns the CRL partition (family, shard)."""
    when = when or center.clock.now()
    shards = center.settings.policy.crl_shards
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial, for_update=True)
        assert record is not None
        record.status = new_status.value
        record.revoked_at = when
        record.revocation_reason = reason.value if reason else None
        if new_status is CertificateStatus.SUSPENDED:
            record.suspended_at = when
        assert record.crl_shard == crl_shard_of(int(serial, 16), shards)  # recorded at issuance
        record.crl_entry = encode_crl_entry(int(serial, 16), when, reason)
        uow.ocsp.invalidate(serial)
        uow.commit()
        partition = (record.family, record.crl_shard)
    status.revocation_status(center).publish(*partition)
    return partition


# ---------------------------------------------------------------------- openssl


def run(*args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, timeout=60
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def openssl_ocsp(
    pki: Pki, url: str, *target: str | Path, nonce: bool = True, respout: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``openssl ocsp -issuer mobile-ca.pem <-cert leaf.pem | -serial 0x…> -url …/ocsp
    -CAfile root-ca.pem`` (the relying party's command)."""
    args: list[str | Path] = ["openssl", "ocsp", "-issuer", pki.issuing, *target]
    args += ["-url", f"{url}/ocsp", "-CAfile", pki.root, "-nonce" if nonce else "-no_nonce"]
    if respout is not None:
        args += ["-respout", respout]
    return run(*args)


def ocsp_get(url: str, request_der: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    encoded = urllib.parse.quote(base64.b64encode(request_der).decode("ascii"), safe="")
    return httpx.get(f"{url}/ocsp/{encoded}", headers=headers, timeout=30)


def crl_pem(der: bytes, path: Path) -> Path:
    crl = x509.load_der_x509_crl(der)
    path.write_bytes(crl.public_bytes(Encoding.PEM))
    return path


_RANDOM_SERIAL = x509.random_serial_number


def serials_in_shard(monkeypatch: pytest.MonkeyPatch, shard: int, shards: int) -> None:
    """From now on, new serials are random but fall into CRL partition ``shard``."""

    def serial() -> int:
        number = _RANDOM_SERIAL()
        return number - number % shards + shard or shards

    monkeypatch.setattr(x509, "random_serial_number", serial)


def openssl_verify(
    pki: Pki, leaf: Path, *crls: Path, all_crls: bool = False
) -> subprocess.CompletedProcess[str]:
    """``openssl verify -crl_check -CAfile root-ca.pem -untrusted mobile-ca.pem -CRLfile …``."""
    args: list[str | Path] = ["openssl", "verify", "-crl_check_all" if all_crls else "-crl_check"]
    args += ["-CAfile", pki.root, "-untrusted", pki.issuing]
    for crl in crls:
        args += ["-CRLfile", crl]
    return run(*args, leaf)


def record_active(center: Center, customer: str = "C001") -> x509.Certificate:
    """A certificate recorded as active, as the enrollment leaves it (no HTTP here)."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = center.issuer
    intent = issuer.prepare("mobile", key.public_key(), SubjectInfo("홍길동", customer))
    certificate = issuer.sign(intent, key.public_key())
    now = center.clock.now()
    with center.uow_factory() as uow:
        owner = uow.customers.by_number(customer)
        assert owner is not None
        uow.certificates.add(
            CertificateRecord(
                serial=f"{intent.serial:X}",
                family="mobile",
                profile="mobile",
                customer_id=owner.id,
                device_id=None,
                enrollment_id=None,
                subject=intent.subject.rfc4514_string(),
                public_key_sha256=intent.public_key_sha256,
                not_before=intent.not_before,
                not_after=intent.not_after,
                tbs=intent.tbs,
                issuer_key_label=intent.issuer_key_label,
                status=CertificateStatus.ACTIVE.value,
                created_at=now,
                issued_at=now,
                der=certificate.public_bytes(Encoding.DER),
                crl_shard=intent.crl_shard,
            )
        )
        uow.commit()
    return certificate
