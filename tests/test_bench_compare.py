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
