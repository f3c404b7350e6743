"""The API's contract: which refusals each operation can answer, and with which credentials.

Every route names the catalog codes it can refuse with beside its own definition, and each
dependency (the customer's session, the operator's token, a flow's token) names its own:

    @router.post("/v1/transfers", response_model=TransferOut, status_code=201)
    @raises("TRANSFER_LIMIT_EXCEEDED", "PAYEE_ACCOUNT_NOT_FOUND")
    def prepare_transfer(body: TransferIn, session: SessionDep, ...): ...

    @raises("SESSION_INVALID", "SESSION_EXPIRED")
    @authenticates("customerSession")
    def current_session(...): ...

:func:`install` builds the OpenAPI document from them: every operation lists, for each HTTP
status it can answer with a problem document (``application/problem+json``), the codes of
that status it can carry (an ``enum`` on ``code``), and the security scheme it needs. The
same union is what :func:`declared_codes` answers at run time: a refusal whose code the
operation does not declare is logged on ``certcenter.api.contract`` (the test suite fails on
such a line), so the document cannot drift from what the routes do.

The document also carries OpenAPI links (:data:`FLOWS`, :data:`LINKS`): how the answer of one
operation feeds the next — a flow's first step gives its id and bearer token to each of its
steps, the certificate issued leads to the login, the login's session to the transfer, the
transfer prepared to its confirmation. Clients and the stateful fuzzer follow them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import FastAPI, routing
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.requests import Request

from certcenter.errors import catalog

log = logging.getLogger("certcenter.api.contract")
PROBLEM = "application/problem+json"

F = TypeVar("F", bound=Callable[..., Any])

# What any request can meet, whatever the route: a body or parameter of the wrong shape and
# control characters (the edge, FastAPI's validation), a body over the limit, a read-only or
# lagging database (storage/database.py turns the driver's errors into these wherever they
# happen), and the one fault answer with an incident number.
COMMON = (
    "INVALID_REQUEST",
    "REQUEST_TOO_LARGE",
    "STORAGE_READ_ONLY",
    "AUDIT_CHAIN_BROKEN",
    "INTERNAL_ERROR",
    "KEY_TOKEN_UNAVAILABLE",  # an HSM that stopped answering (keys/hsm.py), wherever keys sign
)

# What answering with a factor of a logged-in session can refuse with: the answer wrong (the
# last try before the lock told), or one of the customer's factors locked (media/lockout.py).
FACTOR_LOCKS = (
    "ACCOUNT_PASSWORD_LOCKED",
    "AUTH_FAILED",
    "AUTH_LAST_TRY",
    "DEVICE_PROOF_LOCKED",
    "OTP_LOCKED",
    "PATTERN_LOCKED",
    "PIN_LOCKED",
    "SECURITY_CARD_LOCKED",
)

# What a flow's state can refuse a step with, whatever the step: the flow ended, expired,
# unknown or asked out of order, a block after too many failures (with the SMS budget's), the
# outside party down (flows/engine.py; the certificate copy's relay answers the same).
FLOW_STATE = (
    "ENROLLMENT_CLOSED",
    "ENROLLMENT_EXPIRED",
    "ENROLLMENT_NOT_FOUND",
    "ENROLLMENT_STEP_OUT_OF_ORDER",
    "SERVICE_UNAVAILABLE",
    "SMS_LIMIT_REACHED",
    "SMS_RESEND_TOO_SOON",
    "TOO_MANY_ATTEMPTS",
)

# What reading where a flow stands can refuse with: the flow unknown, ended or expired, or
# its token wrong.
FLOW_READ = (
    "ENROLLMENT_CLOSED",
    "ENROLLMENT_EXPIRED",
    "ENROLLMENT_NOT_FOUND",
    "ENROLLMENT_TOKEN_INVALID",
)

# What any step of a multi-step flow (issuance, registration, PIN reset) can refuse with:
# the flow's state, and the race lost to another issuance or device registration at commit
# (flows/engine.py). Each step adds its own.
FLOW_STEP = (
    "CERTIFICATE_ALREADY_ACTIVE",
    "DEVICE_ALREADY_REGISTERED",
    *FLOW_STATE,
)

# What a step of a customer's flow can refuse with once the flow names the customer: the
# flow's token wrong, the customer gone, their accounts dormant, suspended or restricted, an
# address abroad blocked.
CUSTOMER_STEP = (
    "ACCOUNT_DORMANT",
    "ACCOUNT_SUSPENDED",
    "ACCOUNT_TRANSFER_RESTRICTED",
    "CUSTOMER_NOT_FOUND",
    "ENROLLMENT_TOKEN_INVALID",
    "FOREIGN_IP_BLOCKED",
)

# What a key or secret of the key backend can refuse with when it is opened or made.
KEY_BACKEND = (
    "KEY_ALREADY_EXISTS",
    "KEY_NOT_FOUND",
    "KEY_PASSPHRASE_MISSING",
    "KEY_PASSPHRASE_WRONG",
)

# What a certificate's state can refuse its use with (certificates/records.py).
CERTIFICATE_STATE = (
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_NOT_SUSPENDED",
    "CERTIFICATE_NOT_USABLE",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_SUSPENDED",
)

# What changing a certificate's state (revoke, suspend, release: lifecycle/) can refuse with:
# the certificate unknown or in a state that does not allow it, its customer unknown, and the
# key backend.
CERTIFICATE_CHANGE = (
    *CERTIFICATE_STATE,
    *KEY_BACKEND,
    "CERTIFICATE_NOT_FOUND",
    "CUSTOMER_UNKNOWN",
)

# What issuing a certificate can refuse with (issuance/: the one issue() for every kind, which
# supersedes the certificate it replaces): that change, the profile's lint, and the device,
# the public key or the joint certificate's reference already bound or unknown.
ISSUANCE = (
    *CERTIFICATE_CHANGE,
    "CERTIFICATE_ALREADY_ACTIVE",
    "CERTIFICATE_PROFILE_LINT_FAILED",
    "DEVICE_ALREADY_REGISTERED",
    "JOINT_CERTIFICATE_UNKNOWN",
    "JOINT_REFERENCE_UNKNOWN",
    "PUBLIC_KEY_ALREADY_BOUND",
)

# What checking the answer of one of the customer's factors (PIN, pattern, OTP, security
# card, account password) can refuse with: the answer wrong or the factor locked, too many
# checks of it at once, and the key backend of the keyed digests it is checked against.
FACTOR_CHECK = (
    *FACTOR_LOCKS,
    *KEY_BACKEND,
    "AUTH_BUSY",
)

# What checking a one-time code (SMS, 1원 입금) can refuse with: the code wrong, spent,
# expired or tried too often; codes are kept as keyed digests, so the key backend's too.
ONE_TIME_CODE = (
    "CODE_EXPIRED",
    "CODE_INVALID",
    "CODE_TRIES_EXCEEDED",
    "CODE_USED",
    *KEY_BACKEND,
)

# What the financial re-verification (financial/reverification.py) refuses its flows with, in
# the words of its two purposes (a browser's registration, a PIN reset); the SMS code steps
# of the financial issuance and the joint registration share them.
REVERIFICATION = (
    "FINANCIAL_REGISTRATION_EXPIRED",
    "FINANCIAL_REGISTRATION_INVALID",
    "FINANCIAL_RESET_EXPIRED",
    "FINANCIAL_RESET_INVALID",
)

# What the answer of an additional medium (account and password, OTP, security card) can
# refuse with: checking it, and the account unknown or not the customer's, the bank unknown.
MEDIUM_ANSWER = (
    *FACTOR_CHECK,
    "ACCOUNT_NOT_FOUND",
    "ACCOUNT_NOT_OWN",
    "BANK_UNKNOWN",
)

# What the mobile certificate's approval in the app can refuse with, when it is the medium.
APP_APPROVAL = (
    "APPROVAL_CUSTOMER_MISMATCH",
    "APPROVAL_EXPIRED",
    "APPROVAL_NOT_FOUND",
    "APPROVAL_PENDING",
    "APPROVAL_USED",
)

# What proving the registered device can refuse with (the device's signature over a
# challenge, one of its factors, and its certificate's state): every route that takes a
# DeviceProofIn / ProofIn body raises these, beside its own.
DEVICE_PROOF = (
    *FACTOR_LOCKS,
    *CERTIFICATE_STATE,
    *KEY_BACKEND,
    "CHALLENGE_INVALID",
    "CUSTOMER_UNKNOWN",
    "DEVICE_AUTH_FAILED",
    "DEVICE_NOT_REGISTERED",
    "FINANCIAL_PIN_LOCKED",
    "INACTIVE_CERTIFICATE_REVOKED",
)

# What an ID photo can be refused with (identity/documents: its quality, the card found and
# read, the passport's MRZ), and a body over the photo routes' limit: both photo routes.
ID_PHOTO = (
    "ID_MRZ_INVALID",
    "ID_PHOTO_BLURRED",
    "ID_PHOTO_CARD_CUT_OFF",
    "ID_PHOTO_CARD_TOO_SMALL",
    "ID_PHOTO_GLARE",
    "ID_PHOTO_INVALID",
    "ID_PHOTO_NO_CARD",
    "ID_PHOTO_TOO_DARK",
    "ID_PHOTO_UNREADABLE",
    "REQUEST_TOO_LARGE",
)

# The bearer tokens the API knows (components.securitySchemes).
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
    "customerSession": {
        "type": "http",
        "scheme": "bearer",
        "description": "A customer's session token: POST /v1/login (the app), "
        "/v1/financial/login or /v1/joint/login.",
    },
    "operatorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An operator's token with the role `operator` (certcenter operators add).",
    },
    "auditorToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An operator's token with the role `auditor` (certcenter operators add).",
    },
    "flowToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The token a multi-step flow's first step answered with (issuance, "
        "registration, PIN reset, …); good for that flow only.",
    },
}

_CODES = "__problem_codes__"
_SCHEME = "__security_scheme__"
_ANY = "__problem_any__"


def raises(*codes: str) -> Callable[[F], F]:
    """Declare the catalog codes a route (or a dependency) can refuse with."""
    known = catalog()
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise ValueError(f"not in the error catalog: {', '.join(unknown)}")

    def mark(function: F) -> F:
        setattr(function, _CODES, (*getattr(function, _CODES, ()), *codes))
        return function

    return mark


def raises_any(status: int) -> Callable[[F], F]:
    """Declare a route that answers any catalog code under one status of its own (``/readyz``:
    503 whatever failed)."""

    def mark(function: F) -> F:
        setattr(function, _ANY, status)
        return function

    return mark


def authenticates(scheme: str) -> Callable[[F], F]:
    """Declare that a dependency checks the bearer token of ``scheme``."""
    if scheme not in SECURITY_SCHEMES:
        raise ValueError(f"unknown security scheme {scheme}")

    def mark(function: F) -> F:
        setattr(function, _SCHEME, scheme)
        return function

    return mark


def _calls(dependant: Dependant) -> Iterator[Any]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _has_authorization_header(dependant: Dependant) -> bool:
    if any(param.name == "authorization" for param in dependant.header_params):
        return True
    return any(_has_authorization_header(sub) for sub in dependant.dependencies)


def route_codes(route: APIRoute) -> frozenset[str]:
    """The codes ``route`` declares: its own, its dependencies' and the common ones."""
    codes = set(COMMON)
    for call in _calls(route.dependant):
        codes.update(getattr(call, _CODES, ()))
    return frozenset(codes)


def route_security(route: APIRoute) -> str | None:
    """The security scheme the route's dependencies check; ``flowToken`` for a route that
    reads the ``Authorization`` header itself."""
    for call in _calls(route.dependant):
        scheme = getattr(call, _SCHEME, None)
        if scheme is not None:
            return str(scheme)
    if _has_authorization_header(route.dependant):
        return "flowToken"
    return None


def operations(app: FastAPI) -> Iterator[tuple[str, APIRoute]]:
    """Each route of the document with its path (routers included as they are mounted)."""
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.include_in_schema and context.path_format:
            yield context.path_format, route


def allowed_methods(request: Request) -> list[str]:
    """The methods some route answers at the request's path (for ``Allow``, RFC 9110 §10.2.1);
    ``OPTIONS`` is always answered."""
    app = request.scope.get("app")
    methods = {"OPTIONS"}
    if isinstance(app, FastAPI):
        path = request.url.path
        for context in routing.iter_route_contexts(app.routes):
            regex = getattr(context, "path_regex", None)
            if regex is not None and context.methods and regex.match(path):
                methods.update(context.methods)
    return sorted(methods)


def declared_codes(request: Request) -> frozenset[str] | None:
    """The codes the operation that answers ``request`` declares (``None``: no operation of
    the document answers it, e.g. an unknown path or a web page)."""
    route = request.scope.get("route")
    app = request.scope.get("app")
    if not isinstance(route, APIRoute) or not isinstance(app, FastAPI):
        return None
    documented: set[int] | None = getattr(app.state, "documented_routes", None)
    if documented is None:
        documented = {id(r) for _, r in operations(app)}
        app.state.documented_routes = documented
    if id(route) not in documented or getattr(route.endpoint, _ANY, None) is not None:
        return None
    known: dict[int, frozenset[str]] = app.state.__dict__.setdefault("declared_codes", {})
    if id(route) not in known:
        known[id(route)] = route_codes(route)
    return known[id(route)]


def check(request: Request, code: str) -> None:
    """Log a refusal its operation does not declare (a defect of the contract)."""
    if code == "METHOD_NOT_ALLOWED":
        return  # a path's answer, not an operation's (it carries Allow)
    declared = declared_codes(request)
    if declared is not None and code not in declared:
        log.error("undeclared problem code %s on %s %s", code, request.method, request.url.path)


# ---------------------------------------------------------------------------------- document

_LOCALISED = {
    "type": "object",
    "properties": {"ko": {"type": "string"}, "en": {"type": "string"}},
    "required": ["ko", "en"],
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document from the error catalog; `title` and "
    "`detail` follow Accept-Language (Korean by default).",
    "type": "object",
    "properties": {
        "type": {"type": "string", "examples": ["urn:certcenter:error:PIN_WEAK"]},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "code": {"type": "string", "description": "The stable catalog code (docs/errors.md)"},
        "title": {"type": "string"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "message": _LOCALISED,
        "cause": _LOCALISED,
        "remedy": _LOCALISED,
        "context": {"type": "object", "additionalProperties": True},
    },
    "required": ["type", "status", "code", "title", "detail", "message", "cause", "remedy"],
}


def _problem_responses(codes: frozenset[str]) -> dict[str, dict[str, Any]]:
    entries = catalog()
    by_status: dict[int, list[str]] = {}
    for code in sorted(codes):
        by_status.setdefault(entries[code].http_status, []).append(code)
    responses: dict[str, dict[str, Any]] = {}
    for status, listed in sorted(by_status.items()):
        schema = {
            "allOf": [
                {"$ref": "#/components/schemas/Problem"},
                {"properties": {"code": {"enum": listed}}},
            ]
        }
        responses[str(status)] = {
            "description": "Refused: " + ", ".join(listed),
            "content": {PROBLEM: {"schema": schema}},
        }
    return responses


def _operation(route: APIRoute, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status in [s for s in responses if s.startswith(("4", "5"))]:
        if "application/json" in responses[status].get("content", {}):
            del responses[status]  # FastAPI's validation error: ours is a problem document
    problems = _problem_responses(route_codes(route))
    any_status = getattr(route.endpoint, _ANY, None)
    if any_status is not None:
        problems[str(any_status)] = {
            "description": "Refused with the catalog code of what failed",
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
    for status, response in problems.items():
        if status in responses:  # a protocol's own answer with this status, and ours
            responses[status].setdefault("content", {}).update(response["content"])
        else:
            responses[status] = response
    scheme = route_security(route)
    if scheme is not None:
        operation["security"] = [{scheme: []}]
        # the token is the security scheme's, not a parameter of its own
        parameters = [
            p
            for p in operation.get("parameters", [])
            if not (p.get("in") == "header" and p.get("name", "").lower() == "authorization")
        ]
        if parameters:
            operation["parameters"] = parameters
        else:
            operation.pop("parameters", None)


def document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the problems and the security of every operation."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        openapi_version=app.openapi_version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    schema = _readable_names(schema)
    paths = schema.get("paths", {})
    for path, route in operations(app):
        item = paths.get(path, {})
        for method in route.methods or ():
            operation = item.get(method.lower())
            if operation is not None:
                _operation(route, operation)
    _add_links(schema)
    return schema


def _readable_names(schema: dict[str, Any]) -> dict[str, Any]:
    """Models of one name in two modules are named after their module (``FinancialCodeIn``,
    the shared ``schemas`` module's keeps ``CodeIn``) rather than FastAPI's
    ``certcenter__api__routes__financial__CodeIn``; every model's title is its name, so a
    generated client has one class per model."""
    names = schema.get("components", {}).get("schemas", {})
    renamed: dict[str, str] = {}
    for key in names:
        if "__" not in key:
            continue
        *module, model = key.split("__")
        if module[-1] == "schemas":
            renamed[key] = model
        else:
            renamed[key] = "".join(part.title() for part in module[-1].split("_")) + model
    if len(set(renamed.values()) | (set(names) - set(renamed))) != len(names):
        return schema  # would collide: keep FastAPI's names
    text = json.dumps(schema)
    for old, new in renamed.items():
        text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
    result: dict[str, Any] = json.loads(text)
    models = result["components"]["schemas"]
    result["components"]["schemas"] = {renamed.get(k, k): v for k, v in models.items()}
    for name, model in result["components"]["schemas"].items():
        model["title"] = name
    return result


# ---------------------------------------------------------------------------------- links


@dataclass(frozen=True)
class FlowLinks:
    """A multi-step flow: its first step answers ``status`` with the flow's id (``field``)
    and, with ``bearer``, its token (``token``); every operation under ``steps`` takes them,
    the id as the path parameter ``parameter`` and the token in ``Authorization``."""

    start: tuple[str, str]
    status: str
    steps: str
    parameter: str
    field: str
    bearer: bool = True


@dataclass(frozen=True)
class Link:
    """One operation's answer feeding another: ``parameters`` as OpenAPI link parameters
    (``path.x``, ``header.Authorization``), ``body`` as the link's ``requestBody`` (fields
    merged into the body)."""

    source: tuple[str, str]
    status: str
    target: tuple[str, str]
    parameters: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, str] | None = None


# the answer's ``token`` as the next request's Authorization (a runtime expression)
_BEARER = "Bearer {$response.body#/token}"

FLOWS = (
    FlowLinks(
        ("POST", "/v1/enrollments"), "201", "/v1/enrollments", "enrollment_id", "enrollment_id"
    ),
    FlowLinks(
        ("POST", "/v1/financial/enrollments"),
        "201",
        "/v1/financial/enrollments",
        "enrollment_id",
        "enrollment_id",
    ),
    FlowLinks(
        ("POST", "/v1/financial/devices/registrations"),
        "201",
        "/v1/financial/devices/registrations",
        "registration_id",
        "registration_id",
    ),
    FlowLinks(
        ("POST", "/v1/financial/pin/resets"),
        "201",
        "/v1/financial/pin/resets",
        "reset_id",
        "reset_id",
    ),
    FlowLinks(
        ("POST", "/v1/joint/registrations"),
        "201",
        "/v1/joint/registrations",
        "registration_id",
        "registration_id",
    ),
    FlowLinks(
        ("POST", "/v1/certificate-copies"), "201", "/v1/certificate-copies", "relay_id", "relay_id"
    ),
    FlowLinks(
        ("POST", "/v1/lost-phone-reports"),
        "202",
        "/v1/lost-phone-reports",
        "report_id",
        "report_id",
        bearer=False,
    ),
    FlowLinks(
        ("POST", "/v1/otp/registrations"),
        "201",
        "/v1/otp/registrations",
        "registration_id",
        "registration_id",
        bearer=False,
    ),
)

_SESSION = {"header.Authorization": _BEARER}
_TRANSFER = {"path.transfer_id": "$response.body#/id"}
_CARD = {"path.challenge_id": "$response.body#/id"}
_CSR = ("POST", "/v1/enrollments/{enrollment_id}/csr")

LINKS = (
    # the certificate issued: read it, and log in with the device it was bound to
    Link(
        _CSR, "201", ("GET", "/v1/certificates/{serial}"), {"path.serial": "$response.body#/serial"}
    ),
    Link(
        _CSR,
        "201",
        ("POST", "/v1/login/challenges"),
        body={"device_id": "$response.body#/device_id"},
    ),
    # the login: the challenge signed, then the session's operations
    Link(
        ("POST", "/v1/login/challenges"),
        "201",
        ("POST", "/v1/login"),
        body={"device_id": "$request.body#/device_id", "challenge": "$response.body#/challenge"},
    ),
    Link(("POST", "/v1/login"), "200", ("GET", "/v1/session"), _SESSION),
    Link(("POST", "/v1/login"), "200", ("POST", "/v1/transfers"), _SESSION),
    Link(("POST", "/v1/login"), "200", ("GET", "/v1/transfers"), _SESSION),
    Link(("POST", "/v1/login"), "200", ("POST", "/v1/documents/sign"), _SESSION),
    Link(("POST", "/v1/financial/login"), "200", ("POST", "/v1/transfers"), _SESSION),
    Link(("POST", "/v1/joint/login"), "200", ("POST", "/v1/transfers"), _SESSION),
    # the transfer prepared: confirmed (by the app, or with the financial certificate), read
    Link(
        ("POST", "/v1/transfers"), "201", ("POST", "/v1/transfers/{transfer_id}/confirm"), _TRANSFER
    ),
    Link(("POST", "/v1/transfers"), "201", ("GET", "/v1/transfers/{transfer_id}"), _TRANSFER),
    Link(
        ("POST", "/v1/transfers"),
        "201",
        ("POST", "/v1/financial/transfers/{transfer_id}/activation"),
        _TRANSFER,
    ),
    Link(
        ("POST", "/v1/transfers"),
        "201",
        ("POST", "/v1/financial/transfers/{transfer_id}/confirm"),
        _TRANSFER,
    ),
    # the transfer done: its signed evidence, for the customer and for an auditor
    Link(
        ("POST", "/v1/transfers/{transfer_id}/confirm"),
        "200",
        ("GET", "/v1/transfers/{transfer_id}/evidence"),
        _TRANSFER,
    ),
    Link(
        ("POST", "/v1/transfers/{transfer_id}/confirm"),
        "200",
        ("GET", "/v1/operator/transfers/{transfer_id}/evidence"),
        _TRANSFER,
    ),
    # a security card's question answered
    Link(
        ("POST", "/v1/security-cards/registrations"),
        "201",
        ("POST", "/v1/security-cards/registrations/{challenge_id}"),
        _CARD,
    ),
    Link(
        ("POST", "/v1/security-cards/challenges"),
        "201",
        ("POST", "/v1/security-cards/challenges/{challenge_id}/verify"),
        _CARD,
    ),
    Link(
        ("POST", "/v1/security-cards/cancellations"),
        "201",
        ("POST", "/v1/security-cards/cancellations/{challenge_id}"),
        _CARD,
    ),
    # the financial certificate's cloud key activated, then used
    Link(
        ("POST", "/v1/financial/activations"),
        "201",
        ("POST", "/v1/financial/activations/{activation_id}/authorize"),
        {"path.activation_id": "$response.body#/activation_id"},
    ),
)


def _flow_links(paths: Mapping[str, Any], flow: FlowLinks) -> Iterator[Link]:
    prefix = f"{flow.steps}/{{{flow.parameter}}}"
    for path, item in paths.items():
        if path != prefix and not path.startswith(prefix + "/"):
            continue
        for method, operation in item.items():
            parameters = {f"path.{flow.parameter}": f"$response.body#/{flow.field}"}
            if flow.bearer and operation.get("security"):
                parameters["header.Authorization"] = _BEARER
            yield Link(flow.start, flow.status, (method.upper(), path), parameters)


def _add_links(schema: dict[str, Any]) -> None:
    """Put :data:`FLOWS` and :data:`LINKS` into the document's responses (``links``, named by
    the target's ``operationId``). A link from an operation the app does not have is left out
    (an app of a few routes); a link from one it has to one it lacks is a fault."""
    paths: dict[str, Any] = schema.get("paths", {})

    def operation(where: tuple[str, str]) -> dict[str, Any] | None:
        found: dict[str, Any] | None = paths.get(where[1], {}).get(where[0].lower())
        return found

    links = [link for flow in FLOWS for link in _flow_links(paths, flow)] + list(LINKS)
    for link in links:
        source = operation(link.source)
        if source is None:
            continue
        target = operation(link.target)
        if target is None:
            method, path = link.target
            raise LookupError(f"a link names {method} {path}, not in the document")
        definition: dict[str, Any] = {
            "operationId": target["operationId"],
            "description": f"{link.target[0]} {link.target[1]}",
        }
        if link.parameters:
            definition["parameters"] = dict(link.parameters)
        if link.body is not None:
            definition["requestBody"] = dict(link.body)
        response = source["responses"][link.status]
        response.setdefault("links", {})[target["operationId"]] = definition


def install(app: FastAPI) -> None:
    """Serve :func:`document` at the app's ``openapi_url`` (built once)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
