"""``/demo``: the demo world's other side, for a person to read during the demo.

The people and what each one shows, a phone's SMS inbox and spam folder, an account's
statement (the 1-won deposit's code is in the depositor name), and the ARS calls of a phone
with the key pad to answer a ringing one; ``/demo/other-certificate`` is the simulated other
institution's joint certificate of C001 (타기관 인증서 등록). Served only where the simulators
are switched on (demo configuration); elsewhere every page answers ``SIMULATORS_DISABLED``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import Depends, Form
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.requests import Request
from starlette.responses import Response

from certcenter.bootstrap import Center
from certcenter.config import OTHER_CA_DIR_NAME
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import texts
from certcenter.identity.banks import BANKS
from certcenter.simulators.ars import SimulatedArs
from certcenter.simulators.other_ca import DEMO_PERSON, DEMO_PFX_PASSWORD
from certcenter.simulators.world import load_world
from certcenter.web.context import center_of, locale_of
from certcenter.web.rendering import flash, render, translator
from certcenter.web.routing import page_router

_PHONE = re.compile(r"01[0-9]{8,9}")
_KEYED = re.compile(r"[0-9]{1,10}")


async def require_simulators(request: Request) -> None:
    if not center_of(request).settings.sims_enabled:
        raise CertCenterError("SIMULATORS_DISABLED")


router = page_router(prefix="/demo", dependencies=[Depends(require_simulators)])


def _label(request: Request, group: str, value: str) -> str:
    """The UI text ``group.value`` (a carrier, a status), or the value itself if it has none."""
    key = f"{group}.{value}"
    return translator(locale_of(request))(key) if key in texts() else value


def _line(center: Center, phone: str) -> dict[str, Any]:
    line = center.sim_store.subscriber(phone) if _PHONE.fullmatch(phone) else None
    if line is None:
        raise CertCenterError("NOT_FOUND")
    return dict(line)


@router.get("")
def world(request: Request) -> HTMLResponse:
    center = center_of(request)
    english = locale_of(request) == "en"
    people = []
    for person in load_world(center.settings.world_file).people.values():
        phone = (person.phone or {}).get("number")
        people.append(
            {
                "key": person.key,
                "name": person.name,
                "scenario": person.scenario_en if english else person.scenario_ko,
                "customer": person.customer is not None,
                "phone": str(phone) if phone else None,
                "accounts": [
                    {
                        "bank": str(a["bank"]),
                        "bank_name": BANKS.get(str(a["bank"]), str(a["bank"])),
                        "number": str(a["number"]),
                    }
                    for a in person.accounts
                ],
            }
        )
    return render(
        request,
        "demo/world.html",
        {"people": people, "other_person": DEMO_PERSON[0], "other_password": DEMO_PFX_PASSWORD},
    )


@router.get("/other-certificate")
def other_certificate(request: Request) -> FileResponse:
    """The simulated other institution's joint certificate of the demo person (타기관 인증서,
    to register at /joint/other): a .pfx under the password /demo shows."""
    center = center_of(request)
    path = center.settings.data_dir / OTHER_CA_DIR_NAME / f"{DEMO_PERSON[0]}.pfx"
    if not path.is_file():
        raise CertCenterError("NOT_FOUND")
    return FileResponse(
        path, media_type="application/x-pkcs12", filename=f"demosign-{DEMO_PERSON[0]}.pfx"
    )


@router.get("/phones/{phone}")
def phone_inbox(request: Request, phone: str) -> HTMLResponse:
    center = center_of(request)
    line = _line(center, phone)
    messages = center.sim_store.messages(phone)
    return render(
        request,
        "demo/phone.html",
        {
            "phone": phone,
            "carrier": _label(request, "carrier", str(line["carrier"])),
            "spam_filter": bool(line["spam_blocks_1588"]),
            "inbox": [m for m in messages if m["folder"] != "spam"],
            "spam": [m for m in messages if m["folder"] == "spam"],
        },
    )


@router.get("/accounts/{bank_code}/{account_number}")
def account_statement(request: Request, bank_code: str, account_number: str) -> HTMLResponse:
    center = center_of(request)
    account = center.sim_store.account(bank_code, account_number)
    if account is None:
        raise CertCenterError("NOT_FOUND")
    return render(
        request,
        "demo/account.html",
        {
            "bank_code": bank_code,
            "account_bank": BANKS.get(bank_code, bank_code),
            "number": account_number,
            "holder": account["holder_name"],
            "status": _label(request, "account_status", str(account["status"])),
            "balance": account["balance"],
            "entries": center.sim_store.statement(bank_code, account_number),
        },
    )


def _calls_page(request: Request, phone: str, error: CertCenterError | None = None) -> HTMLResponse:
    center = center_of(request)
    _line(center, phone)
    calls = [
        {**call, "status_label": _label(request, "call_status", str(call["status"]))}
        for call in center.sim_store.calls(phone)
    ]
    ringing = next((c for c in calls if c["status"] == "ringing"), None)
    return render(
        request,
        "demo/calls.html",
        {"phone": phone, "calls": calls, "ringing": ringing},
        error=error,
    )


@router.get("/calls/{phone}")
def phone_calls(request: Request, phone: str) -> HTMLResponse:
    return _calls_page(request, phone)


@router.post("/calls/{phone}/answer")
def answer_call(
    request: Request,
    phone: str,
    keyed: Annotated[str, Form(max_length=40)] = "",
    action: Annotated[Literal["answer", "decline"], Form()] = "answer",
) -> Response:
    """The person at the phone keys in digits (or declines); then back to the calls."""
    center = center_of(request)
    _line(center, phone)
    keyed = keyed.strip()
    if action == "answer" and not _KEYED.fullmatch(keyed):
        hint = translator(locale_of(request))("demo.calls.keyed_hint")
        return _calls_page(request, phone, CertCenterError("INVALID_REQUEST", detail=hint))
    ars = SimulatedArs(center.sim_store, center.clock)
    if not ars.answer(phone, keyed if action == "answer" else None):
        return _calls_page(request, phone, CertCenterError("WEB_NO_RINGING_CALL"))
    if action == "answer":
        flash(request, "demo.calls.answered", kind="success", keyed=keyed)
    else:
        flash(request, "demo.calls.declined", kind="success")
    return RedirectResponse(f"/demo/calls/{phone}", status_code=303)
