"""The pages of a financial re-verification (:mod:`certcenter.financial.reverification`):
who the customer is → the SMS code → the additional medium, for registering a browser
(``/login/register``), releasing the PIN (``/login/pin-reset``) and joining internet banking
(``/banking/join``); finding the user ID (``/banking/find-id``) stops at the SMS code.

A page module builds one :class:`ReverificationPages` with its own service, templates and
web-session key, lets it add the shared routes, and writes only its own: the medium's answer
(what happens once the customer is verified again) and the start. A first page of name, phone
and birth date only needs no start route of its own: the page module gives ``start`` (which
service starts the flow) and the shared POST "" calls it; a page that asks more (this
browser's key, the resident number) writes its start route itself::

    pages = ReverificationPages(prefix="/login/pin-reset", stash_key="fin_pin_reset", …)
    router = page_router(prefix=pages.prefix, dependencies=[Depends(pages.steps_flow.same_tab)])
    pages.add_routes(router)      # GET "", GET/POST /code, POST /resend, GET/POST /medium
                                  # (and POST "" with ``start``)

The flow's id and bearer token live in the web session; the SMS code and the medium's answer
only in the forms. Every POST answers 303 (Post/Redirect/Get, :class:`StepFlow`): to the page
of the step the flow is at, or after a refusal to the page that shows it (the refusal waits in
the session for that GET), so Back and reload never send a form again. The chosen medium's
question waits for the GETs of the medium page (the masked accounts and the card's slots as
they are, the code to approve in the app sealed). The same details sent again while their flow
is under way start no second one (no second SMS); a medium answer sent again after the flow
ended goes where the first one went. The forms of the code and medium pages carry the flow's
tab tag: a form of an older flow (another tab started a new one) is not applied to the new
one (``WEB_FLOW_TAKEN_OVER``, on the new flow's code page).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, TypedDict

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
    birth_date,
    code_expiry,
    digits,
    media_choices,
    medium_context,
    sims_phone,
)
from certcenter.web.rendering import flash, render
from certcenter.web.step_flow import StepFlow

# the media whose question can be asked again after a wrong answer (a card gets new slots)
_ASKED_AGAIN = ("account", "security_card", "otp")
PAGE_OF_STATE = {"code_sent": "code", "code_verified": "medium", "medium_pending": "medium"}
DETAILS = "terms"  # StepFlow's first page: the prefix itself


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
class Started:
    """A flow just started, as the pages keep it: its id, its bearer token and the phone the
    code went to, masked."""

    flow_id: str
    token: str
    masked_phone: str


class Details(TypedDict):
    """What a first page of name, phone and birth date only hands to the service's start."""

    name: str
    phone: str
    birth_date: str
    source_ip: str | None


StartByDetails = Callable[[Center, Details], Started]


@dataclass(frozen=True)
class ReverificationPages:
    """One re-verification's pages. ``steps(request, index)`` gives the step bar for
    page ``index`` (0 details, 1 code, 2 medium); ``details_context`` adds what the first
    page shows besides the typed details; ``start``, for a first page of name, phone and
    birth date only, starts the flow for the shared POST "" (without it the page module
    answers that POST itself)."""

    prefix: str
    stash_key: str
    ended: frozenset[str]
    templates: tuple[str, str, str]  # details, code, medium
    service: Callable[[Center], ReverifyingService]
    steps: Callable[[Request, int], Mapping[str, Any]]
    details_context: Callable[[Request], Mapping[str, Any]] = lambda request: {}
    code_purpose: str = ""  # the SMS code's purpose: its stored expiry for the countdown
    start: StartByDetails | None = None

    # ------------------------------------------------------------ the flow in the session

    @property
    def steps_flow(self) -> StepFlow:
        return StepFlow(
            self.stash_key, self.prefix, PAGE_OF_STATE, "WEB_LOGIN_NOT_STARTED", resume_page="code"
        )

    def flow(self, request: Request) -> Stash:
        return self.steps_flow.stash(request)

    def ids(self, request: Request) -> tuple[str, str]:
        flow = self.flow(request)
        return flow.text("id"), flow.text("token")

    def begin(self, request: Request, sent: Mapping[str, str], started: Started) -> Response:
        """Keep the started flow in the session (with the details it was started with, the
        phone as typed among them) and go to the code page."""
        self.steps_flow.begin(
            request,
            id=started.flow_id,
            token=started.token,
            masked=started.masked_phone,
            phone=sent["phone"],
            sent=dict(sent),
        )
        return RedirectResponse(self.steps_flow.path("code"), status_code=303)

    def already_started(self, request: Request, sent: Mapping[str, str]) -> Response | None:
        """The same details sent again while their flow is under way: the page of the step
        it is at (no second flow, no second SMS); None otherwise."""
        flow = self.flow(request)
        if not flow.text("id") or flow.get("sent") != dict(sent):
            return None
        try:
            state = (
                self.service(center_of(request))
                .status(*self.ids(request), source_ip=client_ip(request))
                .state
            )
        except CertCenterError:
            return None
        if state not in PAGE_OF_STATE:
            return None
        return self.steps_flow.go(state)

    def finish(self, request: Request, target: str) -> RedirectResponse:
        """The flow done: 303 to ``target``; the same last form sent again goes there too."""
        self.flow(request).start(done=target)
        return RedirectResponse(target, status_code=303)

    def not_started(self, request: Request) -> Response | None:
        """For a POST of a later step: None while a flow is under way; else where its first
        answer went (the flow is done), or the first page with ``WEB_LOGIN_NOT_STARTED``."""
        flow = self.flow(request)
        if flow.text("id"):
            return None
        if flow.text("done"):
            return RedirectResponse(flow.text("done"), status_code=303)
        return self.details_refused(request, CertCenterError("WEB_LOGIN_NOT_STARTED"))

    def details_refused(
        self, request: Request, error: CertCenterError, form: Mapping[str, str] | None = None
    ) -> RedirectResponse:
        """The first page again (303), filled in as typed, with the refusal on top."""
        self.flow(request).put(form=dict(form or {}))
        return self.steps_flow.refused(request, error, DETAILS)

    def refused_to(self, request: Request, error: CertCenterError, page: str) -> Response:
        return self.steps_flow.refused(request, error, page)

    def keep_question(self, request: Request, detail: Mapping[str, Any]) -> None:
        """The chosen medium's question, for the GETs of the medium page: the masked
        accounts and the card's slots as they are, the approval code sealed."""
        question = medium_context(dict(detail))
        code = question.pop("approval_code", None)
        question.pop("approval_expires_at", None)
        self.flow(request).put(question=question)
        if code:
            self.steps_flow.seal(request, "approval", str(code), bound=self.ids(request)[0])
        else:
            self.steps_flow.forget(request, "approval")

    # ------------------------------------------------------------ pages (GET)

    def details_page(self, request: Request) -> HTMLResponse:
        error = self.steps_flow.take_refusal(request)
        flow = self.flow(request)
        form = flow.get("form") if error is not None else None
        if flow.values:
            flow.put(form={})
        context = {
            **self.steps(request, 0),
            **self.details_context(request),
            "form": form if isinstance(form, dict) else {},
        }
        return render(request, self.templates[0], context, error=error)

    def _started(self, request: Request) -> Response | None:
        """A GET of a later step without a flow: the first page says why (nothing to say
        when the flow is done: Back after the last step)."""
        flow = self.flow(request)
        if flow.text("id"):
            return None
        if flow.text("done"):
            return RedirectResponse(self.steps_flow.path(DETAILS), status_code=303)
        error = self.steps_flow.take_refusal(request) or CertCenterError("WEB_LOGIN_NOT_STARTED")
        return self.steps_flow.refused(request, error, DETAILS)

    def code_page(self, request: Request) -> Response:
        if (away := self._started(request)) is not None:
            return away
        flow = self.flow(request)
        context = {
            **self.steps(request, 1),
            "flow_tag": self.steps_flow.tag(request),
            "masked_phone": flow.text("masked"),
            "demo_phone": sims_phone(request, flow.text("phone")),
            "code_seconds": center_of(request).settings.policy.sms_code_ttl_seconds,
            "code_expires_at": code_expiry(request, flow.text("id"), self.code_purpose),
        }
        error = self.steps_flow.take_refusal(request)
        return render(request, self.templates[1], context, error=error)

    def medium_page(self, request: Request) -> Response:
        if (away := self._started(request)) is not None:
            return away
        flow = self.flow(request)
        question = flow.get("question")
        context: dict[str, Any] = {
            **self.steps(request, 2),
            "flow_tag": self.steps_flow.tag(request),
            "medium": None,
            "media": media_choices(request),
            "accounts": [],
            "card": None,
            "approval_code": None,
            "approval_seconds": center_of(request).settings.policy.approval_ttl_seconds,
            **(question if isinstance(question, dict) else {}),
        }
        if context["medium"] == "mobile_certificate":
            context["approval_code"] = self.steps_flow.unseal(
                request, "approval", bound=flow.text("id"), keep=True
            )
        error = self.steps_flow.take_refusal(request)
        return render(request, self.templates[2], context, error=error)

    # ------------------------------------------------------------ after a refusal (303)

    def ended_page(self, request: Request, error: CertCenterError) -> Response | None:
        """The first page again when the refusal ended the flow."""
        if error.code not in self.ended:
            return None
        self.flow(request).clear()
        return self.details_refused(request, error)

    def refused(self, request: Request, error: CertCenterError) -> Response:
        """A refusal before a medium was open: the code page when the code is still due."""
        if error.code == "FINANCIAL_CODE_REQUIRED":
            return self.refused_to(request, error, "code")
        return self.refused_to(request, error, "medium")

    def again(self, request: Request, error: CertCenterError) -> Response:
        """After a wrong answer (or a weak new PIN): the same medium's question again (a
        security card's challenge is spent, so it gets new slots), with the refusal on top."""
        service = self.service(center_of(request))
        ip = client_ip(request)
        try:
            status = service.status(*self.ids(request), source_ip=ip)
            medium = str(status.detail.get("medium") or "")
            if status.state == "medium_pending" and medium in _ASKED_AGAIN:
                asked = service.choose_medium(*self.ids(request), medium, source_ip=ip)
                self.keep_question(request, asked.detail)
                return self.refused_to(request, error, "medium")
        except CertCenterError:
            pass
        return self.refused(request, error)

    def after_refusal(self, request: Request, error: CertCenterError) -> Response:
        """What a wrong medium answer shows: the first page if it ended the flow."""
        return self.ended_page(request, error) or self.again(request, error)

    # ------------------------------------------------------------ the shared routes

    def add_routes(self, router: APIRouter, *, code_only: bool = False) -> None:
        """GET "" (the details), GET/POST /code, POST /resend, GET/POST /medium, and POST ""
        when the pages have a ``start``. ``code_only``: a flow the SMS code finishes (no
        medium): GET "", GET /code and POST /resend only; the page module answers the code
        itself."""
        router.add_api_route("", self.details_page, methods=["GET"])
        if self.start is not None:
            router.add_api_route("", self._start_by_details, methods=["POST"])
        router.add_api_route("/code", self.code_page, methods=["GET"])
        if not code_only:
            router.add_api_route("/code", self._verify_code, methods=["POST"])
        router.add_api_route("/resend", self._resend, methods=["POST"])
        if code_only:
            return
        router.add_api_route("/medium", self.medium_page, methods=["GET"])
        router.add_api_route("/medium", self._choose_medium, methods=["POST"])

    def _start_by_details(
        self,
        request: Request,
        name: Annotated[str, Form(max_length=200)] = "",
        phone: Annotated[str, Form(max_length=20)] = "",
        birth: Annotated[str, Form(max_length=12)] = "",
    ) -> Response:
        """Who the customer says they are; the answer is the code page whoever the details
        name."""
        assert self.start is not None  # noqa: S101 - the route is added only with a start
        typed = {
            "name": name.strip()[:40],
            "phone": digits(phone)[:11],
            "birth": birth.strip()[:10],
        }
        if (under_way := self.already_started(request, typed)) is not None:
            return under_way  # the same details sent again: no second code
        details = Details(
            name=name,
            phone=digits(phone),
            birth_date=birth_date(birth),
            source_ip=client_ip(request),
        )
        try:
            started = self.start(center_of(request), details)
        except CertCenterError as exc:
            return self.details_refused(request, exc, typed)
        return self.begin(request, typed, started)

    def _verify_code(
        self, request: Request, code: Annotated[str, Form(max_length=12)] = ""
    ) -> Response:
        if (page := self.not_started(request)) is not None:
            return page
        try:
            result = self.service(center_of(request)).verify_code(
                *self.ids(request), digits(code), source_ip=client_ip(request)
            )
        except CertCenterError as exc:
            return self.ended_page(request, exc) or self.refused_to(request, exc, "code")
        self.flow(request).put(question={})
        return self.steps_flow.go(result.state)

    def _resend(self, request: Request) -> Response:
        if (page := self.not_started(request)) is not None:
            return page
        try:
            self.service(center_of(request)).resend_code(
                *self.ids(request), source_ip=client_ip(request)
            )
        except CertCenterError as exc:
            return self.ended_page(request, exc) or self.refused_to(request, exc, "code")
        flash(request, "login.register.resent", kind="success")
        return RedirectResponse(self.steps_flow.path("code"), status_code=303)

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
        self.keep_question(request, result.detail)
        return self.steps_flow.go(result.state)
