"""Operator endpoints answer a catalog refusal, never a 500, to an empty audit subject and an
unknown CRL family; the customer search matches ``%``, ``_`` and ``\\`` as themselves."""

from __future__ import annotations

import httpx
import pytest

from certcenter.bootstrap import Center
from tests.conftest import LiveServer
from tests.security.support import assert_problem


@pytest.fixture
def operator(center: Center, api: LiveServer) -> httpx.Client:
    token = center.operators.create("kim", ["operator", "auditor"])
    return httpx.Client(
        base_url=f"{api.url}/v1/operator", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def test_audit_of_an_empty_subject(operator: httpx.Client) -> None:
    with operator:
        assert_problem(
            operator.get("/audit", params={"subject": "", "subject_kind": ""}),
            422,
            "INVALID_REQUEST",
        )
        assert operator.get(
            "/audit", params={"subject": "C001", "subject_kind": "customer"}
        ).is_success


def test_publishing_the_crl_of_an_unknown_family(operator: httpx.Client) -> None:
    with operator:
        assert_problem(operator.post("/crls/bogus/publish"), 404, "NOT_FOUND")
        published = operator.post("/crls/mobile/publish")
        assert published.status_code == 200, published.text


@pytest.mark.parametrize("wildcard", ["%", "_", "\\", "%%", "김%"])
def test_customer_search_wildcards_match_themselves(operator: httpx.Client, wildcard: str) -> None:
    with operator:
        found = operator.get("/customers", params={"q": wildcard})
        assert found.status_code == 200, found.text
        assert found.json() == []
        assert [c["number"] for c in operator.get("/customers", params={"q": "김민"}).json()]
