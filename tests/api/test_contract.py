"""The OpenAPI document is the API's contract: every refusal an operation can answer is
declared (problem documents under their catalog status, the codes listed), every operation
says which bearer token it needs, request fields carry the formats the server checks, and a
method a path does not take is answered 405 with ``Allow``."""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from certcenter.api import contract, errors
from certcenter.api.schemas import BASE64
from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError, catalog
from tests.conftest import LiveServer

PROBLEM = "application/problem+json"


@pytest.fixture
def http(api: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        yield client


@pytest.fixture
def document(http: httpx.Client) -> dict[str, Any]:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def _codes(operation: dict[str, Any], status: str) -> list[str]:
    schema = operation["responses"][status]["content"][PROBLEM]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Problem"}
    enum: list[str] = schema["allOf"][1]["properties"]["code"]["enum"]
    return enum


def test_every_refusal_is_a_problem_document_with_its_codes_under_their_status(
    document: dict[str, Any],
) -> None:
    entries = catalog()
    operations = list(_operations(document))
    assert len(operations) > 100
    for method, path, operation in operations:
        refusals = {s: r for s, r in operation["responses"].items() if s >= "400"}
        where = f"{method} {path}"
        # what any request can meet is declared everywhere
        assert {"413", "422", "500", "503"} <= set(refusals), where
        for status, response in refusals.items():
            if path.endswith("/cmp") and status == "400":
                continue  # a CMP error message (application/pkixcmp), the protocol's own
            assert PROBLEM in response["content"], where
            if path in ("/healthz", "/readyz"):
                continue  # 503 with whatever failed (its own code), see below
            listed = _codes(operation, status)
            assert listed, where
            for code in listed:
                assert entries[code].http_status == int(status), f"{where}: {code}"
        assert "application/json" not in refusals.get("422", {}).get("content", {}), where
    assert "HTTPValidationError" not in document["components"]["schemas"]
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "status", "code", "title", "message", "remedy"} <= set(problem["required"])


def test_the_codes_are_the_routes_own(document: dict[str, Any]) -> None:
    """Each operation lists what its route and its dependencies raise, not every code."""
    paths = document["paths"]
    transfer = paths["/v1/transfers"]["post"]
    assert "TRANSFER_LIMIT_EXCEEDED" in _codes(transfer, "422")
    assert _codes(transfer, "401") == ["SESSION_EXPIRED", "SESSION_INVALID"]
    phone = paths["/v1/enrollments/{enrollment_id}/phone"]["post"]
    assert "PHONE_NOT_OWN_NAME" in _codes(phone, "403")
    assert "ENROLLMENT_TOKEN_INVALID" in _codes(phone, "401")
    assert "TRANSFER_LIMIT_EXCEEDED" not in _codes(phone, "422")
    operator = paths["/v1/operator/customers/{number}"]["get"]
    assert "OPERATOR_TOKEN_INVALID" in _codes(operator, "401")
    assert "OPERATOR_FORBIDDEN" in _codes(operator, "403")
    crl = paths["/crl/{name}.crl"]["get"]
    assert _codes(crl, "404") == ["NOT_FOUND"]
    financial = "/v1/financial/enrollments/{enrollment_id}/medium"
    photo = paths[f"{financial}/photo"]["post"]
    assert "ID_PHOTO_GLARE" in _codes(photo, "422")
    assert "ENROLLMENT_TOKEN_INVALID" in _codes(photo, "401")
    assert "ID_NAME_MISMATCH" in _codes(paths[f"{financial}/verify"]["post"], "403")
    chosen = _body(document, paths[financial]["post"])["properties"]["medium"]
    assert "id_document" in chosen["enum"]
    verify = _body(document, paths[f"{financial}/verify"]["post"])["properties"]
    assert verify["id_document"]["anyOf"][0] == {"$ref": "#/components/schemas/IdIn"}


def _body(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


@pytest.mark.parametrize(
    ("method", "path", "scheme"),
    [
        ("POST", "/v1/transfers", "customerSession"),
        ("GET", "/v1/session", "customerSession"),
        ("GET", "/v1/financial/certificate", "customerSession"),
        ("POST", "/v1/operator/certificates/{serial}/revoke", "operatorToken"),
        ("GET", "/v1/operator/audit/verify", "auditorToken"),
        ("GET", "/v1/operator/transfers/{transfer_id}/evidence", "auditorToken"),
        ("POST", "/v1/enrollments/{enrollment_id}/phone", "flowToken"),
        ("POST", "/v1/financial/pin/resets/{reset_id}/code", "flowToken"),
        ("POST", "/v1/enrollments", None),
        ("POST", "/v1/login", None),
    ],
)
def test_every_operation_names_the_token_it_needs(
    document: dict[str, Any], method: str, path: str, scheme: str | None
) -> None:
    operation = document["paths"][path][method.lower()]
    assert operation.get("security") == ([{scheme: []}] if scheme else None)
    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"customerSession", "operatorToken", "auditorToken", "flowToken"}
    assert all(s == {**s, "type": "http", "scheme": "bearer"} for s in schemes.values())


def test_the_token_is_never_a_header_parameter(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        names = [p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"]
        assert "authorization" not in names, f"{method} {path}"


def test_request_fields_carry_the_formats_the_server_checks(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def field(model: str, name: str) -> dict[str, Any]:
        prop: dict[str, Any] = schemas[model]["properties"][name]
        return next((p for p in prop.get("anyOf", []) if p.get("type") == "string"), prop)

    for model, name in [
        ("VerifyIn", "cms_b64"),
        ("VerifyIn", "document_b64"),
        ("UsageConfirmIn", "signature"),
        ("RegistrationIn", "public_key"),
        ("ActivationIn", "data_b64"),
        ("JointLoginIn", "certificate_b64"),
        ("CopyPayloadIn", "payload"),
    ]:
        found = field(model, name)
        assert found["contentEncoding"] == "base64", (model, name)
        assert "pattern" in found and "maxLength" in found, (model, name)
    assert field("CopyOpenIn", "public_key")["contentEncoding"] == "base64"  # 32 bytes
    # 512 bytes of key at most: the longest base64 that decodes to them
    assert field("RegistrationIn", "public_key")["maxLength"] == 684
    amount = schemas["TransferIn"]["properties"]["amount"]
    assert amount["exclusiveMinimum"] == 0 and amount["maximum"] == 10**12
    assert schemas["DeviceFactsIn"]["properties"]["device_id"]["pattern"]
    diagnosis = document["paths"]["/v1/operator/customers/{number}/diagnosis"]["get"]
    (client_ip,) = [p for p in diagnosis["parameters"] if p["name"] == "client_ip"]
    formats = {s.get("format") for s in client_ip["schema"]["anyOf"]}
    assert {"ipv4", "ipv6"} <= formats  # an address, refused with 422 otherwise


def test_every_model_has_a_name_of_its_own(document: dict[str, Any]) -> None:
    """Models of one name in two modules are named after their module, and each title is
    its name: a client generated from the document has one class per model."""
    schemas = document["components"]["schemas"]
    assert all("__" not in name and model["title"] == name for name, model in schemas.items())
    assert {"CodeIn", "FinancialCodeIn", "OtpConfirmIn", "UsageConfirmIn"} <= set(schemas)
    confirm = document["paths"]["/v1/transfers/{transfer_id}/confirm"]["post"]
    body = confirm["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/UsageConfirmIn"}


@given(st.binary(max_size=64))
def test_the_base64_pattern_takes_what_the_server_decodes(data: bytes) -> None:
    text = base64.b64encode(data).decode()
    assert re.fullmatch(BASE64, text)
    wrapped = text[:4] + "\n" + text[4:]
    url_safe = base64.urlsafe_b64encode(data).decode()
    for other in (wrapped, url_safe, text.rstrip("=")):
        decodes = True
        try:
            base64.b64decode(other, validate=True)
        except ValueError:
            decodes = False
        assert bool(re.fullmatch(BASE64, other)) == decodes, other


def test_a_refusal_the_operation_does_not_declare_is_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    errors.install(app)
    contract.install(app)

    @app.get("/declared")
    @contract.raises("NOT_FOUND")
    def declared(code: str) -> None:
        raise CertCenterError(code)

    async def get(code: str) -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return (await client.get("/declared", params={"code": code})).status_code

    logger = logging.getLogger("certcenter.api.contract")
    handlers = logger.handlers[:]
    for handler in handlers:  # this test's own undeclared code is expected
        logger.removeHandler(handler)
    try:
        with caplog.at_level(logging.ERROR, logger=logger.name):
            assert asyncio.run(get("NOT_FOUND")) == 404
            assert not caplog.records
            assert asyncio.run(get("PIN_WEAK")) == 422
    finally:
        for handler in handlers:
            logger.addHandler(handler)
    assert [r.getMessage() for r in caplog.records] == [
        "undeclared problem code PIN_WEAK on GET /declared"
    ]
    responses = app.openapi()["paths"]["/declared"]["get"]["responses"]
    assert _codes({"responses": responses}, "404") == ["NOT_FOUND"]
    assert "PIN_WEAK" not in _codes({"responses": responses}, "422")


# ---------------------------------------------------------------------------------- methods


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/enrollments", "OPTIONS, POST"),
        ("PUT", "/v1/transfers", "GET, OPTIONS, POST"),  # two routes at one path
        ("PATCH", "/v1/financial/certificate", "DELETE, GET, OPTIONS"),
        ("DELETE", "/v1/operator/audit", "GET, OPTIONS"),
    ],
)
def test_a_method_the_path_does_not_take_is_405_with_allow(
    http: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = http.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


def test_options_answers_the_methods_of_the_path(http: httpx.Client) -> None:
    response = http.options("/v1/transfers/some-id")
    assert response.status_code == 204
    assert response.headers["allow"] == "GET, OPTIONS"
    assert response.content == b""
    # no other origin is allowed: a preflight gets no CORS permission
    preflight = http.options(
        "/v1/transfers",
        headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert "access-control-allow-origin" not in preflight.headers
    unknown = http.options("/v1/no-such-thing")
    assert unknown.status_code == 404


def test_an_audit_subject_of_other_characters_is_refused_not_a_fault(
    http: httpx.Client, center: Center
) -> None:
    """The audit trail's subjects are letters, digits and ``_ . : -``; the query says so in
    the document and refuses anything else as invalid (it was a 500 before)."""
    token = center.operators.create("lee", ["auditor"])
    headers = {"Authorization": f"Bearer {token}"}
    refused = http.get(
        "/v1/operator/audit", params={"subject_kind": "òmK", "subject": "C001"}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "INVALID_REQUEST"
    wanted = {"subject_kind": "customer", "subject": "C001"}
    found = http.get("/v1/operator/audit", params=wanted, headers=headers)
    assert found.status_code == 200, found.text


# ---------------------------------------------------------------------------------- links


def test_links_carry_each_answer_into_the_next_operation(document: dict[str, Any]) -> None:
    """Enrolment → its steps → the certificate → the login → the transfer → its confirmation:
    each link names an operation of the document and, for a path parameter, one it takes."""
    by_id = {op["operationId"]: (method, path, op) for method, path, op in _operations(document)}
    links: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for method, path, operation in _operations(document):
        for response in operation["responses"].values():
            for link in response.get("links", {}).values():
                target_method, target_path, target = by_id[link["operationId"]]
                links.setdefault((method, path), {})[f"{target_method} {target_path}"] = link
                for name in link.get("parameters", {}):
                    where, _, param = name.partition(".")
                    if where == "path":
                        assert f"{{{param}}}" in target_path, (path, target_path)
                    else:  # the flow's or the session's token
                        assert (where, param) == ("header", "Authorization")
                        assert target.get("security"), target_path

    start = links[("POST", "/v1/enrollments")]
    steps = [p for p in document["paths"] if p.startswith("/v1/enrollments/{enrollment_id}")]
    assert {f"{m.upper()} {p}" for p in steps for m in document["paths"][p]} == set(start)
    terms = start["POST /v1/enrollments/{enrollment_id}/terms"]["parameters"]
    assert terms == {
        "path.enrollment_id": "$response.body#/enrollment_id",
        "header.Authorization": "Bearer {$response.body#/token}",
    }
    csr = links[("POST", "/v1/enrollments/{enrollment_id}/csr")]
    assert csr["GET /v1/certificates/{serial}"]["parameters"] == {
        "path.serial": "$response.body#/serial"
    }
    assert csr["POST /v1/login/challenges"]["requestBody"] == {
        "device_id": "$response.body#/device_id"
    }
    login = links[("POST", "/v1/login/challenges")]["POST /v1/login"]["requestBody"]
    assert login["challenge"] == "$response.body#/challenge"
    transfer = links[("POST", "/v1/login")]["POST /v1/transfers"]
    assert transfer["parameters"] == {"header.Authorization": "Bearer {$response.body#/token}"}
    confirm = links[("POST", "/v1/transfers")]["POST /v1/transfers/{transfer_id}/confirm"]
    assert confirm["parameters"] == {"path.transfer_id": "$response.body#/id"}
    evidence = links[("POST", "/v1/transfers/{transfer_id}/confirm")]
    assert "GET /v1/transfers/{transfer_id}/evidence" in evidence
    for flow in ("/v1/financial/enrollments", "/v1/joint/registrations"):
        assert len(links[("POST", flow)]) >= 8, flow


def test_a_link_to_an_operation_the_document_lacks_is_a_fault() -> None:
    app = FastAPI()
    contract.install(app)

    @app.post("/v1/login", status_code=200)
    def only_login() -> dict[str, str]:
        return {}

    with pytest.raises(LookupError, match="not in the document"):
        app.openapi()
