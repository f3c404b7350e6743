"""Schemathesis hooks for tests/contract/test_fuzz.py (``SCHEMATHESIS_HOOKS``): the bearer
token of each operation, by the security scheme the document names for it, and a fresh
credential in the body of the operations whose credential goes there.

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

Eight operations take their credential in the body, made for the one request: the mobile
certificate's renewal and the app's allowing or ending of access from abroad (a challenge
signed by the certificate's key, and the PIN), the financial certificate's login, an
activation's release and the remote signature (the registered browser's signature over an
activation, and the PIN; the signature needs the grant a release gave), and the answers to a
question on the customer's security card and to the registration of the card in use. Every
other positive case of each (``before_call``) asks the server for a new challenge, activation
or question with the material the fixture wrote (``CERTCENTER_FUZZ_CREDENTIALS``: a JSON
file) and fills in what the holder would answer, in place of the generated values (and the
path's identifier it belongs to); the other cases are sent as the fuzzer made them. The
renewal's answer names the certificate that replaces the renewed one, which the next renewal
names. Such an operation's case counts as carrying its credential only if the hook filled
one in (``_write_down``).
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

TOKENS: dict[str, str] = json.loads(os.environ["CERTCENTER_FUZZ_TOKENS"])
STARTED: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(paths), flow_id, token)
    for paths, flow_id, token in json.loads(os.environ["CERTCENTER_FUZZ_FLOW_TOKENS"])
]
FLOWS: dict[str, str] = {flow_id: token for _, flow_id, token in STARTED}  # flow id -> token
_CREDENTIALS_FILE = os.environ.get("CERTCENTER_FUZZ_CREDENTIALS")
CREDENTIALS: dict[str, Any] = (
    json.loads(Path(_CREDENTIALS_FILE).read_text(encoding="utf-8")) if _CREDENTIALS_FILE else {}
)

RENEW = "POST /v1/certificates/{serial}/renew"
FINANCIAL_LOGIN = "POST /v1/financial/login"
AUTHORIZE = "POST /v1/financial/activations/{activation_id}/authorize"
FINANCIAL_SIGN = "POST /v1/financial/sign"
CARD_VERIFY = "POST /v1/security-cards/challenges/{challenge_id}/verify"
CARD_REGISTRATION = "POST /v1/security-cards/registrations/{challenge_id}"
OVERSEAS_ALLOW = "POST /v1/devices/{device_id}/overseas-access"
OVERSEAS_END = "POST /v1/devices/{device_id}/overseas-access/end"
OVERSEAS_DAYS = 30  # the longest access from abroad the default policy allows
DATA = base64.b64encode("계약서 사본 — fuzz".encode()).decode()  # what a release is for

# the case (by id) each body was filled in for: its answer is what the operation said to a
# valid credential
SUPPLIED: dict[int, Any] = {}


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """A flow's start answers with its token beside its id: keep the pair. The status of
    every positive case that carried its operation's credential is written down
    (``CERTCENTER_FUZZ_STATUSES``): what the operation answered past authentication."""
    filled_in = SUPPLIED.pop(id(case), None)
    supplied = filled_in is not None and filled_in is case.body
    _write_down(case, response.status_code, supplied=supplied)
    if not 200 <= response.status_code < 300:
        return
    try:
        body = response.json()
    except ValueError:
        return
    if supplied and _operation(case) == RENEW and isinstance(body, dict):
        # the renewed certificate is superseded by the one the answer names
        mobile = CREDENTIALS["mobile"]
        mobile["serial"] = body.get("replaced_by") or mobile["serial"]
        if _CREDENTIALS_FILE:  # for a later run of the phases
            Path(_CREDENTIALS_FILE).write_text(json.dumps(CREDENTIALS), encoding="utf-8")
    if not isinstance(body, dict) or not isinstance(body.get("token"), str):
        return
    for name, value in body.items():
        if name.endswith("id") and isinstance(value, str):
            FLOWS[value] = body["token"]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """The token of the flow the final path names, in place of another flow's token; every
    other positive case of an operation whose credential is in the body, a fresh one."""
    _fill_in_body_credential(case)
    if _scheme(case) != "flowToken" or case.headers is None or _fixture_token(case) is None:
        return
    given = case.headers.get("Authorization", "")
    if not given.startswith("Bearer ") or given[7:] not in FLOWS.values():
        return
    for value in (case.path_parameters or {}).values():
        if isinstance(value, str) and value in FLOWS:
            case.headers["Authorization"] = f"Bearer {FLOWS[value]}"
            return


def _write_down(case: Any, status: int, *, supplied: bool) -> None:
    """One line per positive case that carried its credential: the operation and its status.
    A case of an operation whose credential is in the body carries it only if the hook made
    it (``made``); the others are written down without a status (``-``), so that such an
    operation never given a valid one is still counted, as not reached."""
    statuses = os.environ.get("CERTCENTER_FUZZ_STATUSES")
    meta = case.meta
    if not statuses or meta is None or str(meta.generation.mode.value) != "positive":
        return
    if _scheme(case) is not None and not _carries_token(case):
        return
    if _operation(case) not in BODY_CREDENTIALS:
        answered = str(status)
    else:
        answered = f"{status} made" if supplied else "- -"
    with open(statuses, "a", encoding="utf-8") as out:
        out.write(f"{case.method} {case.operation.path} {answered}\n")


def _carries_token(case: Any) -> bool:
    given = (case.headers or {}).get("Authorization", "")
    return given.startswith("Bearer ") and given[7:] in {*TOKENS.values(), *FLOWS.values()}


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


def _operation(case: Any) -> str:
    return f"{case.method} {case.operation.path}"


# ------------------------------------------------------------------ credentials in the body

_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(base_url=CREDENTIALS["url"], timeout=30)
    return _client


def _post(path: str, body: dict[str, Any], *, token: str | None = None) -> dict[str, Any] | None:
    """The answer of a preparing call (a challenge, an activation, a grant); none if the
    server refused it: the case is then sent as the fuzzer made it."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = _http().post(path, json=body, headers=headers)
    except httpx.HTTPError:
        return None
    if not 200 <= answer.status_code < 300:
        return None
    found = answer.json()
    return found if isinstance(found, dict) else None


def _sign(key_pem: str, message: str, *, raw: bool) -> str:
    """ECDSA-SHA256 of ``message`` by the key, base64: DER (the app's keystore) or WebCrypto's
    ``r||s`` (a browser's key)."""
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signature = key.sign(message.encode(), ec.ECDSA(hashes.SHA256()))
    if raw:
        r, s = decode_dss_signature(signature)
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return base64.b64encode(signature).decode()


def _device_proof(case: Any, purpose: str) -> dict[str, str] | None:
    """The mobile certificate's app proves it holds the certificate's key for ``purpose``:
    a fresh challenge signed, and the PIN; the device named in the path too."""
    mobile = CREDENTIALS["mobile"]
    device = mobile["device_id"]
    issued = _post(f"/v1/devices/{device}/challenges", {"purpose": purpose})
    if issued is None:
        return None
    if "device_id" in case.operation.path:
        case.path_parameters = {**(case.path_parameters or {}), "device_id": device}
    return {
        "challenge": issued["challenge"],
        "signature": _sign(mobile["key"], issued["sign"], raw=False),
        "pin": mobile["pin"],
    }


def _renewal(case: Any) -> bool:
    proof = _device_proof(case, "renew")
    if proof is None:
        return False
    mobile = CREDENTIALS["mobile"]
    case.path_parameters = {**(case.path_parameters or {}), "serial": mobile["serial"]}
    case.body = {"device_id": mobile["device_id"], **proof}
    return True


def _overseas_access(case: Any) -> bool:
    """Access from abroad allowed, for the days the fuzzer chose if the policy allows as many
    (the server checks them before the proof), or refused again."""
    proof = _device_proof(case, "overseas_access")
    if proof is None:
        return False
    case.body = {**case.body, **proof}
    days = case.body.get("days", 1)  # none to end it
    if type(days) is not int or not 1 <= days <= OVERSEAS_DAYS:
        case.body["days"] = OVERSEAS_DAYS
    return True


def _activation(purpose: str, data_b64: str = DATA) -> dict[str, Any] | None:
    """A one-time activation of the registered browser, for ``purpose`` and ``data_b64``."""
    device = CREDENTIALS["financial"]["device_id"]
    if purpose == "login":
        return _post("/v1/financial/login/activations", {"device_id": device})
    body = {"device_id": device, "purpose": purpose, "data_b64": data_b64}
    return _post("/v1/financial/activations", body)


def _release(activation: dict[str, Any]) -> dict[str, str]:
    """What releases ``activation``: the browser's signature of its text and the PIN."""
    financial = CREDENTIALS["financial"]
    signature = _sign(financial["key"], activation["sign"], raw=True)
    return {"device_signature": signature, "pin": financial["pin"]}


def _financial_login(case: Any) -> bool:
    activation = _activation("login")
    if activation is None:
        return False
    case.body = {"activation_id": activation["activation_id"], **_release(activation)}
    return True


def _authorization(case: Any) -> bool:
    activation = _activation("document")
    if activation is None:
        return False
    case.path_parameters = {
        **(case.path_parameters or {}),
        "activation_id": activation["activation_id"],
    }
    case.body = _release(activation)
    return True


def _signing(case: Any) -> bool:
    """A grant for the data the fuzzer made (or, if no activation takes it, for ``DATA``)."""
    data = case.body.get("data_b64")
    activation = _activation("document", data) if isinstance(data, str) else None
    if activation is None:
        data = DATA
        activation = _activation("document", data)
    if activation is None:
        return False
    path = f"/v1/financial/activations/{activation['activation_id']}/authorize"
    grant = _post(path, _release(activation))
    if grant is None:
        return False
    case.body = {**case.body, "grant": grant["grant"], "data_b64": data}
    return True


def _card_answer(case: Any) -> bool:
    """A question on the customer's card, answered from the printed card."""
    if not _carries_token(case):
        return False
    asked = _post("/v1/security-cards/challenges", {}, token=TOKENS["customerSession"])
    if asked is None:
        return False
    case.path_parameters = {**(case.path_parameters or {}), "challenge_id": asked["id"]}
    case.body = {"answer": _card_reply(asked)}
    return True


def _card_reply(asked: dict[str, Any]) -> str:
    """The first two digits of slot A, then the last two of slot B, as printed on the card."""
    slots = CREDENTIALS["security_card"]["slots"]
    return str(slots[asked["slot_a"] - 1][:2] + slots[asked["slot_b"] - 1][2:])


def _card_registration(case: Any) -> bool:
    """The card in use registered again (which changes nothing): the question on its serial,
    answered from the printed card."""
    if not _carries_token(case):
        return False
    card = CREDENTIALS["security_card"]
    asked = _post(
        "/v1/security-cards/registrations",
        {"serial": card["serial"]},
        token=TOKENS["customerSession"],
    )
    if asked is None:
        return False
    case.path_parameters = {**(case.path_parameters or {}), "challenge_id": asked["id"]}
    case.body = {"answer": _card_reply(asked)}
    return True


BODY_CREDENTIALS: dict[str, Callable[[Any], bool]] = {
    RENEW: _renewal,
    OVERSEAS_ALLOW: _overseas_access,
    OVERSEAS_END: _overseas_access,
    CARD_REGISTRATION: _card_registration,
    FINANCIAL_LOGIN: _financial_login,
    AUTHORIZE: _authorization,
    FINANCIAL_SIGN: _signing,
    CARD_VERIFY: _card_answer,
}
_TURNS: dict[str, Iterator[int]] = {}


def _fill_in_body_credential(case: Any) -> None:
    operation = _operation(case)
    fill = BODY_CREDENTIALS.get(operation)
    meta = case.meta
    if fill is None or not CREDENTIALS or meta is None or not isinstance(case.body, dict):
        return
    if str(meta.generation.mode.value) != "positive":
        return
    if next(_TURNS.setdefault(operation, itertools.count())) % 2:
        return  # this one as the fuzzer made it
    if fill(case):
        SUPPLIED[id(case)] = case.body


@schemathesis.auth(refresh_interval=None)
class BearerTokens:
    def get(self, case: Any, context: Any) -> str | None:
        scheme = _scheme(case)
        if scheme != "flowToken":
            return TOKENS.get(scheme) if scheme else None
        return _fixture_token(case)

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers["Authorization"] = f"Bearer {data}"
