"""No request pays a thread-pool hop for a dependency that only looks at the request.

FastAPI runs every plain ``def`` dependency in the thread pool (a hop there and back, with
its thread hand-offs, per dependency per request) and every ``async def`` one on the event
loop. The app-wide edge check, the center, the client's address and the flows' tickets are
``async def``; only dependencies that read the database or the key store may be plain
``def`` — they are named here, so a new plain one has to be looked at.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from certcenter.bootstrap import Center
from certcenter.server import create_app

# plain def on purpose: each reads the database (a session, an operator) or parses a form
THREADED = {
    "current_session",  # api/deps.py: the session by its token
    "dependency",  # api/routes/operator.py: the operator by the token
    "medium_answer",  # web/financial_forms.py: the medium's form fields
}


def _dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependencies(sub)


def _routes(app: Any) -> Iterator[tuple[str, Dependant]]:
    """Each route's path and its dependant as mounted: with the app's and its routers'
    dependencies."""
    for context in routing.iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.dependant is not None:
            yield context.path_format, context.dependant


def test_request_facts_are_resolved_on_the_event_loop(center: Center) -> None:
    app = create_app(center)
    threaded: dict[str, set[str]] = {}
    routes = list(_routes(app))
    assert len(routes) > 100  # the API and the web pages were all found
    for path, dependant in routes:
        for call in _dependencies(dependant):
            if call is None or inspect.iscoroutinefunction(call):
                continue
            name = getattr(call, "__name__", repr(call))
            threaded.setdefault(name, set()).add(path)
    unexpected = {
        name: sorted(paths)[:3] for name, paths in threaded.items() if name not in THREADED
    }
    assert unexpected == {}


def test_a_step_of_a_flow_hops_to_the_thread_pool_once(center: Center) -> None:
    """The enrolment's phone step: the edge check, the center, the address and the flow's
    ticket on the loop; the step itself (it writes) in the thread pool."""
    app = create_app(center)
    dependant = next(
        d for path, d in _routes(app) if path == "/v1/enrollments/{enrollment_id}/phone"
    )
    calls = list(_dependencies(dependant))
    names = {getattr(call, "__name__", "") for call in calls}
    assert {"refuse_at_edge", "request_center", "request_client_ip", "enrollment_ref"} <= names
    assert all(inspect.iscoroutinefunction(call) for call in calls)
    assert not inspect.iscoroutinefunction(dependant.call)
