"""Multi-step flows on one persisted step engine, with typed effects performed after commit.

from certcenter.flows import FlowEngine, FlowKind, Outcome, SendSms
engine.step(ref, "phone", lambda uow, row: Outcome({"phone": masked}, (SendSms(p, t),)))
"""

from certcenter.flows.effects import (
    DepositOneWon,
    Effect,
    Effects,
    Outcome,
    PublishCrl,
    SendSms,
    code_text,
)
from certcenter.flows.engine import (
    FlowEngine,
    FlowKind,
    FlowRef,
    Started,
    StepResult,
    no_choices,
    no_device,
    token_hash,
)

__all__ = [
    "DepositOneWon",
    "Effect",
    "Effects",
    "FlowEngine",
    "FlowKind",
    "FlowRef",
    "Outcome",
    "PublishCrl",
    "SendSms",
    "Started",
    "StepResult",
    "code_text",
    "no_choices",
    "no_device",
    "token_hash",
]
