"""The OpenID provider's endpoints for sites (relying parties): discovery, keys, tokens.

    GET  /.well-known/openid-configuration   the provider's metadata
    GET  /oidc/jwks                          the ID tokens' public keys (current + previous)
    POST /oidc/token                         code (with PKCE) or refresh token -> tokens
    GET|POST /oidc/userinfo                  the consented claims (Bearer access token)
    POST /oidc/revoke                        RFC 7009
    POST /oidc/introspect                    RFC 7662
    POST /oidc/par                           RFC 9126: push an authorization request

The browser's side (/oidc/authorize, the consent, /oidc/logout) is in the web center
(``web/pages/oidc.py``). Bodies are forms (application/x-www-form-urlencoded) as OAuth asks;
refusals are OAuth's JSON errors (``{"error": "invalid_grant", "error_description": …}``)
with the catalog code beside them (``"code": "OIDC_CODE_REUSED"``). See docs/oidc.md.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from certcenter.api.contract import raises
from certcenter.api.deps import CenterDep
from certcenter.errors import CertCenterError
from certcenter.http_common.request_facts import client_ip
from certcenter.oidc.authlib_glue import HttpAnswer, HttpRequest

router = APIRouter(tags=["OpenID provider (OpenID Connect)"])

MAX_FORM = 8192
_OAUTH_CODES = (
    "OIDC_REQUEST_INVALID", "OIDC_CLIENT_INVALID", "OIDC_CLIENT_UNAUTHORIZED",
    "OIDC_GRANT_TYPE_UNSUPPORTED", "OIDC_SCOPE_INVALID", "OIDC_GRANT_INVALID",
    "OIDC_CODE_EXPIRED", "OIDC_CODE_REUSED", "OIDC_REFRESH_REUSED", "OIDC_PKCE_REQUIRED",
    "OIDC_PKCE_FAILED", "CERTIFICATE_REVOKED", "CERTIFICATE_SUSPENDED", "CERTIFICATE_EXPIRED",
    "CERTIFICATE_NOT_USABLE", "CERTIFICATE_NOT_FOUND",
)  # fmt: skip
_FORM_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "additionalProperties": {"type": "string"}}
            }
        },
    }
}


class _RepeatedParameterError(Exception):
    """A parameter given twice: RFC 6749 §3.1 forbids it."""


async def _request(request: Request) -> HttpRequest:
    items: list[tuple[str, str]] = []
    if request.method == "POST":
        body = await request.body()
        if len(body) > MAX_FORM:
            raise CertCenterError("REQUEST_TOO_LARGE", limit=f"{MAX_FORM // 1024} KiB")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if body and kind == "application/x-www-form-urlencoded":
            form = await request.form()
            items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    else:
        items = list(request.query_params.multi_items())
    params = dict(items)
    if len(params) != len(items):
        raise _RepeatedParameterError
    center = request.app.state.center
    return HttpRequest(
        method=request.method,
        uri=center.oidc.issuer + request.url.path,
        headers={k.lower(): v for k, v in request.headers.items()},
        params=params,
        source_ip=client_ip(request),
    )


async def _answer(request: Request, center: Any, act: str) -> Response:
    """Hand the request to the provider's ``act`` (token, userinfo, …) in the thread pool."""
    try:
        http = await _request(request)
    except _RepeatedParameterError:
        return JSONResponse(
            {
                "error": "invalid_request",
                "error_description": "A parameter was given more than once.",
                "code": "OIDC_REQUEST_INVALID",
            },
            status_code=400,
            headers={"Cache-Control": "no-store"},
        )
    return _response(await run_in_threadpool(getattr(center.oidc, act), http))


def _response(answer: HttpAnswer) -> Response:
    headers = {name: value for name, value in answer.headers if name.lower() != "content-type"}
    headers.setdefault("Cache-Control", "no-store")
    headers.setdefault("Pragma", "no-cache")
    if isinstance(answer.body, dict):
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)
    return Response(answer.body or "", status_code=answer.status, headers=headers)


@router.get("/.well-known/openid-configuration")
def discovery(center: CenterDep) -> JSONResponse:
    """The provider's metadata (OpenID Connect Discovery 1.0)."""
    return JSONResponse(center.oidc.discovery(), headers={"Cache-Control": "max-age=300"})


@router.get("/oidc/jwks")
@raises("KEY_NOT_FOUND")
def jwks(center: CenterDep) -> JSONResponse:
    """The ID tokens' public keys: the current one and the one before it."""
    return JSONResponse(center.oidc.jwks(), headers={"Cache-Control": "max-age=300"})


@router.post("/oidc/token", openapi_extra=_FORM_DOC)
@raises(*_OAUTH_CODES)
async def token(request: Request, center: CenterDep) -> Response:
    """Exchange a code (with its PKCE verifier) or a refresh token for tokens."""
    return await _answer(request, center, "token")


_USERINFO_CODES = ("OIDC_TOKEN_INVALID", "OIDC_GRANT_INVALID", "CERTIFICATE_REVOKED")


@router.get("/oidc/userinfo")
@raises(*_USERINFO_CODES)
async def userinfo(request: Request, center: CenterDep) -> Response:
    """The claims the customer consented to give this site (Bearer access token)."""
    return await _answer(request, center, "userinfo")


@router.post("/oidc/userinfo")
@raises(*_USERINFO_CODES)
async def userinfo_post(request: Request, center: CenterDep) -> Response:
    """The same, by POST (OIDC Core §5.3.1)."""
    return await _answer(request, center, "userinfo")


@router.post("/oidc/revoke", openapi_extra=_FORM_DOC)
@raises("OIDC_CLIENT_INVALID", "OIDC_REQUEST_INVALID")
async def revoke(request: Request, center: CenterDep) -> Response:
    """Revoke an access or refresh token (RFC 7009); a refresh token ends its whole grant."""
    return await _answer(request, center, "revoke")


@router.post("/oidc/introspect", openapi_extra=_FORM_DOC)
@raises("OIDC_CLIENT_INVALID", "OIDC_REQUEST_INVALID")
async def introspect(request: Request, center: CenterDep) -> Response:
    """Whether a token is active, and for whom (RFC 7662); a site sees its own tokens only."""
    return await _answer(request, center, "introspect")


@router.post("/oidc/par", openapi_extra=_FORM_DOC)
@raises(*_OAUTH_CODES)
async def par(request: Request, center: CenterDep) -> Response:
    """Push an authorization request (RFC 9126): a request_uri for /oidc/authorize."""
    return await _answer(request, center, "push")
