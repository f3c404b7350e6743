"""``/help`` (도움말): what customers ask, answered, each answer leading to the page that
solves it; where each certificate works; security and phishing notices; the terms in full.

    GET /help          자주 묻는 질문 by topic (#sms-not-arriving, #pin-locked, …), 인증서
                       사용처 (#uses), 보안·피싱 주의 (#security), the customer centre
    GET /help/terms    약관 전문: every term a flow asks to accept, whole — the text the terms
                       steps of /issue and /joint show (web/terms.py, one source)

The questions are those of the bank's customers (SMS not arriving, 이미 등록된 기기, abroad,
family and corporate phones, 알뜰폰, a locked PIN, a lost phone, which certificate …); their
words are ``help.faq.<key>.{q,a,link}`` in texts.toml, filled with the policy's own values
(the SMS sender, the code's lifetime, the device limit, …) so the answer says what this
center does. Pages where a customer gets stuck link to an entry by its anchor
(``/help#sms-not-arriving`` from the code entry pages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from certcenter.config import Settings
from certcenter.errors.catalog import words
from certcenter.web import terms
from certcenter.web.context import center_of
from certcenter.web.rendering import render
from certcenter.web.routing import page_router

router = page_router(prefix="/help")


@dataclass(frozen=True)
class Question:
    """One FAQ entry: texts ``help.faq.<key>.q`` / ``.a`` / ``.link``; ``href`` the page (and
    anchor) that solves it; shown under ``help.topic.<topic>`` with the id ``anchor``."""

    key: str
    topic: str
    href: str

    @property
    def anchor(self) -> str:
        return self.key.replace("_", "-")

    @property
    def question(self) -> str:
        return f"help.faq.{self.key}.q"

    @property
    def answer(self) -> str:
        return f"help.faq.{self.key}.a"

    @property
    def link(self) -> str:
        return f"help.faq.{self.key}.link"


TOPICS = ("code", "issue", "use")
QUESTIONS: tuple[Question, ...] = (
    Question("sms_not_arriving", "code", "/why"),
    Question("family_phone", "code", "/why"),
    Question("corporate_phone", "code", "/why"),
    Question("mvno", "code", "/why"),
    Question("device_already_registered", "issue", "/my#devices"),
    Question("abroad", "issue", "/overseas-access"),
    Question("id_photo", "issue", "/issue"),
    Question("account_check", "issue", "/why"),
    Question("blocked", "issue", "/why"),
    Question("which_certificate", "issue", "/help#uses"),
    Question("join_banking", "issue", "/banking/join"),
    Question("forgot_user_id", "issue", "/banking/find-id"),
    Question("several_devices", "use", "/login"),
    Question("pin_locked", "use", "/login/pin-reset"),
    Question("password_change", "use", "/my/password"),
    Question("lost_phone", "use", "/my#devices"),
    Question("renewal", "use", "/my"),
    Question("receipt", "use", "/my#transfers"),
    Question("phishing", "use", "/help#security"),
)


def answer_values(settings: Settings) -> dict[str, Any]:
    """What the answers name, from this center's configuration."""
    policy = settings.policy
    return {
        "sender": policy.sms_sender_number,
        "seconds": policy.sms_code_ttl_seconds,
        "resends": policy.sms_code_max_resends,
        "max_devices": policy.financial_max_devices,
        "failures": policy.financial_pin_max_failures,
        "hours": policy.block_hours,
        "fee": f"{policy.joint_general_fee_krw:,}",
        "days": policy.joint_renewal_window_days,
        "phone": settings.customer_center_phone,
    }


@router.get("")
def help_page(request: Request) -> HTMLResponse:
    settings = center_of(request).settings
    return render(
        request,
        "help/index.html",
        {
            "topics": [
                (topic, f"help.topic.{topic}", [q for q in QUESTIONS if q.topic == topic])
                for topic in TOPICS
            ],
            "values": answer_values(settings),
        },
    )


@router.get("/terms")
def terms_page(request: Request) -> HTMLResponse:
    published = [
        {"document": term.document, "flows": words("help.terms.flow", term.flows)}
        for term in terms.published(center_of(request).settings.policy)
    ]
    return render(request, "help/terms.html", {"published": published})
