"""certcenter next to cfssl: the same requests, the same key type, the same load generator.

    .venv/bin/python bench/compare.py                      # 10 s per measurement, 16 in flight
    .venv/bin/python bench/compare.py --seconds 5 --concurrency 8 --workers 1
    .venv/bin/python bench/compare.py --profile /tmp/profiles   # also py-spy the center

Both servers run on 127.0.0.1, on free ports, started and stopped by this script (also on
Ctrl-C, SIGTERM and errors):

certcenter
    ``certcenter serve --workers N`` on a fresh data directory and a generated world
    (``run_all.Server``): its issuing CA and delegated OCSP responder are ECDSA P-256.
cfssl (Debian ``golang-cfssl``)
    a CA made by ``cfssl gencert -initca`` with an ECDSA P-256 key, a delegated OCSP
    responder certificate (``ocsp signing``) and one leaf signed by it, the leaf's
    response pre-signed by ``cfssl ocspsign`` into a responses file served by
    ``cfssl ocspserve``, and ``cfssl serve`` for ``/api/v1/cfssl/sign``.

Measurements, one after the other, each with its own warm-up that is not counted:

``OCSP POST``
    ``POST`` of a DER OCSP request without nonce (SHA-1 CertID, as OpenSSL and RFC 5019
    clients send it) for a good certificate: both answer with a pre-signed response
    (certcenter from the responses each worker holds in memory, cfssl from its responses
    file).
``OCSP GET``
    the same request base64-encoded in the path.
``CSR signing``
    certcenter: the ``csr`` step of enrollments already brought to ``credentials_set``
    (``benchlib.measure_signings``: validate the CSR, lint, write the intent, sign with the
    issuing CA, activate, bind the device); cfssl: ``POST /api/v1/cfssl/sign`` with a P-256
    CSR. certcenter's signings are counted (``--sign-count``, each needs a prepared
    enrollment), cfssl's run for ``--seconds``; both give requests per second.

Load generators: ``wrk`` (Debian) with a Lua script drives both OCSP rows of both servers
and cfssl's signing when it is installed. certcenter's signings are driven by the Python
generator of ``benchlib.measure_signings`` (one thread and one keep-alive httpx connection
per request in flight; each request is a different enrollment with its own token); without
wrk every row uses the Python generator (``python_drive``, built the same way). The line
``python load generator`` shows the rate the Python generator reaches against cfssl's
``ocspserve`` (a Go lookup of a pre-signed answer): its own ceiling, to be read against the
rows it drives. The table's notes say which generator drove which figure.

Before each measurement one request is sent and its answer read (OCSP: successful, the
certificate's serial, status good; signing: a certificate); a server that fails it gets
``n/a`` with the reason instead of a figure. Nothing is asserted: a slow machine gives slow
figures. When cfssl or wrk is not installed, a line says so and certcenter's figures are
still printed.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import benchlib
import goals
import httpx
import ocsp as ocsp_bench
import worldgen
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from run_all import Run, Server, _free_port, scan_log

OCSP_REQUEST = "application/ocsp-request"
PEER = "cfssl"
LINE_NUMBER = re.compile(r":\d+\)$")

#: wrk's Lua script: POST a body read from a file when COMPARE_BODY is set, and print the
#: figures as one JSON line at the end (latencies in microseconds).
WRK_SCRIPT = r"""
local body_file = os.getenv("COMPARE_BODY")
if body_file ~= nil and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = os.getenv("COMPARE_CONTENT_TYPE")
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'COMPARE {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"status": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""


# ------------------------------------------------------------------ figures and the table


@dataclass
class Figure:
    """One server's result for one metric: a rate and latencies, or why there is none."""

    rate: float | None = None  # successful requests per second
    p50_ms: float | None = None
    p99_ms: float | None = None
    ok: int = 0
    errors: int = 0
    tool: str = ""
    missing: str = ""  # why there is no figure
    server_cores: float | None = None  # the server's CPU seconds per second while measured

    @classmethod
    def absent(cls, why: str) -> Figure:
        return cls(missing=why)

    @classmethod
    def of(cls, m: benchlib.Measurement, tool: str) -> Figure:
        lat = benchlib.summary_ms(m.latencies)
        return cls(
            rate=m.throughput if m.ok else None,
            p50_ms=lat.get("p50"),
            p99_ms=lat.get("p99"),
            ok=m.ok,
            errors=sum(m.errors.values()) + m.aborted,
            tool=tool,
            missing="" if m.ok else f"no successful request ({dict(m.errors) or 'none sent'})",
            server_cores=(
                m.server_cpu_s / m.wall_s if m.server_cpu_s is not None and m.wall_s > 0 else None
            ),
        )


@dataclass
class Row:
    metric: str
    ours: Figure
    peer: Figure


def ratio(ours: float | None, peer: float | None) -> str:
    """certcenter's rate divided by the peer's, e.g. ``0.25x``; ``-`` when either is missing."""
    if ours is None or peer is None or peer <= 0 or math.isnan(ours) or math.isnan(peer):
        return "-"
    value = ours / peer
    if value >= 10:
        return f"{value:.0f}x"
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"  # 0.0048x, not 0.00x


def _num(value: float | None, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"


def _cells(f: Figure) -> list[str]:
    if f.rate is None:
        return ["n/a", "-", "-"]
    return [_num(f.rate, 0), _num(f.p50_ms, 2), _num(f.p99_ms, 2)]


def table_text(rows: Sequence[Row]) -> str:
    """The comparison table, then one line per missing figure saying why."""
    text = benchlib.table(
        (
            "metric",
            "certcenter req/s",
            "p50 ms",
            "p99 ms",
            f"{PEER} req/s",
            "p50 ms",
            "p99 ms",
            f"certcenter/{PEER}",
        ),
        [
            [r.metric, *_cells(r.ours), *_cells(r.peer), ratio(r.ours.rate, r.peer.rate)]
            for r in rows
        ],
    )
    notes = []
    for r in rows:
        tools = {who: f.tool for who, f in (("certcenter", r.ours), (PEER, r.peer)) if f.tool}
        cores = {
            who: f.server_cores
            for who, f in (("certcenter", r.ours), (PEER, r.peer))
            if f.server_cores is not None
        }
        if tools:
            notes.append(
                f"  {r.metric}: load by "
                + ", ".join(f"{tool} ({who})" for who, tool in tools.items())
                + (
                    "; server CPU " + ", ".join(f"{who} {n:.2f} cores" for who, n in cores.items())
                    if cores
                    else ""
                )
            )
        for who, f in (("certcenter", r.ours), (PEER, r.peer)):
            if f.rate is None:
                notes.append(f"  {r.metric}, {who}: n/a - {f.missing}")
            elif f.errors:
                notes.append(f"  {r.metric}, {who}: {f.errors} failed requests not counted")
    return "\n".join([text, *notes])


# ------------------------------------------------------------------ load generators


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def wrk_figure(
    wrk: str,
    url: str,
    *,
    seconds: float,
    concurrency: int,
    work: Path,
    body: bytes | None = None,
    content_type: str = OCSP_REQUEST,
) -> Figure:
    """``wrk`` for ``seconds`` with ``concurrency`` connections (2 threads at most)."""
    script = work / "compare.lua"
    script.write_text(WRK_SCRIPT, "utf-8")
    env = dict(os.environ, COMPARE_BODY="", COMPARE_CONTENT_TYPE=content_type)
    if body is not None:
        (work / "body.der").write_bytes(body)
        env["COMPARE_BODY"] = str(work / "body.der")
    threads = max(1, min(2, concurrency))
    command = [
        wrk,
        f"-t{threads}",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        f"{benchlib.REQUEST_TIMEOUT_S:.0f}s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("COMPARE ")), None)
    if done.returncode != 0 or line is None:
        return Figure.absent(f"wrk failed ({done.returncode}): {done.stderr.strip()[:200]}")
    got = json.loads(line.removeprefix("COMPARE "))
    failed = sum(got[k] for k in ("status", "connect", "read", "write", "timeout"))
    ok = max(got["requests"] - got["status"], 0)
    seconds_run = got["duration_us"] / 1e6
    return Figure(
        rate=ok / seconds_run if ok and seconds_run > 0 else None,
        p50_ms=got["p50_us"] / 1000,
        p99_ms=got["p99_us"] / 1000,
        ok=ok,
        errors=failed,
        tool="wrk",
        missing="" if ok else f"every answer failed ({failed} errors)",
    )


Send = Callable[[httpx.Client], None]


def with_cpu(probe: benchlib.CpuProbe, measure: Callable[[], Figure]) -> Figure:
    """``measure()``, with the server's CPU (cores busy on average) while it ran."""
    cpu, wall = probe(), time.perf_counter()
    figure = measure()
    wall = time.perf_counter() - wall
    if wall > 0:
        figure.server_cores = (probe() - cpu) / wall
    return figure


def python_drive(
    name: str, base_url: str, send: Send, *, seconds: float, concurrency: int
) -> benchlib.Measurement:
    """The Python load generator: ``concurrency`` threads, one keep-alive connection each,
    each sending ``send`` back to back for ``seconds``; ``send`` raises on a bad answer."""
    m = benchlib.Measurement(name, requested=0, concurrency=concurrency)
    stop = threading.Event()
    clients = [
        httpx.Client(base_url=base_url, timeout=benchlib.REQUEST_TIMEOUT_S)
        for _ in range(concurrency)
    ]
    try:
        for client in clients:  # connections open before the clock starts
            with contextlib.suppress(httpx.HTTPError):
                client.get("/")

        def worker(client: httpx.Client) -> None:
            while not stop.is_set() and time.monotonic() < deadline:
                t0 = time.perf_counter()
                try:
                    send(client)
                except Exception as err:  # noqa: BLE001 - every failure is counted
                    m.record_error(err, name, "")
                else:
                    elapsed = time.perf_counter() - t0
                    with m.lock:
                        m.ok += 1
                        m.latencies.append(elapsed)

        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        with concurrent.futures.ThreadPoolExecutor(concurrency, "drive") as executor:
            futures = [executor.submit(worker, c) for c in clients]
            try:
                for future in concurrent.futures.as_completed(futures):
                    future.result()
            except KeyboardInterrupt:
                stop.set()
                m.interrupted = True
                concurrent.futures.wait(futures)
                raise
        m.wall_s = time.perf_counter() - started
    finally:
        for client in clients:
            client.close()
    m.requested = m.ok + sum(m.errors.values())
    return m


# ------------------------------------------------------------------ OCSP, both servers


@dataclass
class OcspTarget:
    """Where a server answers OCSP, and for which certificate."""

    base_url: str
    post_path: str
    get_prefix: str
    certificate: x509.Certificate
    issuer: x509.Certificate

    @property
    def request_der(self) -> bytes:
        return ocsp_bench._request(self.certificate, self.issuer, None)

    @property
    def get_path(self) -> str:
        encoded = base64.b64encode(self.request_der).decode("ascii")
        return self.get_prefix + urllib.parse.quote(encoded, safe="")

    def send_post(self, client: httpx.Client) -> None:
        answer = client.post(
            self.post_path, content=self.request_der, headers={"Content-Type": OCSP_REQUEST}
        )
        self._read(answer)

    def send_get(self, client: httpx.Client) -> None:
        self._read(client.get(self.get_path))

    def _read(self, answer: httpx.Response) -> None:
        if answer.status_code != 200:
            raise benchlib.BenchFailureError(f"HTTP_{answer.status_code}")
        ocsp_bench._check(answer.content, self.certificate.serial_number, None)


def ocsp_figure(
    target: OcspTarget,
    method: str,
    args: argparse.Namespace,
    wrk: str | None,
    work: Path,
    probe: benchlib.CpuProbe,
) -> Figure:
    send = target.send_post if method == "POST" else target.send_get
    with httpx.Client(base_url=target.base_url, timeout=benchlib.REQUEST_TIMEOUT_S) as client:
        try:
            send(client)  # the pre-check: one answer read and verified
        except Exception as err:  # noqa: BLE001 - reported in the table
            return Figure.absent(f"the pre-check request failed: {err}")
    if wrk is not None:
        path = target.post_path if method == "POST" else target.get_path
        body = target.request_der if method == "POST" else None
        url = target.base_url + path
        wrk_figure(
            wrk, url, seconds=args.warmup, concurrency=args.concurrency, work=work, body=body
        )
        return with_cpu(
            probe,
            lambda: wrk_figure(
                wrk, url, seconds=args.seconds, concurrency=args.concurrency, work=work, body=body
            ),
        )
    python_drive("warm-up", target.base_url, send, seconds=args.warmup, concurrency=2)
    return with_cpu(
        probe,
        lambda: Figure.of(
            python_drive(
                f"OCSP {method}",
                target.base_url,
                send,
                seconds=args.seconds,
                concurrency=args.concurrency,
            ),
            "python",
        ),
    )


# ------------------------------------------------------------------ the peer: cfssl


def make_csr(common_name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


class Cfssl:
    """A P-256 CA, responder and leaf made with cfssl; ``ocspserve`` and ``serve`` started."""

    CONFIG: ClassVar[dict[str, object]] = {
        "signing": {
            "default": {"expiry": "8760h", "usages": ["digital signature"]},
            "profiles": {
                "ocsp": {"expiry": "8760h", "usages": ["digital signature", "ocsp signing"]}
            },
        }
    }

    def __init__(self, cfssl: str, work: Path) -> None:
        self.cfssl = cfssl
        self.work = work
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ocsp_url = ""
        self.api_url = ""

    def _json(self, *arguments: str) -> dict[str, str]:
        done = subprocess.run(
            [self.cfssl, *arguments],
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"cfssl {arguments[0]} failed: {done.stderr.strip()[-300:]}")
        result: dict[str, str] = json.loads(done.stdout)
        return result

    def _gencert(self, stem: str, common_name: str, *extra: str) -> None:
        request = self.work / f"{stem}.json"
        request.write_text(json.dumps({"CN": common_name, "key": {"algo": "ecdsa", "size": 256}}))
        made = self._json("gencert", *extra, str(request))
        (self.work / f"{stem}.pem").write_text(made["cert"])
        (self.work / f"{stem}-key.pem").write_text(made["key"])

    def prepare(self) -> None:
        (self.work / "config.json").write_text(json.dumps(self.CONFIG))
        self._gencert("ca", "cfssl bench CA", "-initca")
        signed_by_ca = ("-ca", "ca.pem", "-ca-key", "ca-key.pem", "-config", "config.json")
        self._gencert("responder", "cfssl bench OCSP responder", *signed_by_ca, "-profile", "ocsp")
        self._gencert("leaf", "cfssl bench leaf", *signed_by_ca)
        response = self._json(
            "ocspsign",
            "-ca",
            "ca.pem",
            "-responder",
            "responder.pem",
            "-responder-key",
            "responder-key.pem",
            "-cert",
            "leaf.pem",
            "-status",
            "good",
        )
        (self.work / "responses").write_text(response["ocspResponse"] + "\n")

    def _start(self, log: str, *arguments: str) -> str:
        port = _free_port()
        with (self.work / log).open("wb") as out:
            proc = subprocess.Popen(
                [self.cfssl, *arguments, "-address", "127.0.0.1", "-port", str(port)],
                cwd=self.work,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"cfssl {arguments[0]} exited with {proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return f"http://127.0.0.1:{port}"
            time.sleep(0.1)
        raise RuntimeError(f"cfssl {arguments[0]} did not listen within 30 s")

    def start(self) -> None:
        self.ocsp_url = self._start("ocspserve.log", "ocspserve", "-responses", "responses")
        self.api_url = self._start(
            "serve.log", "serve", "-ca", "ca.pem", "-ca-key", "ca-key.pem", "-config", "config.json"
        )

    def ocsp_target(self) -> OcspTarget:
        return OcspTarget(
            self.ocsp_url,
            "/",
            "/",
            x509.load_pem_x509_certificate((self.work / "leaf.pem").read_bytes()),
            x509.load_pem_x509_certificate((self.work / "ca.pem").read_bytes()),
        )

    def cpu_seconds(self) -> float:
        return sum(benchlib.process_group_cpu(p.pid) for p in self.procs if p.poll() is None)

    def stop(self) -> str:
        outcomes = []
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
            outcomes.append(str(proc.returncode))
        return f"stopped ({', '.join(outcomes) or 'nothing started'})"


def cfssl_sign_figure(
    api_url: str, args: argparse.Namespace, wrk: str | None, work: Path, probe: benchlib.CpuProbe
) -> Figure:
    payload = json.dumps({"certificate_request": make_csr("홍길동")}).encode()

    def send(client: httpx.Client) -> None:
        answer = client.post(
            "/api/v1/cfssl/sign", content=payload, headers={"Content-Type": "application/json"}
        )
        if answer.status_code != 200:
            raise benchlib.BenchFailureError(f"HTTP_{answer.status_code}")
        if not answer.json().get("result", {}).get("certificate"):
            raise benchlib.BenchFailureError("NO_CERTIFICATE")

    with httpx.Client(base_url=api_url, timeout=benchlib.REQUEST_TIMEOUT_S) as client:
        try:
            send(client)
        except Exception as err:  # noqa: BLE001 - reported in the table
            return Figure.absent(f"the pre-check request failed: {err}")
    if wrk is not None:
        url = f"{api_url}/api/v1/cfssl/sign"

        def drive(seconds: float) -> Figure:
            return wrk_figure(
                wrk,
                url,
                seconds=seconds,
                concurrency=args.concurrency,
                work=work,
                body=payload,
                content_type="application/json",
            )

        drive(args.warmup)
        return with_cpu(probe, lambda: drive(args.seconds))
    python_drive("warm-up", api_url, send, seconds=args.warmup, concurrency=2)
    return with_cpu(
        probe,
        lambda: Figure.of(
            python_drive(
                "CSR signing", api_url, send, seconds=args.seconds, concurrency=args.concurrency
            ),
            "python",
        ),
    )


# ------------------------------------------------------------------ profiles


class Profile:
    """``py-spy record`` of the center's processes while one measurement runs; collapsed
    stacks to a file, the top frames summarised afterwards. Only samples of threads holding
    the GIL (``--gil``): where the Python CPU goes, not threads waiting for work. With
    ``BENCH_PROFILE_IDLE=1`` in the environment every thread is sampled, idle ones too
    (``--idle``): where requests wait (a lock, the writers' turn, a queue)."""

    def __init__(self, py_spy: str, pid: int, out: Path) -> None:
        self.out = out
        self.proc = subprocess.Popen(
            [
                py_spy,
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--nonblocking",
                *(["--idle"] if os.environ.get("BENCH_PROFILE_IDLE") else ["--gil"]),
                "--rate",
                "97",
                "--format",
                "raw",
                "--output",
                str(out),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)  # attached before the load starts

    def finish(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if not self.out.exists():
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            return f"   py-spy wrote nothing ({self.proc.returncode}): {err.strip()[:300]}"
        return summarise_profile(self.out)


def summarise_profile(path: Path, top: int = 12) -> str:
    """The functions where the samples were (self) and those on the stack (total), and the
    center's own functions on the stack."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text("utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        # one entry per function: "name (file)", the line numbers dropped
        frames = [LINE_NUMBER.sub(")", f) for f in stack.split(";") if not f.startswith("process ")]
        if not frames:
            continue
        samples += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    if not samples:
        return f"   {path}: no samples"
    lines = [f"   {path}: {samples} samples"]
    lines.append(
        benchlib.table(
            ("self %", "function (file)"),
            [[f"{100 * n / samples:.1f}", frame[:110]] for frame, n in own.most_common(top)],
            left=0,
        )
    )
    ours = [(f, n) for f, n in total.most_common() if "(certcenter/" in f][:top]
    lines.append(
        benchlib.table(
            ("total %", "certcenter function (file)"),
            [[f"{100 * n / samples:.1f}", frame[:110]] for frame, n in ours],
            left=0,
        )
    )
    return "\n".join(lines)


@contextlib.contextmanager
def profiled(py_spy: str | None, server: Server, out: Path | None) -> Iterator[None]:
    if py_spy is None or out is None or server.proc is None:
        yield
        return
    profile = Profile(py_spy, server.proc.pid, out)
    try:
        yield
    finally:
        print(profile.finish(), flush=True)


# ------------------------------------------------------------------ certcenter


def center_ocsp_target(url: str, people: benchlib.People, work: Path) -> OcspTarget:
    certificate = ocsp_bench.issue_one(url, people, work)
    return OcspTarget(url, "/ocsp", "/ocsp/", certificate, ocsp_bench.issuer_of(url))


def center_sign_figure(
    server: Server,
    people: benchlib.People,
    args: argparse.Namespace,
    stop: threading.Event,
    around_timed: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
) -> Figure:
    warm = people.take(1, args.warmup_enrollments, "the warm-up")
    signers = people.take(1 + args.warmup_enrollments, args.sign_count, "the signings")
    if args.warmup_enrollments:
        print(
            "   "
            + benchlib.warm_up(
                server.url,
                warm,
                count=args.warmup_enrollments,
                concurrency=min(args.concurrency, args.warmup_enrollments),
                time_limit=args.time_limit,
                stop=stop,
            ),
            flush=True,
        )
    m = benchlib.measure_signings(
        server.url,
        signers,
        count=args.sign_count,
        concurrency=args.concurrency,
        time_limit=args.time_limit,
        stop=stop,
        cpu_probe=server.cpu_seconds,
        around_timed=around_timed,
    )
    for note in m.notes:
        print(f"   note: {note}", flush=True)
    for sample in m.error_samples:
        print(f"   error: {sample}", flush=True)
    return Figure.of(m, "python")


# ------------------------------------------------------------------ the run


def generator_ceiling(target: OcspTarget, args: argparse.Namespace) -> str:
    m = python_drive(
        "ceiling", target.base_url, target.send_post, seconds=args.warmup, concurrency=2
    )
    m = python_drive(
        "ceiling",
        target.base_url,
        target.send_post,
        seconds=min(args.seconds, 5.0),
        concurrency=args.concurrency,
    )
    lat = benchlib.summary_ms(m.latencies)
    return (
        f"python load generator: {m.throughput:.0f} req/s (p50 {_num(lat.get('p50'), 2)} ms) "
        f"against {target.base_url} OCSP POST, {args.concurrency} threads: the ceiling of the "
        "Python generator (certcenter's signings, and every row without wrk)"
    )


def run(
    args: argparse.Namespace, stop: threading.Event, goal: goals.GoalFigures | None = None
) -> list[Row]:
    cfssl = _tool("cfssl")
    wrk = _tool("wrk")
    py_spy = _tool("py-spy") if args.profile else None
    if cfssl is None:
        print(
            f"{PEER} is NOT installed (apt-get install golang-cfssl): its columns stay n/a, "
            "certcenter's figures follow",
            flush=True,
        )
    if wrk is None:
        print(
            "wrk is NOT installed (apt-get install wrk): every row uses the Python load "
            "generator (its ceiling is measured against cfssl's ocspserve when cfssl is there)",
            flush=True,
        )
    if args.profile and py_spy is None:
        print("py-spy is NOT installed (pip install py-spy): no profiles", flush=True)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    versions = [f"{name}: {path}" for name, path in (("cfssl", cfssl), ("wrk", wrk)) if path]
    benchlib.print_lines(benchlib.machine_facts() + versions)

    missing_peer = Figure.absent(f"{PEER} is not installed")
    ours: dict[str, Figure] = {}
    theirs: dict[str, Figure] = {}
    ceiling = ""
    tmp = Path(tempfile.mkdtemp(prefix="certcenter-compare-"))
    server: Server | None = None
    peer: Cfssl | None = None
    try:
        people_count = 1 + args.warmup_enrollments + args.sign_count
        people_count += args.enrol_count if goal is not None else 0
        world = worldgen.write_world(tmp / "world.toml", people_count)
        server = Server(args.workers, tmp / "data", world, tmp / "server.log")
        print(server.describe(), flush=True)
        print(f"    up in {server.start(args.startup_timeout):.1f} s", flush=True)
        people = benchlib.load_people(world)
        (tmp / "keys").mkdir()
        target = center_ocsp_target(server.url, people, tmp / "keys")
        print(f"    certificate {target.certificate.serial_number:X} issued", flush=True)
        for method in ("POST", "GET"):
            print(f"-- certcenter OCSP {method}", flush=True)
            out = args.profile / f"certcenter-ocsp-{method.lower()}.txt" if args.profile else None
            with profiled(py_spy if method == "POST" else None, server, out):
                ours[f"OCSP {method}"] = ocsp_figure(
                    target, method, args, wrk, tmp, server.cpu_seconds
                )
        print("-- certcenter CSR signing", flush=True)
        out = args.profile / "certcenter-signing.txt" if args.profile else None
        running = server
        ours["CSR signing"] = center_sign_figure(
            running, people, args, stop, around_timed=lambda: profiled(py_spy, running, out)
        )
        if stop.is_set():  # the signings stopped on Ctrl-C / SIGTERM and kept their figures
            raise KeyboardInterrupt
        if goal is not None:
            print("-- certcenter whole enrolments (goal)", flush=True)
            first = 1 + args.warmup_enrollments + args.sign_count
            goal.enrolment = goals.measure_enrolment(
                running,
                people.take(first, args.enrol_count, "the enrolments"),
                count=args.enrol_count,
                concurrency=args.goal_concurrency,
                time_limit=args.time_limit,
                stop=stop,
                around=lambda name: profiled(py_spy, running, _profile_file(args, name)),
            )
            if stop.is_set():
                raise KeyboardInterrupt
        print(f"    server {server.stop(args.stop_timeout)}", flush=True)
        server_run = _scan(server)
        server = None
        if server_run:
            print(server_run, flush=True)

        if cfssl is not None:
            (tmp / "cfssl").mkdir()
            peer = Cfssl(cfssl, tmp / "cfssl")
            peer.prepare()
            peer.start()
            print(f"{PEER}: ocspserve {peer.ocsp_url}, serve {peer.api_url} (ECDSA P-256 CA)")
            peer_target = peer.ocsp_target()
            for method in ("POST", "GET"):
                print(f"-- {PEER} OCSP {method}", flush=True)
                theirs[f"OCSP {method}"] = ocsp_figure(
                    peer_target, method, args, wrk, tmp, peer.cpu_seconds
                )
            print(f"-- {PEER} CSR signing", flush=True)
            theirs["CSR signing"] = cfssl_sign_figure(
                peer.api_url, args, wrk, tmp, peer.cpu_seconds
            )
            ceiling = generator_ceiling(peer_target, args)
            print(f"    {PEER} {peer.stop()}", flush=True)
            peer = None
        if goal is not None:
            print("-- certcenter logins (goal), a server of their own", flush=True)
            goal.hash_ms = benchlib.argon2_hash_ms()
            holder: list[Server] = []
            goals.measure_login_goals(
                goal,
                workers=args.workers,
                count=args.login_count,
                concurrency=args.goal_concurrency,
                time_limit=args.time_limit,
                around=lambda name: _profiled_latest(py_spy, holder, _profile_file(args, name)),
                startup_timeout=args.startup_timeout,
                stop_timeout=args.stop_timeout,
                started=holder.append,
            )
    except KeyboardInterrupt:
        stop.set()
        print("interrupted: servers stopped; the figures so far follow", flush=True)
    finally:
        if server is not None:
            print(f"    server {server.stop(args.stop_timeout)}", flush=True)
        if peer is not None:
            print(f"    {PEER} {peer.stop()}", flush=True)
        if args.keep_data:
            print(f"    kept {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if ceiling:
        print(ceiling)
    rows = []
    for metric in ("OCSP POST", "OCSP GET", "CSR signing"):
        if metric in ours or metric in theirs:
            rows.append(
                Row(
                    metric,
                    ours.get(metric, Figure.absent("not measured (interrupted)")),
                    theirs.get(
                        metric,
                        missing_peer
                        if cfssl is None
                        else Figure.absent(
                            "not measured (interrupted)" if stop.is_set() else "not measured"
                        ),
                    ),
                )
            )
    return rows


def _profile_file(args: argparse.Namespace, name: str) -> Path | None:
    return args.profile / f"certcenter-{name}.txt" if args.profile else None


def _profiled_latest(
    py_spy: str | None, servers: list[Server], out: Path | None
) -> contextlib.AbstractContextManager[None]:
    """py-spy the server the goals' logins started last (none yet: no profile)."""
    if not servers:
        return contextlib.nullcontext()
    return profiled(py_spy, servers[-1], out)


def _scan(server: Server) -> str:
    found = Run("compare", "")
    scan_log(server.log_path, found)
    lines = [f"    server HTTP statuses: {dict(found.statuses)}"]
    lines += [f"   | {x}" for x in found.log_problems]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description="certcenter next to cfssl: OCSP and CSR signing, the same load.",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="per measurement")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument("--workers", type=int, default=2, help="certcenter worker processes")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds, not counted")
    parser.add_argument(
        "--sign-count",
        type=int,
        default=128,
        help="certcenter signings (each needs a prepared enrollment; default %(default)s)",
    )
    parser.add_argument(
        "--warmup-enrollments",
        type=int,
        default=4,
        help="whole enrollments before certcenter's signings, not counted",
    )
    parser.add_argument("--time-limit", type=float, default=240.0, help="per phase, seconds")
    parser.add_argument("--startup-timeout", type=float, default=90.0)
    parser.add_argument("--stop-timeout", type=float, default=15.0)
    parser.add_argument(
        "--profile", type=Path, default=None, help="py-spy the center into this folder"
    )
    parser.add_argument(
        "--no-goals",
        dest="goals",
        action="store_false",
        help="leave out the login and enrolment goals' table (goals.py)",
    )
    parser.add_argument("--login-count", type=int, default=400, help="logins per path (goals)")
    parser.add_argument("--enrol-count", type=int, default=32, help="enrolments (goals)")
    parser.add_argument(
        "--goal-concurrency", type=int, default=8, help="logins/enrolments in flight (goals)"
    )
    parser.add_argument("--keep-data", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args()
    if (
        min(args.concurrency, args.workers, args.sign_count) < 1
        or args.seconds <= 0
        or args.warmup < 0
        or args.warmup_enrollments < 0
    ):
        parser.error("--concurrency, --workers, --sign-count >= 1; --seconds > 0")
    stop = threading.Event()
    goal = goals.GoalFigures(hash_ms=0.0, cores=goals.cores()) if args.goals else None
    with benchlib.sigterm_as_interrupt():
        rows = run(args, stop, goal)
    print()
    print(
        f"{args.seconds:.0f} s per measurement, {args.concurrency} in flight, certcenter "
        f"{args.workers} workers; certcenter signings: {args.sign_count} counted; "
        "ratio = certcenter req/s / cfssl req/s"
    )
    print(table_text(rows))
    if goal is not None:
        print()
        print(
            f"goals: certcenter {args.workers} workers, {args.goal_concurrency} in flight, "
            f"{args.login_count} logins per path, {args.enrol_count} enrolments"
        )
        print(goals.goals_table(goal))
    if args.json:
        args.json.write_text(
            json.dumps(
                [{"metric": r.metric, "certcenter": vars(r.ours), PEER: vars(r.peer)} for r in rows]
                + ([{"goals": goals.as_dict(goal)}] if goal is not None else []),
                indent=2,
            ),
            "utf-8",
        )
    if stop.is_set():
        raise SystemExit(130)


if __name__ == "__main__":
    main()
