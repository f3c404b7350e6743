"""A real server process on a SoftHSM2 token that goes away and comes back.

``certcenter serve`` (two worker processes) runs with ``key_backend=pkcs11`` on a token in
a directory of the test's own. It issues a certificate and answers OCSP; then the token
directory is renamed, which is what a removed token looks like to SoftHSM2: the module, which
read the directory at C_Initialize, finds no object any more and fails C_GetTokenInfo
(CKR_GENERAL_ERROR), and while the directory is away it does not initialise again. Requests
that need a key are then refused 503 ``KEY_TOKEN_UNAVAILABLE`` (a problem document; OCSP
``tryLater``), ``/readyz`` says which purposes' backend failed; once the directory is back
the same requests succeed, with no restart.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tests.support.flow import Flow
from tests.support.ports import free_port
from tests.support.softhsm import SOFTHSM_MODULE, USER_PIN, SoftHsm

CERTCENTER = str(Path(sys.executable).parent / "certcenter")
PURPOSES = ["ca", "ocsp", "customer", "secrets"]

pytestmark = pytest.mark.server


def _eventually(check: Callable[[], bool], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return False


@pytest.fixture
def token_server(softhsm: SoftHsm, tmp_path: Path) -> Iterator[tuple[str, SoftHsm, Path]]:
    """``certcenter serve`` on a token of its own: (url, that SoftHSM2, the server's log)."""
    hsm = SoftHsm.create(tmp_path / "softhsm", this_process=False)
    hsm.init_token("certcenter")
    pin_file = tmp_path / "token-pin"
    pin_file.write_text(f"{USER_PIN}\n")
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **hsm.env,
        "CERTCENTER_DATA_DIR": str(tmp_path / "var"),
        "CERTCENTER_PORT": str(port),
        "CERTCENTER_WORKERS": "2",
        "CERTCENTER_KEY_BACKEND": "pkcs11",
        "CERTCENTER_PKCS11_MODULE": str(SOFTHSM_MODULE),
        "CERTCENTER_PKCS11_TOKEN_LABEL": "certcenter",
        "CERTCENTER_PKCS11_PIN_FILE": str(pin_file),
    }
    with log.open("ab") as handle:
        process = subprocess.Popen(
            [CERTCENTER, "--lang", "en", "serve"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"server exited: {log.read_text()}")
            with contextlib.suppress(httpx.TransportError):
                return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
            return False

        assert _eventually(up, timeout=120), log.read_text()
        yield url, hsm, log
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):  # no worker outlives it
            os.killpg(process.pid, signal.SIGKILL)


def _ocsp(url: str, issued: dict[str, object]) -> httpx.Response:
    """A POST /ocsp about the issued certificate, with a nonce: signed for this request."""
    certificate = x509.load_pem_x509_certificate(str(issued["certificate"]).encode())
    chain = issued["chain"]
    assert isinstance(chain, list)
    issuer = x509.load_pem_x509_certificate(str(chain[0]).encode())
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(certificate, issuer, hashes.SHA256())
        .add_extension(x509.OCSPNonce(os.urandom(16)), critical=False)
        .build()
    )
    return httpx.post(
        f"{url}/ocsp",
        content=request.public_bytes(serialization.Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
        timeout=30,
    )


def _good(answer: httpx.Response) -> bool:
    if answer.status_code != 200:
        return False
    response = ocsp.load_der_ocsp_response(answer.content)
    return (
        response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
        and response.certificate_status is ocsp.OCSPCertStatus.GOOD
    )


def test_the_center_answers_503_while_the_token_is_away_and_recovers_without_restart(
    token_server: tuple[str, SoftHsm, Path], tmp_path: Path
) -> None:
    url, hsm, log = token_server
    first = Flow(url, tmp_path, "C001")
    second = Flow(url, tmp_path, "C002")
    try:
        for flow in (first, second):
            flow.through("credentials")
        issued = first.csr()  # signed by the mobile CA's key, in the token
        assert issued["customer_number"] == "C001"
        for _ in range(4):  # both workers sign OCSP responses in the token
            assert _good(_ocsp(url, issued))

        away = hsm.token_dir.with_name("tokens.away")
        hsm.token_dir.rename(away)
        try:
            # issuing needs the CA key: refused with the catalog's code, never a trace
            refused = second.refused("csr")
            assert (refused.status, refused.code) == (503, "KEY_TOKEN_UNAVAILABLE")
            assert "Traceback" not in str(refused.problem)
            for _ in range(4):  # whichever worker answers
                answer = _ocsp(url, issued)
                assert answer.status_code == 503
                assert answer.headers["retry-after"] == "5"
                assert answer.headers["content-type"] == "application/ocsp-response"
                assert ocsp.load_der_ocsp_response(answer.content).response_status is (
                    ocsp.OCSPResponseStatus.TRY_LATER
                )

            def not_ready() -> bool:  # each worker keeps its probe's result 2 s
                return all(
                    httpx.get(f"{url}/readyz", timeout=30).status_code == 503 for _ in range(4)
                )

            assert _eventually(not_ready)
            ready = httpx.get(f"{url}/readyz", headers={"Accept-Language": "en"}, timeout=30)
            body = ready.json()
            assert body["code"] == "KEY_TOKEN_UNAVAILABLE" and body["readiness"] == "unavailable"
            keys = body["checks"]["keys"]
            assert keys["ok"] is False and keys["code"] == "KEY_TOKEN_UNAVAILABLE"
            assert keys["purposes"] == PURPOSES  # one token holds every purpose's keys
            assert body["checks"]["storage"] == {"ok": True}
        finally:
            away.rename(hsm.token_dir)

        # back: the same requests succeed, in both workers, with no restart
        again = second.csr()
        assert again["customer_number"] == "C002"
        for _ in range(4):
            assert _good(_ocsp(url, issued))
            assert _good(_ocsp(url, again))
        assert _eventually(
            lambda: all(httpx.get(f"{url}/readyz", timeout=30).status_code == 200 for _ in range(4))
        )
    finally:
        first.client.close()
        second.client.close()
    text = log.read_text()
    assert "PKCS#11 sessions lost" in text  # what the workers saw, in one line each
    assert "OCSP: tryLater: KEY_TOKEN_UNAVAILABLE" in text
