"""OCSP responses per second: GET of a pre-computed (cached) response, POST with a nonce.

    .venv/bin/python bench/ocsp.py                       # starts a server (1 worker), measures
    .venv/bin/python bench/ocsp.py --workers 2 --count 4000 --concurrency 16
    .venv/bin/python bench/ocsp.py --url http://127.0.0.1:8000   # a running center (demo world)
    .venv/bin/python bench/ocsp.py --backends pkcs11     # only the server on a SoftHSM2 token

First one certificate is issued through the whole flow (a person of the world), and its
issuer fetched from ``/v1/ca/mobile/chain``. Then, ``--concurrency`` client threads (one HTTP
connection each) send ``--count`` requests for it:

``GET cached``
    ``GET /ocsp/{base64 request}`` without nonce, SHA-1 CertID (what OpenSSL and RFC 5019
    clients send): after the first request each server process answers from the responses
    it holds in memory (no database read, no signature) until it is due for refresh.
``POST nonce``
    ``POST /ocsp`` with a fresh 16-byte nonce each time: a database read and an ECDSA P-256
    signature by the responder key per request.

Without ``--url`` this runs once per key backend (``--backends``; default the software
backend, then, where SoftHSM2 is installed, ``pkcs11`` on a SoftHSM2 token made for the run:
every key in it, so each POST's signature is made in the token), each on a server of its own,
and prints the figures side by side.

Every answer is read: a successful response for the certificate, status good, and (POST) the
request's nonce echoed; anything else counts as an error. Throughput and p50/p95/p99/max
latency are printed, never asserted. Like ``run_all.py``, the server it starts lives in a
temporary data directory with a generated world and is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import json
import os
import shutil
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import benchlib
import httpx
import worldgen
from cloud_keys import SOFTHSM_MODULE, softhsm_token
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from run_all import Server

from certcenter.cli.client import CenterClient
from certcenter.cli.keystore import Keystore

SHA1 = hashes.SHA1()  # noqa: S303 - the CertID hash OCSP clients send


def issue_one(url: str, people: benchlib.People, directory: Path) -> x509.Certificate:
    """A certificate through the whole flow, as the bank app gets one."""
    person = people.people[0]
    stop = threading.Event()
    walk = benchlib.Walk(person, Keystore(directory / person.key), move=people.reusable)
    with CenterClient(url, timeout=benchlib.REQUEST_TIMEOUT_S, locale="en") as client:
        issued = benchlib.walk(
            client, walk, until="csr", deadline=time.monotonic() + 120, stop=stop
        )
    if issued is None:
        raise SystemExit("no certificate was issued")
    return x509.load_pem_x509_certificate(issued["certificate"].encode())


def issuer_of(url: str) -> x509.Certificate:
    chain = httpx.get(f"{url}/v1/ca/mobile/chain", timeout=30)
    chain.raise_for_status()
    return x509.load_pem_x509_certificates(chain.content)[0]


def _request(certificate: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, SHA1)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _check(der: bytes, serial: int, nonce: bytes | None) -> None:
    response = ocsp.load_der_ocsp_response(der)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise benchlib.BenchFailureError(response.response_status.name)
    if response.serial_number != serial:
        raise benchlib.BenchFailureError("WRONG_SERIAL")
    if response.certificate_status is not ocsp.OCSPCertStatus.GOOD:
        raise benchlib.BenchFailureError(response.certificate_status.name)
    if nonce is not None:
        echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        if echoed != nonce:
            raise benchlib.BenchFailureError("NONCE_MISMATCH")


def measure(
    name: str,
    url: str,
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    *,
    count: int,
    concurrency: int,
    time_limit: float,
    nonce: bool,
    cpu_probe: benchlib.CpuProbe | None,
) -> benchlib.Measurement:
    m = benchlib.Measurement(name, requested=count, concurrency=concurrency)
    serial = certificate.serial_number
    cached_path = "/ocsp/" + urllib.parse.quote(
        base64.b64encode(_request(certificate, issuer, None)).decode("ascii"), safe=""
    )
    # requests made before the clock starts: building them is the client's work, not the
    # server's
    nonces = [os.urandom(16) for _ in range(count)] if nonce else []
    bodies = [_request(certificate, issuer, n) for n in nonces]
    next_index = 0
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit
    stop = threading.Event()
    clients = [
        httpx.Client(base_url=url, timeout=benchlib.REQUEST_TIMEOUT_S) for _ in range(concurrency)
    ]
    try:
        for client in clients:  # connections open, and the response cached, before timing
            _check(client.get(cached_path).content, serial, None)

        def worker(client: httpx.Client) -> None:
            nonlocal next_index
            while not stop.is_set():
                with lock:
                    if next_index >= count:
                        return
                    if time.monotonic() >= deadline:
                        m.timed_out = True
                        return
                    index = next_index
                    next_index += 1
                t0 = time.perf_counter()
                try:
                    if nonce:
                        answer = client.post(
                            "/ocsp",
                            content=bodies[index],
                            headers={"Content-Type": "application/ocsp-request"},
                        )
                    else:
                        answer = client.get(cached_path)
                    elapsed = time.perf_counter() - t0
                    if answer.status_code != 200:
                        raise benchlib.BenchFailureError(f"HTTP_{answer.status_code}")
                    _check(answer.content, serial, nonces[index] if nonce else None)
                except Exception as err:  # noqa: BLE001 - every failure is counted
                    m.record_error(err, name, f"#{index}")
                else:
                    with m.lock:
                        m.ok += 1
                        m.latencies.append(elapsed)

        window = benchlib.CpuWindow(cpu_probe)
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(concurrency, "ocsp") as executor:
            futures = [executor.submit(worker, c) for c in clients]
            try:
                for future in concurrent.futures.as_completed(futures):
                    future.result()
            except KeyboardInterrupt:
                stop.set()
                m.interrupted = True
                concurrent.futures.wait(futures)
        m.wall_s = time.perf_counter() - started
        window.close(m)
    finally:
        for client in clients:
            client.close()
    return m


def run(
    url: str, people: benchlib.People, args: argparse.Namespace, cpu_probe: benchlib.CpuProbe | None
) -> list[benchlib.Measurement]:
    with tempfile.TemporaryDirectory(prefix="certcenter-bench-ocsp-") as tmp:
        certificate = issue_one(url, people, Path(tmp))
    issuer = issuer_of(url)
    print(
        f"certificate {certificate.serial_number:X} issued; {args.count} requests per "
        f"measurement, concurrency {args.concurrency}",
        flush=True,
    )
    results = []
    for name, nonce in (("GET cached", False), ("POST nonce", True)):
        m = measure(
            name,
            url,
            certificate,
            issuer,
            count=args.count,
            concurrency=args.concurrency,
            time_limit=args.time_limit,
            nonce=nonce,
            cpu_probe=cpu_probe,
        )
        print(benchlib.report(m), flush=True)
        results.append(m)
        if m.interrupted:
            break
    return results


def _default_backends() -> list[str]:
    """software, and pkcs11 (SoftHSM2) beside it where SoftHSM2 is installed."""
    if SOFTHSM_MODULE.is_file() and shutil.which("softhsm2-util"):
        return ["software", "pkcs11"]
    print("pkcs11: skipped (SoftHSM2 is not installed: apt-get install softhsm2)")
    return ["software"]


def _serve_and_run(backend: str, args: argparse.Namespace) -> list[benchlib.Measurement]:
    """A server of its own with every key in ``backend`` (pkcs11: a SoftHSM2 token made for
    it), measured, stopped; its measurements named after the backend."""
    tmp = Path(tempfile.mkdtemp(prefix="certcenter-bench-ocsp-server-"))
    server = None
    results: list[benchlib.Measurement] = []
    try:
        world = worldgen.write_world(tmp / "world.toml", 4)
        server = Server(args.workers, tmp / "data", world, tmp / "server.log")
        if backend == "pkcs11":
            module, token, pin = softhsm_token(tmp / "softhsm")
            server.env |= {
                "SOFTHSM2_CONF": os.environ["SOFTHSM2_CONF"],
                "CERTCENTER_KEY_BACKEND": "pkcs11",
                "CERTCENTER_PKCS11_MODULE": str(module),
                "CERTCENTER_PKCS11_TOKEN_LABEL": token,
                "CERTCENTER_PKCS11_PIN": pin,
            }
        print(f"{backend}: {server.describe()}", flush=True)
        print(f"    up in {server.start(args.startup_timeout):.1f} s", flush=True)
        results = run(server.url, benchlib.load_people(world), args, server.cpu_seconds)
    except KeyboardInterrupt:
        print("interrupted: server stopped; partial figures above")
    finally:
        if server is not None:
            print(f"    server {server.stop(15)}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    for m in results:
        m.name = f"{backend} {m.name}"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="Measure OCSP responses per second.")
    parser.add_argument(
        "--url",
        default=None,
        help="measure this running center (127.0.0.1 only; its world must be "
        "--world, default the built-in demo world) instead of starting "
        "one",
    )
    parser.add_argument("--world", type=Path, default=None, help="with --url: its world file")
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument(
        "--count", type=int, default=2000, help="requests per measurement (default %(default)s)"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="requests in flight, one client thread each (default %(default)s)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=120.0,
        help="seconds per measurement before it stops sending",
    )
    parser.add_argument(
        "--backends",
        nargs="+",
        choices=["software", "pkcs11"],
        default=None,
        help="key backends of the servers it starts, one after the other (default: "
        "software, and pkcs11 on a SoftHSM2 token where SoftHSM2 is installed)",
    )
    parser.add_argument("--startup-timeout", type=float, default=90.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if min(args.count, args.concurrency, args.workers) < 1 or args.time_limit <= 0:
        parser.error("--count, --concurrency and --workers must be >= 1, --time-limit > 0")

    benchlib.print_lines(benchlib.machine_facts())
    results: list[benchlib.Measurement] = []
    with benchlib.sigterm_as_interrupt():
        if args.url is not None:
            url = benchlib.require_local(args.url)
            print(f"server: {url} (external; its workers and database are not known)")
            results = run(url, benchlib.load_people(args.world), args, None)
        else:
            for backend in args.backends or _default_backends():
                measured = _serve_and_run(backend, args)
                results += measured
                if not measured or measured[-1].interrupted:
                    break
    if results:
        print()
        print(
            benchlib.table(
                (
                    "measure",
                    "ok",
                    "err",
                    "conc",
                    "wall s",
                    "responses/s",
                    "p50 ms",
                    "p95 ms",
                    "p99 ms",
                    "max ms",
                ),
                [
                    [
                        m.name,
                        f"{m.ok}/{m.requested}",
                        sum(m.errors.values()),
                        m.concurrency,
                        f"{m.wall_s:.1f}",
                        f"{m.throughput:.0f}",
                        *(
                            f"{benchlib.summary_ms(m.latencies).get(k, float('nan')):.1f}"
                            for k in ("p50", "p95", "p99", "max")
                        ),
                    ]
                    for m in results
                ],
            )
        )
    if args.json and results:
        args.json.write_text(json.dumps([m.as_dict() for m in results], indent=2), "utf-8")


if __name__ == "__main__":
    main()
