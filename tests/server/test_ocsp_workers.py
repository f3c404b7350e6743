"""OCSP answers held in the memory of ``certcenter serve``'s worker processes follow a
revocation made by another process within ``ocsp_memory_max_staleness_seconds``."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.ocsp import OCSPCertStatus

from certcenter.bootstrap import build_center
from certcenter.config import load_settings
from certcenter.lifecycle.service import ActorRef
from tests.revocation.support import record_active
from tests.server.test_server_process import ServerProcess

pytestmark = pytest.mark.server
BOUND_S = 0.5


def test_every_worker_answers_revoked_within_the_bound(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    server.env.update(
        {
            "CERTCENTER_WORKERS": "2",
            "CERTCENTER_LOG_LEVEL": "warning",
            "CERTCENTER_POLICY__OCSP_MEMORY_MAX_STALENESS_SECONDS": str(BOUND_S),
        }
    )
    server.start()
    center = build_center(load_settings(environ=server.env))
    try:
        certificate = record_active(center)  # this process: not one of the server's workers
        issuer = center.hierarchy().issuing("mobile").certificate
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(certificate, issuer, hashes.SHA1())  # noqa: S303 - OCSP clients
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        with httpx.Client(base_url=server.url, timeout=10) as client:

            def status() -> OCSPCertStatus:
                answer = client.post("/ocsp", content=request)
                assert answer.status_code == 200
                return ocsp.load_der_ocsp_response(answer.content).certificate_status

            # new connections reach both workers; every one holds the good answer
            for _ in range(20):
                with httpx.Client(base_url=server.url, timeout=10) as fresh:
                    held = ocsp.load_der_ocsp_response(fresh.post("/ocsp", content=request).content)
                    assert held.certificate_status is OCSPCertStatus.GOOD
            serial = f"{certificate.serial_number:X}"
            center.lifecycle.revoke(serial, "keyCompromise", ActorRef.operator("tester", None))
            committed = time.monotonic()
            late: list[OCSPCertStatus] = []
            while time.monotonic() < committed + BOUND_S + 3.0:  # the bound and a margin
                started = time.monotonic()
                with httpx.Client(base_url=server.url, timeout=10) as fresh:
                    answer = fresh.post("/ocsp", content=request)
                got = ocsp.load_der_ocsp_response(answer.content).certificate_status
                if started > committed + BOUND_S:
                    late.append(got)
                time.sleep(0.02)
            assert late and set(late) == {OCSPCertStatus.REVOKED}
            assert status() is OCSPCertStatus.REVOKED
    finally:
        center.close()
        server.stop()
