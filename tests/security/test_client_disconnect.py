"""A client that leaves in the middle of a POST (its body half sent) ends the request
quietly: no route runs, nothing is answered, no incident and no traceback in the log — a
debug line says it left. Run against the app itself with a scripted ASGI ``receive``, so the
disconnect arrives exactly while the body is being read; on an API route and a web form."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Message

from certcenter.bootstrap import Center
from certcenter.server import create_app


def _post(
    path: str, content_type: str, first_part: bytes
) -> tuple[dict[str, object], list[Message]]:
    scope: dict[str, object] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", content_type.encode()),
            (b"content-length", b"4000"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    incoming: list[Message] = [
        {"type": "http.request", "body": first_part, "more_body": True},
        {"type": "http.disconnect"},
    ]
    return scope, incoming


def _run(center: Center, scope: dict[str, object], incoming: list[Message]) -> list[Message]:
    app = create_app(center)
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize(
    ("path", "content_type", "first_part"),
    [
        ("/v1/enrollments", "application/json", b'{"device": {"device_id": "dev-le'),
        ("/why", "application/x-www-form-urlencoded", b"csrf_token=abc&name=%ED%99"),
    ],
)
def test_a_client_leaving_mid_body_is_no_incident(
    center: Center,
    caplog: pytest.LogCaptureFixture,
    path: str,
    content_type: str,
    first_part: bytes,
) -> None:
    caplog.set_level(logging.DEBUG)
    scope, incoming = _post(path, content_type, first_part)
    sent = _run(center, scope, incoming)
    assert sent == []  # no one to answer
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.exc_info]
    assert any("client left during POST " + path in r.getMessage() for r in caplog.records)


def test_a_route_that_meets_the_disconnect_itself_is_no_incident(
    center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    """Should a route read past the body and meet the disconnect (Starlette's
    ``ClientDisconnect``), the server still ends it quietly rather than as a 500."""
    app = create_app(center)

    @app.get("/v1/test-leaves")
    def leaves() -> None:
        raise ClientDisconnect

    caplog.set_level(logging.DEBUG)
    sent: list[Message] = []
    incoming: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope, _ = _post("/v1/test-leaves", "application/json", b"")
    scope["method"] = "GET"
    scope["headers"] = [(b"host", b"127.0.0.1")]
    asyncio.run(app(scope, receive, send))
    assert sent == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert any("client left during GET /v1/test-leaves" in r.getMessage() for r in caplog.records)


def test_a_fault_in_a_route_is_still_an_incident_with_a_problem_document(
    center: Center, caplog: pytest.LogCaptureFixture
) -> None:
    """The counterpart: a real fault is answered 500 ``INTERNAL_ERROR`` (problem document,
    ``no-store``, ``nosniff``) and logged as an incident with its traceback."""
    app = create_app(center)

    @app.get("/v1/test-fault")
    def fault() -> None:
        raise RuntimeError("the disk is gone")

    sent: list[Message] = []
    incoming: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope, _ = _post("/v1/test-fault", "application/json", b"")
    scope["method"] = "GET"
    scope["headers"] = [(b"host", b"127.0.0.1"), (b"accept-language", b"en")]
    asyncio.run(app(scope, receive, send))
    start, body = sent[0], sent[1]
    assert start["status"] == 500
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert headers["content-type"].startswith("application/problem+json")
    assert headers["cache-control"] == "no-store" and headers["x-content-type-options"] == "nosniff"
    problem = json.loads(body["body"])
    assert problem["code"] == "INTERNAL_ERROR" and "disk" not in body["body"].decode()
    incident = next(r for r in caplog.records if r.getMessage().startswith("incident "))
    assert incident.exc_info is not None
    assert incident.getMessage().split()[1].rstrip(":") in problem["detail"] + str(problem)
