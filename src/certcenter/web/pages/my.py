"""``/my`` (내 인증서·기기): the logged-in customer's certificates and registered devices.

    GET  /my                          certificates (financial and mobile: kind, serial, status,
                                      validity, last use), the phone of the mobile certificate,
                                      the browsers of the financial certificate (n / max)
    POST /my/financial/revoke         step 1 (CSRF): the revocation chosen → 303 to the
    POST /my/financial/renew          confirmation (the same for a renewal)
    GET  /my/financial/confirm        what will happen, with a one-time activation for it
    POST /my/financial/confirm        step 2 (CSRF): this browser's device signature (made by
                                      static/js/device-key.js) and the PIN, then the change
    POST /my/devices/{id}/remove      기기 삭제 (CSRF): that browser can no longer sign

Every POST answers 303 (Post/Redirect/Get, :class:`certcenter.web.step_flow.StepFlow`), after
a refusal too: the refusal waits for the GET of ``/my`` or of the confirmation. The chosen
change waits in the session; each GET of the confirmation binds a fresh activation to it.
The same POST sent again acts once: the change's confirmation is used up by the first (sent
again: ``WEB_CONFIRMATION_INVALID``), a browser already removed is not removed twice.
The page also lists the latest completed transfers (최근 이체), each with its receipt
(이체확인증, ``/transfer/{id}/receipt``).

The financial certificate is revoked or renewed only after the PIN is asked again, as for
any remote signature: ``remote_signer.begin`` binds an activation to a statement of the
change, the browser's registered WebCrypto key signs it, and ``authorize_and_sign`` checks
signature and PIN (counted before the comparison, locked after the policy's failures). So it
needs a session opened with the financial certificate on this browser
(``WEB_FINANCIAL_LOGIN_REQUIRED`` otherwise). The mobile certificate's key is on the phone:
it is revoked, renewed and its device deregistered in the app (device key + PIN), which the
page says; renewal is automatic when it is used in its last year.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.bootstrap import Center
from certcenter.entities import CertificateRecord, Session, Transfer
from certcenter.errors import CertCenterError, Locale
from certcenter.errors.catalog import texts
from certcenter.financial import FinancialOverview
from certcenter.http_common.request_facts import client_ip
from certcenter.identity.banks import BANKS
from certcenter.lifecycle.service import ActorRef
from certcenter.usage.login import FINANCIAL_METHOD
from certcenter.usage.transfers import not_executed_notice
from certcenter.web.context import center_of, locale_of
from certcenter.web.rendering import flash, render, translator
from certcenter.web.routing import page_router
from certcenter.web.sessions import require_customer, sign_out, web_session_token
from certcenter.web.step_flow import StepFlow

MY = "terms"  # StepFlow's first page: /my itself
CONFIRM = "financial/confirm"
# the tab tag the forms of /my and of the confirmation carry: choosing a change (revoke, renew)
# begins a new one, so the forms of a page another tab showed before are not applied
# (WEB_FLOW_TAKEN_OVER: sent to the change now being confirmed, or to /my)
STEPS = StepFlow("my_change", "/my", {}, "WEB_CONFIRMATION_INVALID", resume_page=MY)
router = page_router(prefix="/my", dependencies=[Depends(STEPS.same_tab)])

_PENDING = "my_pending"  # the confirmation under way: activation id, action, serial, statement
_REVOKED = "my_revoked"  # what this browser revoked last (it was logged out with it)
HIDDEN = frozenset({"pending", "abandoned"})  # never handed out: not the customer's to see
Action = Literal["revoke", "renew"]
# refusals after which the customer may try again at once (with a fresh activation)
_RETRY = frozenset(
    {
        "FINANCIAL_AUTH_FAILED",
        "FINANCIAL_PIN_LAST_TRY",
        "AUTH_LAST_TRY",
        "FINANCIAL_ACTIVATION_EXPIRED",
    }
)


@dataclass(frozen=True)
class CertificateView:
    family: str
    serial: str
    status: str
    not_before: datetime
    not_after: datetime
    issued_at: datetime | None
    last_used_at: datetime | None
    current: bool


def _customer_number(center: Center, session: Session) -> str:
    with center.uow_factory() as uow:
        customer = uow.customers.get(session.customer_id)
    return customer.customer_number if customer else session.customer_id


def _actor(request: Request, session: Session) -> ActorRef:
    return ActorRef.customer(_customer_number(center_of(request), session), client_ip(request))


def _views(records: list[CertificateRecord]) -> list[CertificateView]:
    shown = sorted(
        (r for r in records if r.status not in HIDDEN), key=lambda r: r.created_at, reverse=True
    )
    return [
        CertificateView(
            family=r.family,
            serial=r.serial,
            status=r.status,
            not_before=r.not_before,
            not_after=r.not_after,
            issued_at=r.issued_at,
            last_used_at=r.last_used_at,
            current=r.status in ("active", "suspended"),
        )
        for r in shown
    ]


def _overview(center: Center, customer_id: str) -> FinancialOverview | None:
    try:
        return center.cloud_certificates.overview(customer_id)
    except CertCenterError:
        return None  # none issued, deleted, expired or revoked: the list says which


def _financial_session(session: Session) -> bool:
    return session.method == FINANCIAL_METHOD


def _status_label(request: Request, status: str) -> str:
    key = f"my.state.{status}"
    return translator(locale_of(request))(key) if key in texts() else status


def _my_page(
    request: Request, session: Session, *, error: CertCenterError | None = None
) -> HTMLResponse:
    center = center_of(request)
    with center.uow_factory(read_only=True) as uow:
        records = list(uow.certificates.for_customer(session.customer_id))
        phone = uow.devices.active_for_customer(session.customer_id)
    overview = _overview(center, session.customer_id)
    browsers = list(overview.devices) if overview else []
    certificates = _views(records)
    limit = center.settings.policy.financial_max_devices
    return render(
        request,
        "my/index.html",
        {
            "financial": [c for c in certificates if c.family == "financial"],
            "mobile": [c for c in certificates if c.family not in ("financial", "joint")],
            "joint": [c for c in certificates if c.family == "joint"],
            "status_label": lambda status: _status_label(request, status),
            "overview": overview,
            "phone_device": phone,
            "browsers": browsers,
            "device_limit": limit,
            "device_room": len(browsers) < limit,
            "this_device": session.device_id if _financial_session(session) else None,
            "financial_login": _financial_session(session),
            "transfers": _recent_transfers(center, session),
            "bank_names": BANKS,
            "flow_tag": STEPS.tag(request),
        },
        error=error,
    )


def _settled(request: Request) -> None:
    """No change under way any more (done or refused): a form of another tab is sent to /my.
    The tag stays: the same form sent again is told its confirmation was used up."""
    request.session.pop(_PENDING, None)
    STEPS.stash(request).put(resume=MY)


RECENT_TRANSFERS = 10  # transfers listed: completed ones with their receipt, the rest with why


@dataclass(frozen=True)
class RecentTransfer:
    """A line of 최근 이체: a completed transfer (its receipt) or one that was not carried
    out, with the plain words of ``not_executed_notice`` (why, and what to do)."""

    transfer: Transfer
    notice: dict[Locale, str] | None

    @property
    def at(self) -> datetime:
        return self.transfer.completed_at or self.transfer.created_at


def _recent_transfers(center: Center, session: Session) -> list[RecentTransfer]:
    """The customer's latest transfers that ended: completed (이체확인증 for each) or not
    carried out (refused, including a transfer the bank's records showed never moved money)."""
    ended = [
        RecentTransfer(t, not_executed_notice(t))
        for t in center.transfers.history(session)
        if t.status in ("completed", "refused")
    ]
    return ended[:RECENT_TRANSFERS]


@router.get("")
def my_certificates(request: Request) -> HTMLResponse:
    session = require_customer(request)
    if not STEPS.tag(request):
        STEPS.begin(request, resume=MY)
    return _my_page(request, session, error=STEPS.take_refusal(request))


# ---------------------------------------------------------------- revoke / renew (financial)


def statement(action: Action, serial: str, customer_number: str, at: datetime) -> bytes:
    """What the customer signs to revoke or renew: the action, the certificate, the time."""
    words = {"revoke": "폐기", "renew": "갱신"}[action]
    return (
        f"certcenter 금융인증서 {words} / financial certificate {action} v1\n"
        f"serial: {serial}\ncustomer: {customer_number}\nat: {at.isoformat()}\n"
    ).encode()


def _overview_for(request: Request, session: Session, action: Action) -> FinancialOverview:
    """The certificate ``action`` would change, when this session may change it."""
    if not _financial_session(session):
        raise CertCenterError("WEB_FINANCIAL_LOGIN_REQUIRED")
    overview = center_of(request).cloud_certificates.overview(session.customer_id)
    if action == "renew" and overview.status != "active":
        raise CertCenterError("CERTIFICATE_NOT_USABLE", status=overview.status)
    return overview


def _begin(
    request: Request, session: Session, action: Action, *, error: CertCenterError | None = None
) -> HTMLResponse:
    """A one-time activation bound to the statement of ``action``; the confirmation page."""
    center = center_of(request)
    overview = _overview_for(request, session, action)
    data = statement(action, overview.serial, _customer_number(center, session), center.clock.now())
    started = center.remote_signer.begin(
        session.device_id, "document", data, customer_id=session.customer_id
    )
    request.session[_PENDING] = {
        "activation": started.activation_id,
        "action": action,
        "serial": overview.serial,
        "data": data.decode(),
    }
    return render(
        request,
        "my/confirm.html",
        {
            "action": action,
            "overview": overview,
            "activation_id": started.activation_id,
            "sign_b64": base64.b64encode(started.message).decode("ascii"),
            "expires_at": started.expires_at,
            "renewal_days": center.settings.policy.financial_certificate_validity_days,
            "flow_tag": STEPS.tag(request),
        },
        error=error,
    )


def _revoked_here(request: Request) -> None:
    """A browser logged out by its own revocation that asks to revoke again is told the
    certificate is already revoked (not only that nobody is logged in)."""
    gone = request.session.get(_REVOKED)
    if isinstance(gone, dict) and web_session_token(request) is None:
        raise CertCenterError("CERTIFICATE_ALREADY_REVOKED", reason=str(gone.get("reason")))


def _chosen(request: Request, action: Action) -> RedirectResponse:
    """The change chosen: on to its confirmation (303), or back to /my with the refusal."""
    if action == "revoke":
        _revoked_here(request)
    session = require_customer(request)
    try:
        _overview_for(request, session, action)
    except CertCenterError as exc:
        return STEPS.refused(request, exc, MY)
    STEPS.begin(request, resume=CONFIRM)  # a page of another tab can no longer act on it
    request.session[_PENDING] = {"action": action}
    return RedirectResponse(STEPS.path(CONFIRM), status_code=303)


@router.post("/financial/revoke")
def start_revoke(request: Request) -> Response:
    """Step 1 of 폐기: what will happen, and the PIN asked again."""
    return _chosen(request, "revoke")


@router.post("/financial/renew")
def start_renew(request: Request) -> Response:
    """Step 1 of 갱신: the new validity, and the PIN asked again."""
    return _chosen(request, "renew")


def _pending_action(request: Request) -> Action | None:
    pending = request.session.get(_PENDING)
    if not isinstance(pending, dict) or pending.get("action") not in ("revoke", "renew"):
        return None
    return "renew" if pending.get("action") == "renew" else "revoke"


@router.get("/financial/confirm")
def confirm_page(request: Request) -> Response:
    """The chosen change's confirmation, with a fresh activation on every GET."""
    session = require_customer(request)
    error = STEPS.take_refusal(request)
    action = _pending_action(request)
    if action is None:
        return STEPS.refused(request, error or CertCenterError("WEB_CONFIRMATION_INVALID"), MY)
    try:
        return _begin(request, session, action, error=error)
    except CertCenterError as exc:
        _settled(request)
        return STEPS.refused(request, exc, MY)


@router.post("/financial/confirm")
def confirm_change(
    request: Request,
    activation_id: Annotated[str, Form(max_length=36)] = "",
    device_signature: Annotated[str, Form(max_length=400)] = "",
    pin: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Step 2: the device signature and the PIN release a one-time signature of the
    statement; only then is the certificate revoked or renewed."""
    _revoked_here(request)
    session = require_customer(request)
    center = center_of(request)
    pending: dict[str, Any] | None = request.session.get(_PENDING)
    if pending and activation_id and pending.get("activation") not in (None, activation_id):
        # this confirmation opened again in another window since: its activation is the one
        return STEPS.refused(request, CertCenterError("WEB_FLOW_TAKEN_OVER"), CONFIRM)
    if not pending or not activation_id or pending.get("activation") != activation_id:
        # used up by the same form sent before, or from an older page
        return STEPS.refused(request, CertCenterError("WEB_CONFIRMATION_INVALID"), MY)
    action: Action = "renew" if pending.get("action") == "renew" else "revoke"
    request.session[_PENDING] = {"action": action}  # the activation is spent either way
    if not device_signature:  # no key in this browser (or no script): nothing is counted
        return STEPS.refused(request, CertCenterError("WEB_DEVICE_KEY_MISSING"), CONFIRM)
    try:
        signed = center.remote_signer.authorize_and_sign(
            activation_id,
            device_signature,
            pin,
            str(pending["data"]).encode(),
            source_ip=client_ip(request),
        )
    except CertCenterError as exc:
        if exc.code in _RETRY:  # the confirmation again, with a fresh activation
            return STEPS.refused(request, exc, CONFIRM)
        _settled(request)
        return STEPS.refused(request, exc, MY)
    _settled(request)
    if signed.customer_id != session.customer_id:  # begin() bound it to this customer
        raise CertCenterError("WEB_CONFIRMATION_INVALID")
    actor = _actor(request, session)
    if action == "renew":
        new_serial = center.cloud_certificates.renew(str(pending["serial"]), actor)
        with center.uow_factory() as uow:
            renewed = uow.certificates.get(new_serial)
        until = renewed.not_after.date().isoformat() if renewed else ""
        flash(request, "my.renewed", kind="success", serial=new_serial, until=until)
        return RedirectResponse("/my", status_code=303)
    center.cloud_certificates.delete(session.customer_id, actor, reason="unspecified")
    sign_out(request)  # the session was opened with the certificate that is gone
    request.session[_REVOKED] = {"serial": str(pending["serial"]), "reason": "unspecified"}
    flash(request, "my.revoked", kind="success", serial=str(pending["serial"]))
    return RedirectResponse("/", status_code=303)


# ---------------------------------------------------------------- devices (financial)


@router.post("/devices/{device_id}/remove")
def remove_device(request: Request, device_id: str) -> Response:
    """기기 삭제: the browser can no longer sign; removing this very browser logs out."""
    session = require_customer(request)
    center = center_of(request)
    try:
        removed = center.financial_devices.remove(
            session.customer_id, device_id[:36], _actor(request, session)
        )
    except CertCenterError as exc:  # removed already (the form sent again), or not theirs
        return STEPS.refused(request, exc, MY)
    if _financial_session(session) and session.device_id == removed.id:
        sign_out(request)
        flash(request, "my.removed_this", kind="success", label=removed.label)
        return RedirectResponse("/", status_code=303)
    flash(request, "my.removed", kind="success", label=removed.label)
    return RedirectResponse("/my", status_code=303)
