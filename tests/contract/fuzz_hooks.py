"""Schemathesis hooks for tests/contract/test_fuzz.py (``SCHEMATHESIS_HOOKS``): the bearer
token of each operation, by the security scheme the document names for it.

``CERTCENTER_FUZZ_TOKENS`` holds a token for each scheme but the flows' (``{scheme: token}``).
A flow's token (``flowToken``) belongs to one flow, and a request carries the token of the
flow its path names: one the fixture started (``CERTCENTER_FUZZ_FLOW_TOKENS``:
``[[path regex, flow id, token], ...]``) or one whose first step answered during the run
(the document's links carry that id and token into the flow's steps). The token is chosen
again once the request's path is final (``before_call``): the path's id may be the fixture's
or one the run was answered with, while the header may carry another flow's token, which the
server would only refuse. An operation of none of the fixture's flows gets no flow token, and
a request the fuzzer made without one, or with a token of its own, is left as it is.
Schemathesis' own ``auth.openapi`` tokens would replace the link's value, hence this provider
for all of them.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import schemathesis

TOKENS: dict[str, str] = json.loads(os.environ["CERTCENTER_FUZZ_TOKENS"])
STARTED: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(paths), flow_id, token)
    for paths, flow_id, token in json.loads(os.environ["CERTCENTER_FUZZ_FLOW_TOKENS"])
]
FLOWS: dict[str, str] = {flow_id: token for _, flow_id, token in STARTED}  # flow id -> token


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """A flow's start answers with its token beside its id: keep the pair. The status of
    every positive case that carried its operation's credential is written down
    (``CERTCENTER_FUZZ_STATUSES``): what the operation answered past authentication."""
    _write_down(case, response.status_code)
    if not 200 <= response.status_code < 300:
        return
    try:
        body = response.json()
    except ValueError:
        return
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        return
    for name, value in body.items():
        if name.endswith("id") and isinstance(value, str):
            FLOWS[value] = body["token"]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """The token of the flow the final path names, in place of another flow's token."""
    if _scheme(case) != "flowToken" or case.headers is None or _fixture_token(case) is None:
        return
    given = case.headers.get("Authorization", "")
    if not given.startswith("Bearer ") or given[7:] not in FLOWS.values():
        return
    for value in (case.path_parameters or {}).values():
        if isinstance(value, str) and value in FLOWS:
            case.headers["Authorization"] = f"Bearer {FLOWS[value]}"
            return


def _write_down(case: Any, status: int) -> None:
    statuses = os.environ.get("CERTCENTER_FUZZ_STATUSES")
    meta = case.meta
    if not statuses or meta is None or str(meta.generation.mode.value) != "positive":
        return
    if _scheme(case) is not None:
        given = (case.headers or {}).get("Authorization", "")
        ours = {*TOKENS.values(), *FLOWS.values()}
        if not given.startswith("Bearer ") or given[7:] not in ours:
            return
    with open(statuses, "a", encoding="utf-8") as out:
        out.write(f"{case.method} {case.operation.path} {status}\n")


def _fixture_token(case: Any) -> str | None:
    """The token of the fixture's flow for the operation's path; none for an operation of no
    flow the run was given."""
    path = case.operation.path
    return next((token for paths, _, token in STARTED if paths.search(path)), None)


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
        return _fixture_token(case)

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers["Authorization"] = f"Bearer {data}"
