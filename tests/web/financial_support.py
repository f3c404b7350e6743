"""Walking the financial-certificate pages in-process, as a browser with a WebCrypto key would:
the device key is a Python P-256 key that signs like WebCrypto (raw r||s); the forms' hidden
fields are filled as static/js/device-key.js fills them.

    web = FinancialWeb(client, center)
    web.issue("C001")                       # the eight steps, through the ARS and the account
    web.log_in()                            # this browser's key is known: only the PIN
    page = web.follow(web.prepare_transfer(3_000_000))  # 303 → the confirmation page
    done = web.sign_transfer(page, account_password="2580")
"""

from __future__ import annotations

import base64
import html
import json
import re
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from certcenter.bootstrap import Center
from certcenter.simulators.ars import SimulatedArs
from certcenter.simulators.world import load_world
from certcenter.web.security import SESSION_COOKIE
from tests.web.support import WebClient, csrf_token, main_text

WORLD = load_world()
PIN = "480213"
ACCOUNT_PASSWORD = "2580"
SAVINGS = "004:12340100000101"  # C001's savings account
PAYEE = ("088", "110000000002")  # 이서연 at 신한은행


def attribute(page: str, name: str) -> str:
    found = re.search(rf'{name}="([^"]*)"', page)
    assert found, f"no {name} on the page"
    return html.unescape(found.group(1))


def error_code(page: str) -> str | None:
    found = re.search(r'class="error-code">[^<]*<code>([A-Z_]+)</code>', page)
    return found.group(1) if found else None


def session_cookie(client: WebClient) -> dict[str, Any]:
    """What the signed session cookie holds (it is signed, not encrypted)."""
    value = client.cookies.get(SESSION_COOKIE)
    if not value:
        return {}
    payload = value.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


class FinancialWeb:
    def __init__(self, client: WebClient, center: Center) -> None:
        self.client = client
        self.center = center
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.seen: list[httpx.Response] = []  # every answer, to look for leaks

    # -- a browser's key
    @property
    def spki_b64(self) -> str:
        der = self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def sign(self, b64: str) -> str:
        signature = self.key.sign(base64.b64decode(b64), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(signature)
        return base64.b64encode(r.to_bytes(32, "big") + s.to_bytes(32, "big")).decode()

    # -- requests
    def get(self, path: str) -> httpx.Response:
        response = self.client.get(path)
        self.seen.append(response)
        return response

    def post(self, path: str, **data: Any) -> httpx.Response:
        token = self.token()
        response = self.client.post(path, data={"csrf_token": token, **data})
        self.seen.append(response)
        return response

    def token(self) -> str:
        stored = session_cookie(self.client).get("csrf")
        if isinstance(stored, str):
            return stored
        return csrf_token(self.get("/").text)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """The page a POST's 303 sends to (Post/Redirect/Get), through the GETs' redirects."""
        assert response.status_code == 303, (response.status_code, main_text(response.text))
        for _ in range(4):
            response = self.get(response.headers["location"])
            if response.status_code != 303:
                return response
        raise AssertionError("redirected in circles")

    def submit(self, path: str, **data: Any) -> httpx.Response:
        """POST a form and follow it to the page it sends to, as a browser does."""
        return self.follow(self.post(path, **data))

    # -- the demo world's other side
    def sms_code(self, phone: str, marker: str) -> str:
        for message in self.center.sim_store.messages(phone):
            found = re.search(r"\[(\d{6})\]", message["body"])
            if marker in message["body"] and found:
                return found.group(1)
        raise AssertionError(f"no SMS with {marker!r}")

    def answer_call(self, phone: str, keyed: str) -> None:
        assert SimulatedArs(self.center.sim_store, self.center.clock).answer(phone, keyed)

    # -- the issuance, step by step
    def start_issue(self, person: str) -> httpx.Response:
        self.get("/issue")
        terms = self.center.financial_issuance.required_terms
        return self.follow(self.post("/issue/start", accepted=terms))

    def identify(self, person: str, **overrides: str) -> httpx.Response:
        who = WORLD.people[person]
        form = {
            "user_id": str((who.customer or {}).get("user_id") or ""),
            "rrn_front": who.rrn.digits[:6],
            "rrn_back": who.rrn.digits[6:],
        }
        form.update(overrides)
        return self.post("/issue/identify", **form)

    def through_ars(self, person: str) -> httpx.Response:
        page = self.follow(self.post("/issue/ars"))
        code = re.search(r"data-ars-code>(\d+)<", page.text)
        assert code, main_text(page.text)
        self.answer_call(str((WORLD.people[person].phone or {})["number"]), code.group(1))
        return self.follow(self.post("/issue/ars/confirm"))

    def details(self, person: str, **overrides: str) -> httpx.Response:
        who = WORLD.people[person]
        form = {
            "name": who.name,
            "phone": str((who.phone or {})["number"]),
            "birth": who.rrn.birth_date.isoformat(),
            "device_public_key": self.spki_b64,
            "device_label": "Chrome · Linux",
        }
        form.update(overrides)
        return self.post("/issue/details", **form)

    def issue(self, person: str) -> httpx.Response:
        """All eight steps with the account medium; the done page."""
        self.start_issue(person)
        self.follow(self.identify(person))
        self.through_ars(person)
        self.follow(self.post("/issue/medium", medium="account"))
        bank_account = WORLD.people[person].accounts[0]
        self.follow(
            self.post(
                "/issue/medium/verify",
                account_number=str(bank_account["number"]),
                account_password=ACCOUNT_PASSWORD,
            )
        )
        self.follow(self.details(person))
        phone = str((WORLD.people[person].phone or {})["number"])
        self.follow(self.post("/issue/code", code=self.sms_code(phone, "발급 인증번호")))
        return self.follow(self.post("/issue/pin", pin=PIN, pin_confirmation=PIN))

    # -- login and transfer
    def pin_page(self) -> httpx.Response:
        """/login → "log in with the financial certificate" with this browser's key."""
        self.get("/login")
        return self.follow(self.post("/login/financial", device_public_key=self.spki_b64))

    def submit_pin(self, page: httpx.Response, pin: str = PIN) -> httpx.Response:
        return self.post(
            "/login/pin",
            activation_id=attribute(page.text, 'name="activation_id" value'),
            device_signature=self.sign(attribute(page.text, "data-device-sign")),
            pin=pin,
        )

    def log_in(self) -> httpx.Response:
        return self.follow(self.submit_pin(self.pin_page()))

    def prepare_transfer(
        self, amount: int, source: str = SAVINGS, form: httpx.Response | None = None
    ) -> httpx.Response:
        """The form's POST (its answer: 303 to the confirmation, or back to the form); the
        form's own key is sent as the browser sends it (``form``: an earlier form page)."""
        page = form if form is not None else self.get("/transfer")
        return self.post(
            "/transfer",
            from_account=source,
            to_bank=PAYEE[0],
            to_account=PAYEE[1],
            amount=f"{amount:,}",
            memo="월세",
            form_key=attribute(page.text, 'name="form_key" value'),
        )

    def sign_transfer(self, page: httpx.Response, pin: str = PIN, **fields: str) -> httpx.Response:
        action = re.search(r'action="(/transfer/[^"]+/sign)"', page.text)
        assert action is not None
        return self.post(
            action.group(1),
            activation_id=attribute(page.text, 'name="activation_id" value'),
            device_signature=self.sign(attribute(page.text, "data-device-sign")),
            pin=pin,
            **fields,
        )
