"""``/joint/issue``: the joint certificate (공동인증서) issued in the browser and saved as a file.

    GET  /joint/issue            the reference number, the authorization code and the new
                                 certificate password (the rule shown); the script does the rest
    POST /joint/explain          the catalog's words, in the page's language, for a refusal the
                                 script met (a code the CMP server wrote, or its own)

Nothing of the issuance passes through this module: ``static/js/joint-issue.js`` makes an
RSA-2048 key with WebCrypto and speaks CMP to the center's CMP server (``POST /cmp``,
``joint-cmp.js``) as every other client of :class:`certcenter.joint.JointAuthority` does —
an ``ir`` protected by PBMAC1 keyed by the authorization code, so the code itself never
leaves the browser, is counted on a wrong MAC and locks the reference at
``policy.joint_authorization_max_failures`` like over CMP, then ``certConf`` — and writes a
PKCS#12 file (``joint-pfx.js``: PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, the MAC with
HMAC-SHA256) that the browser downloads. The fields for the code and the password have no
``name``: without the script the form sends nothing. The password rule is
:mod:`certcenter.npki.password`'s: its limits and the words of each reason are rendered into
the page, and the script refuses a password that breaks it before anything is sent.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.requests import Request

from certcenter.errors import CertCenterError, Locale, term
from certcenter.errors.catalog import catalog
from certcenter.npki.password import MAX_LENGTH, MIN_LENGTH
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import Stash, json_refusal
from certcenter.web.rendering import render
from certcenter.web.routing import page_router

router = page_router(prefix="/joint")

REASONS = (
    "too_short",
    "too_long",
    "bad_character",
    "no_letter",
    "no_digit",
    "no_symbol",
    "repeated",
)
# Refusals the script may meet before or without the server: shown from the page itself.
_LOCAL = ("NPKI_PASSWORD_CONFIRMATION_MISMATCH", "WEB_JOINT_BROWSER_UNSUPPORTED")
_Short = Annotated[str, Form(max_length=60)]


def _words(error: CertCenterError, locale: Locale) -> dict[str, str]:
    return {
        "code": error.code,
        "message": error.message(locale),
        "cause": error.cause(locale),
        "remedy": error.remedy(locale),
    }


def _local_words(locale: Locale) -> dict[str, dict[str, str]]:
    """What the script shows without asking: a weak password (per reason), a confirmation
    that differs, a browser without WebCrypto."""
    words = {
        f"weak:{reason}": _words(
            CertCenterError("NPKI_PASSWORD_TOO_WEAK", reason=term(f"npki.password.{reason}")),
            locale,
        )
        for reason in REASONS
    }
    for code in _LOCAL:
        words[code] = _words(CertCenterError(code), locale)
    return words


def issue_form_context(request: Request, prefill_code: str | None = None) -> dict[str, Any]:
    """What ``joint/issue_form.html`` needs: the reference of this browser's registration, the
    code when the page shows it anyway, the rule's limits and the words of local refusals."""
    policy = center_of(request).settings.policy
    return {
        "reference": Stash(request, "joint_reg").text("reference"),
        "prefill_code": prefill_code,
        "words": _local_words(locale_of(request)),
        "min_length": MIN_LENGTH,
        "max_length": MAX_LENGTH,
        "max_failures": policy.joint_authorization_max_failures,
    }


@router.get("/issue")
def issue_page(request: Request) -> HTMLResponse:
    return render(
        request,
        "joint/issue.html",
        {"step_labels": [], "step_index": 0, **issue_form_context(request)},
    )


@router.post("/explain", response_class=JSONResponse)
def explain(request: Request, code: _Short = "", detail: _Short = "") -> JSONResponse:
    """The catalog's words for ``code`` in the page's language (status 200: the refusal is
    the script's to show), its placeholders filled from the policy; a code the catalog does
    not hold is ``CMP_REFUSED`` with the server's words."""
    policy = center_of(request).settings.policy
    values: dict[str, Any] = {
        "days": policy.joint_registration_ttl_days,
        "max_failures": policy.joint_authorization_max_failures,
        "limit": policy.cmp_max_clock_skew_seconds,
        "detail": detail.strip()[:60] or "-",
        "found": "-",
        "failure": "-",
    }
    name = code.strip()
    error = (
        CertCenterError(name, **values)
        if name in catalog()
        else CertCenterError("CMP_REFUSED", **values)
    )
    answer = json_refusal(request, error)
    answer.status_code = 200  # the words were found: the refusal is the script's to show
    return answer
