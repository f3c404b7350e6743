"""What a step asks of the outside world, as typed values, and the one place that does it.

A step never talks to the outside while its row (or the database's write lock) is held: it
returns its effects with its :class:`Outcome`, and :class:`Effects` performs them after the
step has committed, so a message never announces a step that was rolled back. These are the
effects the step's answer waits for (the code the customer types next); a notice about the
step goes to the outbox in the step's transaction instead and is sent by the sender.

    >>> step = Outcome({"phone": "010-****-0001"}, (SendSms("01020000001", "…"),))
    >>> [type(e).__name__ for e in step.effects]
    ['SendSms']
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from certcenter.audit.redaction import mask_phone
from certcenter.authn.codes import PreparedCode, VerificationCodes, code_message
from certcenter.config import Policy
from certcenter.identity.providers import ArsCaller, Providers
from certcenter.ports import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendSms:
    """A text message to a mobile number (a verification code: never through the outbox)."""

    phone: str = field(repr=False)
    text: str = field(repr=False)  # it carries the code


@dataclass(frozen=True)
class DepositOneWon:
    """1원 입금: one won to the account, the code in the depositor's name."""

    bank_code: str
    account_number: str = field(repr=False)
    text: str = field(repr=False)  # it carries the code


@dataclass(frozen=True)
class PublishCrl:
    """Publish a CRL partition now (the job runner publishes it later if this fails)."""

    family: str
    shard: int


Effect = SendSms | DepositOneWon | PublishCrl


@dataclass(frozen=True)
class Outcome:
    """What a step hands back: the public ``detail`` of its answer and its effects."""

    detail: Mapping[str, Any] = field(default_factory=dict)
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class SmsCode:
    """A flow's verification code by SMS: stored (hashed) under the policy, and counted in the
    SMS budget of the phone, the person (the customer) and the client address, when a step
    calls it; the step's answer shows the masked phone and how long the code is valid; the SMS
    (``message``: its kind in ``[sms_code]`` of ``errors/texts.toml``) goes out after the
    commit."""

    codes: VerificationCodes
    policy: Policy
    purpose: str
    message: str
    bank: str

    def __call__(
        self,
        uow: UnitOfWork,
        flow_id: str,
        phone: str,
        prepared: PreparedCode,
        *,
        person: str | None,
        client_ip: str,
    ) -> Outcome:
        plain = self.codes.issue_sms(
            uow,
            flow_id=flow_id,
            purpose=self.purpose,
            phone=phone,
            target=mask_phone(phone),
            prepared=prepared,
            policy=self.policy,
            person=person,
            client_ip=client_ip,
        )
        return Outcome(
            {"phone": mask_phone(phone), "code_valid_seconds": self.policy.sms_code_ttl_seconds},
            (
                SendSms(
                    phone,
                    code_message(self.message, bank=self.bank, code=plain, policy=self.policy),
                ),
            ),
        )


class CrlPublisher(Protocol):
    def publish(self, family: str, shard: int) -> Any: ...


class Effects:
    """Performs effects after a commit: CRLs first, then the rest in order."""

    def __init__(
        self,
        *,
        providers: Providers,
        sms_sender: str,
        publisher: CrlPublisher | None = None,
    ) -> None:
        self.providers = providers
        self.sms_sender = sms_sender
        self.publisher = publisher

    def perform(self, effects: Iterable[Effect]) -> None:
        pending = list(effects)
        shards = sorted({(e.family, e.shard) for e in pending if isinstance(e, PublishCrl)})
        for family, shard in shards:
            try:
                if self.publisher is None:
                    raise RuntimeError("no CRL publisher in this flow")
                self.publisher.publish(family, shard)
            except Exception:
                log.exception("CRL %s-%s not published now; the job runner will", family, shard)
        for effect in pending:
            if isinstance(effect, SendSms):
                self.providers.sms.send(
                    phone=effect.phone, sender=self.sms_sender, text=effect.text
                )
            elif isinstance(effect, DepositOneWon):
                self.providers.accounts.deposit_one_won(
                    bank_code=effect.bank_code,
                    account_number=effect.account_number,
                    depositor_text=effect.text,
                )


# ---------------------------------------------------------------- the ARS phone check

# what a flow's row keeps of an open call: its id, the code's digest, until when the code serves
ARS_CALL_KEYS = ("ars_call_id", "ars_code_hash", "ars_expires_at")
ARS_MAX_KEYED = 10  # the most digits a call's answer may carry


class ArsCodeMatcher(Protocol):
    def code_matches(self, stored: str, submitted: str, *, purpose: str) -> bool: ...


@dataclass(frozen=True)
class ArsAnswer:
    """What the customer did on a flow's ARS call (ARS 인증): the call (``""`` when the flow
    placed none), whether the digits keyed in are the code on the screen, and the call's
    status (``ringing``, ``answered``, …; ``none`` without a call)."""

    call_id: str
    matches: bool
    status: str

    @classmethod
    def of(
        cls,
        data: Mapping[str, Any],
        ars: ArsCaller,
        hasher: ArsCodeMatcher,
        *,
        now: datetime,
    ) -> ArsAnswer:
        """Ask the ARS provider about the call ``data`` (a flow row's data) records; run
        outside the step's transaction (the provider is an outside party). Past the call's
        stored ``ars_expires_at`` the number on the screen no longer serves: ``expired``,
        whatever was keyed in."""
        call_id = str(data.get("ars_call_id", ""))
        if not call_id:
            return cls("", False, "none")
        expires_at = data.get("ars_expires_at")
        if expires_at and now >= datetime.fromisoformat(str(expires_at)):
            return cls(call_id, False, "expired")
        outcome = ars.outcome(call_id)
        keyed = outcome.keyed or ""
        matches = (
            outcome.status == "answered"
            and 0 < len(keyed) <= ARS_MAX_KEYED
            and hasher.code_matches(str(data.get("ars_code_hash", "")), keyed, purpose="ars")
        )
        return cls(call_id, matches, outcome.status)


def without_ars_call(data: Mapping[str, Any]) -> dict[str, Any]:
    """A flow row's data once its ARS call has ended (answered, wrong or declined)."""
    return {k: v for k, v in data.items() if k not in ARS_CALL_KEYS}
