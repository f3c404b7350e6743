"""Who may stand for the PIN when the device signs a transfer: the biometric-bound key, at the
tier that asks for the PIN alone, and nowhere else."""

from __future__ import annotations

import base64
from typing import Any

from certcenter.cli.client import ApiError, CenterClient
from tests.mobile_enrollment.test_refusals import assert_refusal
from tests.support.flow import Flow, FlowFactory
from tests.usage.support import ACCOUNT_PASSWORD, C001_ACCOUNT, issued, logged_in, prepare


def _refused(work: Any) -> ApiError:
    try:
        work()
    except ApiError as err:
        return err
    raise AssertionError("expected a refusal")


def _confirm(
    client: CenterClient, flow: Flow, prepared: dict[str, Any], *, biometric_key: str, **fields: Any
) -> Any:
    document = base64.b64decode(prepared["document_b64"])
    body = {
        "signature": flow.keystore.sign(document),
        "biometric_signature": flow.keystore.sign(document, key=biometric_key),
        **fields,
    }
    return client.call("POST", f"/v1/transfers/{prepared['id']}/confirm", body)


def _status(client: CenterClient, prepared: dict[str, Any]) -> str:
    return str(client.call("GET", f"/v1/transfers/{prepared['id']}")["status"])


def test_the_biometric_key_stands_for_the_pin_only_where_the_tier_asks_for_the_pin_alone(
    new_flow: FlowFactory,
) -> None:
    flow = issued(new_flow)
    client = logged_in(flow)
    small = prepare(client, 10_000, source=C001_ACCOUNT)
    assert small["factors"] == ["pin"]
    done = _confirm(client, flow, small, biometric_key="biometric")
    assert done["status"] == "completed"

    # a higher tier needs the PIN itself: refused as a missing input, nothing counted or ended
    big = prepare(client, 3_000_000, source=C001_ACCOUNT)
    assert big["factors"] == ["account_password", "pin"]
    err = _refused(
        lambda: _confirm(
            client, flow, big, biometric_key="biometric", account_password=ACCOUNT_PASSWORD
        )
    )
    assert_refusal(err, "INVALID_REQUEST")
    assert _status(client, big) == "pending"

    # signed by another key than the biometric one: refused, and the transfer ends
    other = prepare(client, 20_000, source=C001_ACCOUNT)
    err = _refused(lambda: _confirm(client, flow, other, biometric_key="certificate"))
    assert_refusal(err, "BIOMETRIC_AUTH_FAILED")
    assert _status(client, other) == "refused"
