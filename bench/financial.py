"""Financial certificate (금융인증서) figures: logins and remote document signings per second
(each with one argon2id PIN check on the server), and web page renders per second.

    .venv/bin/python bench/financial.py                   # starts its own server, 1 worker
    .venv/bin/python bench/financial.py --customers 4 --logins 40 --signings 40 --pages 200
    .venv/bin/python bench/financial.py --url http://127.0.0.1:8000   # a running center

A fresh ``certcenter serve`` (SQLite unless the environment says otherwise, the built-in demo
world, 127.0.0.1, a free port) is started in a temporary directory. Not timed: up to six demo
customers who can issue with ARS and their account (C001 C004 C007 C013 C014 C015) get a
financial certificate through ``/v1/financial/enrollments`` — the bench is the browser: its
device key is an ECDSA P-256 key made here, sent as SPKI DER in base64, and it signs the
``sign`` text of every activation (raw ``r || s``, as WebCrypto does). Timed: the login
(activation → device signature → PIN) at concurrency 1 and 4, the remote document signing
(activation → authorize with signature and PIN → sign) at ``--concurrency``, and ``GET /`` and
``GET /why`` at ``--page-concurrency``. Each thread logs in and signs as its own customer.
Figures are printed, never asserted; the server stops by itself at the end.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import benchlib
import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from run_all import Run, Server, scan_log

from certcenter.cli.client import CenterClient
from certcenter.simulators.world import load_world

# Demo customers with an internet-banking user ID whose issuance passes ARS and the account
# medium (account password "2580", see the demo world's README).
FINANCIAL_KEYS = ("C001", "C004", "C007", "C013", "C014", "C015")
ACCOUNT_PASSWORD = "2580"  # noqa: S105 - the demo world's, public
PIN = "480213"
LOGIN_STEPS = ("begin", "device_sign", "login")
SIGN_STEPS = ("begin", "device_sign", "authorize", "sign")
PAGES = ("/", "/why")


@dataclass
class Holder:
    """A customer with an issued financial certificate and the browser key registered for it."""

    key: str
    device_id: str
    serial: str
    private_key: ec.EllipticCurvePrivateKey

    def sign(self, message: bytes) -> str:
        """What WebCrypto's ECDSA P-256 / SHA-256 gives: raw ``r || s``, here in base64."""
        r, s = decode_dss_signature(self.private_key.sign(message, ec.ECDSA(hashes.SHA256())))
        return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()


# ------------------------------------------------------------------ setup (not timed)


def issue(url: str, key: str) -> Holder:
    """The whole issuance as the web pages walk it: terms, ID + RRN, ARS, account, details
    with the device key, SMS code, PIN."""
    person = load_world().people[key]
    phone = str((person.phone or {})["number"])
    account = person.accounts[0]
    private_key = ec.generate_private_key(ec.SECP256R1())
    spki = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with CenterClient(url, locale="en") as client:
        required = client.call("GET", "/v1/financial/enrollments/terms")["required"]
        started = client.call("POST", "/v1/financial/enrollments", {"accepted": required})
        client.token = started["token"]
        path = f"/v1/financial/enrollments/{started['enrollment_id']}"

        def step(name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            result: dict[str, Any] = client.call("POST", f"{path}/{name}", body or {})
            return result

        digits = person.rrn.digits
        step(
            "identify",
            {
                "user_id": str((person.customer or {}).get("user_id") or ""),
                "rrn": f"{digits[:6]}-{digits[6:]}",
            },
        )
        ars_code = step("ars")["detail"]["ars_code"]
        client.call("POST", f"/sim/ars/{phone}/answer", {"keyed": ars_code})
        step("ars/confirm")
        step("medium", {"medium": "account"})
        step(
            "medium/verify",
            {
                "bank_code": str(account["bank"]),
                "account_number": str(account["number"]),
                "account_password": ACCOUNT_PASSWORD,
            },
        )
        step(
            "details",
            {
                "name": person.name,
                "phone": phone,
                "birth_date": person.rrn.birth_date.isoformat(),
                "device_public_key": base64.b64encode(spki).decode(),
                "device_label": "bench browser",
            },
        )
        code = ""
        for message in client.call("GET", f"/sim/api/phones/{phone}/messages"):
            match = re.search(r"\[(\d{6})\]", message["body"])
            if match:
                code = match.group(1)
                break
        if not code:
            raise benchlib.BenchFailureError("SMS_READ_NOT_FOUND", f"{key}: no SMS code")
        step("code/verify", {"code": code})
        done = step("pin", {"pin": PIN, "pin_confirmation": PIN})
    detail = done["detail"]
    return Holder(key, str(detail["device_id"]), str(detail["serial"]), private_key)


def issue_all(url: str, keys: list[str]) -> list[Holder]:
    holders = []
    for key in keys:
        started = time.perf_counter()
        try:
            holders.append(issue(url, key))
        except Exception as err:  # noqa: BLE001 - reported, the customer is left out
            print(f"  {key}: not issued ({getattr(err, 'code', type(err).__name__)})", flush=True)
            continue
        print(
            f"  {key}: financial certificate {holders[-1].serial} issued in "
            f"{time.perf_counter() - started:.2f} s",
            flush=True,
        )
    return holders


# ------------------------------------------------------------------ one timed operation

Timed = Callable[[str, Callable[[], Any]], Any]


def login_once(client: CenterClient, holder: Holder, timed: Timed) -> None:
    client.token = None
    activation = timed(
        "begin",
        lambda: client.call(
            "POST", "/v1/financial/login/activations", {"device_id": holder.device_id}
        ),
    )
    signature = timed("device_sign", lambda: holder.sign(activation["sign"].encode("ascii")))
    session = timed(
        "login",
        lambda: client.call(
            "POST",
            "/v1/financial/login",
            {
                "activation_id": activation["activation_id"],
                "device_signature": signature,
                "pin": PIN,
            },
        ),
    )
    if session.get("method") != "financial" or not session.get("token"):
        raise benchlib.BenchFailureError("UNEXPECTED_ANSWER", "login: no financial session")


def sign_once(client: CenterClient, holder: Holder, timed: Timed) -> None:
    data = b"bench document: " + os.urandom(16).hex().encode() + b" " * 1000
    data_b64 = base64.b64encode(data).decode()
    activation = timed(
        "begin",
        lambda: client.call(
            "POST",
            "/v1/financial/activations",
            {"device_id": holder.device_id, "purpose": "document", "data_b64": data_b64},
        ),
    )
    signature = timed("device_sign", lambda: holder.sign(activation["sign"].encode("ascii")))
    grant = timed(
        "authorize",
        lambda: client.call(
            "POST",
            f"/v1/financial/activations/{activation['activation_id']}/authorize",
            {"device_signature": signature, "pin": PIN},
        ),
    )
    signed = timed(
        "sign",
        lambda: client.call(
            "POST", "/v1/financial/sign", {"grant": grant["grant"], "data_b64": data_b64}
        ),
    )
    if signed.get("certificate_serial") != holder.serial or not signed.get("cms_b64"):
        raise benchlib.BenchFailureError("UNEXPECTED_ANSWER", "sign: not by this certificate")


def page_once(http: httpx.Client, path: str, timed: Timed) -> None:
    response = timed("get", lambda: http.get(path))
    if response.status_code != 200 or "text/html" not in response.headers.get("content-type", ""):
        raise benchlib.BenchFailureError(
            f"HTTP_{response.status_code}", f"GET {path}: {response.status_code}"
        )


# ------------------------------------------------------------------ the measurement loop


class _Timer:
    """The steps of one operation and the time each took (seconds)."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.step = ""

    def timed(self, step: str, action: Callable[[], Any]) -> Any:
        self.step = step
        t0 = time.perf_counter()
        result = action()
        self.times[step] = time.perf_counter() - t0
        return result


def run_timed(
    name: str,
    operation: Callable[[int, Timed], None],
    *,
    count: int,
    concurrency: int,
    time_limit: float,
    stop: threading.Event,
    cpu_probe: benchlib.CpuProbe | None,
) -> benchlib.Measurement:
    """``count`` operations, ``concurrency`` threads; thread ``i`` calls ``operation(i, …)``."""
    m = benchlib.Measurement(name, requested=count, concurrency=concurrency)
    lock = threading.Lock()
    started = [0]
    deadline = time.monotonic() + time_limit

    def worker(index: int) -> None:
        while not stop.is_set():
            with lock:
                if started[0] >= count:
                    return
                if time.monotonic() >= deadline:
                    m.timed_out = True
                    return
                started[0] += 1
            timer = _Timer()
            t0 = time.perf_counter()
            try:
                operation(index, timer.timed)
            except Exception as err:  # noqa: BLE001 - every failure is counted
                m.record_error(err, timer.step, f"thread {index}")
                continue
            elapsed = time.perf_counter() - t0
            with m.lock:
                m.ok += 1
                m.latencies.append(elapsed)
                for step, seconds in timer.times.items():
                    m.steps.setdefault(step, []).append(seconds)

    window = benchlib.CpuWindow(cpu_probe)
    t_start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency, "fin") as executor:
        benchlib._join([executor.submit(worker, i) for i in range(concurrency)], stop)
    m.wall_s = time.perf_counter() - t_start
    window.close(m)
    m.interrupted = stop.is_set()
    if count - started[0]:
        m.notes.append(f"{count - started[0]} not started")
    return m


def measure(
    url: str,
    args: argparse.Namespace,
    stop: threading.Event,
    cpu_probe: benchlib.CpuProbe | None,
) -> list[benchlib.Measurement]:
    keys = list(FINANCIAL_KEYS[: args.customers])
    print(f"-- setup (not timed): issuing {len(keys)} financial certificates", flush=True)
    holders = issue_all(url, keys)
    if not holders:
        raise RuntimeError("no financial certificate could be issued")
    results: list[benchlib.Measurement] = []
    clients: list[CenterClient] = []
    lock = threading.Lock()
    local = threading.local()

    def client() -> CenterClient:
        if not hasattr(local, "client"):
            local.client = CenterClient(url, timeout=benchlib.REQUEST_TIMEOUT_S, locale="en")
            with lock:
                clients.append(local.client)
        return local.client  # type: ignore[no-any-return]

    def holder(index: int) -> Holder:
        return holders[index % len(holders)]

    def capped(concurrency: int, what: str) -> int:
        if concurrency > len(holders):
            print(f"   {what}: concurrency lowered to {len(holders)} (one thread per customer)")
            return len(holders)
        return concurrency

    def show(m: benchlib.Measurement, steps: tuple[str, ...], note: str) -> None:
        m.notes.append(note)
        results.append(m)
        print(benchlib.report(m, steps), flush=True)
        if m.interrupted:
            raise KeyboardInterrupt

    pin_note = "each includes one argon2id PIN verification on the server"
    try:
        for concurrency in (1, capped(4, "login")):
            show(
                run_timed(
                    f"fin-login c{concurrency}",
                    lambda i, timed: login_once(client(), holder(i), timed),
                    count=args.logins,
                    concurrency=concurrency,
                    time_limit=args.time_limit,
                    stop=stop,
                    cpu_probe=cpu_probe,
                ),
                LOGIN_STEPS,
                pin_note,
            )
        concurrency = capped(args.concurrency, "signing")
        show(
            run_timed(
                f"fin-sign c{concurrency}",
                lambda i, timed: sign_once(client(), holder(i), timed),
                count=args.signings,
                concurrency=concurrency,
                time_limit=args.time_limit,
                stop=stop,
                cpu_probe=cpu_probe,
            ),
            SIGN_STEPS,
            pin_note + " (authorize); the 1 KiB document is signed by the cloud key + CMS",
        )
    finally:
        for c in clients:
            c.close()
    with httpx.Client(base_url=url, timeout=benchlib.REQUEST_TIMEOUT_S) as warm:
        for path in PAGES:
            warm.get(path)  # first render of each template is not counted
    for path in PAGES:
        pages: list[httpx.Client] = []
        per_thread = threading.local()

        def page(
            i: int,
            timed: Timed,
            path: str = path,
            pages: list[httpx.Client] = pages,
            per_thread: threading.local = per_thread,
        ) -> None:
            if not hasattr(per_thread, "http"):
                per_thread.http = httpx.Client(base_url=url, timeout=benchlib.REQUEST_TIMEOUT_S)
                with lock:
                    pages.append(per_thread.http)
            page_once(per_thread.http, path, timed)

        try:
            show(
                run_timed(
                    f"page:{path} c{args.page_concurrency}",
                    page,
                    count=args.pages,
                    concurrency=args.page_concurrency,
                    time_limit=args.time_limit,
                    stop=stop,
                    cpu_probe=cpu_probe,
                ),
                (),
                "server-rendered HTML (Jinja2), one keep-alive connection per thread",
            )
        finally:
            for http in pages:
                http.close()
    return results


def summary(results: list[benchlib.Measurement]) -> str:
    rows = []
    for m in results:
        lat = benchlib.summary_ms(m.latencies)
        ms = [f"{lat[k]:.1f}" if lat["n"] else "-" for k in ("p50", "p95", "p99", "max")]
        busy = f"{m.server_cpu_s / m.wall_s:.2f}" if m.server_cpu_s and m.wall_s > 0 else "-"
        rows.append(
            [
                m.name,
                f"{m.ok}/{m.requested}",
                sum(m.errors.values()),
                f"{m.wall_s:.1f}",
                f"{m.throughput:.2f}",
                *ms,
                busy,
            ]
        )
    headers = ("measure", "ok", "err", "wall s", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms")
    return benchlib.table((*headers, "srv cores"), rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0],
        epilog="Example: .venv/bin/python bench/financial.py --logins 40 --signings 40",
    )
    parser.add_argument("--workers", type=int, default=1, help="server workers (default 1)")
    parser.add_argument(
        "--customers",
        type=int,
        default=len(FINANCIAL_KEYS),
        help=f"demo customers to issue for, at most {len(FINANCIAL_KEYS)} (default all)",
    )
    parser.add_argument("--logins", type=int, default=60, help="logins per concurrency level")
    parser.add_argument("--signings", type=int, default=40, help="remote document signings")
    parser.add_argument("--concurrency", type=int, default=4, help="signings in flight (default 4)")
    parser.add_argument("--pages", type=int, default=200, help="GETs per page (default 200)")
    parser.add_argument("--page-concurrency", type=int, default=4, help="default 4")
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="seconds per measurement (default 120)"
    )
    parser.add_argument("--startup-timeout", type=float, default=90.0)
    parser.add_argument("--stop-timeout", type=float, default=15.0)
    parser.add_argument(
        "--url", default=None, help="measure this running center (127.0.0.1 only; demo world)"
    )
    args = parser.parse_args()
    if not 1 <= args.customers <= len(FINANCIAL_KEYS):
        parser.error(f"--customers must be 1..{len(FINANCIAL_KEYS)}")
    if min(args.workers, args.logins, args.signings, args.concurrency, args.pages) < 1:
        parser.error("counts, --workers and --concurrency must be >= 1")
    if args.page_concurrency < 1 or args.time_limit <= 0:
        parser.error("--page-concurrency must be >= 1 and --time-limit > 0")

    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    benchlib.print_lines(benchlib.machine_facts()[:2])
    print(
        f"argon2id hash (this machine, the policy's parameters): "
        f"{benchlib.argon2_hash_ms():.1f} ms — one per financial login and per signing",
        flush=True,
    )
    stop = threading.Event()
    results: list[benchlib.Measurement] = []
    failure = ""
    server: Server | None = None
    try:
        with benchlib.sigterm_as_interrupt():
            if args.url is not None:
                url = benchlib.require_local(args.url)
                print(f"\n=== server: {url} (external; settings unknown)", flush=True)
                results = measure(url, args, stop, None)
            else:
                world = Path(str(resources.files("certcenter.simulators") / "demo_world.toml"))
                with tempfile.TemporaryDirectory(prefix="certcenter-bench-fin-") as tmp:
                    server = Server(args.workers, Path(tmp) / "data", world, Path(tmp) / "log")
                    print(f"\n=== {server.describe()}", flush=True)
                    try:
                        up = server.start(args.startup_timeout)
                        print(f"    up in {up:.1f} s", flush=True)
                        results = measure(server.url, args, stop, server.cpu_seconds)
                    finally:
                        print(f"    server {server.stop(args.stop_timeout)}", flush=True)
                        run = Run(label="financial", server="")
                        scan_log(server.log_path, run)
                        if run.statuses:
                            print(f"    HTTP statuses {dict(sorted(run.statuses.items()))}")
                        for line in run.log_problems:
                            print(f"   | {line}")
    except KeyboardInterrupt:
        stop.set()
        failure = "interrupted"
        print("\ninterrupted: server stopped; partial figures follow", file=sys.stderr)
    except (RuntimeError, benchlib.BenchFailureError) as err:
        failure = str(err)
    if results:
        print("\n=== summary")
        print(summary(results))
    if failure == "interrupted":
        raise SystemExit(130)
    if failure:
        raise SystemExit(f"bench stopped: {failure}")


if __name__ == "__main__":
    main()
