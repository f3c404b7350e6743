"""The pages of a financial re-verification (:mod:`certcenter.financial.reverification`):
who the customer is → the SMS code → the additional medium, for registering a browser
(``/login/register``) and releasing the PIN (``/login/pin-reset``).

A page module builds one :class:`ReverificationPages` with its own service, templates and
web-session key, lets it add the shared routes, and writes only its own two: the start
(what it asks besides name, phone and birth date) and the medium's answer (what happens once
the customer is verified again)::

    pages = ReverificationPages(prefix="/login/pin-reset", stash_key="fin_pin_reset", …)
    router = page_router(prefix=pages.prefix)
    pages.add_routes(router)      # GET "", GET/POST /code, POST /resend, GET/POST /medium

The flow's id and bearer token live in the web session; the SMS code and the medium's answer
only in the forms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.bootstrap import Center
from certcenter.errors import CertCenterError
from certcenter.flows import StepResult
from certcenter.http_common.request_facts import client_ip
from certcenter.web.context import center_of
from certcenter.web.financial_forms import (
    Stash,
    code_expiry,
    digits,
    media_choices,
    medium_context,
    sims_phone,
)
from certcenter.web.rendering import flash, render

# the media whose question can be asked again after a wrong answer (a card gets new slots)
_ASKED_AGAIN = ("account", "security_card", "otp")


class ReverifyingService(Protocol):
    """What the shared pages call: the steps both re-verifications have in common."""

    def verify_code(
        self, flow_id: str, token: str, code: str, *, source_ip: str | None = None
    ) -> StepResult: ...

    def resend_code(self, flow_id: str, token: str, *, source_ip: str | None = None) -> object: ...

    def choose_medium(
        self, flow_id: str, token: str, medium: str, *, source_ip: str | None = None
    ) -> StepResult: ...

    def status(self, flow_id: str, token: str, *, source_ip: str | None = None) -> StepResult: ...


@dataclass(frozen=True)
class ReverificationPages:
    """One re-verification's pages. ``steps(request, index)`` gives the step bar for
    page ``index`` (0 details, 1 code, 2 medium); ``details_context`` adds what the first
    page shows besides the typed details."""

    prefix: str
    stash_key: str
    ended: frozenset[str]
    templates: tuple[str, str, str]  # details, code, medium
    service: Callable[[Center], ReverifyingService]
    steps: Callable[[Request, int], Mapping[str, Any]]
    details_context: Callable[[Request], Mapping[str, Any]] = lambda request: {}
    code_purpose: str = ""  # the SMS code's purpose: its stored expiry for the countdown

    # ------------------------------------------------------------ the flow in the session

    def flow(self, request: Request) -> Stash:
        return Stash(request, self.stash_key)

    def ids(self, request: Request) -> tuple[str, str]:
        flow = self.flow(request)
        return flow.text("id"), flow.text("token")

    def begin(
        self, request: Request, *, flow_id: str, token: str, masked: str, phone: str
    ) -> Response:
        """Keep the started flow in the session and go to the code page."""
        self.flow(request).start(id=flow_id, token=token, masked=masked, phone=phone)
        return RedirectResponse(f"{self.prefix}/code", status_code=303)

    def not_started(self, request: Request) -> HTMLResponse | None:
        """The first page, when no flow is under way in this session."""
        if self.flow(request).text("id"):
            return None
        return self.details_page(request, error=CertCenterError("WEB_LOGIN_NOT_STARTED"))

    # ------------------------------------------------------------ pages

    def details_page(
        self,
        request: Request,
        *,
        error: CertCenterError | None = None,
        form: dict[str, str] | None = None,
    ) -> HTMLResponse:
        context = {
            **self.steps(request, 0),
            **self.details_context(request),
            "form": form or {},
        }
        return render(request, self.templates[0], context, error=error)

    def code_page(self, request: Request, *, error: CertCenterError | None = None) -> HTMLResponse:
        flow = self.flow(request)
        if not flow.text("id"):
            return self.details_page(
                request, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED")
            )
        context = {
            **self.steps(request, 1),
            "masked_phone": flow.text("masked"),
            "demo_phone": sims_phone(request, flow.text("phone")),
            "code_seconds": center_of(request).settings.policy.sms_code_ttl_seconds,
            "code_expires_at": code_expiry(request, flow.text("id"), self.code_purpose),
        }
        return render(request, self.templates[1], context, error=error)

    def medium_page(
        self, request: Request, *, error: CertCenterError | None = None, **extra: Any
    ) -> HTMLResponse:
        if not self.flow(request).text("id"):
            return self.details_page(
                request, error=error or CertCenterError("WEB_LOGIN_NOT_STARTED")
            )
        context: dict[str, Any] = {
            **self.steps(request, 2),
            "medium": None,
            "media": media_choices(request),
            "accounts": [],
            "card": None,
            "approval_code": None,
            "approval_seconds": center_of(request).settings.policy.approval_ttl_seconds,
            **extra,
        }
        return render(request, self.templates[2], context, error=error)

    # ------------------------------------------------------------ after a refusal

    def ended_page(self, request: Request, error: CertCenterError) -> HTMLResponse | None:
        """The first page again when the refusal ended the flow."""
        if error.code not in self.ended:
            return None
        self.flow(request).clear()
        return self.details_page(request, error=error)

    def refused(self, request: Request, error: CertCenterError) -> HTMLResponse:
        """A refusal before a medium was open: the code page when the code is still due."""
        if error.code == "FINANCIAL_CODE_REQUIRED":
            return self.code_page(request, error=error)
        return self.medium_page(request, error=error)

    def again(self, request: Request, error: CertCenterError) -> HTMLResponse:
        """After a wrong answer (or a weak new PIN): the same medium's question again (a
        security card's challenge is spent, so it gets new slots), with the refusal on top."""
        service = self.service(center_of(request))
        ip = client_ip(request)
        try:
            status = service.status(*self.ids(request), source_ip=ip)
            medium = str(status.detail.get("medium") or "")
            if status.state == "medium_pending" and medium in _ASKED_AGAIN:
                asked = service.choose_medium(*self.ids(request), medium, source_ip=ip)
                return self.medium_page(request, error=error, **medium_context(asked.detail))
        except CertCenterError:
            pass
        return self.refused(request, error)

    def after_refusal(self, request: Request, error: CertCenterError) -> HTMLResponse:
        """What a wrong medium answer shows: the first page if it ended the flow."""
        return self.ended_page(request, error) or self.again(request, error)

    # ------------------------------------------------------------ the shared routes

    def add_routes(self, router: APIRouter) -> None:
        """GET "" (the details), GET/POST /code, POST /resend, GET/POST /medium."""
        router.add_api_route("", self._details_form, methods=["GET"])
        router.add_api_route("/code", self._code_form, methods=["GET"])
        router.add_api_route("/code", self._verify_code, methods=["POST"])
        router.add_api_route("/resend", self._resend, methods=["POST"])
        router.add_api_route("/medium", self._medium_form, methods=["GET"])
        router.add_api_route("/medium", self._choose_medium, methods=["POST"])

    def _details_form(self, request: Request) -> HTMLResponse:
        return self.details_page(request)

    def _code_form(self, request: Request) -> HTMLResponse:
        return self.code_page(request)

    def _medium_form(self, request: Request) -> HTMLResponse:
        return self.medium_page(request)

    def _verify_code(
        self, request: Request, code: Annotated[str, Form(max_length=12)] = ""
    ) -> Response:
        if (page := self.not_started(request)) is not None:
            return page
        try:
            self.service(center_of(request)).verify_code(
                *self.ids(request), digits(code), source_ip=client_ip(request)
            )
        except CertCenterError as exc:
            return self.ended_page(request, exc) or self.code_page(request, error=exc)
        return RedirectResponse(f"{self.prefix}/medium", status_code=303)

    def _resend(self, request: Request) -> Response:
        if (page := self.not_started(request)) is not None:
            return page
        try:
            self.service(center_of(request)).resend_code(
                *self.ids(request), source_ip=client_ip(request)
            )
        except CertCenterError as exc:
            return self.ended_page(request, exc) or self.code_page(request, error=exc)
        flash(request, "login.register.resent", kind="success")
        return RedirectResponse(f"{self.prefix}/code", status_code=303)

    def _choose_medium(
        self, request: Request, medium: Annotated[str, Form(max_length=40)] = ""
    ) -> Response:
        """The chosen medium's question: the masked accounts, the card's slots, the app's code."""
        if (page := self.not_started(request)) is not None:
            return page
        try:
            result = self.service(center_of(request)).choose_medium(
                *self.ids(request), medium, source_ip=client_ip(request)
            )
        except CertCenterError as exc:
            return self.ended_page(request, exc) or self.refused(request, exc)
        return self.medium_page(request, **medium_context(result.detail))
