"""The daily limit holds under concurrent transfers (no double spending of the headroom)."""

from __future__ import annotations

import concurrent.futures
from pathlib import Path
from typing import Any

import pytest

from certcenter.bootstrap import Center
from certcenter.cli.client import ApiError, CenterClient
from certcenter.config import MediumLimit, Policy, Settings
from certcenter.errors import CertCenterError
from certcenter.usage.transfers import Confirmation, Prepared, TransferRequest
from tests.conftest import _reset_postgres, make_settings
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory
from tests.usage.support import C001_SAVINGS, PAYEE, PIN, issued, logged_in, prepare
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
            "otp": MediumLimit(
                per_transfer=100_000_000, per_day=500_000_000, per_transfer_verified=500_000_000
            ),
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


def test_many_concurrent_confirmations_through_the_service_stay_within_the_daily_limit(
    new_flow: FlowFactory, center: Center
) -> None:
    """20 transfers of different amounts (23,040,000 in all against a 5,000,000 daily limit)
    confirmed on threads, five at a time, straight through the service: what is accepted never
    sums past the limit, every refusal is the daily limit's, and a refused one did not fit in
    what the accepted ones left."""
    flow = issued(new_flow)
    client = logged_in(flow)
    assert client.token is not None
    session = center.sessions.resolve(client.token)
    limit = 5_000_000
    amounts = [min(300_000 + 90_000 * i, 1_950_000) for i in range(20)]  # each within a tier
    assert sum(amounts) == 23_040_000
    prepared = [
        center.transfers.prepare(
            session, TransferRequest(*C001_SAVINGS, *PAYEE, amount=amount, source_ip="10.0.0.7")
        )
        for amount in amounts
    ]
    # as many at once as the PIN has tries (more would be AUTH_BUSY, which ends a transfer)
    in_flight = center.settings.policy.pin_max_failures

    def confirm(item: Prepared) -> tuple[int, str]:
        confirmation = Confirmation(
            signature=flow.keystore.sign(item.document), pin=PIN, source_ip="10.0.0.7"
        )
        try:
            done = center.transfers.confirm(session, item.transfer.id, confirmation)
        except CertCenterError as err:
            return item.transfer.amount, err.code
        return item.transfer.amount, done.transfer.status

    with concurrent.futures.ThreadPoolExecutor(max_workers=in_flight) as pool:
        outcomes = list(pool.map(confirm, prepared))
    accepted = [amount for amount, status in outcomes if status == "completed"]
    refused = [(amount, status) for amount, status in outcomes if status != "completed"]
    assert accepted and refused, outcomes
    assert sum(accepted) <= limit, outcomes
    assert {status for _, status in refused} == {"TRANSFER_DAILY_LIMIT_EXCEEDED"}, outcomes
    assert all(sum(accepted) + amount > limit for amount, _ in refused), outcomes
    # the bank moved exactly what was accepted, and the day's total says the same
    assert sum(e["amount"] for e in center.sim_store.statement(*PAYEE)) == sum(accepted)
    with center.uow_factory(read_only=True) as uow:
        assert uow.transfers.day_total(session.customer_id, prepared[0].transfer.day) == sum(
            accepted
        )
