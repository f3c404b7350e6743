"""Multi-step flows (발급 절차) on one persisted step engine; effects performed after commit.

from certcenter.flows import FlowEngine, FlowKind, Outcome, SendSms
engine = FlowEngine(MOBILE_FLOW, uow_factory=..., risk=..., audit=..., clock=...,
                    effects=Effects(providers=..., sms_sender="1588-9999"), ttl_minutes=30)
engine.step(ref, "phone", lambda uow, row: Outcome({"phone": masked}, (SendSms(p, t),)))
"""

from certcenter.flows.ars import ArsCheck
from certcenter.flows.effects import (
    ArsAnswer,
    DepositOneWon,
    Effect,
    Effects,
    Outcome,
    PublishCrl,
    SendSms,
    SmsCode,
    without_ars_call,
)
from certcenter.flows.engine import (
    FlowEngine,
    FlowKind,
    FlowRef,
    FlowTicket,
    Started,
    StepResult,
    no_choices,
    no_device,
    token_hash,
)

__all__ = [
    "ArsAnswer",
    "ArsCheck",
    "DepositOneWon",
    "Effect",
    "Effects",
    "FlowEngine",
    "FlowKind",
    "FlowRef",
    "FlowTicket",
    "Outcome",
    "PublishCrl",
    "SendSms",
    "SmsCode",
    "Started",
    "StepResult",
    "no_choices",
    "no_device",
    "token_hash",
    "without_ars_call",
]
