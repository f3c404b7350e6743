"""The HTTP adapter: ``/v1`` API (OpenAPI at ``/docs``) and the simulators' ``/sim`` views.

Thin: it validates the shape of requests, calls the domain services, and renders catalog
errors as problem documents (``api/errors.py``). No business rule lives here.

    api.install(app)        # error handlers and routers (certcenter.server does this)
"""

from __future__ import annotations

from certcenter.api.setup import install

__all__ = ["install"]
