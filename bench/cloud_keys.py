"""Remote signings per second with wrapped cloud keys, software backend next to PKCS#11.

    .venv/bin/python bench/cloud_keys.py                      # 2000 signatures per row
    .venv/bin/python bench/cloud_keys.py --threads 1 4 --count 5000
    .venv/bin/python bench/cloud_keys.py --module /usr/lib/vendor/libpkcs11.so \\
        --token certcenter        # a real HSM: the PIN from CERTCENTER_PKCS11_PIN

In process, no database and no server: what the key backend itself costs the financial
certificate's remote signer (금융인증서 원격 서명). ``--customers`` cloud keys are made and
wrapped first (not timed); each timed signature picks one of them, unwraps it inside the
backend (``sign_wrapped``: AES key wrap with padding, then ECDSA P-256 with SHA-256) and
drops it, as :meth:`certcenter.financial.RemoteSigner.sign` does. Beside it, for scale, one
signature with a key kept under its own label (``sign``) and one OCSP response
(``sign_ocsp``, what the OCSP responder signs).

Without ``--module`` the PKCS#11 rows run against SoftHSM2 (Debian ``softhsm2``) in a token
directory made for the run and removed after it. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchlib
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from certcenter.keys import KeyBackend, Pkcs11KeyBackend, SoftwareKeyBackend

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
KEK = "customer-kek"
PIN = "123456"


def softhsm_token(directory: Path) -> tuple[Path, str, str]:
    """A SoftHSM2 token in ``directory`` (SOFTHSM2_CONF set for this process)."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    config = directory / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(config)
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "bench", "--pin", PIN,
         "--so-pin", "87654321"],
        check=True, capture_output=True,
    )  # fmt: skip
    return SOFTHSM_MODULE, "bench", PIN


def _responder(backend: KeyBackend) -> tuple[ocsp.OCSPResponseBuilder, str]:
    """An OCSP response to sign again and again, by a responder key of ``backend``."""
    backend.generate_key("bench-ocsp", "ec-p256")
    public = backend.public_key("bench-ocsp")
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise SystemExit("the backend made a key of another kind")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(ca_key, hashes.SHA256())
    )
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response_by_hash(
            issuer_name_hash=b"\x00" * 32,
            issuer_key_hash=b"\x01" * 32,
            serial_number=12345,
            algorithm=hashes.SHA256(),
            cert_status=ocsp.OCSPCertStatus.GOOD,
            this_update=now,
            next_update=now + timedelta(hours=1),
            revocation_time=None,
            revocation_reason=None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, certificate)
    )
    return builder, "bench-ocsp"


def _rate(work: Callable[[int], object], count: int, threads: int) -> float:
    """Operations per second of ``work`` run ``count`` times over ``threads`` threads."""
    for i in range(min(20, count)):
        work(i)  # warm-up: sessions opened, keys found
    per_thread = max(1, count // threads)
    errors: list[BaseException] = []

    def run(offset: int) -> None:
        try:
            for i in range(per_thread):
                work(offset + i)
        except Exception as exc:  # noqa: BLE001 (reported after the join)
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(n * per_thread,)) for n in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    return per_thread * threads / wall


def measure(
    name: str, backend: KeyBackend, args: argparse.Namespace
) -> list[dict[str, float | int | str]]:
    backend.ensure_wrapping_key(KEK)
    wrapped = [backend.generate_wrapped_key(KEK).wrapped for _ in range(args.customers)]
    backend.generate_key("bench-label", "ec-p256")
    builder, responder = _responder(backend)
    data = b"transfer 1,000,000 KRW to 004-1234-5678"
    works: dict[str, Callable[[int], object]] = {
        "remote sign (wrapped key)": lambda i: backend.sign_wrapped(
            KEK, wrapped[i % len(wrapped)], data
        ),
        "sign (key under a label)": lambda i: backend.sign("bench-label", data),
        "OCSP response": lambda i: backend.sign_ocsp(responder, builder),
    }
    rows: list[dict[str, float | int | str]] = []
    for operation, work in works.items():
        for threads in args.threads:
            rate = _rate(work, args.count, threads)
            rows.append(
                {"backend": name, "operation": operation, "threads": threads, "per_s": rate}
            )
            print(f"  {name:<8} {operation:<28} threads {threads}: {rate:,.0f}/s", flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Cloud key signings per second, in process.")
    parser.add_argument("--count", type=int, default=2000, help="signatures per row")
    parser.add_argument("--customers", type=int, default=200, help="wrapped keys to sign with")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--module", type=Path, default=None, help="PKCS#11 module of an HSM")
    parser.add_argument("--token", default="certcenter", help="its token label (with --module)")
    parser.add_argument(
        "--sessions", type=int, default=1, help="PKCS#11 sessions at once (SoftHSM2: 1)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    benchlib.print_lines(benchlib.machine_facts())
    tmp = Path(tempfile.mkdtemp(prefix="certcenter-bench-cloud-keys-"))
    rows: list[dict[str, float | int | str]] = []
    try:
        software = SoftwareKeyBackend(tmp / "keys", os.urandom(16).hex())
        rows += measure("software", software, args)
        if args.module is not None:
            module, token, pin = args.module, args.token, os.environ.get("CERTCENTER_PKCS11_PIN")
        elif SOFTHSM_MODULE.is_file() and shutil.which("softhsm2-util"):
            module, token, pin = softhsm_token(tmp / "softhsm")
        else:
            print("  pkcs11: skipped (no --module, and SoftHSM2 is not installed)")
            module = None
        if module is not None:
            hsm = Pkcs11KeyBackend(module, token, pin, sessions=args.sessions)
            hsm.verify_passphrase()
            rows += measure("pkcs11", hsm, args)
            hsm.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print()
    headers = ("backend", "operation", "threads", "per second")
    print(
        benchlib.table(
            headers,
            [[r["backend"], r["operation"], r["threads"], f"{r['per_s']:,.0f}"] for r in rows],
            left=2,
        )
    )
    if args.json is not None:
        args.json.write_text(json.dumps({"results": rows}, indent=2))


if __name__ == "__main__":
    main()
