"""``/transfer``: a transfer signed in the browser with the financial certificate (이체).

    GET  /transfer                   the form: from one of my accounts (each with its 출금가능금액
                                     and the limits left today), to bank + account, amount, memo
                                     (logged in; else to /login?next=/transfer)
    POST /transfer                   the amount held against the balance and the limits first
                                     (:meth:`TransferService.check_amount`: refused before any
                                     factor is asked for), then the bank looks up the payee and
                                     the browser goes on to the confirmation (303)
    GET  /transfer/{id}              the transfer as it stands: to confirm (payee, amount,
                                     accounts, the exact text to be signed, and what the
                                     amount's tier needs: PIN always; the account password above
                                     the first tier; the ARS call's code above the second), done,
                                     or ended
    POST /transfer/{id}/sign         this browser's device signature over the activation
                                     (``data-device-sign``) and the PIN release a one-time
                                     activation; the center signs the document remotely (303)
    GET  /transfer/{id}/evidence     the CMS evidence (application/pkcs7-mime, attachment)
    GET  /transfer/{id}/receipt      이체확인증: a completed transfer's facts and its signature's
                                     (which certificate, serial), printable

Only a session opened with the financial certificate signs here: its device is this
browser's registered key, and the center's remote signer (:mod:`certcenter.financial.signing`)
signs exactly the stored document. After a login approved in the app the key is on the phone:
the page says that transfers are signed in the app (``WEB_TRANSFER_NOT_SIGNABLE_HERE``).

Post/Redirect/Get (:class:`certcenter.web.step_flow.StepFlow`): both POSTs answer 303, after a
refusal too (kept for the GET that shows it). The form carries a key of its own; the same form
sent again (Back, a double click) prepares no second transfer — the domain's idempotency key
gives back the first, with the same ARS code, which waits sealed for the GETs of the
confirmation. A wrong PIN keeps the customer on the confirmation with a fresh activation; a
refusal that ends the transfer (a wrong account password, a limit) shows the form again,
filled in. A sign POST for a transfer no longer pending only shows it as it stands.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Annotated, Any

from fastapi import Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.entities import Session, Transfer
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import texts
from certcenter.http_common.request_facts import client_ip
from certcenter.identity.banks import BANKS, OWN_BANK_CODE
from certcenter.usage.login import FINANCIAL_METHOD
from certcenter.usage.sessions import SESSION_GONE
from certcenter.usage.transfers import Allowance, Confirmation, TransferRequest
from certcenter.web.context import center_of, locale_of
from certcenter.web.financial_forms import digits, sims_phone
from certcenter.web.rendering import render, translator
from certcenter.web.routing import page_router
from certcenter.web.sessions import require_customer
from certcenter.web.step_flow import StepFlow

FORM = "terms"  # StepFlow's first page: /transfer itself
# the form typed (after a refusal), the transfer under way and its tab tag, the ARS code of
# the transfer on screen (sealed)
STEPS = StepFlow("transfer", "/transfer", {}, "TRANSFER_NOT_FOUND", resume_page=FORM)
router = page_router(prefix="/transfer", dependencies=[Depends(STEPS.same_tab)])

P7M = "application/pkcs7-mime; smime-type=signed-data"
STAY_ON_CONFIRMATION = frozenset(
    {
        "FINANCIAL_AUTH_FAILED",
        "FINANCIAL_PIN_LAST_TRY",
        "AUTH_LAST_TRY",
        "FINANCIAL_PIN_LOCKED",
        "FINANCIAL_ACTIVATION_EXPIRED",
        "FINANCIAL_ACTIVATION_USED",
        "WEB_DEVICE_KEY_MISSING",
        "ARS_NOT_CONFIRMED",
    }
)
_ACCOUNT = re.compile(r"[0-9]{6,20}")
_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{16,32}")


def _session(request: Request) -> Session | None:
    """The logged-in customer's session; None when the login page should come first."""
    try:
        return require_customer(request)
    except CertCenterError as exc:
        if exc.code == "WEB_LOGIN_REQUIRED" or exc.code in SESSION_GONE:
            return None
        raise


def _login_first() -> RedirectResponse:
    return RedirectResponse("/login?next=/transfer", status_code=303)


def _customer(request: Request, session: Session) -> tuple[str, str, list[tuple[str, str]]]:
    """Name, phone and the usable accounts of the logged-in customer."""
    center = center_of(request)
    with center.uow_factory() as uow:
        customer = uow.customers.get(session.customer_id)
    if customer is None:
        raise CertCenterError("SESSION_INVALID")
    accounts = [
        (a.bank_code, a.account_number)
        for a in center.providers.accounts.accounts_of(customer.ci)
        if a.refusal is None
    ]
    return customer.name, customer.phone, accounts


def _tiers(request: Request) -> list[dict[str, Any]]:
    t = translator(locale_of(request))
    tiers = sorted(center_of(request).settings.policy.transfer_tiers, key=lambda x: x.max_amount)
    return [
        {
            "max_amount": tier.max_amount,
            "factors": [t(f"transfer.factor.{f}") for f in tier.factors],
        }
        for tier in tiers
    ]


def _form_page(
    request: Request,
    session: Session,
    *,
    error: CertCenterError | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    if session.method != FINANCIAL_METHOD:
        return render(
            request,
            "transfer/app_only.html",
            error=CertCenterError("WEB_TRANSFER_NOT_SIGNABLE_HERE"),
            status_code=200,
        )
    name, _, accounts = _customer(request, session)
    context = {
        "customer_name": name,
        "form_key": secrets.token_urlsafe(16),
        "accounts": [
            {
                "value": f"{bank}:{number}",
                "bank": BANKS.get(bank, bank),
                "number": number,
                "allowance": _allowance(request, session, bank, number),
            }
            for bank, number in accounts
        ],
        "banks": sorted(BANKS.items()),
        "own_bank": OWN_BANK_CODE,
        "tiers": _tiers(request),
        "form": form or {},
    }
    return render(request, "transfer/form.html", context, error=error)


def _allowance(request: Request, session: Session, bank: str, number: str) -> Allowance | None:
    """The account's 출금가능금액 and the limits left (None when the bank cannot say)."""
    try:
        return center_of(request).transfers.allowance(session, bank, number)
    except CertCenterError:
        return None


def _refused(request: Request, error: CertCenterError, form: dict[str, str]) -> RedirectResponse:
    """The form again (303), filled in as typed, with the refusal on top."""
    STEPS.stash(request).put(form=form)
    return STEPS.refused(request, error, FORM)


@router.get("")
def transfer_form(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _login_first()
    error = STEPS.take_refusal(request)
    form = STEPS.stash(request).get("form") if error is not None else None
    STEPS.stash(request).put(form={})
    return _form_page(request, session, error=error, form=form if isinstance(form, dict) else None)


def _request_key(form_key: str, typed: dict[str, str]) -> str:
    """The idempotency key of this form with these values: sent again, the same transfer; the
    same form with other values (Back, then changed), a new one."""
    key = form_key if _FORM_KEY.fullmatch(form_key) else secrets.token_urlsafe(16)
    values = "\n".join(f"{name}={typed[name]}" for name in sorted(typed))
    return f"web:{key}:{hashlib.sha256(values.encode()).hexdigest()[:24]}"


@router.post("")
def prepare(
    request: Request,
    from_account: Annotated[str, Form(max_length=40)] = "",
    to_bank: Annotated[str, Form(max_length=3)] = "",
    to_account: Annotated[str, Form(max_length=30)] = "",
    amount: Annotated[str, Form(max_length=20)] = "",
    memo: Annotated[str, Form(max_length=60)] = "",
    form_key: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """The amount against the balance and the limits, then the bank looks up the payee and
    makes the document; the browser goes on to the confirmation."""
    session = _session(request)
    if session is None:
        return _login_first()
    if session.method != FINANCIAL_METHOD:
        return RedirectResponse("/transfer", status_code=303)
    typed = {
        "from_account": from_account,
        "to_bank": to_bank,
        "to_account": digits(to_account)[:20],
        "amount": digits(amount.replace(",", ""))[:15],
        "memo": " ".join(memo.split())[:20],
    }
    try:
        source_bank, _, source_number = from_account.partition(":")
        _, _, accounts = _customer(request, session)
        if (source_bank, source_number) not in accounts:
            raise CertCenterError("INVALID_REQUEST", detail="from_account")
        if not _ACCOUNT.fullmatch(typed["to_account"]):
            raise CertCenterError("INVALID_REQUEST", detail="to_account: 6-20 digits")
        if not typed["amount"].isdigit() or not 0 < int(typed["amount"]) <= 10**12:
            raise CertCenterError("INVALID_REQUEST", detail="amount: a positive number of KRW")
        wanted = TransferRequest(
            from_bank=source_bank,
            from_account=source_number,
            to_bank=to_bank,
            to_account=typed["to_account"],
            amount=int(typed["amount"]),
            memo=typed["memo"],
            source_ip=client_ip(request),
        )
        prepared = center_of(request).transfers.prepare(  # the amount first: balance, limits
            session, wanted, idempotency_key=_request_key(form_key, typed), within_balance=True
        )
    except CertCenterError as exc:
        return _refused(request, exc, typed)
    transfer = prepared.transfer
    if STEPS.stash(request).text("transfer") != transfer.id:  # a new transfer: a new tab tag
        STEPS.begin(request, transfer=transfer.id, resume=transfer.id)
    STEPS.stash(request).put(form={})
    if prepared.ars_code:
        STEPS.seal(request, "ars", prepared.ars_code, bound=transfer.id)
    else:
        STEPS.forget(request, "ars")
    return RedirectResponse(STEPS.path(transfer.id), status_code=303)


def _confirm_page(
    request: Request,
    session: Session,
    transfer: Transfer,
    *,
    error: CertCenterError | None = None,
) -> HTMLResponse:
    """What will be signed, and a fresh activation bound to exactly that document (on each
    GET: an activation shown before is simply left to expire)."""
    center = center_of(request)
    started = center.remote_signer.begin(
        session.device_id,
        "transfer",
        transfer.document,
        subject=transfer.id,
        customer_id=session.customer_id,
    )
    t = translator(locale_of(request))
    _, phone, _ = _customer(request, session)
    context = {
        "transfer": transfer,
        "from_bank_name": BANKS.get(transfer.from_bank, transfer.from_bank),
        "to_bank_name": BANKS.get(transfer.to_bank, transfer.to_bank),
        "document": transfer.document.decode("utf-8"),
        "factors": [t(f"transfer.factor.{f}") for f in transfer.factors],
        "needs_password": "account_password" in transfer.factors,
        "needs_ars": "ars" in transfer.factors,
        "ars_code": STEPS.unseal(request, "ars", bound=transfer.id, keep=True),
        "demo_phone": sims_phone(request, phone),
        "activation_id": started.activation_id,
        "sign_b64": base64.b64encode(started.message).decode("ascii"),
        "activation_expires_at": started.expires_at,
        "flow_tag": STEPS.tag(request),
        "locked": error is not None and error.code == "FINANCIAL_PIN_LOCKED",
    }
    return render(request, "transfer/confirm.html", context, error=error)


def _done_page(request: Request, transfer: Transfer) -> HTMLResponse:
    context = {
        "transfer": transfer,
        "from_bank_name": BANKS.get(transfer.from_bank, transfer.from_bank),
        "to_bank_name": BANKS.get(transfer.to_bank, transfer.to_bank),
    }
    return render(request, "transfer/done.html", context)


def _form_of(transfer: Transfer) -> dict[str, str]:
    return {
        "from_account": f"{transfer.from_bank}:{transfer.from_account}",
        "to_bank": transfer.to_bank,
        "to_account": transfer.to_account,
        "amount": str(transfer.amount),
        "memo": transfer.memo,
    }


def _ended(
    request: Request, session: Session, transfer: Transfer, error: CertCenterError
) -> HTMLResponse:
    """A transfer that can no longer be confirmed: the form again, filled in, and why."""
    STEPS.forget(request, "ars")
    return _form_page(request, session, error=error, form=_form_of(transfer))


def _newer_transfer(request: Request, session: Session, transfer: Transfer) -> str | None:
    """The transfer another tab of this browser began after ``transfer`` and has not finished
    (its confirmation is where this browser carries on), or None."""
    current = STEPS.stash(request).text("transfer")
    if not current or current == transfer.id:
        return None
    try:
        newer = center_of(request).transfers.get(session, current)
    except CertCenterError:
        return None
    return newer.id if newer.status == "pending" else None


@router.get("/{transfer_id}")
def show(request: Request, transfer_id: str) -> Response:
    session = _session(request)
    if session is None:
        return _login_first()
    transfer = center_of(request).transfers.get(session, transfer_id)
    error = STEPS.take_refusal(request)
    if transfer.status == "completed":
        return _done_page(request, transfer)
    if transfer.status == "pending" and session.method == FINANCIAL_METHOD:
        if (newer := _newer_transfer(request, session, transfer)) is not None:
            return STEPS.refused(request, CertCenterError("WEB_FLOW_TAKEN_OVER"), newer)
        return _confirm_page(request, session, transfer, error=error)
    if transfer.status == "expired":
        ttl = center_of(request).settings.policy.transfer_ttl_seconds
        error = error or CertCenterError("TRANSFER_EXPIRED", seconds=ttl)
    error = error or CertCenterError("TRANSFER_ALREADY_PROCESSED")
    return _ended(request, session, transfer, error)


@router.post("/{transfer_id}/sign")
def sign(
    request: Request,
    transfer_id: str,
    activation_id: Annotated[str, Form(max_length=36)] = "",
    device_signature: Annotated[str, Form(max_length=400)] = "",
    pin: Annotated[str, Form(max_length=12)] = "",
    account_password: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """The PIN and this browser's signature release the activation; then the transfer is
    confirmed with the other factors and the center signs the document, once."""
    session = _session(request)
    if session is None:
        return _login_first()
    center = center_of(request)
    if session.method != FINANCIAL_METHOD:
        return RedirectResponse("/transfer", status_code=303)
    transfer = center.transfers.get(session, transfer_id)
    if transfer.status != "pending":  # signed already (sent again), or ended: as it stands
        return RedirectResponse(STEPS.path(transfer.id), status_code=303)
    if not device_signature:  # no key in this browser (or no script): nothing is counted
        return STEPS.refused(request, CertCenterError("WEB_DEVICE_KEY_MISSING"), transfer.id)
    ip = client_ip(request)
    try:
        grant = center.remote_signer.authorize(activation_id, device_signature, pin, source_ip=ip)
        done = center.transfers.confirm(
            session,
            transfer.id,
            Confirmation(
                signature="",
                activation_grant=grant.token,
                account_password=account_password or None,
                source_ip=ip,
            ),
        )
    except CertCenterError as exc:
        again = center.transfers.get(session, transfer.id)
        if again.status == "pending" and exc.code in STAY_ON_CONFIRMATION:
            return STEPS.refused(request, exc, again.id)
        STEPS.forget(request, "ars")
        return _refused(request, exc, _form_of(again))
    STEPS.forget(request, "ars")
    return RedirectResponse(STEPS.path(done.transfer.id), status_code=303)


@router.get("/{transfer_id}/evidence")
def evidence(request: Request, transfer_id: str) -> Response:
    """The signed transfer as CMS SignedData (DER): ``openssl cms -verify -inform DER``."""
    session = require_customer(request)
    transfer = center_of(request).transfers.get(session, transfer_id)
    if transfer.evidence is None:
        raise CertCenterError("TRANSFER_NOT_FOUND")
    return Response(
        transfer.evidence,
        media_type=P7M,
        headers={"Content-Disposition": f'attachment; filename="transfer-{transfer.id}.p7m"'},
    )


def masked_account(number: str) -> str:
    """An account number as a receipt shows it: ``12340100000012`` → ``123*******0012``
    (the first three and the last four digits; a short number keeps only its last two)."""
    if len(number) <= 8:
        return "*" * max(len(number) - 2, 0) + number[-2:]
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


@router.get("/{transfer_id}/receipt")
def receipt(request: Request, transfer_id: str) -> HTMLResponse:
    """이체확인증: the session's customer's completed transfer — amount, accounts masked,
    times, references — and the signature's facts (the certificate that signed, its serial,
    the factors checked, the SHA-256 of the kept evidence), on a page made to be printed.
    Another customer's transfer is ``TRANSFER_NOT_FOUND``; one not completed
    ``TRANSFER_RECEIPT_NOT_AVAILABLE``."""
    session = require_customer(request)
    center = center_of(request)
    transfer = center.transfers.get(session, transfer_id)
    if transfer.status != "completed" or transfer.completed_at is None:
        raise CertCenterError("TRANSFER_RECEIPT_NOT_AVAILABLE")
    with center.uow_factory(read_only=True) as uow:
        customer = uow.customers.get(transfer.customer_id)
        record = uow.certificates.get(transfer.certificate_serial)
    t = translator(locale_of(request))
    family = record.family if record is not None else ""
    kind_key = f"transfer.receipt.kind.{family}"
    context = {
        "transfer": transfer,
        "sender_name": customer.name if customer is not None else "",
        "from_bank_name": BANKS.get(transfer.from_bank, transfer.from_bank),
        "to_bank_name": BANKS.get(transfer.to_bank, transfer.to_bank),
        "from_masked": masked_account(transfer.from_account),
        "to_masked": masked_account(transfer.to_account),
        "certificate_kind": t(kind_key) if kind_key in texts() else family,
        "factors": [t(f"transfer.factor.{f}") for f in transfer.factors],
        "evidence_sha256": hashlib.sha256(transfer.evidence).hexdigest()
        if transfer.evidence
        else "",
        "issued_at": center.clock.now(),
    }
    return render(request, "transfer/receipt.html", context)
