"""bench/compare.py's table: the ratio's arithmetic and what a missing peer looks like.

No server is started and nothing is timed: the figures are made up.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def compare() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        return importlib.import_module("compare")
    finally:
        sys.path.remove(str(BENCH))


def test_ratio_is_certcenter_over_the_peer(compare: ModuleType) -> None:
    assert compare.ratio(50.0, 200.0) == "0.25x"
    assert compare.ratio(300.0, 100.0) == "3.00x"
    assert compare.ratio(2500.0, 100.0) == "25x"
    assert compare.ratio(29.0, 5997.0) == "0.0048x"


@pytest.mark.parametrize(("ours", "peer"), [(None, 10.0), (10.0, None), (10.0, 0.0)])
def test_ratio_without_both_rates_is_a_dash(
    compare: ModuleType, ours: float | None, peer: float | None
) -> None:
    assert compare.ratio(ours, peer) == "-"


def test_table_rows_and_a_peer_that_is_not_installed(compare: ModuleType) -> None:
    figure, row = compare.Figure, compare.Row
    rows = [
        row(
            "OCSP POST",
            figure(rate=400.0, p50_ms=15.5, p99_ms=80.0, ok=4000, tool="wrk", server_cores=1.5),
            figure(rate=5000.0, p50_ms=1.25, p99_ms=9.0, ok=50000, tool="wrk"),
        ),
        row(
            "CSR signing",
            figure(rate=25.0, p50_ms=120.0, p99_ms=500.0, ok=128, errors=2, tool="python"),
            figure.absent("cfssl is not installed"),
        ),
    ]

    lines = compare.table_text(rows).splitlines()

    assert lines[0].split() == [
        "metric",
        "certcenter",
        "req/s",
        "p50",
        "ms",
        "p99",
        "ms",
        "cfssl",
        "req/s",
        "p50",
        "ms",
        "p99",
        "ms",
        "certcenter/cfssl",
    ]
    ocsp_cells = ["400", "15.50", "80.00", "5000", "1.25", "9.00", "0.08x"]
    assert lines[2].split() == ["OCSP", "POST", *ocsp_cells]
    assert lines[3].split() == ["CSR", "signing", "25", "120.00", "500.00", "n/a", "-", "-", "-"]
    notes = lines[4:]
    assert "  CSR signing, cfssl: n/a - cfssl is not installed" in notes
    assert "  CSR signing, certcenter: 2 failed requests not counted" in notes
    assert (
        "  OCSP POST: load by wrk (certcenter), wrk (cfssl); server CPU certcenter 1.50 cores"
        in notes
    )


def test_goals_are_shares_of_their_argon2_bounds(compare: ModuleType) -> None:
    goals = sys.modules["goals"]
    # 2 cores, 50 ms a hash: a PIN login (1 hash) is bound at 40/s, an enrolment (2) at 20/s
    assert goals.hash_bound(2, 50.0, goals.PIN_HASHES) == pytest.approx(40.0)
    assert goals.hash_bound(2, 50.0, goals.ENROLMENT_HASHES) == pytest.approx(20.0)
    rate = goals.Rate
    figures = goals.GoalFigures(
        hash_ms=50.0,
        cores=2,
        biometric=rate(per_s=500.0, p99_ms=40.0, ok=400, server_cpu_ms=3.0),
        pin=rate(per_s=36.0, p99_ms=300.0, ok=400, errors=3, server_cpu_ms=55.0),
        enrolment=rate(per_s=10.0, p99_ms=2000.0, ok=32, server_cpu_ms=110.0),
    )

    lines = goals.goals_table(figures).splitlines()

    by_goal = {line.split("  ")[0]: line for line in lines[2:5]}
    assert "25 % of the rate; p99 within" in by_goal["biometric login"]
    assert "≥ 90 % of 40.0/s" in by_goal["PIN login"]
    assert by_goal["PIN login"].endswith("90 % of the bound")
    assert "≥ 80 % of 20.0/s" in by_goal["enrolment"]
    assert by_goal["enrolment"].endswith("50 % of the bound")
    assert "  PIN login: 3 failed, not counted" in lines
    assert goals.as_dict(figures)["pin_bound_per_s"] == pytest.approx(40.0)
    # a p99 over the goal and a row not measured
    figures.biometric = rate(per_s=80.0, p99_ms=260.0, ok=300)
    figures.enrolment = None
    text = goals.goals_table(figures)
    assert "4 % of the rate; p99 over" in text
    assert "enrolment  " not in text
