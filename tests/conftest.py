"""Fixtures shared by the suite.

Databases: every test that takes ``center`` runs on SQLite and, when it is reachable, on
PostgreSQL (``CERTCENTER_TEST_POSTGRES_URL``, default the local server's ``test`` database;
with ``CERTCENTER_TEST_REQUIRE_POSTGRES=1`` an unreachable server fails the run instead of
skipping). Keys and the CA hierarchy are made once per session: they are read-only for tests.
Keys: in the software backend, or with CERTCENTER_TEST_KEY_BACKEND=pkcs11 in a SoftHSM2 token
made per session (every purpose's keys and secrets in it; see README's test section).
Time is a :class:`FrozenClock` that tests move by hand. Under pytest-xdist (pyproject.toml) every
worker has its own session: its own PostgreSQL database, temporary directories and ports.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from certcenter.bootstrap import Center, build_center, initialise
from certcenter.clock import FrozenClock
from certcenter.config import Settings, load_settings
from certcenter.server import create_app
from certcenter.storage import migrate
from certcenter.storage.tables import metadata
from tests.support.flow import Flow, FlowFactory
from tests.support.outbox import deliver_pending
from tests.support.scheduling import alone_if_timing, longest_first, make_scheduler
from tests.support.softhsm import SOFTHSM_MODULE, USER_PIN, SoftHsm, missing_reason

PG_URL = os.environ.get(
    "CERTCENTER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# the key backend of every center the fixtures make: software (default) or pkcs11 (SoftHSM2)
KEY_BACKEND = os.environ.get("CERTCENTER_TEST_KEY_BACKEND", "software")
if KEY_BACKEND not in ("software", "pkcs11"):
    raise pytest.UsageError(f"CERTCENTER_TEST_KEY_BACKEND={KEY_BACKEND!r}: software or pkcs11")
# the databases every center test runs on: both by default; the HSM pass (make test-pkcs11)
# takes SQLite only, the database being what the main pass already covers on both
DATABASES = os.environ.get("CERTCENTER_TEST_DATABASES", "sqlite,postgresql").split(",")
if not DATABASES or not set(DATABASES) <= {"sqlite", "postgresql"}:
    raise pytest.UsageError(f"CERTCENTER_TEST_DATABASES={DATABASES!r}: sqlite and/or postgresql")
START = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 10:00 in Seoul


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: absent under -p no:xdist
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Tests go to the workers one by one; tests/browser as one group (tests/support/scheduling)."""
    return make_scheduler(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first, so that none ends the run alone (tests/support/scheduling);
    with the PKCS#11 backend, tests that look inside the software backend's files skip."""
    longest_first(items)
    if KEY_BACKEND == "software":
        return
    skip = pytest.mark.skip(reason="looks inside the software key backend's files")
    for item in items:
        if item.get_closest_marker("software_keys") is not None:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[object]:
    """A test marked ``timing`` runs while no other worker runs one (tests/support/scheduling)."""
    with alone_if_timing(item):
        return (yield)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture(autouse=True)
def api_contract_kept() -> Iterator[None]:
    """A refusal whose code its operation does not declare in the OpenAPI document fails the
    test that met it (``certcenter.api.contract`` logs it)."""
    records = _Records()
    logger = logging.getLogger("certcenter.api.contract")
    logger.addHandler(records)
    try:
        yield
    finally:
        logger.removeHandler(records)
    if records.lines:
        pytest.fail("; ".join(sorted(set(records.lines))))


def _postgres_reachable() -> bool:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    return True


@pytest.fixture(scope="session")
def postgres_database(pki_dir: Path) -> Iterator[str]:
    """A database of its own for this test session on the PostgreSQL server."""
    if not _postgres_reachable():
        if os.environ.get("CERTCENTER_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but not reachable at {PG_URL}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"certcenter_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # commits need not wait for the disk here: only the server machine going down could
        # lose them (a killed center process loses nothing), and no test stops PostgreSQL
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    _snapshot_postgres(url, pki_dir)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# The session's secrets (pepper, data seal, …) and keys (the CA's, the audit checkpoints')
# are sealed with a cheap scrypt cost. Every center a test builds opens each of them once, and
# at the product's cost (about 0.1-0.2 s of CPU each) that was a second or more of every
# database test. The cost is written in each file and read back from it, so opening them goes
# through the same code; the product's own cost stays as it is for every secret and key a test
# makes itself (tests/keys checks it there).
TEST_SCRYPT_N = 2**4


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Keys, secrets and CA hierarchy, created once; the SQLite template is made with them."""
    base = tmp_path_factory.mktemp("pki")
    if KEY_BACKEND == "pkcs11":
        _session_token(tmp_path_factory)
        (base / "keys").mkdir()  # empty: fixtures that copy the key directory find one
    settings = load_settings(
        environ={}, data_dir=base, key_passphrase="test-passphrase", **key_backend_settings()
    )
    from certcenter.keys import load_key_backend, software
    from certcenter.pki.hierarchy import ensure_hierarchy

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(software, "_SCRYPT_N", TEST_SCRYPT_N)
        patch.setattr(software, "_KEY_SCRYPT_N", TEST_SCRYPT_N)
        backend = load_key_backend(settings)
        backend.ensure_secret("pepper")
        ensure_hierarchy(backend, settings, FrozenClock(START))
        _sqlite_template(base)  # initialise() makes the center's other secrets here
    return base


def key_backend_settings() -> dict[str, object]:
    """The settings of the session's key backend (CERTCENTER_TEST_KEY_BACKEND)."""
    if KEY_BACKEND != "pkcs11":
        return {}
    return {
        "key_backend": "pkcs11",
        "pkcs11_module": SOFTHSM_MODULE,
        "pkcs11_token_label": "certcenter",
        "pkcs11_pin": USER_PIN,
    }


def key_backend_env() -> dict[str, str]:
    """The same, as the environment of a ``certcenter`` command run by a test."""
    return {
        f"CERTCENTER_{name.upper()}": str(value) for name, value in key_backend_settings().items()
    }


def _session_token(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A SoftHSM2 token for this session's centers (SOFTHSM2_CONF names it)."""
    reason = missing_reason()
    if reason is not None:
        pytest.fail(f"CERTCENTER_TEST_KEY_BACKEND=pkcs11 needs SoftHSM2: {reason}")
    SoftHsm.create(tmp_path_factory.mktemp("softhsm")).init_token("certcenter")


def make_settings(data_dir: Path, pki: Path, database_url: str | None, **extra: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "key_dir": pki / "keys",
        "ca_dir": pki / "ca",
        "key_passphrase": "test-passphrase",
        **key_backend_settings(),
        "environment": "demo",
        # the live server stands in for the reverse proxy too: tests send X-Forwarded-For
        # from 127.0.0.1 (the product trusts no proxy unless configured)
        "trusted_proxies": ["127.0.0.1", "::1"],
    }
    if database_url:
        values["database_url"] = database_url
    values.update(extra)
    settings = load_settings(environ={}, **values)
    _copy_seeded_template(settings, pki, database_url)
    return settings


# A freshly initialised center (migrations, the demo world with its hashed account passwords
# and C012's certificate) costs more than a second; tests start from a copy of one made per
# session instead: the SQLite files copied into the test's data directory, the PostgreSQL rows
# restored after TRUNCATE. The copy is the same state initialise() leaves, made with the same
# keys and the same START clock.
_SQLITE_TEMPLATES: dict[Path, Path] = {}
_PG_SNAPSHOTS: dict[str, tuple[Path, dict[str, list[dict[str, Any]]]]] = {}
_DB_FILES = ("certcenter.db", "simulators.db")
# data directories started whole from the template (with the PostgreSQL URL restored for them)
_SEEDED: dict[Path, tuple[Path, str | None]] = {}


def _sqlite_template(pki: Path) -> Path:
    if pki not in _SQLITE_TEMPLATES:
        base = pki.parent / f"{pki.name}-sqlite-template"
        if not (base / _DB_FILES[0]).exists():
            base.mkdir(exist_ok=True)
            settings = load_settings(
                environ={},
                data_dir=base,
                key_dir=pki / "keys",
                ca_dir=pki / "ca",
                key_passphrase="test-passphrase",
                environment="demo",
                **key_backend_settings(),
            )
            initialise(settings, FrozenClock(START))
        _SQLITE_TEMPLATES[pki] = base
    return _SQLITE_TEMPLATES[pki]


def _copy_seeded_template(settings: Settings, pki: Path, database_url: str | None) -> None:
    """Start the test's data directory from the seeded template, where one applies."""
    data_dir = settings.data_dir
    if not data_dir.exists() or not (pki / "ca").exists():
        return
    if not settings.sims_enabled or settings.world_file is not None:
        return  # a test of its own world, or of none
    defaults = (
        settings.database_url == f"sqlite:///{data_dir / _DB_FILES[0]}",
        settings.simulator_database_url == f"sqlite:///{data_dir / _DB_FILES[1]}",
    )
    if database_url is None and all(defaults):
        template = _sqlite_template(pki)
        names: tuple[str, ...] = _DB_FILES
    elif database_url in _PG_SNAPSHOTS and defaults[1]:
        template = _PG_SNAPSHOTS[database_url][0]
        names = _DB_FILES[1:]
    else:
        return
    copied = [name for name in names if not (data_dir / name).exists()]
    for name in copied:
        shutil.copyfile(template / name, data_dir / name)
    if len(copied) == len(names):
        _SEEDED[data_dir] = (pki, database_url)


def _snapshot_postgres(url: str, pki: Path) -> None:
    """Initialise the session's PostgreSQL database once and keep every row in memory."""
    base = pki.parent / f"{pki.name}-pg-template-{uuid.uuid4().hex[:6]}"
    base.mkdir()
    settings = load_settings(
        environ={},
        data_dir=base,
        database_url=url,
        key_dir=pki / "keys",
        ca_dir=pki / "ca",
        key_passphrase="test-passphrase",
        environment="demo",
        **key_backend_settings(),
    )
    initialise(settings, FrozenClock(START))
    engine = create_engine(url)
    rows: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows[table.name] = [dict(r._mapping) for r in conn.execute(table.select())]
    engine.dispose()
    _PG_SNAPSHOTS[url] = (base, rows)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    # DELETE, children first: a test leaves a few hundred rows at most, and TRUNCATE of every
    # table costs about 0.2 s (a new file per table) where DELETE costs a few milliseconds
    snapshot = _PG_SNAPSHOTS.get(url)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        if snapshot is None:  # what the migrations seed
            conn.execute(
                text("INSERT INTO audit_head (id, seq, entry_hash) VALUES (1, 0, :h)"),
                {"h": "0" * 64},
            )
        else:  # what initialise() left, with the world seeded
            for table in metadata.sorted_tables:
                if snapshot[1][table.name]:
                    conn.execute(table.insert(), snapshot[1][table.name])
        # audit entry numbers go on after the restored entries, as they did there
        conn.execute(
            text("SELECT setval('audit_log_seq', coalesce(max(seq), 0) + 1, false) FROM audit_log")
        )
    engine.dispose()


@pytest.fixture(params=DATABASES)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def settings(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, pki_dir: Path
) -> Settings:
    """The test's settings; ``@pytest.mark.policy(name=value, ...)`` sets policy values."""
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    return make_settings(tmp_path, pki_dir, url, **marked_policy(request))


def marked_policy(request: pytest.FixtureRequest) -> dict[str, object]:
    """``{"policy": {...}}`` from the test's ``@pytest.mark.policy(name=value, ...)``, if any:
    for every fixture that makes settings."""
    marker = request.node.get_closest_marker("policy")
    return {"policy": dict(marker.kwargs)} if marker is not None else {}


def initialise_unless_seeded(settings: Settings, clock: FrozenClock) -> None:
    """``initialise()``, unless the test's data directory is a whole copy of the seeded
    template: that is the state initialise() leaves for these keys and this database, and a
    second run of it on every test found nothing (about 0.15 s of CPU each). What it does on
    a center that is already set up is tested by itself (tests/cli, tests/readme)."""
    seeded = _SEEDED.get(settings.data_dir)
    if (
        seeded is not None
        and settings.key_dir == seeded[0] / "keys"
        and settings.ca_dir == seeded[0] / "ca"
        and settings.key_backend_names() == {"software"}
        and settings.sims_enabled
        and settings.world_file is None
        # the demo site's addresses follow the center's URL: initialise() re-addresses them
        and "public_base_url" not in settings.model_fields_set
    ):
        url = settings.database_url
        if seeded[1] is None or url == seeded[1]:
            return
    initialise(settings, clock)


@pytest.fixture
def center(settings: Settings, clock: FrozenClock) -> Iterator[Center]:
    initialise_unless_seeded(settings, clock)
    built = build_center(settings, clock)
    yield built
    built.close()


class LiveServer:
    """A real uvicorn server in a thread, serving whichever center the test gives it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = None
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def serve(self, center: Center) -> None:
        if self.app is None:
            self.app = create_app(center)
            config = uvicorn.Config(
                self.app, log_level="warning", proxy_headers=False, lifespan="off"
            )
            self.server = uvicorn.Server(config)
            self.thread = threading.Thread(
                target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
            )
            self.thread.start()
            deadline = time.monotonic() + 10
            while not self.server.started and time.monotonic() < deadline:
                time.sleep(0.02)
        self.app.state.center = center

    def stop(self) -> None:
        if self.server is not None and self.thread is not None:
            self.server.should_exit = True
            self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture(scope="session")
def live_server() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.stop()


@pytest.fixture
def api(center: Center, live_server: LiveServer) -> LiveServer:
    """The live server, now serving this test's center."""
    live_server.serve(center)
    return live_server


@pytest.fixture
def new_flow(api: LiveServer, center: Center, tmp_path: Path) -> Iterator[FlowFactory]:
    """Make flows against the live server; their HTTP clients close after the test. Their
    ``messages`` send the center's outbox first (tests/support/outbox.py)."""
    made: list[Flow] = []

    def make(person: str, **kwargs: Any) -> Flow:
        kwargs.setdefault("deliver", partial(deliver_pending, center))
        flow = Flow(api.url, tmp_path, person, **kwargs)
        made.append(flow)
        return flow

    yield make
    for flow in made:
        flow.client.close()
