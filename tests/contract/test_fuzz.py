"""Schemathesis fuzzes the real server from its own ``/openapi.json``, past authentication.

A customer is issued a mobile certificate and logs in first; an operator and an auditor are
added with ``certcenter operators add``; an issuance, a financial certificate's issuance and a
joint certificate's registration are started, three more financial issuances are taken to the
steps that need a flow that far (the ARS call ringing, a customer abroad identified for the
departure check, the SMS code sent), and a browser's registration and a PIN reset of the
financial certificate are started. Each security scheme of the document gets its token
(tests/contract/fuzz_hooks.py; a flow's token, which belongs to one flow, is the token of the
flow the operation's path names: one the fixture started for the operation, or one whose first
step answered during the run), so every operation is reached as the one it is meant for, and
``ignored_auth`` checks that each also refuses a request without it. The operations whose
credential is in the body get one too, on every other positive case: another customer's
mobile certificate (its renewals, access from abroad), a financial certificate issued in a
browser whose key the run holds (its login, the release of an activation, the remote
signature) and a security card the operator issues and the first customer registers (its
questions) give the hooks what to make a fresh one from. The operator's certificate operations
act on a financial certificate of their own: the fuzzer reuses the serials answers named, and
would revoke the certificates those credentials are made with. The stateful phase follows
the document's links (enrolment → its steps → the certificate → the login → the transfer → its
confirmation). Every check that judges the server against its document runs, and the run must
find nothing.

The run is bounded (examples per operation, a time budget): it is a net for regressions of
the contract, not a search that goes on until it finds something.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from certcenter.cli.app_session import login
from certcenter.cli.client import CenterClient
from certcenter.cli.demo import DEMO_PIN
from certcenter.media.security_card import answer_for
from tests.financial_issuance.support import PIN as FINANCIAL_PIN
from tests.financial_issuance.support import WORLD, Browser
from tests.server.test_server_process import CERTCENTER, ServerProcess
from tests.support.flow import Flow

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.timeout(600)]

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
HOOKS = Path(__file__).with_name("fuzz_hooks.py")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "use_after_free",
)
# Ending the session would leave the rest of the run logged out: logout is tested by itself
# (tests/usage). CMP, OCSP and time-stamping over POST take DER bodies of their own media
# types, which the fuzzer cannot write; tests/cmp, tests/revocation and tests/tsa feed them
# malformed messages instead. The OpenID provider answers in OAuth's own JSON errors (RFC 6749
# §5.2) with form bodies; tests/oidc drives it with an outside OAuth client and bad input.
OIDC = (
    "/oidc/jwks",
    "/oidc/token",
    "/oidc/userinfo",
    "/oidc/revoke",
    "/oidc/introspect",
    "/oidc/par",
)
EXCLUDED = (
    "/v1/logout",
    "/cmp",
    "/.well-known/cmp",
    "/ocsp",
    "/tsa",
    "/.well-known/openid-configuration",
    *OIDC,
)
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
MAX_EXAMPLES = 4
# the fuzzing and stateful phases repeat until the budget is spent; a longer run by hand:
# CERTCENTER_FUZZ_SECONDS=1200 pytest tests/contract -n 0. The stateful phase runs by itself
# with a third of the budget (in one run of every phase a loaded 2-core machine spent all of
# it on the coverage and fuzzing phases) and over the operations of the linked flows only
# (the customer's: issuance and its certificate, login, transfer; the financial and joint
# issuances), so that its scenarios follow their links rather than spread over every path.
TIME_BUDGET_SECONDS = int(os.environ.get("CERTCENTER_FUZZ_SECONDS", "60"))
FLOW_PATHS = (
    r"^/v1/(enrollments|login|session|transfers|documents/sign|certificates/\{serial\}$"
    r"|financial/enrollments|joint/registrations)"
)
PHASES: dict[str, tuple[int, str | None]] = {
    "examples,coverage,fuzzing": (TIME_BUDGET_SECONDS - TIME_BUDGET_SECONDS // 3, None),
    "stateful": (TIME_BUDGET_SECONDS // 3, FLOW_PATHS),
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path)
    # one process: nothing to supervise, so a slow start on a busy machine is only slow
    process.env["CERTCENTER_WORKERS"] = "1"
    try:
        process.start(timeout=180)  # first start creates the CA and seeds the demo world
        yield process
    finally:
        process.stop()


def _operator_token(server: ServerProcess, name: str, role: str) -> str:
    added = subprocess.run(
        [CERTCENTER, "operators", "add", name, "--role", role],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=server.env,
        cwd=server.data_dir,
    )
    assert added.returncode == 0, added.stdout + added.stderr
    return added.stdout.strip().rsplit(" ", 1)[-1]


@dataclass
class World:
    """What the fuzzer is given: a bearer token for each security scheme of the document but
    the flows', each flow started with the operations it is for (a regular expression of
    their paths), and the identifiers those tokens open (the paths' parameters take these
    values; a flow's, on its operations)."""

    tokens: dict[str, str]
    parameters: dict[str, str]
    flows: dict[str, tuple[str, str, dict[str, str]]]  # paths -> (flow id, token, parameters)
    # a flow's first step -> body fields that let it start (terms accepted, a safe device):
    # the stateful phase's scenarios then begin with a flow that follows its links
    starts: dict[str, dict[str, object]]
    # paths -> the parameters their operations are given (the operator's certificate
    # operations: a certificate of their own)
    operations: dict[str, dict[str, str]]
    # what the credentials that go in a body are made from (tests/contract/fuzz_hooks.py):
    # the server's address, a mobile certificate (serial, device, key, PIN), a financial
    # certificate (the registered browser and its key, the PIN), the customer's security card
    # (serial, printed slots)
    credentials: dict[str, object]


def _financial_flow(url: str, person: str, *, until: str) -> tuple[str, str]:
    """A financial certificate's issuance for ``person`` taken as far as ``until``: the
    customer identified (``identify``), the ARS call ringing (``ars``) or the SMS code sent
    (``details``); its id and token."""
    browser = Browser(url, person)
    try:
        browser.start()
        browser.identify()
        if until == "ars":
            browser.ars()
        elif until == "details":
            browser.proven_by_ars()
            browser.by_account()
            browser.details()
        assert browser.client.token
        return browser.enrollment_id, browser.client.token
    finally:
        browser.client.close()


def _private_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _mobile_certificate(url: str, tmp_path: Path, person: str) -> dict[str, str]:
    """A mobile certificate issued to ``person`` on an app of its own, for the renewals: its
    serial, the device, the certificate's key and the PIN."""
    flow = Flow(url, tmp_path, person)
    try:
        flow.through("csr")
        return {
            "serial": flow.current_serial(),
            "device_id": flow.device.device_id,
            "key": _private_pem(flow.keystore.load_key("certificate")),
            "pin": DEMO_PIN,
        }
    finally:
        flow.client.close()


def _financial_certificate(url: str, person: str) -> dict[str, str]:
    """A financial certificate issued to ``person`` (ARS, the account as the medium), the
    browser it was issued in registered: its serial, the device, the browser's key and the
    PIN."""
    browser = Browser(url, person)
    try:
        browser.start()
        browser.identify()
        browser.proven_by_ars()
        browser.by_account()
        done = browser.finish()
        assert done["state"] == "completed", done
        return {
            "serial": str(done["detail"]["serial"]),
            "device_id": str(done["detail"]["device_id"]),
            "key": _private_pem(browser.key),
            "pin": FINANCIAL_PIN,
        }
    finally:
        browser.client.close()


def _security_card(
    http: httpx.Client, number: str, operator: str, session: str
) -> dict[str, object]:
    """A security card the operator issues to customer ``number``, registered by the customer
    with the session as the printed card tells: its serial and printed slots."""
    issued = http.post(
        f"/v1/operator/customers/{number}/security-cards",
        headers={"Authorization": f"Bearer {operator}"},
    )
    assert issued.status_code == 201, issued.text
    serial = issued.json()["serial"]
    slots: list[str] = http.get(f"/sim/cards/{serial}").json()["slots"]
    customer = {"Authorization": f"Bearer {session}"}
    asked = http.post(
        "/v1/security-cards/registrations", json={"serial": serial}, headers=customer
    ).json()
    registered = http.post(
        f"/v1/security-cards/registrations/{asked['id']}",
        json={"answer": answer_for(slots, asked["slot_a"], asked["slot_b"])},
        headers=customer,
    )
    assert registered.json()["status"] == "active", registered.text
    return {"serial": serial, "slots": slots}


def _reverification(http: httpx.Client, path: str, person: str, **fields: str) -> httpx.Response:
    """A browser's registration or a PIN reset of the financial certificate, started with the
    details of ``person`` (each on a phone of its own: codes to one phone wait between them)."""
    who = WORLD.people[person]
    assert who.phone
    details = {
        "name": who.name,
        "phone": str(who.phone["number"]),
        "birth_date": who.rrn.birth_date.isoformat(),
    }
    answer = http.post(path, json={**details, **fields})
    assert answer.status_code == 201, answer.text
    return answer


@pytest.fixture
def world(server: ServerProcess, tmp_path: Path) -> World:
    # the financial flows first: a code is sent to a phone again only after a wait (30 s),
    # which the rest of the setup and the run's first operations take
    calling = _financial_flow(server.url, "C005", until="ars")
    abroad = _financial_flow(server.url, "C014", until="identify")  # proven by departure
    coded = _financial_flow(server.url, "C007", until="details")
    browser_key = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with httpx.Client(base_url=server.url, timeout=30) as http:
        registration = _reverification(
            http,
            "/v1/financial/devices/registrations",
            "C005",
            public_key=base64.b64encode(browser_key).decode(),
        ).json()
        reset = _reverification(http, "/v1/financial/pin/resets", "C006").json()
    # the session's own certificate is not named: an operator's revocation of it, found by
    # the fuzzer, would end the session for the rest of the run
    flow = Flow(server.url, tmp_path, "C001")
    flow.through("csr")
    issued = flow.issued
    assert issued is not None
    with CenterClient(server.url) as client:
        login(client, flow.keystore, pin=DEMO_PIN)
        session = client.token
    flow.client.close()
    other = Flow(server.url, tmp_path, "C002")  # an issuance under way: the flow token's
    started = other.start()
    other.client.close()
    assert session
    # the renewals' certificate is not the session's either: a renewal supersedes it
    mobile = _mobile_certificate(server.url, tmp_path, "C010")
    financial_certificate = _financial_certificate(server.url, "C011")
    # the operator's: the run learns serials from answers (the renewal's, the financial
    # login's), and would revoke the certificates the credentials above are made with
    operated = _financial_certificate(server.url, "C012")["serial"]
    operator = _operator_token(server, "fuzz-operator", "operator")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        card = _security_card(http, issued["customer_number"], operator, session)
        financial_terms = http.get("/v1/financial/enrollments/terms").json()["required"]
        financial = http.post("/v1/financial/enrollments", json={"accepted": financial_terms})
        joint_terms = http.get("/v1/joint/registrations/terms").json()["required"]
        joint = http.post(
            "/v1/joint/registrations", json={"kind": "banking", "accepted": joint_terms}
        )
    return World(
        tokens={
            "customerSession": session,
            "operatorToken": operator,
            "auditorToken": _operator_token(server, "fuzz-auditor", "auditor"),
        },
        parameters={"path.number": issued["customer_number"], "path.family": "mobile"},
        flows={
            "^/v1/enrollments/": _flow(started, "enrollment_id"),
            # the steps of a financial issuance but those that need a flow further on
            r"^/v1/financial/enrollments/\{enrollment_id\}(?!/ars|/code/resend|/departure)": (
                _flow(financial.json(), "enrollment_id")
            ),
            r"^/v1/financial/enrollments/\{enrollment_id\}/ars": (
                *calling,
                {"path.enrollment_id": calling[0]},
            ),
            r"^/v1/financial/enrollments/\{enrollment_id\}/departure$": (
                *abroad,
                {"path.enrollment_id": abroad[0]},
            ),
            r"^/v1/financial/enrollments/\{enrollment_id\}/code/resend$": (
                *coded,
                {"path.enrollment_id": coded[0]},
            ),
            "^/v1/joint/registrations/": _flow(joint.json(), "registration_id"),
            "^/v1/financial/devices/registrations/": _flow(registration, "registration_id"),
            "^/v1/financial/pin/resets/": _flow(reset, "reset_id"),
        },
        starts={
            "/v1/enrollments": {
                "body.move_certificate": False,
                "body.device.app_version": "99.0",
                "body.device.integrity.rooted": False,
                "body.device.integrity.developer_options": False,
                "body.device.integrity.remote_control_apps": [],
            },
            "/v1/financial/enrollments": {"body.accepted": financial_terms},
            "/v1/joint/registrations": {"body.kind": "banking", "body.accepted": joint_terms},
        },
        operations={r"^/v1/operator/certificates/\{serial\}/": {"path.serial": operated}},
        credentials={
            "url": server.url,
            "mobile": mobile,
            "financial": financial_certificate,
            "security_card": card,
        },
    )


def _flow(answer: dict[str, str], name: str) -> tuple[str, str, dict[str, str]]:
    """A flow from its first step's answer: its id (the path parameter ``name``), its token,
    and the parameter's value for its steps."""
    return answer[name], answer["token"], {f"path.{name}": answer[name]}


def _config(server: ServerProcess, world: World, path: Path, *, starts: bool = False) -> Path:
    lines = [
        f'base-url = "{server.url}"',
        "[generation]",
        f"max-examples = {MAX_EXAMPLES}",
        "[checks]",
        "enabled = false",
        *(f"{check}.enabled = true" for check in CHECKS),
        # a body over the server's limit is refused before it is read: 413 is a rejection too
        f"negative_data_rejection.expected-statuses = {json.dumps(REJECTIONS)}",
        "[parameters]",
        *(f'"{name}" = "{value}"' for name, value in world.parameters.items()),
    ]
    fixed = {paths: parameters for paths, (_, _, parameters) in world.flows.items()}
    for paths, parameters in {**fixed, **world.operations}.items():
        lines += [
            "[[operations]]",
            f"include-path-regex = '{paths}'",
            "parameters = {"
            + ", ".join(f'"{name}" = "{value}"' for name, value in parameters.items())
            + "}",
        ]
    for start, fields in world.starts.items() if starts else ():
        lines += [
            "[[operations]]",
            f'include-path-regex = "^{start}$"',
            "parameters = {"
            + ", ".join(f'"{name}" = {json.dumps(value)}' for name, value in fields.items())
            + "}",
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_fuzzer_finds_nothing_the_document_does_not_say(
    server: ServerProcess, world: World, tmp_path: Path
) -> None:
    for phases, (seconds, paths) in PHASES.items():
        name = phases.replace(",", "-")
        config = _config(server, world, tmp_path / f"{name}.toml", starts=phases == "stateful")
        report = tmp_path / f"report-{name}.json"
        output = _run(server, world, config, (phases, seconds, paths), report)
        # what was reached and what stayed out of reach (pytest -s shows it), and the count
        # of operations that answered the fuzzer only 401 or 403
        print(f"phases {phases}:", output[output.find(" ✅  ") :])
        found = json.loads(report.read_text())
        assert found, output[-2000:]
        refused = found.get("warnings", {}).get("missing_auth", [])
        print(f"phases {phases}: Schemathesis names {len(refused)} operations 401/403 only")
    # each operation's answers to the positive cases that carried its credential (all its
    # positive cases, for an operation of no security scheme; for one whose credential the
    # hooks make in the body, the cases they made it for, the others counted without an
    # answer): those answered only 401 or 403, or never, were not reached past authentication
    answered: dict[str, set[int]] = {}
    turned_down: set[str] = set()  # a credential the hooks made, as its holder would, refused
    for line in (tmp_path / "statuses.txt").read_text().splitlines():
        method, path, status, *made = line.split(" ")
        statuses = answered.setdefault(f"{method} {path}", set())
        if status != "-":
            statuses.add(int(status))
        if made == ["made"] and int(status) in (401, 403):
            turned_down.add(f"{method} {path} {status}")
    unreached = sorted(op for op, statuses in answered.items() if statuses <= {401, 403})
    print(f"reached past authentication: {len(answered) - len(unreached)} of {len(answered)}")
    print(f"answered only 401/403 with their credential: {len(unreached)}", *unreached, sep="\n  ")
    assert not turned_down, sorted(turned_down)
    log = server.log.read_text()
    assert "Traceback" not in log
    # the server's own check of every refusal against its operation's declaration
    undeclared = sorted({line for line in log.splitlines() if "undeclared problem code" in line})
    assert not undeclared, "\n".join(undeclared[:20])


def _run(
    server: ServerProcess,
    world: World,
    config: Path,
    run_of: tuple[str, int, str | None],
    report: Path,
) -> str:
    """One run of Schemathesis over ``phases`` for ``seconds`` (on the operations whose path
    matches ``paths``, or every one); its output. Fails on any failure it found."""
    phases, seconds, paths = run_of
    credentials = config.parent / "credentials.json"
    if not credentials.exists():  # a run's renewals name the certificate the next one renews
        credentials.write_text(json.dumps(world.credentials))
    excluded = [f"--exclude-path={path}" for path in EXCLUDED]
    if paths is not None:
        excluded.append(f"--include-path-regex={paths}")
    run = subprocess.run(
        [
            SCHEMATHESIS,
            "--config-file",
            str(config),
            "run",
            f"{server.url}/openapi.json",
            "--phases",
            phases,
            # one worker: two threads generating at once have crashed CPython 3.11's parser
            # inside Schemathesis ("AST constructor recursion depth mismatch")
            "--workers",
            "1",
            "--max-time",
            str(seconds),
            "--seed",
            "20261204",
            "--request-timeout",
            "30",
            "--report",
            "json",
            "--report-json-path",
            str(report),
            *excluded,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
        cwd=config.parent,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(HOOKS),
            "CERTCENTER_FUZZ_STATUSES": str(config.parent / "statuses.txt"),
            "CERTCENTER_FUZZ_TOKENS": json.dumps(world.tokens),
            "CERTCENTER_FUZZ_CREDENTIALS": str(credentials),
            "CERTCENTER_FUZZ_FLOW_TOKENS": json.dumps(
                [[paths, flow_id, token] for paths, (flow_id, token, _) in world.flows.items()]
            ),
        },
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    return output
