"""The ASGI application: the ``/v1`` API and the web center, side by side over one Center.

    uvicorn certcenter.server:app_from_environment --factory --no-proxy-headers

``create_app(center)`` builds the app over an already-built :class:`~certcenter.bootstrap.Center`
(tests pass their own, with a controlled clock). It sits above both HTTP adapters, so neither
``api`` nor ``web`` imports the other: each brings its own ``install(app)``. OCSP requests
(``POST /ocsp``, ``GET /ocsp/…``) are dispatched by :class:`CenterApp` before the middleware
and the router, to :class:`~certcenter.api.ocsp_endpoint.OcspEndpoint`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from certcenter import __version__, api, web
from certcenter.api import contract, errors
from certcenter.api.ocsp_endpoint import OcspEndpoint
from certcenter.bootstrap import Center, build_center
from certcenter.config import Settings, load_settings
from certcenter.errors import CertCenterError
from certcenter.http_common.edge import EdgeMiddleware, body_limit, refuse_at_edge

MAX_BODY_BYTES = 64 * 1024
log = logging.getLogger("certcenter.server")


@contextlib.asynccontextmanager
async def _background(app: FastAPI) -> AsyncIterator[None]:
    """The job runner, the audit trail's sealer and the notification sender, in threads, for
    the server's lifetime. Every worker process runs its own: all are safe to run concurrently
    (one sealer works at a time; the others' passes find the head held and skip)."""
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
            target=center.audit_checkpoints.run_forever,
            name="certcenter-audit-sealer",
            args=(stop, policy.audit_seal_interval_seconds),
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


class ProblemsMiddleware:
    """Pure ASGI, just outside the routes: the ``Content-Length`` limit, ``Cache-Control:
    no-store`` and ``nosniff`` unless a response set its own, and the one place that turns
    any fault into a 500 problem document with an incident number. A client that left while
    its body was read is no fault: the request ends with a debug line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        limit = body_limit(scope["path"], MAX_BODY_BYTES)
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _too_large(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers.setdefault("Cache-Control", "no-store")
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except ClientDisconnect:
            log.debug("client left during %s %s", scope["method"], scope["path"])
        except Exception as exc:  # the one place that turns any fault into a 500
            if started:
                raise  # the answer is under way: the server ends the connection
            response = errors.unexpected(Request(scope), exc)
            await response(scope, receive, sending)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


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
        if name in report.purposes:  # keys: the purposes whose backend failed
            checks[name]["purposes"] = list(report.purposes[name])
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


class CenterApp(FastAPI):
    """The FastAPI app, with OCSP (``POST /ocsp``, ``GET /ocsp/…``) dispatched before it:
    those requests pass neither the middleware, nor the router, nor FastAPI's per-request
    work; :class:`~certcenter.api.ocsp_endpoint.OcspEndpoint` does what they need of it."""

    ocsp: OcspEndpoint | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ocsp = self.ocsp
        if ocsp is not None and ocsp.handles(scope):
            scope["app"] = self
            await ocsp(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(center: Center, *, background: bool = False) -> FastAPI:
    production = center.settings.environment == "production"
    app = CenterApp(
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
    # innermost of ours: any fault a route let through becomes a 500 problem document
    app.add_middleware(ProblemsMiddleware)

    @app.get("/healthz", tags=["operations"])
    @contract.raises_any(503)
    def health(request: Request) -> Response:
        """Alive and honest: the same checks as ``/readyz``, so a broken database is never
        reported as ok."""
        return _readiness(request)

    @app.get("/readyz", tags=["operations"])
    @contract.raises_any(503)
    def ready(request: Request) -> Response:
        """Ready to take a change: a heartbeat write commits, the audit trail's head and
        newest checkpoint are sound, every key backend a purpose uses answers, the CA is
        there. 503 with the first failure's catalog code (problem document) and every check
        in ``checks`` (a failed ``keys`` check names its ``purposes``)."""
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
    # in front of everything: POST /ocsp and GET /ocsp/… on a short path, with the same
    # limit, headers and error answers (api/ocsp_endpoint.py)
    app.ocsp = OcspEndpoint(
        max_body=MAX_BODY_BYTES, too_large=_too_large, hsts=hsts_on(center.settings)
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
    center.key_backends.verify_passphrase()
    # the CMP message code is loaded lazily (cmp/server.py); a worker loads it now, beside
    # its first requests, so that the first CMP message does not wait for the import
    threading.Thread(target=center.cmp.load, name="certcenter-cmp-load", daemon=True).start()
    return create_app(center, background=settings.background_jobs)
