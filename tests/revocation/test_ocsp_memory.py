"""Answers held in the server process's memory: no database on a hit, bounded size, and
never stale past ``ocsp_memory_max_staleness_seconds`` after a status change made anywhere."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.ocsp import OCSPCertStatus, OCSPResponseStatus
from sqlalchemy import event

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock, SystemClock
from certcenter.lifecycle.service import ActorRef
from certcenter.revocation import OcspAnswer, OcspResponder
from certcenter.revocation.ocsp_memory import ENTRY_OVERHEAD, ResponseMemory
from certcenter.server import create_app
from tests.conftest import LiveServer
from tests.revocation.support import record_active

SHA1 = hashes.SHA1()  # noqa: S303 - the CertID hash OCSP clients use
OPERATOR = ActorRef.operator("tester", None)
T0 = datetime(2026, 12, 1, tzinfo=UTC)


def _request(center: Center, certificate: x509.Certificate, *, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        certificate, center.hierarchy().issuing("mobile").certificate, SHA1
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _status(der: bytes) -> OCSPCertStatus:
    response = ocsp.load_der_ocsp_response(der)
    assert response.response_status is OCSPResponseStatus.SUCCESSFUL
    return response.certificate_status


@contextmanager
def _statements(center: Center) -> Iterator[list[str]]:
    """Every SQL statement sent on the center's database meanwhile."""
    sent: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(center.engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(center.engine, "before_cursor_execute", seen)


def _other_process(center: Center, clock: Any) -> OcspResponder:
    """A responder as another server process has it: the same database, its own memory,
    no word of this process's commits (only the change log)."""
    return OcspResponder(
        uow_factory=center.uow_factory,
        backend=center.keys,
        hierarchy=center.hierarchy,
        settings=center.settings,
        clock=clock,
    )


# ---------------------------------------------------------------------- serving


@pytest.mark.policy(ocsp_memory_max_staleness_seconds=60)
def test_a_hit_touches_no_database(center: Center) -> None:
    certificate = record_active(center)
    request = _request(center, certificate)
    responder = center.revocation.ocsp
    first = responder.respond(request)
    with _statements(center) as sent:
        for _ in range(20):
            assert responder.respond(request) == first
            held = responder.held(request)
            assert held is not None and held.der == first
    assert sent == []
    # a request with a nonce is never held: read and signed each time
    with _statements(center) as sent:
        nonce = responder.respond(_request(center, certificate, nonce=b"0123456789abcdef"))
    assert sent and nonce != first
    assert responder.held(_request(center, certificate, nonce=b"0123456789abcdef")) is None


def test_a_change_in_this_process_is_seen_at_once(center: Center) -> None:
    certificate = record_active(center)
    serial = f"{certificate.serial_number:X}"
    request = _request(center, certificate)
    responder = center.revocation.ocsp
    assert _status(responder.respond(request)) is OCSPCertStatus.GOOD
    assert responder.held(request) is not None

    center.lifecycle.suspend(serial, OPERATOR)
    assert responder.held(request) is None  # dropped by the commit, clock unmoved
    assert _status(responder.respond(request)) is OCSPCertStatus.REVOKED
    center.lifecycle.release(serial, OPERATOR)
    assert _status(responder.respond(request)) is OCSPCertStatus.GOOD
    center.lifecycle.revoke(serial, "keyCompromise", OPERATOR)
    revoked = ocsp.load_der_ocsp_response(responder.respond(request))
    assert revoked.certificate_status is OCSPCertStatus.REVOKED
    assert revoked.revocation_reason is x509.ReasonFlags.key_compromise


def test_another_process_answers_revoked_once_the_bound_has_passed(
    center: Center, clock: FrozenClock
) -> None:
    """(b) by the injected clock: the other process may hold the old answer only while its
    last read of the change log is younger than the bound."""
    certificate = record_active(center)
    serial = f"{certificate.serial_number:X}"
    request = _request(center, certificate)
    other = _other_process(center, clock)
    assert _status(other.respond(request)) is OCSPCertStatus.GOOD
    assert other.held(request) is not None

    center.lifecycle.revoke(serial, "keyCompromise", OPERATOR)
    bound = timedelta(seconds=center.settings.policy.ocsp_memory_max_staleness_seconds)
    clock.advance(seconds=bound.total_seconds() + 0.001)
    assert other.held(request) is None  # too old to serve: never the old answer
    assert _status(other.respond(request)) is OCSPCertStatus.REVOKED
    assert _status(other.respond(request)) is OCSPCertStatus.REVOKED  # held again, revoked
    held = other.held(request)
    assert held is not None and _status(held.der) is OCSPCertStatus.REVOKED


def test_a_second_center_on_the_same_database_follows_suspension_and_expiry(
    center: Center, clock: FrozenClock
) -> None:
    second = center.reconfigured(center.settings)  # its own units of work: another process
    certificate = record_active(center)
    serial = f"{certificate.serial_number:X}"
    request = _request(center, certificate)
    bound = center.settings.policy.ocsp_memory_max_staleness_seconds
    assert _status(second.revocation.ocsp.respond(request)) is OCSPCertStatus.GOOD

    center.lifecycle.suspend(serial, OPERATOR)
    clock.advance(seconds=bound + 0.001)
    assert second.revocation.ocsp.held(request) is None
    on_hold = ocsp.load_der_ocsp_response(second.revocation.ocsp.respond(request))
    assert on_hold.certificate_status is OCSPCertStatus.REVOKED
    assert on_hold.revocation_reason is x509.ReasonFlags.certificate_hold

    with center.uow_factory() as uow:
        record = uow.certificates.get(serial)
        assert record is not None
        record.not_after = clock.now() + timedelta(minutes=1)
        uow.commit()
    clock.advance(minutes=2)
    assert center.lifecycle.expire(serial).changed  # expired while on hold
    with center.uow_factory(read_only=True) as uow:
        changes = uow.ocsp.changed_since(0)
    assert [changed for _, changed in changes].count(serial) == 2  # suspended, expired


@pytest.mark.policy(ocsp_memory_max_staleness_seconds=0.3)
def test_another_process_on_the_real_clock_answers_revoked_within_the_bound(
    center: Center,
) -> None:
    """(a) in real time: a responder on the system clock (as another worker runs) asked over
    and over while the certificate is revoked; every request begun later than the bound
    after the revocation's commit is answered revoked."""
    certificate = record_active(center)
    serial = f"{certificate.serial_number:X}"
    request = _request(center, certificate)
    other = _other_process(center, SystemClock())
    assert _status(other.respond(request)) is OCSPCertStatus.GOOD
    bound = center.settings.policy.ocsp_memory_max_staleness_seconds

    center.lifecycle.revoke(serial, "keyCompromise", OPERATOR)
    committed = time.monotonic()
    late: list[OCSPCertStatus] = []
    while time.monotonic() < committed + bound + 2.0:  # bounded: the bound and a margin
        started = time.monotonic()
        answer = other.held(request) or other.answer(request)
        if started > committed + bound:
            late.append(_status(answer.der))
        time.sleep(0.01)
    assert late and set(late) == {OCSPCertStatus.REVOKED}


# ---------------------------------------------------------------------- the change log


def test_a_pruned_log_drops_everything(center: Center, clock: FrozenClock) -> None:
    certificate = record_active(center)
    other_certificate = record_active(center, "C002")
    request = _request(center, certificate)
    other = _other_process(center, clock)
    other.respond(request)
    other.respond(_request(center, other_certificate))
    assert len(other.memory) == 2
    for _ in range(3):  # three changes, the log then pruned to the newest one
        center.lifecycle.suspend(f"{other_certificate.serial_number:X}", OPERATOR)
        center.lifecycle.release(f"{other_certificate.serial_number:X}", OPERATOR)
    with center.uow_factory() as uow:
        assert uow.ocsp.prune_changes(1) >= 5
        uow.commit()
    clock.advance(seconds=center.settings.policy.ocsp_memory_max_staleness_seconds + 0.001)
    assert other.held(request) is None
    other.check_changes()
    assert len(other.memory) == 0  # cannot tell what changed: nothing kept
    assert _status(other.respond(request)) is OCSPCertStatus.GOOD


def test_the_job_keeps_the_newest_changes(center: Center) -> None:
    certificate = record_active(center)
    serial = f"{certificate.serial_number:X}"
    center.lifecycle.suspend(serial, OPERATOR)
    with center.uow_factory(read_only=True) as uow:
        newest = uow.ocsp.version()
        assert [s for _, s in uow.ocsp.changed_since(newest - 1)] == [serial]
    center.revocation.ocsp.refresh_due()
    with center.uow_factory(read_only=True) as uow:
        assert uow.ocsp.version() == newest
        assert [s for _, s in uow.ocsp.changed_since(newest - 1)] == [serial]


def test_a_failed_change_logs_nothing(center: Center) -> None:
    certificate = record_active(center)
    serial = f"{certificate.serial_number:X}"
    with center.uow_factory(read_only=True) as uow:
        before = uow.ocsp.version()
    with center.uow_factory() as uow:
        uow.ocsp.invalidate(serial)
        uow.rollback()
    with center.uow_factory(read_only=True) as uow:
        assert uow.ocsp.version() == before
        assert list(uow.ocsp.changed_since(before)) == []


# ---------------------------------------------------------------------- the memory itself


def _memory(max_bytes: int = 10_000) -> ResponseMemory[str]:
    memory: ResponseMemory[str] = ResponseMemory(
        max_bytes=max_bytes, max_staleness=timedelta(seconds=1)
    )
    memory.checked(T0, time.monotonic() + 3600, 0)  # read "now" (an hour ahead: no expiry)
    return memory


def test_memory_is_bounded_and_keeps_what_is_used() -> None:
    per_entry = 10 + 100 + ENTRY_OVERHEAD
    memory = _memory(max_bytes=3 * per_entry)
    until = T0 + timedelta(hours=1)
    for i in range(3):
        key = f"key-{i:06}".encode()
        assert memory.put(key, f"S{i}", f"a{i}", der_size=100, serve_until=until, generation=0)
    assert memory.get(b"key-000000", T0) == "a0"  # used: now the most recent
    memory.put(b"key-000003", "S3", "a3", der_size=100, serve_until=until, generation=0)
    assert len(memory) == 3 and memory.size <= memory.max_bytes
    assert memory.get(b"key-000001", T0) is None  # the least recently used left
    assert memory.get(b"key-000000", T0) == "a0"
    assert not memory.put(b"k", "S", "big", der_size=10_000, serve_until=until, generation=0)


def test_memory_never_serves_past_serve_until_nor_when_not_checked() -> None:
    memory = _memory()
    until = T0 + timedelta(minutes=1)
    memory.put(b"key", "S1", "answer", der_size=100, serve_until=until, generation=0)
    assert memory.get(b"key", T0 + timedelta(seconds=0.5)) == "answer"
    assert memory.get(b"key", T0 + timedelta(seconds=1.5)) is None  # log read too long ago
    memory.checked(until, time.monotonic(), 0)
    assert memory.get(b"key", until) is None  # its nextUpdate less the margin: gone
    assert len(memory) == 0
    unchecked: ResponseMemory[str] = ResponseMemory(
        max_bytes=10_000, max_staleness=timedelta(seconds=1)
    )
    unchecked.put(b"key", "S1", "answer", der_size=100, serve_until=until, generation=0)
    assert unchecked.get(b"key", T0) is None  # the log was never read


def test_an_answer_read_before_a_drop_is_not_put_after_it() -> None:
    memory = _memory()
    until = T0 + timedelta(hours=1)
    before = memory.generation  # a miss begins reading the database …
    memory.drop("S1")  # … the status changes meanwhile
    assert not memory.put(b"k1", "S1", "old", der_size=10, serve_until=until, generation=before)
    assert memory.put(b"k2", "S2", "other", der_size=10, serve_until=until, generation=before)
    after = memory.generation
    assert memory.put(b"k1", "S1", "new", der_size=10, serve_until=until, generation=after)
    memory.clear()
    assert not memory.put(b"k2", "S2", "x", der_size=10, serve_until=until, generation=after)


# ---------------------------------------------------------------------- over HTTP

Closing = Callable[[httpx.Client], httpx.Client]


@pytest.fixture
def http() -> Iterator[Closing]:
    """Clients closed after the test."""
    made: list[httpx.Client] = []

    def keep(client: httpx.Client) -> httpx.Client:
        made.append(client)
        return client

    yield keep
    for client in made:
        client.close()


@pytest.mark.policy(ocsp_memory_max_staleness_seconds=60)
def test_http_hits_are_answered_before_the_router_without_a_thread(
    center: Center, api: LiveServer, http: Closing, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = record_active(center)
    request = _request(center, certificate)
    client = http(httpx.Client(base_url=api.url, timeout=30))
    first = client.post("/ocsp", content=request)
    assert first.status_code == 200 and _status(first.content) is OCSPCertStatus.GOOD

    def slow_path(_der: bytes) -> OcspAnswer:
        raise AssertionError("a held answer went to the thread pool")

    monkeypatch.setattr(center.revocation.ocsp, "answer", slow_path)
    with _statements(center) as sent:
        posted = client.post("/ocsp", content=request)
        got = client.get("/ocsp/" + _b64(request))
    assert sent == []
    assert posted.content == first.content == got.content
    assert posted.headers["cache-control"] == "no-store"
    assert posted.headers["x-content-type-options"] == "nosniff"
    assert got.headers["etag"] and "max-age=" in got.headers["cache-control"]
    again = client.get("/ocsp/" + _b64(request), headers={"If-None-Match": got.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_http_limits_and_faults_keep_their_answers(
    center: Center, api: LiveServer, http: Closing, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = http(httpx.Client(base_url=api.url, timeout=30))
    too_large = client.post("/ocsp", content=b"x" * (64 * 1024 + 1))
    assert too_large.status_code == 413
    assert too_large.json()["code"] == "REQUEST_TOO_LARGE"
    chunked = client.post("/ocsp", content=iter([b"x" * 40_000, b"x" * 40_000]))
    assert chunked.status_code == 413
    long = client.post("/ocsp", content=b"x" * 9000)
    assert long.status_code == 200
    assert ocsp.load_der_ocsp_response(long.content).response_status is (
        OCSPResponseStatus.MALFORMED_REQUEST
    )
    assert client.put("/ocsp", content=b"x").status_code == 405  # the router's answer

    def broken(_der: bytes) -> OcspAnswer | None:
        raise RuntimeError("memory corrupted")

    monkeypatch.setattr(center.revocation.ocsp, "held", broken)
    faulty = client.post("/ocsp", content=b"\x30\x00")
    assert faulty.status_code == 200
    assert faulty.headers["content-type"] == "application/ocsp-response"
    assert ocsp.load_der_ocsp_response(faulty.content).response_status is (
        OCSPResponseStatus.INTERNAL_ERROR
    )


def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode("ascii")


def _call(
    app: Any, method: str, path: str, chunks: list[bytes], *, leave: bool = False
) -> list[Any]:
    """The app called as a server would (ASGI), in this thread: the messages it sent."""
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1 or leave}
        for i, chunk in enumerate(chunks)
    ]
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"center.example")],
        "client": ("127.0.0.1", 40000),
        "server": ("center.example", 443),
    }
    asyncio.run(app(scope, receive, send))
    return sent


def test_on_https_every_ocsp_answer_carries_hsts_and_a_client_that_leaves_gets_none(
    center: Center,
) -> None:
    https = center.reconfigured(
        center.settings.model_copy(update={"public_base_url": "https://center.example"})
    )
    app = create_app(https)
    certificate = record_active(center)
    request = _request(center, certificate)
    for method, path, body in (
        ("POST", "/ocsp", [request]),
        ("GET", "/ocsp/" + _b64(request), [b""]),
        ("POST", "/ocsp", [b"garbage"]),
        ("POST", "/ocsp", [b"x" * 40_000, b"x" * 40_000]),  # past 64 KiB: 413
    ):
        start = _call(app, method, path, body)[0]
        headers = dict(start["headers"])
        assert headers[b"strict-transport-security"].startswith(b"max-age="), (method, body)
        assert headers[b"x-content-type-options"] == b"nosniff"
    assert _call(app, "POST", "/ocsp", [request[:10]], leave=True) == []
