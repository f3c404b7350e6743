"""``/sim/gov24``: 정부24 (데모), a site of the demo world that logs its visitors in through the
center's OpenID provider (simulators on only). See :mod:`certcenter.simulators.relying_party`.

    GET /sim/gov24            the site: logged out (a button) or who logged in, and how
    GET /sim/gov24/login      to the provider's /oidc/authorize (PKCE, state, nonce kept here)
    GET /sim/gov24/callback   the code exchanged, the ID token checked: logged in
    GET /sim/gov24/logout     RP-initiated logout at the provider, then back here
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from certcenter.api.contract import raises
from certcenter.api.deps import CenterDep
from certcenter.simulators.relying_party import NAME, DemoRelyingParty, PendingLogin

router = APIRouter(prefix="/sim/gov24", tags=["simulators"], include_in_schema=False)
KEY = "sim_gov24"

_PAGE = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><header><strong>{title}</strong> <small>데모 세계의 사이트 · a demo-world site</small>
</header><main>{body}</main>
<footer><p>이 사이트는 데모입니다. 인증센터의 OpenID Connect 로그인을 보여 줍니다.</p></footer>
</body></html>"""


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=html.escape(NAME), body=body), status_code=status)


def _site(request: Request, center: Any) -> DemoRelyingParty:
    return DemoRelyingParty(center.oidc, center.settings.public_base_url)


@router.get("", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    who = request.session.get(KEY, {}).get("who")
    if not isinstance(who, dict):
        return _page(
            "<h1>정부24 (데모)</h1><p>민원 서비스를 이용하려면 로그인해 주세요.</p>"
            '<p><a id="gov24-login" href="/sim/gov24/login">인증서로 로그인</a></p>'
        )
    rows = "".join(
        f'<tr><th>{html.escape(str(k))}</th><td data-claim="{html.escape(str(k))}">'
        f"{html.escape(str(v))}</td></tr>"
        for k, v in who.items()
    )
    return _page(
        f"<h1 data-logged-in>{html.escape(str(who.get('name', '')))}님, 로그인되었습니다</h1>"
        "<p>인증센터가 확인해 보낸 정보 (ID 토큰과 userinfo):</p>"
        f"<table>{rows}</table>"
        '<p><a id="gov24-logout" href="/sim/gov24/logout">로그아웃</a></p>'
    )


@router.get("/login")
def login(request: Request, center: CenterDep) -> Response:
    pending = _site(request, center).start()
    request.session[KEY] = {
        "pending": {
            "url": pending.url,
            "state": pending.state,
            "nonce": pending.nonce,
            "verifier": pending.verifier,
        },
    }
    return RedirectResponse(pending.url, status_code=302)


@router.get("/callback")
@raises(
    "OIDC_REQUEST_INVALID", "OIDC_GRANT_INVALID", "OIDC_CODE_EXPIRED", "OIDC_CODE_REUSED",
    "OIDC_PKCE_FAILED", "OIDC_PKCE_REQUIRED", "OIDC_CLIENT_INVALID", "CERTIFICATE_REVOKED",
    "CERTIFICATE_SUSPENDED", "CERTIFICATE_EXPIRED", "CERTIFICATE_NOT_FOUND",
)  # fmt: skip
def callback(request: Request, center: CenterDep) -> Response:
    params = request.query_params
    stored = request.session.get(KEY, {}).get("pending")
    if params.get("error"):
        return _page(
            f"<h1>로그인하지 않았습니다</h1><p data-error>{html.escape(params['error'])}</p>"
            '<p><a href="/sim/gov24">처음으로</a></p>',
            400,
        )
    if not isinstance(stored, dict):
        return RedirectResponse("/sim/gov24", status_code=303)
    pending = PendingLogin(**{k: str(stored[k]) for k in ("url", "state", "nonce", "verifier")})
    done = _site(request, center).finish(pending, params.get("code", ""), params.get("state", ""))
    c = done.claims
    who = {
        "name": done.userinfo.get("name", ""),
        "sub": c["sub"],
        "acr": c.get("acr"),
        "amr": " ".join(c.get("amr", [])),
        "auth_time": datetime.fromtimestamp(int(c["auth_time"]), UTC).isoformat(),
        "phone_number": done.userinfo.get("phone_number", "-"),
        "birthdate": done.userinfo.get("birthdate", "-"),
    }
    request.session[KEY] = {"who": who, "id_token": done.id_token}
    return RedirectResponse("/sim/gov24", status_code=303)


@router.get("/logout")
def logout(request: Request, center: CenterDep) -> Response:
    id_token = request.session.get(KEY, {}).get("id_token")
    request.session.pop(KEY, None)
    if not isinstance(id_token, str):
        return RedirectResponse("/sim/gov24", status_code=303)
    return RedirectResponse(_site(request, center).logout_url(id_token), status_code=302)
