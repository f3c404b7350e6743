"""``/sim``: the other side of the outside parties, for a person to read during the demo.

A phone's SMS inbox (and spam folder), a bank account's statement with the 1-won deposit,
and the demo world's people with the scenario each one shows. HTML for people, JSON under
``/sim/api`` for programs (the CLI). Switched off in production configuration.
"""

from __future__ import annotations

import html
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from certcenter.api.contract import raises
from certcenter.api.deps import CenterDep
from certcenter.clock import today
from certcenter.errors import CertCenterError
from certcenter.identity.banks import BANKS
from certcenter.simulators.ars import SimulatedArs
from certcenter.simulators.departures import SimulatedDepartures
from certcenter.simulators.telco import ci_secret, connecting_information
from certcenter.simulators.world import Person, load_world

router = APIRouter(prefix="/sim", tags=["demo simulators (시뮬레이터)"])
disabled = APIRouter(prefix="/sim", include_in_schema=False)


@disabled.api_route(
    "/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
)
def switched_off(path: str) -> None:
    raise CertCenterError("SIMULATORS_DISABLED")


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='ko'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,'Noto Sans KR',sans-serif;max-width:46rem;margin:1rem auto;"
        "padding:0 1rem;color:#222}table{border-collapse:collapse;width:100%}"
        "td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}"
        "td a{display:inline-block;padding:.3rem 0}"
        ".spam{color:#a33}.muted{color:#595959}</style></head><body><main>"
        f"<h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


@router.get("/api/people")
def people(center: CenterDep) -> list[dict[str, Any]]:
    world = load_world(center.settings.world_file)
    return [
        {
            "key": p.key,
            "name": p.name,
            "scenario": {"ko": p.scenario_ko, "en": p.scenario_en},
            "customer_number": (p.customer or {}).get("number"),
            "user_id": (p.customer or {}).get("user_id"),
            "phone": (p.phone or {}).get("number"),
            "carrier": (p.phone or {}).get("carrier"),
            "accounts": [{"bank": a["bank"], "number": a["number"]} for a in p.accounts],
            # what the app asks for the ID step (fictional: the demo world's cards)
            "rrn": f"{p.rrn.digits[:6]}-{p.rrn.digits[6:]}",
            "birth_date": p.rrn.birth_date.isoformat(),
            "documents": _documents(p),
        }
        for p in world.people.values()
    ]


def _documents(person: Person) -> list[dict[str, Any]]:
    """The person's ID documents with the fields the app's ID step asks for each kind."""
    shown: list[dict[str, Any]] = [
        {
            "kind": "resident_card",
            "issue_date": card["issue_date"].isoformat(),
            "current": bool(card.get("current", True)),
        }
        for card in person.resident_cards
    ]
    if person.driver_licence:
        licence = person.driver_licence
        shown.append(
            {"kind": "driver_licence", "number": licence["number"], "serial": licence["serial"]}
        )
    if person.passport:
        passport = person.passport
        shown.append(
            {
                "kind": "passport",
                "number": passport["number"],
                "expiry": passport["expiry"].isoformat(),
            }
        )
    return shown


@router.get("/api/phones/{phone}/messages")
def messages(phone: str, center: CenterDep) -> list[dict[str, Any]]:
    return [
        {
            "sender": m["sender"],
            "body": m["body"],
            "folder": m["folder"],
            "received_at": m["received_at"].isoformat(),
        }
        for m in center.sim_store.messages(phone)
    ]


@router.get("/api/banks/{bank_code}/accounts/{account_number}/statement")
@raises("NOT_FOUND")
def statement(bank_code: str, account_number: str, center: CenterDep) -> dict[str, Any]:
    account = center.sim_store.account(bank_code, account_number)
    if account is None:
        raise CertCenterError("NOT_FOUND")
    return {
        "bank": BANKS.get(bank_code, bank_code),
        "account_number": account_number,
        "holder": account["holder_name"],
        "status": account["status"],
        "balance": account["balance"],
        "entries": [
            {
                "at": e["at"].isoformat(),
                "description": e["description"],
                "amount": e["amount"],
                "balance_after": e["balance_after"],
            }
            for e in center.sim_store.statement(bank_code, account_number)
        ],
    }


class AccountStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["normal", "dormant", "suspended", "transfer_restricted"]


class LineSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    spam_blocks_1588: bool | None = None
    corporate_personal_service: bool | None = None


@router.put("/api/banks/{bank_code}/accounts/{account_number}/status")
@raises("NOT_FOUND")
def set_account_status(
    bank_code: str, account_number: str, body: AccountStatusIn, center: CenterDep
) -> dict[str, Any]:
    """The bank's side: make an account dormant, suspended, restricted, or normal again."""
    if not center.sim_store.set_account_status(bank_code, account_number, body.status):
        raise CertCenterError("NOT_FOUND")
    return statement(bank_code, account_number, center)


@router.patch("/api/phones/{phone}")
@raises("NOT_FOUND")
def set_line(phone: str, body: LineSettingsIn, center: CenterDep) -> dict[str, Any]:
    """The phone's side: turn the 1588 spam filter or the corporate personal service on/off."""
    values = body.model_dump(exclude_none=True)
    if not values:
        raise CertCenterError("INVALID_REQUEST", detail="nothing to change")
    if not center.sim_store.set_subscriber(phone, **values):
        raise CertCenterError("NOT_FOUND")
    line = center.sim_store.subscriber(phone) or {}
    return {k: line.get(k) for k in ("phone", "carrier", "line_type", *values)}


class ArsAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keyed: str | None = Field(None, pattern=r"^\d{1,10}$", description="null: decline the call")


@router.get("/ars/{phone}")
def ars_calls(phone: str, center: CenterDep) -> list[dict[str, Any]]:
    """The ARS calls placed to a demo phone, newest first."""
    return [
        {
            "id": c["id"],
            "placed_at": c["placed_at"].isoformat(),
            "status": c["status"],
            "prompt": c["prompt"],
        }
        for c in center.sim_store.calls(phone[:20])
    ]


@router.post("/ars/{phone}/answer", status_code=204)
@raises("NOT_FOUND")
def ars_answer(phone: str, body: ArsAnswerIn, center: CenterDep) -> None:
    """The person picks up the ringing ARS call and keys in digits (or declines)."""
    ars = SimulatedArs(center.sim_store, center.clock)
    if not ars.answer(phone[:20], body.keyed):
        raise CertCenterError("NOT_FOUND")


@router.get("/cards/{key}")
@raises("NOT_FOUND")
def security_card(key: str, center: CenterDep) -> dict[str, Any]:
    """The printed security card in its holder's hands, by serial or by the holder's customer
    number (their newest card): slot 1 first."""
    if key.isdigit():
        card = center.sim_store.card(key)
    else:
        people = load_world(center.settings.world_file).people.values()
        person = next((p for p in people if (p.customer or {}).get("number") == key.upper()), None)
        secret = ci_secret(center.sim_store)
        held = (
            center.sim_store.cards_of(connecting_information(person.rrn.digits, secret))
            if person
            else []
        )
        card = held[0] if held else None
    if card is None:
        raise CertCenterError("NOT_FOUND")
    return {
        "serial": card["serial"],
        "slots": list(card["slots"]),
        "delivered_at": card["delivered_at"].isoformat(),
    }


def _today(center: CenterDep) -> date:
    return today(center.clock)


@router.get("/departures")
def departures(center: CenterDep) -> list[dict[str, Any]]:
    """The immigration office's departure records (출입국 기록), newest departure first."""
    today = _today(center)
    return [
        {
            "name": d["name"],
            "country": d["country"],
            "departed_on": str(d["departed_on"]),
            "returned_on": None if d["returned_on"] is None else str(d["returned_on"]),
            "abroad": d["departed_on"] <= today
            and (d["returned_on"] is None or d["returned_on"] > today),
        }
        for d in center.sim_store.departures()
    ]


class DepartureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str = Field(pattern=r"^[A-Za-z]{2}$", description="ISO 3166 alpha-2, e.g. US")


def _person_ci(center: CenterDep, key: str) -> tuple[str, str]:
    person = load_world(center.settings.world_file).people.get(key.upper())
    if person is None:
        raise CertCenterError("NOT_FOUND")
    return connecting_information(person.rrn.digits, ci_secret(center.sim_store)), person.name


@router.post("/departures/{key}", status_code=201)
@raises("NOT_FOUND")
def depart(key: str, body: DepartureIn, center: CenterDep) -> dict[str, Any]:
    """A demo person leaves the country today (by the person's key, e.g. C001)."""
    ci, name = _person_ci(center, key)
    SimulatedDepartures(center.sim_store).depart(
        ci=ci, name=name, country=body.country, on=_today(center)
    )
    return {"name": name, "country": body.country.upper(), "departed_on": str(_today(center))}


@router.post("/departures/{key}/return", status_code=204)
@raises("NOT_FOUND")
def come_back(key: str, center: CenterDep) -> None:
    """A demo person comes back today: their open trip ends."""
    ci, _ = _person_ci(center, key)
    if not SimulatedDepartures(center.sim_store).come_back(ci, on=_today(center)):
        raise CertCenterError("NOT_FOUND")


@router.get("", response_class=HTMLResponse)
def index(center: CenterDep) -> HTMLResponse:
    rows = []
    for p in load_world(center.settings.world_file).people.values():
        phone = (p.phone or {}).get("number")
        links = [f"<a href='/sim/phones/{phone}'>📱 {phone}</a>"] if phone else []
        links += [
            f"<a href='/sim/banks/{a['bank']}/accounts/{a['number']}'>🏦 "
            f"{html.escape(BANKS.get(a['bank'], a['bank']))} {a['number']}</a>"
            for a in p.accounts
        ]
        rows.append(
            f"<tr><td>{html.escape(p.key)}</td><td>{html.escape(p.name)}</td>"
            f"<td>{html.escape(p.scenario_ko)}<br><span class='muted'>"
            f"{html.escape(p.scenario_en)}</span></td><td>{'<br>'.join(links)}</td></tr>"
        )
    return _page(
        "데모 세계 (Demo world)",
        "<p>가상의 고객, 휴대폰, 계좌입니다. "
        "휴대폰을 누르면 문자함, 계좌를 누르면 거래내역이 열립니다.</p>"
        "<table><tr><th>#</th><th>이름</th><th>시나리오</th><th>휴대폰 · 계좌</th></tr>"
        + "".join(rows)
        + "</table>",
    )


@router.get("/phones/{phone}", response_class=HTMLResponse)
def phone_page(phone: str, center: CenterDep) -> HTMLResponse:
    items = (
        "".join(
            f"<tr class='{m['folder']}'><td>{m['received_at']:%Y-%m-%d %H:%M:%S}</td>"
            f"<td>{html.escape(m['sender'])}</td><td>{html.escape(m['body'])}"
            f"{' <b>(스팸함 spam)</b>' if m['folder'] == 'spam' else ''}</td></tr>"
            for m in center.sim_store.messages(phone)
        )
        or "<tr><td colspan=3 class='muted'>받은 문자가 없습니다.</td></tr>"
    )
    return _page(
        f"문자함 {phone}",
        "<table><tr><th>받은 시각 (UTC)</th><th>보낸 번호</th><th>내용</th></tr>"
        + items
        + "</table>",
    )


@router.get("/banks/{bank_code}/accounts/{account_number}", response_class=HTMLResponse)
@raises("NOT_FOUND")
def account_page(bank_code: str, account_number: str, center: CenterDep) -> HTMLResponse:
    data = statement(bank_code, account_number, center)
    items = (
        "".join(
            f"<tr><td>{html.escape(e['at'][:19])}</td><td>{html.escape(e['description'])}</td>"
            f"<td>{e['amount']:,}</td><td>{e['balance_after']:,}</td></tr>"
            for e in data["entries"]
        )
        or "<tr><td colspan=4 class='muted'>거래내역이 없습니다.</td></tr>"
    )
    return _page(
        f"{data['bank']} {account_number} 거래내역",
        f"<p>예금주 {html.escape(data['holder'])} · 상태 {html.escape(data['status'])} · "
        f"잔액 {data['balance']:,}원</p><table><tr><th>시각 (UTC)</th><th>입금자명 / 내용</th>"
        "<th>금액</th><th>잔액</th></tr>" + items + "</table>",
    )
