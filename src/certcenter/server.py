"""The ASGI application: the ``/v1`` API and the web center, side by side over one Center.

    uvicorn certcenter.server:app_from_environment --factory --no-proxy-headers

``create_app(center)`` builds the app over an already-built :class:`~certcenter.bootstrap.Center`
(tests pass their own, with a controlled clock). It sits above both HTTP adapters, so neither
``api`` nor ``web`` imports the other: each brings its own ``install(app)``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from certcenter import __version__, api, web
from certcenter.api import errors
from certcenter.bootstrap import Center, build_center
from certcenter.config import Settings, load_settings
from certcenter.errors import CertCenterError
from certcenter.http_common.edge import EdgeMiddleware, refuse_at_edge

MAX_BODY_BYTES = 64 * 1024


@contextlib.asynccontextmanager
async def _background(app: FastAPI) -> AsyncIterator[None]:
    """The job runner and the notification sender, in threads, for the server's lifetime.
    Every worker process runs its own: both are safe to run concurrently."""
    center: Center = app.state.center
    stop = threading.Event()
    policy = center.settings.policy
    threads = [
        threading.Thread(
            target=center.jobs.run_forever,
            name="certcenter-jobs",
            args=(stop, policy.job_interval_seconds),
            daemon=True,
        ),
        threading.Thread(
            target=center.sender.run_forever,
            name="certcenter-sender",
            args=(stop, policy.notification_interval_seconds),
            daemon=True,
        ),
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def hsts_on(settings: Settings) -> bool:
    """``Strict-Transport-Security`` is sent when the center is served on https or in
    production (behind the TLS-terminating proxy)."""
    https = urlsplit(settings.public_base_url).scheme == "https"
    return https or settings.environment == "production"


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    error = CertCenterError("REQUEST_TOO_LARGE", limit=f"{MAX_BODY_BYTES // 1024} KiB")
    response = errors.problem(error, Request(scope))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    await response(scope, receive, send)


def _readiness(request: Request) -> Response:
    current: Center = request.app.state.center
    report = current.readiness.run()
    checks: dict[str, Any] = {}
    for name, error in report.results.items():
        if error is None:
            checks[name] = {"ok": True}
            continue
        checks[name] = {
            "ok": False,
            "code": error.code,
            "message": {"ko": error.message("ko"), "en": error.message("en")},
            "cause": {"ko": error.cause("ko"), "en": error.cause("en")},
        }
    if report.ok:
        return JSONResponse({"status": "ok", "version": __version__, "checks": checks})
    first = next(iter(report.failures.values()))
    response = errors.problem(first, request)
    body = json.loads(bytes(response.body))
    # not ready is 503 whatever the failure's own status (a checkpoint mismatch is 409)
    body.update({"status": 503, "readiness": "unavailable", "version": __version__})
    body["checks"] = checks
    return JSONResponse(
        body,
        status_code=503,
        media_type=errors.PROBLEM,
        headers={"Content-Language": response.headers["Content-Language"]},
    )


def create_app(center: Center, *, background: bool = False) -> FastAPI:
    production = center.settings.environment == "production"
    app = FastAPI(
        lifespan=_background if background else None,
        title="certcenter",
        version=__version__,
        summary="인증센터 — a bank's certificate center: mobile certificates, proofing, PKI.",
        # Swagger UI loads its scripts from a CDN: not in production
        docs_url=None if production else "/docs",
        openapi_url="/openapi.json",
        redoc_url=None,
        dependencies=[Depends(refuse_at_edge)],
    )
    app.state.center = center

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return errors.problem(
                CertCenterError("REQUEST_TOO_LARGE", limit=f"{MAX_BODY_BYTES // 1024} KiB"),
                request,
            )
        try:
            response = await call_next(request)
        except Exception as exc:  # noqa: BLE001 - the one place that turns any fault into a 500
            response = errors.unexpected(request, exc)
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.get("/healthz", tags=["operations"])
    def health(request: Request) -> Response:
        """Alive and honest: the same checks as ``/readyz``, so a broken database is never
        reported as ok."""
        return _readiness(request)

    @app.get("/readyz", tags=["operations"])
    def ready(request: Request) -> Response:
        """Ready to take a change: a heartbeat write commits, the audit trail's head and
        newest checkpoint are sound, the key backend signs, the CA is there. 503 with the
        first failure's catalog code (problem document) and every check in ``checks``."""
        return _readiness(request)

    # the API: its error handlers (problem documents), /v1 and /sim
    api.install(app)
    # the web center: its pages, /static, the signed session cookie, security headers
    web.install(app)
    # outermost: the body limit on the bytes read, NFC and no control characters, HSTS
    app.add_middleware(
        EdgeMiddleware,
        max_body=MAX_BODY_BYTES,
        too_large=_too_large,
        hsts=hsts_on(center.settings),
    )
    return app


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (each worker builds its own center)."""
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    center = build_center(settings)
    center.keys.verify_passphrase()
    return create_app(center, background=settings.background_jobs)
