"""The error catalog is complete, and the documents made from it are current."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from fastapi import FastAPI
from starlette.routing import Match

from certcenter.bootstrap import build_center
from certcenter.cli.main import cli
from certcenter.errors import CertCenterError, catalog
from certcenter.errors.document import catalog_markdown
from certcenter.server import create_app

ROOT = Path(__file__).resolve().parent.parent


def test_every_entry_has_both_languages_cause_and_remedy() -> None:
    for code, item in catalog().items():
        assert re.fullmatch(r"[A-Z][A-Z0-9_]+", code)
        for field in ("message", "cause", "remedy"):
            assert item.text(field, "ko").strip(), (code, field)
            assert item.text(field, "en").strip(), (code, field)


def test_every_code_raised_in_the_source_is_in_the_catalog() -> None:
    raised = set()
    for path in (ROOT / "src").rglob("*.py"):
        raised |= set(re.findall(r'CertCenterError\(\s*"([A-Z0-9_]+)"', path.read_text("utf-8")))
    missing = raised - set(catalog())
    assert raised and not missing, missing


def test_placeholders_are_filled_and_missing_ones_stay_visible() -> None:
    err = CertCenterError("CODE_INVALID", tries_left=2)
    assert "2" in err.cause("ko") and "2" in err.cause("en")
    assert "{tries_left}" in CertCenterError("CODE_INVALID").cause("en")


def test_docs_errors_md_is_generated_from_the_catalog() -> None:
    assert (ROOT / "docs" / "errors.md").read_text("utf-8") == catalog_markdown(), (
        "regenerate: certcenter errors --markdown > docs/errors.md"
    )


# ---------------------------------------------------------------- remedies point somewhere
# A remedy that sends the customer or an operator to a command, a page or a route names it in
# the catalog's ``action`` (cli:…, web:…, api:METHOD …); the commands and paths the texts
# name are checked too, so no remedy points at something that does not exist.

_TEXT_COMMAND = re.compile(r"certcenter((?: [a-z][a-z0-9-]*)+)((?: --[a-z][a-z0-9-]*)*)")
# a route as the texts write it, with its {placeholders}; a file on the machine (/usr/…) is not one
_TEXT_PATH = re.compile(
    r"(?:\b(GET|POST|PUT|PATCH|DELETE) )?(?<![\w.:/])(/(?!usr/|etc/|var/|opt/)[a-z][a-z0-9_/{}-]*)"
)
# Remedies that send the customer to our app, our pages or our commands by those words.
_NAMES_A_PLACE = re.compile(
    r"\bin the app\b|\bphone app\b|\bin the app's\b|app on your phone|\bin your own phone's app"
    r"|\bapprove in the app\b|\bthe login page\b|financial-certificate page"
    r"|My certificates & devices|device management|certcenter [a-z]",
    re.IGNORECASE,
)


def _command(words: list[str]) -> click.Command | None:
    command: click.Command = cli
    for word in words:
        found = (
            command.get_command(click.Context(command), word)  # imports a lazy command
            if isinstance(command, click.Group)
            else None
        )
        if found is None:
            return None
        command = found
    return command


def _route_exists(app: FastAPI, method: str, path: str) -> bool:
    concrete = re.sub(r"\{[a-z_]+\}", "X1", path)
    scope = {"type": "http", "method": method, "path": concrete, "root_path": ""}
    return any(route.matches(scope)[0] is Match.FULL for route in app.routes)


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory, pki_dir: Path) -> FastAPI:
    from tests.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("catalog"), pki_dir, None)
    center = build_center(settings)
    try:
        return create_app(center)
    finally:
        center.close()


def test_every_remedy_action_is_a_real_command_page_or_route(routes: FastAPI) -> None:
    found = 0
    for code, item in catalog().items():
        for action in item.actions:
            found += 1
            kind, target = action.split(":", 1)
            if kind == "cli":
                command = _command(target.split())
                assert command is not None and not isinstance(command, click.Group), (code, action)
            elif kind == "web":
                assert _route_exists(routes, "GET", target), (code, action)
            else:
                method, path = target.split(" ", 1)
                assert _route_exists(routes, method, path), (code, action)
    assert found >= 10


def test_commands_and_paths_named_in_remedies_exist(routes: FastAPI) -> None:
    for code, item in catalog().items():
        for text in (item.remedy_ko, item.remedy_en):
            for words, options in _TEXT_COMMAND.findall(text):
                split = words.split()
                # the longest prefix that is a command: "certcenter init" in "… init, and"
                command = next(
                    (c for n in range(len(split), 0, -1) if (c := _command(split[:n])) is not None),
                    None,
                )
                assert command is not None and not isinstance(command, click.Group), (
                    code,
                    words,
                )
                known = {opt for p in command.params for opt in getattr(p, "opts", [])}
                for option in options.split():
                    assert option in known, (code, words, option)
            for method, path in _TEXT_PATH.findall(text):
                assert _route_exists(routes, method or "GET", path), (code, method, path)


def test_remedies_that_send_somewhere_say_where() -> None:
    unnamed = [
        code
        for code, item in catalog().items()
        if _NAMES_A_PLACE.search(item.remedy_en) and not item.actions
    ]
    assert unnamed == []


def test_a_remedy_action_that_points_nowhere_is_caught(routes: FastAPI) -> None:
    assert _command(["app", "overseas-access"]) is not None
    assert _command(["app", "overseas-settings"]) is None
    assert _route_exists(routes, "GET", "/my")
    assert not _route_exists(routes, "GET", "/my/overseas")
    assert _route_exists(routes, "POST", "/v1/devices/{device_id}/overseas-access")
    assert not _route_exists(routes, "GET", "/v1/devices/{device_id}/overseas-access")
