"""Schemathesis hooks for tests/contract/test_fuzz.py (``SCHEMATHESIS_HOOKS``): the bearer
token of each operation, by the security scheme the document names for it.

``CERTCENTER_FUZZ_TOKENS`` holds a token for each scheme but the flows' (``{scheme: token}``).
A flow's token (``flowToken``) belongs to one flow, and each flow's first step answers with
its own: the document's links carry it from that answer into the flow's steps
(``header.Authorization``), and a token the server answered with during the run is kept;
otherwise the operation gets the token of the flow the fixture started under its path
(``CERTCENTER_FUZZ_FLOW_TOKENS``: ``[[path prefix, token], ...]``). Schemathesis' own
``auth.openapi`` tokens would replace the link's value, hence this provider for all of them.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

TOKENS: dict[str, str] = json.loads(os.environ["CERTCENTER_FUZZ_TOKENS"])
FLOW_TOKENS: list[tuple[str, str]] = sorted(
    ((prefix, token) for prefix, token in json.loads(os.environ["CERTCENTER_FUZZ_FLOW_TOKENS"])),
    key=lambda pair: -len(pair[0]),
)
ANSWERED: set[str] = set()  # tokens the server answered with in this run


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    if not 200 <= response.status_code < 300:
        return
    try:
        body = response.json()
    except ValueError:
        return
    if isinstance(body, dict) and isinstance(body.get("token"), str):
        ANSWERED.add(body["token"])


def _scheme(case: Any) -> str | None:
    for requirement in case.operation.definition.raw.get("security", []):
        for name in requirement:
            return str(name)
    return None


@schemathesis.auth(refresh_interval=None)
class BearerTokens:
    def get(self, case: Any, context: Any) -> str | None:
        scheme = _scheme(case)
        if scheme != "flowToken":
            return TOKENS.get(scheme) if scheme else None
        given = (case.headers or {}).get("Authorization", "")
        if given.startswith("Bearer ") and given[7:] in ANSWERED:
            return str(given[7:])  # the link's: a flow this run started
        path = case.operation.path
        return next((token for prefix, token in FLOW_TOKENS if path.startswith(prefix)), None)

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers["Authorization"] = f"Bearer {data}"
