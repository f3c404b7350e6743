"""What the security tests share: the shape of a refusal the edge answers."""

from __future__ import annotations

import httpx


def assert_problem(response: httpx.Response, status: int, code: str) -> None:
    """A problem document from the catalog with this status and code, never a trace."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    assert body["message"]["ko"] and body["message"]["en"] and body["remedy"]["ko"]
    assert "Traceback" not in response.text
