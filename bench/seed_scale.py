"""Seed a PostgreSQL database with millions of certificates, as a bank's years of issuance.

    createdb -h 127.0.0.1 -U postgres certcenter_scale
    CERTCENTER_DATA_DIR=/tmp/scale \\
    CERTCENTER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/certcenter_scale \\
        .venv/bin/python bench/seed_scale.py --count 10000000
    # then serve the same data directory and database, and run bench/ocsp.py,
    # bench/signings.py --url … against it; --crl rebuilds every CRL partition, timed

The center is initialised first (``certcenter init``: schema, keys, CA hierarchy, demo world)
in the data directory and database of the environment's settings. Then ``--count``
certificates are written with PostgreSQL ``COPY`` (psycopg's ``cursor.copy``), ``--workers``
processes side by side, each on its own range of customers, one transaction per
``--chunk`` customers:

- ``count / 4`` customers (``S0000000000`` …), each with one active device (no PIN or
  pattern hash: seeded devices cannot log in) and one ended login session;
- per customer four certificates: an active mobile one (bound to the device) and an active
  financial one, and one earlier certificate of each family. Of all certificates
  ``--revoked`` (default 10 %) are revoked — earlier ones, with a reason and their stored CRL
  entry, as revocation stores it; the other earlier ones expired. One in a hundred active
  certificates is suspended (listed with certificateHold). Serials are 159 random bits;
  each row's CRL partition is ``serial mod policy.crl_shards``, as the issuer decides it.
  Active certificates were issued recently enough to be short of their renewal window and
  were used in the last days, so the job runner finds none of them to renew, expire or revoke
  as unused (it could not renew one anyway: see the template below).

**The DER and TBS of seeded rows are a template**: one certificate per family, signed once by
the family's issuing CA at the start of the run for a throwaway key; every row carries those
bytes, while its serial, key digest, validity and status are its own. What the load touches
does not read them: the OCSP responder answers from the row's status, revocation time and
reason (``certificate_answer``; the DER is not read), a CRL is the rows' stored entries, the
customer's certificates on signing and the one-key-one-customer check read the columns. Where
the DER is read — ``GET /v1/certificates/{serial}`` hands it out, and a device's signature at
login, transfer or document signing is checked against its public key — a seeded row shows
the template: seeded customers cannot log in or sign (their devices have no PIN, pattern or
key either). Measure those with the demo world's people, whose rows are real.

While the rows are copied the certificates table has no secondary index, no primary key
and no foreign key (their definitions are read from the catalog first); they are built
again afterwards, then ``VACUUM ANALYZE`` runs. The time of each part, rows/s and
``pg_database_size`` are printed. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.engine import make_url

from certcenter.bootstrap import build_center, initialise
from certcenter.config import Settings, load_settings
from certcenter.pki.crl import encode_crl_entry
from certcenter.pki.names import SubjectInfo, display_name

CERTIFICATES_PER_CUSTOMER = 4
REASONS = [
    ("keyCompromise", x509.ReasonFlags.key_compromise),
    ("cessationOfOperation", x509.ReasonFlags.cessation_of_operation),
    ("affiliationChanged", x509.ReasonFlags.affiliation_changed),
    ("unspecified", x509.ReasonFlags.unspecified),
]
SUSPENDED_PER_MILLE = 10
NULL = "\\N"


@dataclass(frozen=True)
class Template:
    family: str
    profile: str
    issuer_key_label: str
    subject: str
    validity: timedelta
    fresh_days: int  # an active one is at most this old: not yet in its renewal window
    tbs_hex: str  # COPY text form of the bytea: \\x + hex
    der_hex: str


@dataclass(frozen=True)
class Plan:
    dsn: str
    customers: int
    first: int
    revoked: float
    shards: int
    chunk: int
    now: datetime
    templates: tuple[Template, ...]


def _dsn(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"seed_scale.py writes with PostgreSQL COPY; {url!r} is not PostgreSQL")
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def _templates(settings: Settings) -> tuple[Template, ...]:
    center = build_center(settings)
    try:
        made = []
        for profile_name in ("mobile", "financial"):
            key = ec.generate_private_key(ec.SECP256R1()).public_key()
            subject = SubjectInfo(common_name="시드고객", customer_ref="S0000000000")
            intent = center.issuer.prepare(profile_name, key, subject)
            certificate = center.issuer.sign(intent, key)
            der = certificate.public_bytes(encoding=_der())
            family = center.issuer.family_of(profile_name)
            window = getattr(settings.policy, f"{family}_renewal_window_days")
            validity = intent.not_after - intent.not_before
            made.append(
                Template(
                    family=family,
                    profile=intent.profile,
                    issuer_key_label=intent.issuer_key_label,
                    subject=display_name(intent.subject),
                    validity=validity,
                    fresh_days=max(1, validity.days - window - 7),
                    tbs_hex="\\\\x" + intent.tbs.hex(),
                    der_hex="\\\\x" + der.hex(),
                )
            )
        return tuple(made)
    finally:
        center.close()


def _der():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S+00")


def _hex_bytea(value: bytes) -> str:
    return "\\\\x" + value.hex()


def _customer_id(c: int) -> str:
    return f"00000000-5eed-4000-8000-{c:012d}"


def _rows(plan: Plan, start: int, stop: int, rng: random.Random) -> tuple[str, str, str, str]:
    """COPY text of customers, devices, sessions and certificates for customers [start, stop)."""
    customers, devices, sessions, certificates = [], [], [], []
    now = plan.now
    # the earlier certificate of a family is revoked with this probability, else expired
    revoked_share = min(1.0, plan.revoked * CERTIFICATES_PER_CUSTOMER / 2)
    for c in range(start, stop):
        cid = _customer_id(c)
        age = timedelta(days=c % plan.templates[0].fresh_days, seconds=c % 86_400)
        joined = now - timedelta(days=1500) + timedelta(seconds=c % 86_400)
        born = date(1960 + c % 45, 1 + c % 12, 1 + c % 28)
        customers.append(
            f"{cid}\tS{c:010d}\t시드고객{c}\tseed-ci-{c:012d}\t{born}\t010{c % 100_000_000:08d}"
            f"\tpersonal\tt\tf\t{_ts(joined)}\t{NULL}\t{NULL}\t{NULL}\t{NULL}\n"
        )
        device_id = f"seed-device-{c:012d}"
        issued = now - age
        devices.append(
            f"00000000-5eed-4000-9000-{c:012d}\t{device_id}\t{cid}\tandroid\tSM-S918N\t1.0.0"
            f"\tactive\t{NULL}\t{NULL}\t{NULL}\t{_ts(issued)}\t{NULL}\n"
        )
        for slot, template in enumerate(plan.templates):
            issued = now - timedelta(days=c % template.fresh_days, seconds=c % 86_400)
            key_now = f"{rng.getrandbits(256):064x}"
            serial_now = max(1, rng.getrandbits(159))
            hex_now = f"{serial_now:X}"
            earlier_issued = issued - template.validity  # it ended as this one began
            earlier_serial = max(1, rng.getrandbits(159))
            earlier_hex = f"{earlier_serial:X}"
            status, suspended_at, entry = "active", NULL, NULL
            if (c * 2 + slot) % 1000 < SUSPENDED_PER_MILLE:
                status, suspended_at = "suspended", _ts(now - timedelta(hours=c % 48))
                entry = _hex_bytea(
                    encode_crl_entry(
                        serial_now, now - timedelta(hours=c % 48), x509.ReasonFlags.certificate_hold
                    )
                )
            device = device_id if template.family == "mobile" else NULL
            certificates.append(
                _certificate(
                    template,
                    hex_now,
                    cid,
                    device,
                    key_now,
                    issued,
                    status,
                    revoked_at=NULL,
                    reason=NULL,
                    suspended_at=suspended_at,
                    last_used=_ts(now - timedelta(hours=c % 200)),
                    shard=serial_now % plan.shards,
                    entry=entry,
                )
            )
            if rng.random() < revoked_share:
                reason_name, reason = REASONS[c % len(REASONS)]
                revoked_at = earlier_issued + timedelta(days=100 + c % 200)
                certificates.append(
                    _certificate(
                        template,
                        earlier_hex,
                        cid,
                        device,
                        f"{rng.getrandbits(256):064x}",
                        earlier_issued,
                        "revoked",
                        revoked_at=_ts(revoked_at),
                        reason=reason_name,
                        suspended_at=NULL,
                        last_used=_ts(revoked_at - timedelta(days=1)),
                        shard=earlier_serial % plan.shards,
                        entry=_hex_bytea(encode_crl_entry(earlier_serial, revoked_at, reason)),
                    )
                )
            else:
                certificates.append(
                    _certificate(
                        template,
                        earlier_hex,
                        cid,
                        device,
                        f"{rng.getrandbits(256):064x}",
                        earlier_issued,
                        "expired",
                        revoked_at=NULL,
                        reason=NULL,
                        suspended_at=NULL,
                        last_used=_ts(earlier_issued + timedelta(days=300)),
                        shard=earlier_serial % plan.shards,
                        entry=NULL,
                    )
                )
        sessions.append(
            f"00000000-5eed-4000-a000-{c:012d}\t{rng.getrandbits(256):064x}\t{cid}\t{device_id}"
            f"\t{hex_mobile_serial(certificates, len(plan.templates))}\tbiometric"
            f"\t{_ts(now - age)}\t{_ts(now - age)}\t{_ts(now - age + timedelta(minutes=10))}"
            f"\t{_ts(now - age + timedelta(minutes=5))}\tlogout\n"
        )
    return "".join(customers), "".join(devices), "".join(sessions), "".join(certificates)


def hex_mobile_serial(certificates: list[str], families: int) -> str:
    """The serial of the customer's active mobile certificate (the first row of its block)."""
    return certificates[-2 * families].split("\t", 1)[0]


def _certificate(
    template: Template,
    serial: str,
    customer_id: str,
    device_id: str,
    key_sha256: str,
    issued: datetime,
    status: str,
    *,
    revoked_at: str,
    reason: str,
    suspended_at: str,
    last_used: str,
    shard: int,
    entry: str,
) -> str:
    not_after = issued + template.validity
    return (
        f"{serial}\t{template.family}\t{template.profile}\t{customer_id}\t{device_id}\t{NULL}"
        f"\t{template.subject}\t{key_sha256}\t{template.issuer_key_label}\t{_ts(issued)}"
        f"\t{_ts(not_after)}\t{template.tbs_hex}\t{template.der_hex}\t{status}\t{_ts(issued)}"
        f"\t{_ts(issued)}\t{revoked_at}\t{reason}\t{last_used}\t{suspended_at}\t{NULL}\t{NULL}"
        f"\t{shard}\t{entry}\n"
    )


CUSTOMER_COLUMNS = (
    "id, customer_number, name, ci, birth_date, phone, kind, internet_banking, "
    "overseas_access, created_at, email, transfer_limit_per_transfer, transfer_limit_daily, "
    "user_id"
)
DEVICE_COLUMNS = (
    "id, device_id, customer_id, platform, model, app_version, status, pin_hash, "
    "pattern_hash, biometric_public_key, registered_at, deregistered_at"
)
SESSION_COLUMNS = (
    "id, token_hash, customer_id, device_id, certificate_serial, method, created_at, "
    "last_seen_at, expires_at, ended_at, ended_reason"
)
CERTIFICATE_COLUMNS = (
    "serial, family, profile, customer_id, device_id, enrollment_id, subject, "
    "public_key_sha256, issuer_key_label, not_before, not_after, tbs, der, status, created_at, "
    "issued_at, revoked_at, revocation_reason, last_used_at, suspended_at, renewed_from, "
    "replaced_by, crl_shard, crl_entry"
)


def _copy(cursor: psycopg.Cursor, table: str, columns: str, data: str) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        copy.write(data)


def _worker(
    plan: Plan, worker: int, start: int, stop: int, progress: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    rng = random.Random(f"seed-{plan.first}-{worker}")
    with psycopg.connect(plan.dsn) as connection:
        connection.execute("SET synchronous_commit = off")
        for low in range(start, stop, plan.chunk):
            high = min(stop, low + plan.chunk)
            customers, devices, sessions, certificates = _rows(plan, low, high, rng)
            with connection.cursor() as cursor:
                _copy(cursor, "customers", CUSTOMER_COLUMNS, customers)
                _copy(cursor, "devices", DEVICE_COLUMNS, devices)
                _copy(cursor, "sessions", SESSION_COLUMNS, sessions)
                _copy(cursor, "certificates", CERTIFICATE_COLUMNS, certificates)
            connection.commit()
            progress.put(high - low)


# the certificates table's own index and constraint definitions, read from the catalog
_DEFINITIONS = """
SELECT 'index', c.relname, pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'certificates'::regclass
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
UNION ALL
SELECT CASE contype WHEN 'p' THEN 'primary' ELSE 'foreign' END, conname,
       pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE conrelid = 'certificates'::regclass AND contype IN ('p', 'f')
"""


def _drop_for_load(connection: psycopg.Connection) -> list[tuple[str, str, str]]:
    definitions = [tuple(row) for row in connection.execute(_DEFINITIONS).fetchall()]
    for kind, name, _ in definitions:
        if kind == "index":
            connection.execute(f'DROP INDEX "{name}"')
    for kind, name, _ in sorted(definitions, key=lambda d: d[0] != "foreign"):
        if kind != "index":
            connection.execute(f'ALTER TABLE certificates DROP CONSTRAINT "{name}"')
    connection.commit()
    return definitions  # type: ignore[return-value]


def _rebuild(connection: psycopg.Connection, definitions: list[tuple[str, str, str]]) -> None:
    connection.execute("SET maintenance_work_mem = '1GB'")
    order = {"primary": 0, "index": 1, "foreign": 2}
    for kind, name, definition in sorted(definitions, key=lambda d: order[d[0]]):
        started = time.perf_counter()
        if kind == "index":
            connection.execute(definition)
        else:
            connection.execute(f'ALTER TABLE certificates ADD CONSTRAINT "{name}" {definition}')
        connection.commit()
        print(f"   {kind} {name}: {time.perf_counter() - started:.1f} s", flush=True)


def _size(connection: psycopg.Connection) -> tuple[int, int]:
    row = connection.execute(
        "SELECT pg_database_size(current_database()), pg_total_relation_size('certificates')"
    ).fetchone()
    if row is None:
        raise RuntimeError("no size")
    return int(row[0]), int(row[1])


def _gb(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Seed a PostgreSQL database with N certificates by COPY (see the docstring)."
    )
    parser.add_argument("--count", type=int, default=10_000_000, help="certificates to write")
    parser.add_argument("--revoked", type=float, default=0.10, help="share revoked (0-0.5)")
    parser.add_argument("--workers", type=int, default=2, help="COPY processes side by side")
    parser.add_argument("--chunk", type=int, default=25_000, help="customers per transaction")
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="copy into the indexed table (slower) instead of rebuilding the indexes after",
    )
    args = parser.parse_args()
    if not 0 <= args.revoked <= 0.5:
        parser.error("--revoked is a share between 0 and 0.5 (half the rows are earlier ones)")
    if args.count < CERTIFICATES_PER_CUSTOMER or args.workers < 1 or args.chunk < 1:
        parser.error("--count at least 4, --workers and --chunk at least 1")

    settings = load_settings()
    dsn = _dsn(settings.database_url)
    started = time.perf_counter()
    initialise(settings)
    templates = _templates(settings)
    print(
        f"center initialised in {settings.data_dir} "
        f"({time.perf_counter() - started:.1f} s); templates: "
        + ", ".join(f"{t.family} ({len(t.der_hex) // 2 - 1} bytes DER)" for t in templates),
        flush=True,
    )
    customers = args.count // CERTIFICATES_PER_CUSTOMER
    with psycopg.connect(dsn) as connection:
        row = connection.execute(
            "SELECT count(*) FROM customers WHERE customer_number LIKE 'S00%%'"
        ).fetchone()
        if row is not None and row[0]:
            raise SystemExit(f"this database is already seeded ({row[0]} seeded customers)")
        size_before, _ = _size(connection)
        definitions = [] if args.keep_indexes else _drop_for_load(connection)
    plan = Plan(
        dsn=dsn,
        customers=customers,
        first=0,
        revoked=args.revoked,
        shards=settings.policy.crl_shards,
        chunk=args.chunk,
        now=datetime.now(UTC).replace(microsecond=0),
        templates=templates,
    )
    per_worker = -(-customers // args.workers)
    progress: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    processes = [
        multiprocessing.Process(
            target=_worker,
            args=(plan, w, w * per_worker, min(customers, (w + 1) * per_worker), progress),
        )
        for w in range(args.workers)
        if w * per_worker < customers
    ]
    copy_started = time.perf_counter()
    try:
        for process in processes:
            process.start()
        done, reported = 0, 0
        while done < customers:
            if all(not p.is_alive() for p in processes) and progress.empty():
                break
            try:
                done += progress.get(timeout=1)
            except Exception:  # noqa: BLE001, S112 - queue.Empty: look at the workers again
                continue
            if done - reported >= customers // 20 or done == customers:
                reported = done
                elapsed = time.perf_counter() - copy_started
                rows = done * CERTIFICATES_PER_CUSTOMER
                print(f"   {rows:,} certificates, {rows / elapsed:,.0f}/s", flush=True)
        for process in processes:
            process.join()
        failed = [p.exitcode for p in processes if p.exitcode != 0]
    finally:
        with psycopg.connect(dsn) as connection:
            copy_s = time.perf_counter() - copy_started
            index_started = time.perf_counter()
            if definitions:
                print("rebuilding the certificates table's keys and indexes:", flush=True)
                _rebuild(connection, definitions)
            index_s = time.perf_counter() - index_started
    if failed:
        raise SystemExit(f"a COPY worker failed (exit codes {failed})")
    with psycopg.connect(dsn, autocommit=True) as connection:
        vacuum_started = time.perf_counter()
        for table in ("customers", "devices", "sessions", "certificates"):
            connection.execute(f"VACUUM (ANALYZE) {table}")
        vacuum_s = time.perf_counter() - vacuum_started
        size_after, table_size = _size(connection)
    rows = customers * CERTIFICATES_PER_CUSTOMER
    total_s = copy_s + index_s + vacuum_s
    print()
    print(f"certificates written: {rows:,} ({customers:,} customers, devices and sessions)")
    print(f"COPY: {copy_s:.1f} s, {rows / copy_s:,.0f} certificates/s ({args.workers} workers)")
    print(f"keys and indexes: {index_s:.1f} s; VACUUM ANALYZE: {vacuum_s:.1f} s")
    print(f"total: {total_s:.1f} s, {rows / total_s:,.0f} certificates/s")
    print(
        f"pg_database_size: {_gb(size_after)} (before: {_gb(size_before)}); "
        f"certificates with its indexes: {_gb(table_size)}"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
