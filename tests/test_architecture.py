"""The import direction holds: the domain core knows neither its adapters, the web framework,
the CLI framework nor SQL; the packages keep their layers; the adapters stay apart. (The same
contracts run as ``lint-imports`` in ``make lint``; the package lists are read from
``pyproject.toml``, the one place they are kept.)"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grimp
import pytest

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
ROOT = "certcenter"


def _contracts() -> list[dict[str, Any]]:
    with PYPROJECT.open("rb") as handle:
        config = tomllib.load(handle)
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _contract(kind: str) -> dict[str, Any]:
    found = [c for c in _contracts() if c["type"] == kind]
    assert len(found) == 1, f"expected one {kind} contract in pyproject.toml, found {len(found)}"
    return found[0]


@dataclass(frozen=True)
class Layer:
    """One entry of the layers contract: ``"api | web | cli"``, ``"(flows) | (signing)"``."""

    packages: tuple[str, ...]  # full names, ``certcenter.api``
    optional: frozenset[str]  # named in parentheses: may be absent
    independent: bool  # ``|`` (or a single name): siblings do not import each other

    @classmethod
    def parse(cls, text: str, container: str) -> Layer:
        independent = ":" not in text
        names = [part.strip() for part in text.replace(":", "|").split("|")]
        optional = {n[1:-1] for n in names if n.startswith("(") and n.endswith(")")}
        tails = [n[1:-1] if n[1:-1] in optional else n for n in names]
        return cls(
            packages=tuple(f"{container}.{tail}" for tail in tails),
            optional=frozenset(f"{container}.{tail}" for tail in optional),
            independent=independent,
        )


def _layers() -> list[Layer]:
    contract = _contract("layers")
    (container,) = contract["containers"]
    return [Layer.parse(text, container) for text in contract["layers"]]


FORBIDDEN_CONTRACT = _contract("forbidden")
FORBIDDEN: list[str] = FORBIDDEN_CONTRACT["forbidden_modules"]
LAYERS = _layers()
_STORAGE = next(i for i, layer in enumerate(LAYERS) if f"{ROOT}.storage" in layer.packages)
# The core: what the forbidden contract names, and everything the layers put below storage
# (so a package on its way is checked as soon as it exists, before anyone names it there).
CORE: list[str] = sorted(
    set(FORBIDDEN_CONTRACT["source_modules"])
    | {package for layer in LAYERS[_STORAGE + 1 :] for package in layer.packages}
)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(ROOT, include_external_packages=True)


def test_core_does_not_import_adapters_frameworks_or_sql(graph: grimp.ImportGraph) -> None:
    chains = []
    for core in CORE:
        if core not in graph.modules:
            assert any(core in layer.optional for layer in LAYERS), f"{core} does not exist"
            continue
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


def test_the_layers_contract_spells_out_the_adapters_over_the_core() -> None:
    contract = _contract("layers")
    assert contract["exhaustive"] is True
    order = [set(layer.packages) for layer in LAYERS]
    adapters = order.index({"certcenter.api", "certcenter.web", "certcenter.cli"})
    assert LAYERS[adapters].independent
    below = [package for layer in LAYERS[adapters + 1 :] for package in layer.packages]
    for package in ("certcenter.bootstrap", "certcenter.storage", "certcenter.enrollment"):
        assert package in below
    assert below.index("certcenter.bootstrap") < below.index("certcenter.storage")
    assert below.index("certcenter.storage") < below.index("certcenter.enrollment")
    # the packages on their way have their place already
    for package in ("certcenter.flows", "certcenter.issuance", "certcenter.signing"):
        assert package in below


def test_every_package_has_its_place_in_the_layers(graph: grimp.ImportGraph) -> None:
    named = {package for layer in LAYERS for package in layer.packages}
    unnamed = sorted(graph.find_children(ROOT) - named)
    assert not unnamed, f"not named in pyproject.toml's layers contract: {unnamed}"
    required = named - {package for layer in LAYERS for package in layer.optional}
    assert not sorted(required - graph.modules), "the layers name packages that do not exist"


def test_the_layers_hold(graph: grimp.ImportGraph) -> None:
    present = [
        grimp.Layer(
            *(p for p in layer.packages if p in graph.modules), independent=layer.independent
        )
        for layer in LAYERS
        if any(p in graph.modules for p in layer.packages)
    ]
    illegal = graph.find_illegal_dependencies_for_layers(layers=present)
    assert not illegal, "\n".join(
        f"{d.importer} must not import {d.imported}: {[r.heads for r in d.routes]}"
        for d in sorted(illegal, key=lambda d: (d.importer, d.imported))
    )


def test_web_and_api_do_not_import_each_other(graph: grimp.ImportGraph) -> None:
    assert not graph.find_shortest_chains(
        importer="certcenter.web", imported="certcenter.api", as_packages=True
    )
    assert not graph.find_shortest_chains(
        importer="certcenter.api", imported="certcenter.web", as_packages=True
    )
    # both take the caller's address from the module they share
    for adapter in ("certcenter.api", "certcenter.web"):
        assert graph.find_shortest_chains(
            importer=adapter, imported="certcenter.http_common", as_packages=True
        )


def test_cli_commands_do_not_import_the_cli_entry_point(graph: grimp.ImportGraph) -> None:
    # main.py gathers the commands; the command modules share cli/common.py instead.
    importers = graph.find_modules_that_directly_import("certcenter.cli.main")
    assert not {m for m in importers if m.startswith("certcenter.")}, importers
