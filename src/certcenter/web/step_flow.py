"""The plumbing of the pages that walk a flow in steps — the financial certificate's
issuance (``/issue``) and the joint certificate's registration (``/joint``): one place
decides how a step answers, so the flows cannot drift apart.

    STEPS = StepFlow("fin_issue", "/issue", PAGE_OF_STATE, "WEB_ISSUE_NOT_STARTED")
    router = page_router(prefix="/issue", dependencies=[Depends(STEPS.same_tab)])

    STEPS.begin(request, id=started.enrollment_id, token=started.token)   # a new tab tag
    return STEPS.go(result.state)                  # 303 to the page of the step the flow is at
    return STEPS.refused(request, exc, "identify", form={"user_id": …})   # kept, 303
    error = STEPS.take_refusal(request)            # the GET shows it once, with its status
    STEPS.seal(request, "ars", code, bound=ref.enrollment_id)             # for later GETs
    STEPS.unseal(request, "ars", bound=ref.enrollment_id, keep=True)

**Post/Redirect/Get.** Every POST answers 303 — after a refusal too: the refusal (code and
values) waits in the session for the GET that shows it, so Back and reload never ask the
browser to send a form again, and reloading a page never repeats what its POST did.

**Values shown on a page** (the ARS code, the approval code, the authorization code) wait
for their GET only sealed by the key backend (AES-256-GCM under ``data-seal``, associated
data naming the flow, the value and the enrollment): the signed cookie never holds them
readable.

**Tabs.** The browser's tabs share the session. :meth:`begin` gives each flow a random tag
that every form of its pages carries (``ui.csrf_field`` adds it where the page has
``flow_tag``); a POST from a page of an older flow — another tab started a new one — is not
applied to the new flow: it is sent to the new flow's step (``resume_page``) with
``WEB_FLOW_TAKEN_OVER``. A flow whose step has no fixed page (the transfer under way, the
change being confirmed on ``/my``) names it when it begins: ``begin(request, resume=page)``.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi.responses import RedirectResponse
from starlette.requests import Request

from certcenter.bootstrap import SEAL_LABEL
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import Term
from certcenter.web.context import center_of
from certcenter.web.financial_forms import Stash
from certcenter.web.routing import Respond

TAB_FIELD = "flow_tag"
_REFUSAL = "refusal"
_TAG = "tab"
_RESUME = "resume"


def _plain(value: object) -> object:
    """A refusal's value as JSON for the session (a :class:`Term` stays a term)."""
    if isinstance(value, Term):
        return {"term": value.key, "values": {k: _plain(v) for k, v in value.values.items()}}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return {"row": [_plain(v) for v in value]}
    if isinstance(value, datetime | date):
        return {"time": value.isoformat()}
    return str(value)


def _revived(value: object) -> object:
    if isinstance(value, dict) and "term" in value:
        values = value.get("values") or {}
        return Term(str(value["term"]), {k: _revived(v) for k, v in dict(values).items()})
    if isinstance(value, dict) and "row" in value:
        return tuple(_revived(v) for v in list(value["row"]))
    if isinstance(value, dict) and "time" in value:
        text = str(value["time"])
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    return value


def keep_refusal(request: Request, key: str, error: CertCenterError) -> None:
    """Keep ``error`` (code and values) in the session for the next GET that takes ``key``:
    a refused POST answers 303 like any other (Post/Redirect/Get)."""
    request.session[f"{key}.{_REFUSAL}"] = {
        "code": error.code,
        "values": {k: _plain(v) for k, v in error.context.items()},
    }


def take_refusal(request: Request, key: str) -> CertCenterError | None:
    """The refusal a POST kept under ``key``, once (None when there is none)."""
    kept = request.session.pop(f"{key}.{_REFUSAL}", None)
    if not isinstance(kept, dict):
        return None
    try:
        values = {k: _revived(v) for k, v in dict(kept.get("values") or {}).items()}
        return CertCenterError(str(kept.get("code")), **values)
    except (KeyError, TypeError, ValueError):
        return None  # from an older version of the center


@dataclass(frozen=True)
class StepFlow:
    """The steps of one flow: its session key, its pages under ``prefix`` (the first page,
    ``terms``, is ``prefix`` itself), the page of each state, and the code of a POST without
    a flow."""

    key: str
    prefix: str
    page_of_state: Mapping[str, str]
    not_started: str
    resume_page: str = "identify"  # where a form of an older flow is sent

    def stash(self, request: Request) -> Stash:
        return Stash(request, self.key)

    def path(self, page: str) -> str:
        return self.prefix if page == "terms" else f"{self.prefix}/{page}"

    # ------------------------------------------------------------ answers

    def begin(self, request: Request, **values: Any) -> None:
        """A new flow in this browser (it replaces any other), with a new tab tag."""
        self.stash(request).start(**values, **{_TAG: secrets.token_urlsafe(12)})

    def tag(self, request: Request) -> str:
        """The tag the forms of this flow's pages carry (``flow_tag`` in a page's context)."""
        return self.stash(request).text(_TAG)

    def go(self, state: str) -> RedirectResponse:
        """303 to the page of the step the flow is at in ``state``."""
        return RedirectResponse(self.path(self.page_of_state.get(state, "terms")), status_code=303)

    def refused(
        self, request: Request, error: CertCenterError, page: str, **stash: Any
    ) -> RedirectResponse:
        """After a refused POST: the refusal kept for the GET of ``page`` (which sends the
        browser on to the step the flow is at, if it moved), ``stash`` kept with the flow."""
        flow = self.stash(request)
        if stash and flow.values:
            flow.put(**stash)
        keep_refusal(request, self.key, error)
        return RedirectResponse(self.path(page), status_code=303)

    def take_refusal(self, request: Request) -> CertCenterError | None:
        """The refusal a POST left for this GET, once (None when there is none)."""
        return take_refusal(request, self.key)

    # ------------------------------------------------------------ tabs

    async def same_tab(self, request: Request) -> None:
        """Router dependency: a form of an older flow of this browser (another tab began a
        new one since) is not applied; it is sent to the new flow's step with
        ``WEB_FLOW_TAKEN_OVER``."""
        if request.method != "POST":
            return
        content_type = request.headers.get("content-type", "")
        if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/")):
            return
        sent = (await request.form()).get(TAB_FIELD)
        current = self.tag(request)
        if not isinstance(sent, str) or not sent or not current:
            return
        if secrets.compare_digest(sent.encode(), current.encode()):
            return
        path = request.url.path.rstrip("/")
        if path == self.prefix:  # the first page's form starts a new flow: it replaces
            return
        page = "terms" if path == f"{self.prefix}/start" else self.resume_at(request)
        raise Respond(self.refused(request, CertCenterError("WEB_FLOW_TAKEN_OVER"), page))

    def resume_at(self, request: Request) -> str:
        """The page a form of an older flow is sent to: the one :meth:`begin` named
        (``resume=``), else ``resume_page``."""
        return self.stash(request).text(_RESUME) or self.resume_page

    # ------------------------------------------------------------ values shown on a page

    def _context(self, name: str, bound: str) -> bytes:
        return f"web:{self.key}:{name}:{bound}".encode()

    def seal(self, request: Request, name: str, value: str, *, bound: str) -> None:
        """Keep ``value`` for later GETs of this flow's pages, sealed, bound to ``bound``
        (the enrollment's id)."""
        sealed = center_of(request).keys.encrypt(
            SEAL_LABEL, value.encode("utf-8"), self._context(name, bound)
        )
        self.stash(request).put(**{f"sealed_{name}": base64.b64encode(sealed).decode("ascii")})

    def unseal(self, request: Request, name: str, *, bound: str, keep: bool) -> str | None:
        """The value :meth:`seal` kept (None when there is none); ``keep=False`` takes it out,
        so only this GET shows it."""
        flow = self.stash(request)
        sealed = flow.text(f"sealed_{name}")
        if not sealed:
            return None
        if not keep:
            flow.put(**{f"sealed_{name}": ""})
        try:
            opened = center_of(request).keys.decrypt(
                SEAL_LABEL, base64.b64decode(sealed, validate=True), self._context(name, bound)
            )
            return opened.decode("utf-8")
        except (CertCenterError, binascii.Error, ValueError):
            return None

    def forget(self, request: Request, name: str) -> None:
        flow = self.stash(request)
        if flow.text(f"sealed_{name}"):
            flow.put(**{f"sealed_{name}": ""})
