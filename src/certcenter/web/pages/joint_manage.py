"""``/joint/renew`` and ``/joint/revoke``: the joint certificate (공동인증서) renewed or revoked
in the browser, from its ``.pfx`` file.

    GET  /joint/renew            the .pfx, its password and the new file's password; the
                                 script renews (CMP kur) and saves the new .pfx
    GET  /joint/revoke           the .pfx, its password and the reason; the script revokes
                                 (CMP rr) after a confirmation
    POST /joint/manage/explain   the catalog's words for a refusal the script met, with the
                                 renewal window of the certificate it opened

Nothing of either act passes through this module, as with ``/joint/issue``
(:mod:`certcenter.web.pages.joint_issue`): ``static/js/joint-manage.js`` opens the file with
its password in the browser (``joint-pfx.js``) and speaks CMP to the center's CMP server
(``POST /cmp``, ``joint-cmp.js``) with messages signed by the certificate's own key, as the
app and ``openssl cmp -cmd kur|rr`` do. The renewal's new RSA-2048 key is made by WebCrypto,
the ``kup``'s certificate confirmed (``certConf``, signed with the old key) once the new file
is written, and the new file keeps the old one's VID random value. The center decides: a
renewal before the last ``policy.joint_renewal_window_days`` is ``JOINT_RENEWAL_TOO_EARLY``, a
revoked certificate asked again is ``CERTIFICATE_ALREADY_REVOKED``. Neither the file, its
password nor the key leaves the browser.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.requests import Request

from certcenter.errors import CertCenterError
from certcenter.errors.catalog import catalog
from certcenter.npki.password import MAX_LENGTH, MIN_LENGTH
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import json_refusal
from certcenter.web.pages.joint_issue import _local_words
from certcenter.web.rendering import render, translator
from certcenter.web.routing import page_router

router = page_router(prefix="/joint")

#: the reasons a holder may give (RFC 5280 CRLReason), as the CMP server takes them
REASONS = (
    ("unspecified", 0),
    ("keyCompromise", 1),
    ("affiliationChanged", 3),
    ("superseded", 4),
    ("cessationOfOperation", 5),
)
_Short = Annotated[str, Form(max_length=60)]


def _context(request: Request) -> dict[str, Any]:
    t = translator(locale_of(request))
    return {
        "step_labels": [],
        "step_index": 0,
        "words": _local_words(locale_of(request)),
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
        "window_days": center_of(request).settings.policy.joint_renewal_window_days,
        "reasons": [
            {"name": name, "code": code, "label": t(f"joint_manage.reason.{name}")}
            for name, code in REASONS
        ],
    }


@router.get("/renew")
def renew_page(request: Request) -> HTMLResponse:
    return render(request, "joint/renew.html", _context(request))


@router.get("/revoke")
def revoke_page(request: Request) -> HTMLResponse:
    return render(request, "joint/revoke.html", _context(request))


@router.post("/manage/explain", response_class=JSONResponse)
def explain(
    request: Request, code: _Short = "", detail: _Short = "", not_after: _Short = ""
) -> JSONResponse:
    """The catalog's words for ``code`` (status 200: the refusal is the script's to show),
    the renewal window worked out from the opened certificate's ``not_after`` (ISO 8601)."""
    policy = center_of(request).settings.policy
    opens = "-"
    try:
        ends = datetime.fromisoformat(not_after.strip()) if not_after.strip() else None
    except ValueError:
        ends = None
    if ends is not None:
        opens = (ends - timedelta(days=policy.joint_renewal_window_days)).date().isoformat()
    values: dict[str, Any] = {
        "days": policy.joint_renewal_window_days,
        "from": opens,
        "reason": "-",
        "limit": policy.cmp_max_clock_skew_seconds,
        "detail": detail.strip()[:60] or "-",
        "found": "-",
        "failure": "-",
        "max_failures": policy.joint_authorization_max_failures,
    }
    name = code.strip()
    error = (
        CertCenterError(name, **values)
        if name in catalog()
        else CertCenterError("CMP_REFUSED", **values)
    )
    answer = json_refusal(request, error)
    answer.status_code = 200
    return answer
