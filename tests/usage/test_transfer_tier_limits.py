"""The tiers and the per-medium limits are one policy: every amount a tier allows can be sent,
and a refusal names only a medium that the center would then accept."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certcenter.bootstrap import Center
from certcenter.config import MediumLimit, Policy
from certcenter.media.security_card import answer_for
from certcenter.usage.transfer_limits import MEDIA, TransferLimits
from certcenter.usage.transfers import TransferService
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import FlowFactory
from tests.usage.support import ACCOUNT_PASSWORD, C001_SAVINGS, PAYEE, PIN, issued, logged_in
from tests.usage.support import prepare as prepare_transfer
from tests.usage.test_transfers import _answer_ars, _confirm, _refused


def _hold_security_card(center: Center, client: object) -> None:
    """The operator issues C001 a card; the customer registers it from the printed slots."""
    token = center.operators.create("card-desk", ["operator"])
    base = str(client.http.base_url)  # type: ignore[attr-defined]
    made = httpx.post(
        f"{base}/v1/operator/customers/C001/security-cards",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert made.status_code == 201, made.text
    serial = made.json()["serial"]
    slots = client.call("GET", f"/sim/cards/{serial}")["slots"]  # type: ignore[attr-defined]
    question = client.call(  # type: ignore[attr-defined]
        "POST", "/v1/security-cards/registrations", {"serial": serial}
    )
    client.call(  # type: ignore[attr-defined]
        "POST",
        f"/v1/security-cards/registrations/{question['id']}",
        {"answer": answer_for(slots, question["slot_a"], question["slot_b"])},
    )


def test_a_transfer_of_300_million_has_a_way_that_really_works(
    new_flow: FlowFactory, center: Center
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    _hold_security_card(center, client)
    # with the security card (10,000,000 a transfer) it is refused, naming the certificate
    err = _refused(lambda: prepare_transfer(client, 300_000_000, medium="security_card"))
    assert_refusal(err, "TRANSFER_LIMIT_EXCEEDED")
    way = err.problem["context"]["alternative_code"]
    assert way == "certificate"
    assert "`certificate`" in err.problem["remedy"]["en"]
    assert "OTP" not in err.problem["remedy"]["ko"] + err.problem["remedy"]["en"]
    # the way named: the ARS tier with the certificate's raised limit, and the money moves
    before = center.sim_store.account(*C001_SAVINGS)
    prepared = prepare_transfer(client, 300_000_000, medium=way)
    assert prepared["factors"] == ["account_password", "pin", "ars"]
    _answer_ars(center, prepared)
    done = _confirm(client, flow, prepared, pin=PIN, account_password=ACCOUNT_PASSWORD)
    assert done["status"] == "completed" and done["amount"] == 300_000_000
    after = center.sim_store.account(*C001_SAVINGS)
    assert before is not None and after is not None
    assert before["balance"] - after["balance"] == 300_000_000
    assert center.sim_store.statement(*PAYEE)[0]["amount"] == 300_000_000


def test_every_refusal_names_a_medium_that_is_then_accepted(
    new_flow: FlowFactory, center: Center
) -> None:
    """Across the tiers' edges: each amount is accepted with the medium asked, or refused
    with a medium named that prepares it; only amounts above every tier have none."""
    client = logged_in(issued(new_flow))
    _hold_security_card(center, client)
    amounts = [10_000_000, 10_000_001, 50_000_001, 100_000_000, 100_000_001, 500_000_000]
    for amount in amounts:
        for medium in ("certificate", "security_card"):
            try:
                prepare_transfer(client, amount, medium=medium)
                continue
            except Exception as exc:  # noqa: BLE001 - the ApiError is inspected below
                err = exc
            assert getattr(err, "code", None) == "TRANSFER_LIMIT_EXCEEDED", (amount, medium, err)
            way = err.problem["context"]["alternative_code"]  # type: ignore[attr-defined]
            assert prepare_transfer(client, amount, medium=way)["amount"] == amount
    assert_refusal(
        _refused(lambda: prepare_transfer(client, 500_000_001)), "TRANSFER_AMOUNT_OVER_TIERS"
    )


def test_the_customers_own_limit_names_the_route_that_raises_it(new_flow: FlowFactory) -> None:
    client = logged_in(issued(new_flow))
    client.call("PUT", "/v1/me/transfer-limits", {"per_transfer": 1_000_000, "daily": None})
    err = _refused(lambda: prepare_transfer(client, 1_000_001))
    assert_refusal(err, "TRANSFER_OWN_LIMIT_EXCEEDED")
    assert "PUT /v1/me/transfer-limits" in err.problem["remedy"]["en"]
    assert "500,000,000" in err.problem["remedy"]["en"]  # the ceiling it may be raised to
    client.call("PUT", "/v1/me/transfer-limits", {"per_transfer": 500_000_000, "daily": None})
    assert prepare_transfer(client, 300_000_000)["amount"] == 300_000_000


def test_a_policy_whose_top_tier_no_medium_reaches_does_not_load() -> None:
    with pytest.raises(ValueError, match="500,000,000"):
        Policy(
            medium_limits={
                medium: MediumLimit(per_transfer=100_000_000, per_day=500_000_000)
                for medium in MEDIA
            }
        )


_POLICY = Policy()
_LIMITS = TransferLimits(_POLICY)
_SERVICE = TransferService.__new__(TransferService)
_SERVICE.policy = _POLICY


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(1, 500_000_000),
    medium=st.sampled_from(MEDIA),
    spent=st.integers(0, 500_000_000),
    own_transfer=st.none() | st.integers(1, 500_000_000),
    own_day=st.none() | st.integers(1, 500_000_000),
    extra=st.sets(st.sampled_from(("otp", "security_card"))),
)
def test_a_named_medium_would_be_accepted_with_the_same_spending_and_own_limits(
    amount: int,
    medium: str,
    spent: int,
    own_transfer: int | None,
    own_day: int | None,
    extra: set[str],
) -> None:
    factors = _SERVICE.factors_for(amount, "certificate")
    own = (own_transfer, own_day)
    held = {"certificate", *extra}
    refusal = _LIMITS.refusal(
        amount=amount, factors=factors, medium=medium, spent=spent, own=own, held=held
    )
    if refusal is None:
        return
    way = refusal.context.get("alternative_code")
    if way is not None:
        assert way != medium
        again = _LIMITS.refusal(
            amount=amount, factors=factors, medium=str(way), spent=spent, own=own, held=held
        )
        assert again is None
    else:  # no medium the customer holds would take it today
        for other in held:
            assert (
                _LIMITS.refusal(
                    amount=amount, factors=factors, medium=other, spent=spent, own=own, held=held
                )
                is not None
            )
    if spent == 0 and own == (None, None):
        assert way == "certificate"  # the certificate reaches every tier
