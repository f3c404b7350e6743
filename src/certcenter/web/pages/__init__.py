"""The pages of the web center: one module per page (or group of pages), each with a
``router = page_router(...)``; ``routers()`` finds them all, so adding a page is adding a
module here and its template in ``web/templates``. Modules are included in name order.
"""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append(router)
    return found
