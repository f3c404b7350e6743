"""The departure-records simulator (출입국 기록), its operator views, and the app's
``approve`` command."""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import delete

from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from certcenter.identity.providers import DepartureRecords, DepartureStatus
from certcenter.simulators.telco import ci_secret, connecting_information
from certcenter.simulators.world import load_world, seed_world
from certcenter.storage.simulator_tables import sim_departures, sim_meta
from tests.conftest import LiveServer
from tests.financial_issuance.support import Browser
from tests.support.flow import FlowFactory
from tests.usage.support import PIN, issued

TODAY = date(2026, 11, 23)
# the simulators keep their own (SQLite) database whatever the center's is: run once
SIMULATOR_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


def ci_of(center: Center, key: str) -> str:
    person = load_world().people[key]
    return connecting_information(person.rrn.digits, ci_secret(center.sim_store))


@SIMULATOR_ONLY
def test_who_is_abroad(center: Center) -> None:
    records = center.providers.departures
    assert isinstance(records, DepartureRecords)
    assert records.status(ci_of(center, "C014"), today=TODAY) == DepartureStatus(
        abroad=True, country="US", departed_on=date(2026, 10, 2)
    )
    back = records.status(ci_of(center, "C007"), today=TODAY)
    assert not back.abroad and back.country == "JP" and back.returned_on == date(2026, 8, 10)
    assert records.status(ci_of(center, "C001"), today=TODAY) == DepartureStatus(abroad=False)
    # before the departure day, C014 was home; on the return day, C007 was back
    assert not records.status(ci_of(center, "C014"), today=date(2026, 10, 1)).abroad
    assert records.status(ci_of(center, "C007"), today=date(2026, 8, 9)).abroad
    assert not records.status(ci_of(center, "C007"), today=date(2026, 8, 10)).abroad
    # a world seeded before departure records existed gets them at the next start
    with center.sim_engine.begin() as conn:
        conn.execute(delete(sim_departures))
        conn.execute(delete(sim_meta).where(sim_meta.c.key == "departures"))
    assert center.sim_store.departures() == []
    assert not seed_world(load_world(), center.sim_store, center.uow_factory, center.clock)
    names = sorted(r["name"] for r in center.sim_store.departures())
    assert names == sorted(load_world().people[k].name for k in ("C007", "C013", "C014"))


@SIMULATOR_ONLY
def test_departures_on_the_command_line(api: LiveServer) -> None:
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(cli, ["sim", "departures", "--url", api.url, *args])
        assert done.exit_code == 0, done.output
        return done.output

    listed = run()
    assert listed.count("abroad") == 2 and "back 2026-08-10" in listed
    # C001 flies to Japan today: now the departure check works for him
    assert "JP" in run("--depart", "C001", "--country", "jp")
    browser = Browser(api.url, "C001")
    browser.start()
    browser.identify()
    assert browser.departure()["detail"]["country"] == "JP"
    # C014 comes back: the check no longer works for her
    assert run("--return", "C014").count("abroad") == 2  # C001 and C013
    back = Browser(api.url, "C014")
    back.start()
    back.identify()
    assert back.refused("departure").code == "FINANCIAL_NOT_ABROAD"
    missing = runner.invoke(cli, ["sim", "departures", "--url", api.url, "--return", "C001X"])
    assert missing.exit_code != 0 and "NOT_FOUND" in missing.output


@SIMULATOR_ONLY
def test_app_approve_on_the_command_line(new_flow: FlowFactory, center: Center) -> None:
    flow = issued(new_flow, "C001")
    url = str(flow.client.http.base_url)
    started = center.approvals.start("web-login")
    done = CliRunner().invoke(
        cli,
        [
            "--lang",
            "en",
            "app",
            "approve",
            started.code,
            "--keystore",
            str(flow.keystore.directory),
            "--url",
            url,
        ],
        input=f"{PIN}\n",
    )
    assert done.exit_code == 0, done.output
    assert "approved: 웹 로그인 (web login)" in done.output
    assert center.approvals.status(started.token).state == "approved"
    again = CliRunner().invoke(
        cli,
        [
            "--lang",
            "en",
            "app",
            "approve",
            started.code,
            "--keystore",
            str(flow.keystore.directory),
            "--url",
            url,
        ],
    )
    assert again.exit_code != 0 and "APPROVAL_USED" in again.output
