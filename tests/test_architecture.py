"""The import direction holds: the domain core knows neither its adapters, the web framework,
the CLI framework nor SQL. (The same contract runs as ``lint-imports`` in ``make lint``.)"""

from __future__ import annotations

import grimp
import pytest

CORE = [
    "certcenter.clock",
    "certcenter.config",
    "certcenter.errors",
    "certcenter.keys",
    "certcenter.pki",
    "certcenter.identity",
    "certcenter.authn",
    "certcenter.enrollment",
    "certcenter.risk",
    "certcenter.ports",
    "certcenter.entities",
    "certcenter.lifecycle",
    "certcenter.audit",
    "certcenter.notifications",
    "certcenter.revocation",
    "certcenter.usage",
    "certcenter.media",
    "certcenter.diagnosis",
    "certcenter.financial",
    "certcenter.signing",
]
FORBIDDEN = [
    "certcenter.api",
    "certcenter.cli",
    "certcenter.storage",
    "certcenter.simulators",
    "certcenter.bootstrap",
    "fastapi",
    "starlette",
    "click",
    "sqlalchemy",
    "alembic",
    "uvicorn",
    "httpx",
    "certcenter.web",
    "jinja2",
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("certcenter", include_external_packages=True)


def test_core_does_not_import_adapters_frameworks_or_sql(graph: grimp.ImportGraph) -> None:
    chains = []
    for core in CORE:
        for forbidden in FORBIDDEN:
            if forbidden not in graph.modules:
                continue
            chains += graph.find_shortest_chains(
                importer=core, imported=forbidden, as_packages=True
            )
    assert not chains, f"forbidden imports: {sorted(chains)}"


def test_the_check_sees_imports_that_exist(graph: grimp.ImportGraph) -> None:
    # The adapters do import the core and the frameworks: a check that found nothing here
    # would be looking at an empty graph.
    assert graph.find_shortest_chains(
        importer="certcenter.api", imported="fastapi", as_packages=True
    )
    assert graph.find_shortest_chains(
        importer="certcenter.api", imported="certcenter.enrollment", as_packages=True
    )
