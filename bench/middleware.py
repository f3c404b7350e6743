"""What each HTTP middleware costs per request, in process (no server, no sockets).

    .venv/bin/python bench/middleware.py              # 20000 requests per variant
    .venv/bin/python bench/middleware.py --requests 50000 --repeat 5

A trivial ASGI app (a fixed 2-byte answer) is called directly with a scripted ``receive``,
alone and wrapped in one middleware at a time, then in the whole stack the server builds; the
cost of a middleware is its median time per request minus the bare app's. The ``BaseHTTP``
variant is the ``@app.middleware("http")`` function the server used before (the same body
limit, headers and 500 mapping), kept here to compare with its pure ASGI replacement.
Prints microseconds; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certcenter.api import errors
from certcenter.errors import CertCenterError
from certcenter.http_common.edge import EdgeMiddleware
from certcenter.server import MAX_BODY_BYTES, ProblemsMiddleware, _too_large
from certcenter.web.security import WebHeadersMiddleware

BODY = b'{"device": {"device_id": "dev-bench-0001"}}'


async def bare(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await PlainTextResponse("ok")(scope, receive, send)


async def _before(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        return errors.problem(CertCenterError("REQUEST_TOO_LARGE", limit="64 KiB"), request)
    try:
        response = await call_next(request)
    except Exception as exc:  # noqa: BLE001 - as the server did
        response = errors.unexpected(request, exc)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def edge(app: ASGIApp) -> ASGIApp:
    return EdgeMiddleware(app, max_body=MAX_BODY_BYTES, too_large=_too_large, hsts=True)


def session(app: ASGIApp) -> ASGIApp:
    return SessionMiddleware(app, secret_key="bench-" * 8, session_cookie="certcenter_web")


VARIANTS: dict[str, Callable[[ASGIApp], ASGIApp]] = {
    "bare app": lambda app: app,
    "errors+limit, BaseHTTP (before)": lambda app: BaseHTTPMiddleware(app, dispatch=_before),
    "errors+limit, pure ASGI (after)": ProblemsMiddleware,
    "EdgeMiddleware": edge,
    "WebHeadersMiddleware (web path)": WebHeadersMiddleware,
    "SessionMiddleware": session,
    "whole stack, before": lambda app: edge(
        WebHeadersMiddleware(session(BaseHTTPMiddleware(app, dispatch=_before)))
    ),
    "whole stack, after": lambda app: edge(WebHeadersMiddleware(session(ProblemsMiddleware(app)))),
}


def _scope(path: str) -> Scope:
    return {
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
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def _time(app: ASGIApp, requests: int, path: str) -> float:
    async def receive() -> Message:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: Message) -> None:
        return None

    start = time.perf_counter()
    for _ in range(requests):
        await app(_scope(path), receive, send)
    return (time.perf_counter() - start) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.repeat):  # interleaved, so drift in the machine hits every variant
        for name, wrap in VARIANTS.items():
            app = wrap(bare)
            path = "/why" if "Web" in name else "/v1/enrollments"
            results[name].append(asyncio.run(_time(app, args.requests, path)))
    base = statistics.median(results["bare app"])
    print(f"{'variant':<34} {'µs/request':>11} {'cost µs':>8}")
    for name, times in results.items():
        median = statistics.median(times)
        print(f"{name:<34} {median:>11.1f} {median - base:>8.1f}")


if __name__ == "__main__":
    main()
