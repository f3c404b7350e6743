"""The daily limit holds under concurrent transfers (no double spending of the headroom)."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.config import MediumLimit, Policy, Settings
from tests.conftest import _reset_postgres, make_settings
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory
from tests.usage.support import PAYEE, PIN, issued, logged_in, prepare
from tests.usage.test_transfers import _confirm, _refused


@pytest.fixture
def settings(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, pki_dir: Path
) -> Settings:
    """A small daily limit, so that a few concurrent transfers can exceed it."""
    url = None
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        _reset_postgres(url)
    policy = Policy(
        medium_limits={
            "certificate": MediumLimit(per_transfer=2_000_000, per_day=5_000_000),
            "otp": MediumLimit(per_transfer=100_000_000, per_day=500_000_000),
            "security_card": MediumLimit(per_transfer=10_000_000, per_day=10_000_000),
        }
    )
    return make_settings(tmp_path, pki_dir, url, policy=policy)


def test_concurrent_transfers_cannot_exceed_the_daily_limit(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    prepared = [prepare(client, 1_500_000) for _ in range(5)]  # 7,500,000 asked; 5,000,000 a day

    def confirm(item: dict[str, Any]) -> str:
        with CenterClient(str(client.http.base_url)) as own:
            own.token = client.token
            try:
                return str(_confirm(own, flow, item, pin=PIN)["status"])
            except ApiError as err:
                return err.code

    with concurrent.futures.ThreadPoolExecutor(max_workers=5) as pool:
        outcomes = list(pool.map(confirm, prepared))
    assert outcomes.count("completed") == 3, outcomes
    assert outcomes.count("TRANSFER_DAILY_LIMIT_EXCEEDED") == 2, outcomes
    moved = sum(e["amount"] for e in center.sim_store.statement(*PAYEE))
    assert moved == 4_500_000
    # and the next one is refused up front, telling what is left
    err = _refused(lambda: prepare(client, 1_000_000))
    assert_refusal(err, "TRANSFER_DAILY_LIMIT_EXCEEDED")
    assert err.problem["context"]["remaining"] == "500,000"
