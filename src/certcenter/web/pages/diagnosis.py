"""``/why`` (발급이 안 될 때): why issuance fails for me — the checklist from my real state.

    GET  /why           the form: internet-banking user ID + resident registration number
                        (and, when logged in, "check my own situation" without typing)
    POST /why           the user ID and the number checked (CSRF; the number is used once and
                        never shown again) → 303 to /why/result
    GET  /why/result    the checklist of the customer the POST confirmed (for a few minutes:
                        a reload shows it again, nothing is typed or checked twice)
    GET  /why/me        the logged-in customer's checklist (no typing)
    GET  /demo/why      demo mode only: the demo customers with a problem, to try them
    GET  /diagnosis     the old address: 303 to /why

Each item of :class:`~certcenter.diagnosis.Checklist` becomes a row: a state (확인됨 / 주의 /
문제), a label per key from the UI texts (``why.item.<key>``), what was found, and for a
warning or a problem the catalog's message, cause and remedy; recent refusals are listed with
their catalog message. ``checklist_view(checklist, locale)`` makes those rows.

Post/Redirect/Get (:class:`certcenter.web.step_flow.StepFlow`): a refused POST keeps its
refusal (and the user ID, never the number) for the GET of /why; a confirmed one keeps only
whom it confirmed, sealed, for the GETs of /why/result until ``RESULT_MINUTES`` have passed.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.diagnosis import CheckItem, Checklist
from certcenter.errors import CertCenterError, Locale, entry
from certcenter.errors.catalog import texts
from certcenter.http_common.edge import single_line
from certcenter.http_common.request_facts import client_ip
from certcenter.simulators.world import load_world
from certcenter.web.context import center_of, locale_of
from certcenter.web.pages.demo import require_simulators
from certcenter.web.rendering import kst, render, translator
from certcenter.web.routing import page_router
from certcenter.web.sessions import current_customer, require_customer
from certcenter.web.step_flow import StepFlow

router = page_router()

MAX_USER_ID = 40
MAX_RRN = 20  # 13 digits, a hyphen, some spaces
RESULT_MINUTES = 10  # how long /why/result shows the checklist a POST confirmed
STEPS = StepFlow("why", "/why", {}, "DIAGNOSIS_IDENTITY_NOT_CONFIRMED")
FORM = "terms"  # StepFlow's first page: /why itself


@dataclass
class ItemView:
    """One row of the checklist page, every word already in the page's language."""

    key: str
    status: str  # ok | warning | problem
    label: str
    state: str  # 확인됨 / 주의 / 문제
    details: list[str] = field(default_factory=list)
    code: str | None = None
    message: str | None = None
    cause: str | None = None
    remedy: str | None = None
    failures: list[dict[str, Any]] = field(default_factory=list)


def _time(value: object) -> str:
    """A checklist time (ISO text in UTC) in Korea time."""
    if isinstance(value, datetime):
        return kst(value)
    try:
        return kst(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _details(item: CheckItem, locale: Locale) -> list[str]:
    """What was found, in words: the item's context, for every state."""
    t = translator(locale)
    c = item.context
    key = item.key
    if key == "internet_banking":
        return [t("why.detail.enrolled" if c.get("enrolled") else "why.detail.joins_in_flow")]
    if key == "overseas_access" and item.status == "ok":
        if c.get("allowed"):
            return [t("why.detail.overseas_allowed")]
        if c.get("domestic"):
            return [t("why.detail.overseas_domestic")]
        return [t("why.detail.overseas_not_allowed")]
    if key == "blocks" and item.status == "ok":
        return [t("why.detail.no_blocks")]
    if key == "phone_corporate_line" and item.status == "ok":
        return [t("why.detail.corporate_personal" if c.get("corporate") else "why.detail.personal")]
    if key == "phone_own_name" and item.status == "ok":
        return [t("why.detail.own_name", phone=c.get("phone", ""))]
    if key == "phone_carrier":
        carrier = str(c.get("carrier", ""))
        label_key = f"carrier.{carrier}"
        label = t(label_key) if label_key in texts() else str(c.get("carrier_label", carrier))
        found = [t("why.detail.carrier", carrier=label)]
        if c.get("mvno"):
            found.append(t("why.detail.carrier_mvno"))
        return found
    if key == "sms_spam_block" and item.status == "ok":
        return [t("why.detail.sms_ok", sender=c.get("sender", ""))]
    if key == "account_usable" and "account" in c:
        status_key = f"account_status.{c.get('account_status', '')}"
        status = t(status_key) if status_key in texts() else str(c.get("account_status", ""))
        return [
            t("why.detail.account", bank=c.get("bank", ""), account=c["account"], status=status)
        ]
    if key == "device_registered":
        if not c.get("registered"):
            return [t("why.detail.no_device")]
        return [
            t(
                "why.detail.device",
                model=c.get("model", ""),
                platform=c.get("platform", ""),
                registered_at=_time(c.get("registered_at", "")),
            )
        ]
    if key == "certificate" and item.status == "ok":
        if c.get("certificate_status") is None:
            return [t("why.detail.no_certificate")]
        return [t("why.detail.certificate_active", not_after=_time(c.get("not_after", "")))]
    if key == "factor_locks" and item.status == "ok":
        return [t("why.detail.no_locks")]
    if key == "recent_failures":
        hours = c.get("hours", "")
        if item.status == "ok":
            return [t("why.detail.no_failures", hours=hours)]
        return [t("why.detail.failures", hours=hours, total=c.get("total", ""))]
    return []


def _failures(item: CheckItem, locale: Locale) -> list[dict[str, Any]]:
    t = translator(locale)
    shown = []
    for failure in item.context.get("failures", []):
        code = str(failure.get("code", ""))
        try:
            message = entry(code).text("message", locale)
        except KeyError:
            message = code
        shown.append(
            {
                "code": code,
                "message": message,
                "when": t(
                    "why.failure_when",
                    count=failure.get("count", ""),
                    time=_time(failure.get("last_at", "")),
                ),
            }
        )
    return shown


def checklist_view(checklist: Checklist, locale: Locale) -> list[ItemView]:
    """The rows of the checklist page for ``checklist`` in ``locale``."""
    t = translator(locale)
    rows = []
    for item in checklist.items:
        label_key = f"why.item.{item.key}"
        row = ItemView(
            key=item.key,
            status=item.status,
            label=t(label_key) if label_key in texts() else t("why.item.other"),
            state=t(f"why.state.{item.status}"),
            details=_details(item, locale),
        )
        error = item.error()
        if error is not None and item.status != "ok":
            row.code = error.code
            row.message = error.message(locale)
            row.cause = error.cause(locale)
            row.remedy = error.remedy(locale)
        if item.key == "recent_failures":
            row.failures = _failures(item, locale)
        rows.append(row)
    return rows


def _checklist_page(request: Request, checklist: Checklist, *, own: bool) -> HTMLResponse:
    locale = locale_of(request)
    return render(
        request,
        "why/checklist.html",
        {
            "checklist": checklist,
            "rows": checklist_view(checklist, locale),
            "problem_count": len(checklist.problems),
            "warning_count": len(checklist.warnings),
            "own": own,
        },
    )


def _form_page(
    request: Request, *, user_id: str = "", error: CertCenterError | None = None
) -> HTMLResponse:
    return render(
        request,
        "why/form.html",
        {"user_id": user_id, "logged_in": current_customer(request) is not None},
        error=error,
    )


@router.get("/why")
def why_form(request: Request) -> HTMLResponse:
    error = STEPS.take_refusal(request)
    typed = STEPS.stash(request).text("user_id") if error is not None else ""
    return _form_page(request, user_id=typed, error=error)


def _refused(request: Request, error: CertCenterError, user_id: str = "") -> RedirectResponse:
    STEPS.stash(request).start(user_id=user_id)
    return STEPS.refused(request, error, FORM)


@router.post("/why")
def why_checklist(
    request: Request,
    user_id: Annotated[str, Form()] = "",
    rrn: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """The customer's own diagnosis: the user ID and the resident number must agree
    (``DIAGNOSIS_IDENTITY_NOT_CONFIRMED`` alike for either being wrong). The number is
    never put back into the page, not even into the form after a refusal."""
    claimed = user_id.strip()[: MAX_USER_ID + 1]
    if len(claimed) > MAX_USER_ID or len(rrn) > MAX_RRN:
        error = CertCenterError("INVALID_REQUEST", detail="user_id, rrn: too long")
        return _refused(request, error)
    try:
        claimed, rrn = single_line(claimed, "user_id"), single_line(rrn, "rrn")
    except CertCenterError as refused:
        return _refused(request, refused)
    center = center_of(request)
    try:
        checklist = center.diagnosis.for_identity(claimed, rrn, client_ip=client_ip(request))
    except CertCenterError as exc:
        return _refused(request, exc, claimed)
    nonce = secrets.token_urlsafe(12)
    until = center.clock.now() + timedelta(minutes=RESULT_MINUTES)
    STEPS.stash(request).start(nonce=nonce, until=until.isoformat())
    STEPS.seal(request, "customer", checklist.customer_number, bound=nonce)
    return RedirectResponse(STEPS.path("result"), status_code=303)


@router.get("/why/result")
def why_result(request: Request) -> Response:
    """The checklist the POST confirmed, again on each GET while it lasts; else the form."""
    center = center_of(request)
    flow = STEPS.stash(request)
    number = STEPS.unseal(request, "customer", bound=flow.text("nonce"), keep=True)
    try:
        until = datetime.fromisoformat(flow.text("until"))
    except ValueError:
        until = None
    if not number or until is None or until <= center.clock.now():
        flow.clear()
        return RedirectResponse(STEPS.path(FORM), status_code=303)
    with center.uow_factory(read_only=True) as uow:
        customer = uow.customers.by_number(number)
    if customer is None:
        flow.clear()
        return RedirectResponse(STEPS.path(FORM), status_code=303)
    checklist = center.diagnosis.for_customer(customer.id, client_ip=client_ip(request))
    return _checklist_page(request, checklist, own=False)


@router.get("/why/me")
def why_mine(request: Request) -> HTMLResponse:
    """The logged-in customer's checklist, from the address they ask from."""
    session = require_customer(request)
    checklist = center_of(request).diagnosis.for_customer(
        session.customer_id, client_ip=client_ip(request)
    )
    return _checklist_page(request, checklist, own=True)


@router.get("/diagnosis")
def old_address(request: Request) -> RedirectResponse:
    return RedirectResponse("/why", status_code=303)


@router.get("/demo/why", dependencies=[Depends(require_simulators)])
def demo_customers(request: Request) -> HTMLResponse:
    """The demo world's customers whose checklist is not all clear, with the user ID and
    resident number to try them with (fictional people; this page exists only in demo mode)."""
    center = center_of(request)
    locale = locale_of(request)
    english = locale == "en"
    people = []
    for person in load_world(center.settings.world_file).people.values():
        user_id = (person.customer or {}).get("user_id")
        number = (person.customer or {}).get("number")
        if not user_id or not number:
            continue
        with center.uow_factory() as uow:
            customer = uow.customers.by_number(str(number))
        if customer is None:
            continue
        checklist = center.diagnosis.for_customer(customer.id)
        findings = [row for row in checklist_view(checklist, locale) if row.status != "ok"]
        if not findings:
            continue
        digits = person.rrn.digits
        people.append(
            {
                "key": person.key,
                "name": person.name,
                "scenario": person.scenario_en if english else person.scenario_ko,
                "user_id": str(user_id),
                "rrn": f"{digits[:6]}-{digits[6:]}",
                "findings": findings,
            }
        )
    return render(request, "why/demo.html", {"people": people})
