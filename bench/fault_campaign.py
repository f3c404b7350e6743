"""Fault campaign: kill -9 the real server under mixed load, again and again, and check after
every restart that nothing was lost.

    .venv/bin/python bench/fault_campaign.py                          # SQLite, 20 kills
    .venv/bin/python bench/fault_campaign.py --kills 20 \\
        --database sqlite --database postgresql://postgres@127.0.0.1:5432/test

For each database it starts ``certcenter serve`` (its own process group, a fresh data
directory; on PostgreSQL a fresh database beside the one named, dropped at the end) with the
webhook notification channel pointed at a receiver in this script, then ``--kills`` times:

1. runs mixed load from ``--clients`` threads — whole enrolments of demo customers (re-issue
   with ``move_certificate``), logins and transfers signed by the device, revocations by an
   operator — with the bank app's own client (``certcenter.cli.client``, as bench/benchlib.py
   walks it);
2. after a random moment kills the whole process group with SIGKILL, counting the HTTP
   requests in flight at that instant;
3. starts the server again and checks, through the CLI and the app's own repositories:
   ``certcenter audit verify`` passes; every certificate a client was handed has its record,
   active or later, with the same DER, and every revocation and completed transfer a client
   was told of is there; after ``certcenter jobs run`` no flow is stuck past its expiry
   (an enrolment holding a pending certificate intent, a transfer left ``processing``); and
   the outbox delivers every webhook message: the receiver checks the HMAC of each delivery
   (``X-Certcenter-Signature``) and de-duplicates by its id (``X-Certcenter-Delivery``).

It prints one line per kill and a table of figures: kills, requests in flight at each kill,
what the clients were told, and anything lost (must be 0). Exit status 1 if anything was
lost, a check failed or a signature was bad; deliveries received twice (the sender was
killed between the receiver's answer and marking the message sent) are counted, and the
receiver's de-duplication makes them exactly once. Only 127.0.0.1 is ever loaded; every
phase is bounded in time and every request has a 30 s timeout.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    PIN,
    BenchFailureError,
    BenchPerson,
    BenchStoppedError,
    Walk,
    fresh_database,
    load_people,
    table,
    walk,
)

from certcenter.cli.client import ApiError, CenterClient
from certcenter.cli.keystore import Keystore
from certcenter.config import load_settings
from certcenter.entities import (
    CertificateRecord,
    CertificateStatus,
    Enrollment,
    OutboxMessage,
    Transfer,
)
from certcenter.storage.database import make_engine, make_session_factory
from certcenter.storage.mapping import map_entities
from certcenter.storage.uow import SqlUnitOfWorkFactory
from certcenter.usage.transfers import to_be_signed

CERTCENTER = str(Path(sys.executable).parent / "certcenter")
WEBHOOK_SECRET = "fault-campaign-" + secrets.token_hex(8)
PAYEE = ("088", "110000000002")  # 이서연's account in the demo world
PAYEE_OWNER = "C002"
ENROLMENT_TTL_MINUTES = 1  # short, so that flows cut off by a kill end within the run
TRANSFER_TTL_SECONDS = 30
LIVE_STATUSES = frozenset(
    {
        CertificateStatus.ACTIVE.value,
        CertificateStatus.SUSPENDED.value,
        CertificateStatus.REVOKED.value,
        CertificateStatus.SUPERSEDED.value,
        CertificateStatus.EXPIRED.value,
    }
)
DONE_ENROLMENT_STATES = frozenset({"completed", "failed"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ the webhook receiver


class Receiver(BaseHTTPRequestHandler):
    """The bank's webhook endpoint: checks the HMAC, de-duplicates by delivery id."""

    lock: ClassVar[threading.Lock] = threading.Lock()
    deliveries: ClassVar[Counter[str]] = Counter()  # delivery id -> times received
    bad_signatures: ClassVar[int] = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        expected = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        given = self.headers.get("X-Certcenter-Signature", "")
        delivery = self.headers.get("X-Certcenter-Delivery", "")
        with Receiver.lock:
            if not hmac.compare_digest(expected, given) or not delivery:
                Receiver.bad_signatures += 1
                self.send_response(401)
            else:
                json.loads(body)  # a JSON document, or the handler fails (500, resent)
                Receiver.deliveries[delivery] += 1
                self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


# ------------------------------------------------------------------ the server


class Server:
    """``certcenter serve`` in a process group of its own: SIGKILL takes every worker."""

    def __init__(self, data: Path, database_url: str | None, hook_url: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = data
        self.log = data / "server.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CERTCENTER_")}
        self.env |= {
            "CERTCENTER_DATA_DIR": str(data / "var"),
            "CERTCENTER_HOST": "127.0.0.1",
            "CERTCENTER_PORT": str(self.port),
            "CERTCENTER_NOTIFICATION_CHANNELS": '["sms", "webhook"]',
            "CERTCENTER_WEBHOOK_URL": hook_url,
            "CERTCENTER_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "CERTCENTER_POLICY__NOTIFICATION_RETRY_BASE_SECONDS": "1",
            "CERTCENTER_POLICY__NOTIFICATION_INTERVAL_SECONDS": "1",
            "CERTCENTER_POLICY__ENROLLMENT_TTL_MINUTES": str(ENROLMENT_TTL_MINUTES),
            "CERTCENTER_POLICY__TRANSFER_TTL_SECONDS": str(TRANSFER_TTL_SECONDS),
            # every request comes from 127.0.0.1: the per-address limits stand for one
            # customer's network, not for a load generator (as bench/run_all.py)
            "CERTCENTER_POLICY__SMS_MAX_PER_ADDRESS_HOUR": "1000000",
            "CERTCENTER_POLICY__SMS_MAX_PER_ADDRESS_DAY": "1000000",
            # and the same few demo customers enrol again and again, minutes apart
            "CERTCENTER_POLICY__SMS_RESEND_WAIT_SECONDS": "0",
            "CERTCENTER_POLICY__SMS_MAX_PER_PHONE_HOUR": "1000000",
            "CERTCENTER_POLICY__SMS_MAX_PER_PHONE_DAY": "1000000",
            "CERTCENTER_POLICY__SMS_MAX_PER_PERSON_HOUR": "1000000",
            "CERTCENTER_POLICY__SMS_MAX_PER_PERSON_DAY": "1000000",
        }
        if database_url is not None:
            self.env["CERTCENTER_DATABASE_URL"] = database_url
        self.settings = load_settings(environ=self.env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> float:
        started = time.monotonic()
        with self.log.open("ab") as handle:
            self.process = subprocess.Popen(
                [CERTCENTER, "serve"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                cwd=self.data,
                start_new_session=True,
            )
        while time.monotonic() - started < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            time.sleep(0.2)
        raise RuntimeError(f"the server did not come up: {self.tail()}")

    def kill(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        if self.process is not None:  # no worker outlives the campaign
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CERTCENTER, "--lang", "en", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=self.data,
        )

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


# ------------------------------------------------------------------ the load


@dataclass
class Told:
    """What the clients were told, across all rounds: each must be in the database."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: dict[str, str] = field(default_factory=dict)  # serial -> PEM handed out
    revoked: set[str] = field(default_factory=set)
    transfers: set[str] = field(default_factory=set)  # completed
    refusals: Counter[str] = field(default_factory=Counter)


class InFlight:
    """HTTP requests sent and not yet answered, across the load's clients."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.local = threading.local()

    def hooks(self) -> dict[str, list[Any]]:
        def sent(request: httpx.Request) -> None:
            with self.lock:
                self.count += 1
            self.local.pending = True

        def answered(response: httpx.Response) -> None:
            self.settle()

        return {"request": [sent], "response": [answered]}

    def settle(self) -> None:
        if getattr(self.local, "pending", False):
            self.local.pending = False
            with self.lock:
                self.count -= 1


@dataclass
class Load:
    url: str
    operator_token: str
    people: list[BenchPerson]
    told: Told
    inflight: InFlight
    work: Path
    rng: random.Random
    stop: threading.Event = field(default_factory=threading.Event)
    operations: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)

    def client(self) -> CenterClient:
        client = CenterClient(self.url)
        client.http.event_hooks = self.inflight.hooks()
        return client

    def run(self, person: BenchPerson) -> None:
        """Enrol, log in, transfer, sometimes revoke: over and over until the kill."""
        deadline = time.monotonic() + 600
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                self._one_round(person, deadline)
            except (ApiError, BenchStoppedError, BenchFailureError) as err:
                self.inflight.settle()
                if isinstance(err, ApiError):
                    if err.status in (0, 502, 503) or err.code == "HTTP_ERROR":
                        with self.told.lock:
                            self.told.refusals[f"gone:{err.status}:{err.code}"] += 1
                        return  # the server is gone
                    with self.told.lock:
                        self.told.refusals[err.code] += 1
                    time.sleep(0.2)
            except httpx.HTTPError as exc:
                self.inflight.settle()
                with self.told.lock:
                    self.told.refusals[f"gone:{type(exc).__name__}"] += 1
                return  # the server is gone
            except Exception as exc:  # noqa: BLE001 - a fault of the bench itself: say it
                self.inflight.settle()
                with self.told.lock:
                    self.told.refusals[f"bench:{type(exc).__name__}:{exc}"[:120]] += 1
                return

    def _one_round(self, person: BenchPerson, deadline: float) -> None:
        store = Keystore(self.work / f"{person.key}-{uuid.uuid4().hex[:8]}")
        with self.client() as client:
            w = Walk(person=person, keystore=store, move=True)
            issued = walk(client, w, until="csr", deadline=deadline, stop=self.stop)
            if issued is None:
                raise BenchFailureError("NO_CERTIFICATE")
            with self.told.lock:
                self.told.issued[str(issued["serial"])] = str(issued["certificate"])
            self.operations["enrolment"] += 1
            store.install_certificate(str(issued["certificate"]), list(issued.get("chain", [])))
            device = store.device()
            if device is None:
                raise BenchFailureError("NO_DEVICE")
            challenge = client.call("POST", "/v1/login/challenges", {"device_id": device.device_id})
            session = client.call(
                "POST",
                "/v1/login",
                {
                    "device_id": device.device_id,
                    "challenge": challenge["challenge"],
                    "signature": store.sign(challenge["sign"].encode()),
                    "method": "pin",
                    "pin": PIN,
                },
            )
            client.token = session["token"]
            self.operations["login"] += 1
            if person.key != PAYEE_OWNER:
                self._transfer(client, store, person)
            if self.rng.random() < 0.4:
                with httpx.Client(
                    base_url=self.url, timeout=30, event_hooks=self.inflight.hooks()
                ) as operator:
                    answer = operator.post(
                        f"/v1/operator/certificates/{issued['serial']}/revoke",
                        headers={"Authorization": f"Bearer {self.operator_token}"},
                        json={"reason": "keyCompromise"},
                    )
                if answer.status_code == 200 and answer.json().get("status") == "revoked":
                    with self.told.lock:
                        self.told.revoked.add(str(issued["serial"]))
                    self.operations["revocation"] += 1

    def _transfer(self, client: CenterClient, store: Keystore, person: BenchPerson) -> None:
        prepared = client.call(
            "POST",
            "/v1/transfers",
            {
                "from_bank": person.bank,
                "from_account": person.account,
                "to_bank": PAYEE[0],
                "to_account": PAYEE[1],
                "amount": self.rng.randint(1, 50) * 1000,
                "memo": "fault campaign",
                "medium": "certificate",
            },
        )
        document = base64.b64decode(prepared["document_b64"])
        done = client.call(
            "POST",
            f"/v1/transfers/{prepared['id']}/confirm",
            {"signature": store.sign(to_be_signed(document)), "pin": PIN},
        )
        if done.get("status") == "completed":
            with self.told.lock:
                self.told.transfers.add(str(done["id"]))
            self.operations["transfer"] += 1


# ------------------------------------------------------------------ the checks


@dataclass
class Check:
    audit_ok: bool = True
    missing_certificates: int = 0  # handed out, but no live record with that DER
    missing_revocations: int = 0
    missing_transfers: int = 0
    stuck_intents: int = 0  # certificate intents pending past their flow's expiry
    stuck_transfers: int = 0  # transfers left processing after the reconciliation
    lost_messages: int = 0  # webhook messages never delivered
    phantom_deliveries: int = 0  # delivered, but no such message in the outbox
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return (
            self.missing_certificates
            + self.missing_revocations
            + self.missing_transfers
            + self.stuck_intents
            + self.stuck_transfers
            + self.lost_messages
            + self.phantom_deliveries
            + (0 if self.audit_ok else 1)
        )


def check(server: Server, told: Told, *, drain_seconds: float) -> Check:
    result = Check()
    verified = server.cli("audit", "verify")
    if verified.returncode != 0:
        result.audit_ok = False
        result.notes.append(f"audit verify: {verified.stdout.strip()} {verified.stderr.strip()}")
    # a flow that ends after the job ran is the next run's to clean: judge by the job's time
    jobs_at = datetime.now(UTC)
    jobs = server.cli("jobs", "run")
    if jobs.returncode != 0:
        result.notes.append(f"jobs run failed: {jobs.stderr.strip()[-300:]}")
    # what an operator does after a crash (the load is stopped, so no server is sending a
    # transfer): every transfer cut off while the bank was asked is settled from its record
    settled = server.cli("transfers", "reconcile", "--all")
    if settled.returncode != 0:
        result.notes.append(f"transfers reconcile failed: {settled.stderr.strip()[-300:]}")
    map_entities()
    engine = make_engine(server.settings.database_url)
    uow_factory = SqlUnitOfWorkFactory(make_session_factory(engine))
    try:
        _check_records(uow_factory, told, result)
        _check_stuck(uow_factory, result, jobs_at)
        _check_outbox(uow_factory, result, drain_seconds)
    finally:
        engine.dispose()
    return result


def _check_records(uow_factory: SqlUnitOfWorkFactory, told: Told, result: Check) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    with told.lock:
        issued, revoked, transfers = dict(told.issued), set(told.revoked), set(told.transfers)
    with uow_factory() as uow:
        for serial, pem in issued.items():
            record = uow.certificates.get(serial)
            der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
            if record is None or record.status not in LIVE_STATUSES or record.der != der:
                result.missing_certificates += 1
                result.notes.append(
                    f"certificate {serial}: handed out, record "
                    f"{'missing' if record is None else record.status}"
                )
        for serial in revoked:
            record = uow.certificates.get(serial)
            if record is None or record.status != CertificateStatus.REVOKED.value:
                result.missing_revocations += 1
                result.notes.append(f"revocation of {serial} lost")
        for transfer_id in transfers:
            transfer = uow.transfers.get(transfer_id)
            if transfer is None or transfer.status != "completed" or not transfer.evidence:
                result.missing_transfers += 1
                result.notes.append(f"transfer {transfer_id} lost")


def _check_stuck(uow_factory: SqlUnitOfWorkFactory, result: Check, now: datetime) -> None:
    """Past its flow's expiry (after ``certcenter jobs run``, started at ``now``) nothing may
    be left hanging: no certificate intent pending whose enrolment was closed or expired when
    the job ran, no transfer left ``processing`` once ``certcenter transfers reconcile --all``
    has run. (A flow that expires while the check runs is the next job's: counting it was a
    false alarm, seen on a loaded machine with the campaign's one-minute flows.)"""
    with uow_factory() as uow:
        session = uow.session  # type: ignore[attr-defined]
        flows = {
            e.id: e
            for e in session.query(Enrollment).all()
            if e.state in DONE_ENROLMENT_STATES or _utc(e.expires_at) <= now
        }
        pending = [
            r
            for r in session.query(CertificateRecord)
            .filter(CertificateRecord.status == CertificateStatus.PENDING.value)  # type: ignore[arg-type]
            .all()
            if r.enrollment_id is None or r.enrollment_id in flows
        ]
        # after the reconciliation, none: each was completed or given back from the bank's record
        processing = session.query(Transfer).filter(Transfer.status == "processing").all()  # type: ignore[arg-type]
    result.stuck_intents = len(pending)
    result.stuck_transfers = len(processing)
    if pending:
        states = Counter(flows[r.enrollment_id].state for r in pending if r.enrollment_id)
        result.notes.append(
            f"{len(pending)} certificate intents pending past their flow's end {dict(states)}"
        )
    if processing:
        result.notes.append(f"{len(processing)} transfers left processing after the reconciliation")


def _check_outbox(uow_factory: SqlUnitOfWorkFactory, result: Check, drain_seconds: float) -> None:
    """Every webhook message is delivered (waits up to ``drain_seconds`` for the sender)."""
    deadline = time.monotonic() + drain_seconds
    while True:
        with uow_factory() as uow:
            session = uow.session  # type: ignore[attr-defined]
            messages = {
                m.id: m.status
                for m in session.query(OutboxMessage)
                .filter(OutboxMessage.channel == "webhook")  # type: ignore[arg-type]
                .all()
            }
        with Receiver.lock:
            received = set(Receiver.deliveries)
        lost = {i for i in messages if i not in received}
        if not lost or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    result.lost_messages = len(lost)
    result.phantom_deliveries = len(received - set(messages))
    if lost:
        states = Counter(messages[i] for i in lost)
        result.notes.append(f"{len(lost)} webhook messages not delivered: {dict(states)}")


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# ------------------------------------------------------------------ the campaign


@dataclass
class Round:
    number: int
    ran_s: float
    in_flight: int
    restart_s: float
    check: Check


@dataclass
class Campaign:
    database: str
    rounds: list[Round] = field(default_factory=list)
    told: Told = field(default_factory=Told)
    operations: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    bad_signatures: int = 0
    deliveries: int = 0
    final: Check | None = None

    @property
    def lost(self) -> int:
        """What the last check found (every check covers all that the clients were told so
        far), and every restart after which the audit trail did not verify."""
        broken = sum(0 if r.check.audit_ok else 1 for r in self.rounds)
        return (self.final.lost if self.final else 0) + broken


def run_campaign(args: argparse.Namespace, database: str, rng: random.Random) -> Campaign:
    kind = "sqlite" if database == "sqlite" else "postgresql"
    campaign = Campaign(database=kind)
    hook_port = _free_port()
    hooks = ThreadingHTTPServer(("127.0.0.1", hook_port), Receiver)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    with Receiver.lock:
        Receiver.deliveries.clear()
        Receiver.bad_signatures = 0
    people = load_people(None).people
    with (
        tempfile.TemporaryDirectory(prefix=f"faults-{kind}-") as tmp,
        fresh_database(
            None if database == "sqlite" else database, prefix="certcenter_faults"
        ) as url,
    ):
        data = Path(tmp)
        server = Server(data, url, f"http://127.0.0.1:{hook_port}/hook")
        try:
            server.start()
            added = server.cli("operators", "add", "faults", "--role", "operator")
            if added.returncode != 0:
                raise RuntimeError(f"operators add: {added.stderr}")
            token = added.stdout.strip().rsplit(" ", 1)[-1]
            for number in range(1, args.kills + 1):
                inflight = InFlight()
                load = Load(
                    server.url, token, people, campaign.told, inflight, data / "phones", rng
                )
                threads = [
                    threading.Thread(target=load.run, args=(people[i % len(people)],), daemon=True)
                    for i in range(args.clients)
                ]
                started = time.monotonic()
                for thread in threads:
                    thread.start()
                time.sleep(rng.uniform(args.min_run, args.max_run))
                with inflight.lock:
                    server.kill()
                    in_flight = inflight.count
                ran = time.monotonic() - started
                load.stop.set()
                for thread in threads:
                    thread.join(timeout=60)
                campaign.operations.update(load.operations)
                restart = server.start()
                result = check(server, campaign.told, drain_seconds=args.drain_seconds)
                campaign.rounds.append(Round(number, ran, in_flight, restart, result))
                audit = "ok" if result.audit_ok else "BROKEN"
                notes = f" ({'; '.join(result.notes)})" if result.notes else ""
                print(
                    f"[{kind}] kill {number:2d} after {ran:4.1f} s: {in_flight} requests in "
                    f"flight; restart {restart:4.1f} s; audit {audit}; lost {result.lost}{notes}",
                    flush=True,
                )
            campaign.final = check(server, campaign.told, drain_seconds=args.drain_seconds * 2)
        finally:
            server.stop()
            hooks.shutdown()
            hooks.server_close()
    with Receiver.lock:
        campaign.deliveries = sum(Receiver.deliveries.values())
        campaign.duplicates = sum(n - 1 for n in Receiver.deliveries.values() if n > 1)
        campaign.bad_signatures = Receiver.bad_signatures
    return campaign


def figures(c: Campaign) -> dict[str, Any]:
    """One campaign's figures, for ``--json``."""
    final = c.final or Check()
    return {
        "database": c.database,
        "kills": len(c.rounds),
        "in_flight": [r.in_flight for r in c.rounds],
        "operations": dict(c.operations),
        "refusals": dict(c.told.refusals),
        "webhook_deliveries": c.deliveries,
        "webhook_duplicates": c.duplicates,
        "bad_signatures": c.bad_signatures,
        "audit_broken": sum(0 if r.check.audit_ok else 1 for r in c.rounds),
        "lost": {
            "certificates": final.missing_certificates,
            "revocations": final.missing_revocations,
            "transfers": final.missing_transfers,
            "pending_intents": final.stuck_intents,
            "processing_transfers": final.stuck_transfers,
            "webhooks": final.lost_messages,
            "phantom_webhooks": final.phantom_deliveries,
        },
        "notes": final.notes,
    }


def summary(campaigns: list[Campaign]) -> str:
    rows = []
    for c in campaigns:
        flights = [r.in_flight for r in c.rounds]
        final = c.final or Check()
        lost = {
            "certificates": final.missing_certificates,
            "revocations": final.missing_revocations,
            "transfers": final.missing_transfers,
            "pending intents": final.stuck_intents,
            "processing transfers": final.stuck_transfers,
            "webhooks": final.lost_messages + final.phantom_deliveries,
        }
        rows.append(
            [
                c.database,
                len(c.rounds),
                f"{min(flights, default=0)}-{max(flights, default=0)}",
                sum(flights),
                ",".join(str(f) for f in flights),
                c.operations["enrolment"],
                c.operations["transfer"],
                c.operations["revocation"],
                c.deliveries,
                c.duplicates,
                c.bad_signatures,
                sum(0 if r.check.audit_ok else 1 for r in c.rounds),
                " ".join(f"{k} {v}" for k, v in lost.items()),
                c.lost,
            ]
        )
    return table(
        [
            "database",
            "kills",
            "in flight",
            "Σ in flight",
            "in flight at each kill",
            "enrolments",
            "transfers",
            "revocations",
            "webhooks recv.",
            "dupl. (deduped)",
            "bad HMAC",
            "audit broken",
            "lost by kind",
            "lost",
        ],
        rows,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills per database (20)")
    parser.add_argument(
        "--database",
        action="append",
        help="'sqlite' or a PostgreSQL URL on 127.0.0.1 (a fresh database is made beside "
        "it); repeat for both (default: sqlite)",
    )
    parser.add_argument("--clients", type=int, default=4, help="load threads (4)")
    parser.add_argument("--min-run", type=float, default=1.0, help="load before a kill, min s")
    parser.add_argument("--max-run", type=float, default=6.0, help="load before a kill, max s")
    parser.add_argument("--drain-seconds", type=float, default=30.0, help="outbox wait (30 s)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (kill moments)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.kills <= 200 or not 1 <= args.clients <= 16:
        parser.error("--kills 1..200, --clients 1..16")
    databases = args.database or ["sqlite"]
    for database in databases:
        if database != "sqlite" and "127.0.0.1" not in database and "localhost" not in database:
            parser.error(f"refusing {database}: only a database on 127.0.0.1")
    seed = args.seed if args.seed is not None else secrets.randbits(32)
    print(f"fault campaign: {args.kills} kills on {', '.join(databases)}; seed {seed}")
    rng = random.Random(seed)
    campaigns = [run_campaign(args, database, rng) for database in databases]
    print()
    print(summary(campaigns))
    if args.json is not None:
        args.json.write_text(json.dumps([figures(c) for c in campaigns], indent=2) + "\n")
    bad = any(c.lost or c.bad_signatures for c in campaigns)
    for c in campaigns:
        if c.final is not None and c.final.notes:
            print(f"[{c.database}] after the last restart: {'; '.join(c.final.notes)}")
    for c in campaigns:
        if c.told.refusals:
            refusals = ", ".join(f"{k} {v}" for k, v in c.told.refusals.most_common(8))
            print(f"[{c.database}] refusals and faults seen by the clients: {refusals}")
    print("result:", "LOST SOMETHING" if bad else "nothing lost")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
