"""The ARS phone check (ARS 인증) as two steps of a flow: the call, then its answer.

The center calls the phone on record and the screen shows the code to key in
(``detail["ars_code"]``); once the customer has keyed it in, the digits must be that code.
The call is placed before the step's transaction, so no row is locked while it rings; what
the flow's row keeps of an open call is :data:`~certcenter.flows.effects.ARS_CALL_KEYS`, and
how many calls it placed (``ars_calls``, at most ``max_calls``).

    ars = ArsCheck(ars=providers.ars, hasher=hasher, clock=clock, policy=policy,
                   bank="국민은행", prompt="ars.joint_register",
                   max_calls=policy.joint_ars_max_calls, limit="JOINT_ARS_CALL_LIMIT")
    ars.request(engine, ref, calling=S.ARS_CALLING.value)
    ars.confirm(engine, ref, retry=S.MEDIUM_VERIFIED.value, wrong=..., confirmed=...)
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from certcenter.audit.redaction import mask_phone
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import Customer
from certcenter.errors import CertCenterError
from certcenter.errors.catalog import text
from certcenter.flows.effects import ArsAnswer, without_ars_call
from certcenter.flows.engine import FlowEngine, FlowRef, FlowRow, StepResult
from certcenter.identity.providers import ArsCaller
from certcenter.ports import UnitOfWork

__all__ = ["ArsCheck"]


class ArsRow(FlowRow, Protocol):
    """A flow's row that keeps the call in its ``data``."""

    data: dict[str, Any]


R = TypeVar("R", bound=ArsRow)


@dataclass(frozen=True)
class ArsCheck:
    """One flow's ARS check: the caller, the prompt (its kind in ``errors/texts.toml``), how
    many calls a flow may place and the refusal past them (``limit``, with ``max_calls``)."""

    ars: ArsCaller
    hasher: SecretHasher
    clock: Clock
    policy: Policy
    bank: str
    prompt: str
    max_calls: int
    limit: str

    def request(self, engine: FlowEngine[R, Any], ref: FlowRef, *, calling: str) -> StepResult:
        """Step ``ars``: the call to the holder's phone; the flow waits in ``calling``."""
        digits = self.policy.ars_code_digits
        code = "".join(secrets.choice("0123456789") for _ in range(digits))
        code_hash = self.hasher.code_digest(code, purpose="ars")

        def calls_made(row: R) -> int:
            calls = int(row.data.get("ars_calls", 0))
            if calls >= self.max_calls:
                raise CertCenterError(self.limit, max_calls=self.max_calls)
            return calls

        def call(row: R, customer: Customer | None) -> tuple[str, str]:
            holder = engine.known(row, customer)
            calls_made(row)
            prompt = text(self.prompt, "ko", bank=self.bank, digits=digits)
            return self.ars.place_call(phone=holder.phone, prompt=prompt), holder.phone

        # The call is placed before the step's transaction: no row is locked while it rings.
        call_id, phone = engine.ask(ref, "ars", call)
        ttl = timedelta(seconds=self.policy.ars_call_ttl_seconds)
        expires_at = (self.clock.now() + ttl).isoformat()  # stored: what the page counts to

        def act(uow: UnitOfWork, row: R) -> Mapping[str, Any]:
            calls = calls_made(row)
            row.data = {
                **row.data,
                "ars_call_id": call_id,
                "ars_code_hash": code_hash,
                "ars_calls": calls + 1,
                "ars_expires_at": expires_at,
            }
            row.state = calling
            return {"ars_code": code, "phone": mask_phone(phone), "ars_expires_at": expires_at}

        return engine.step(ref, "ars", act)

    def confirm(
        self,
        engine: FlowEngine[R, Any],
        ref: FlowRef,
        *,
        retry: str,
        wrong: Callable[[R], CertCenterError],
        confirmed: Callable[[UnitOfWork, R], Mapping[str, Any]],
    ) -> StepResult:
        """Step ``ars_confirm``: while the call still rings the flow waits
        (``detail["ars"] == "ringing"``). A wrong or late answer ends the call and puts the
        flow back in ``retry`` (committed) before the refusal (``wrong(row)``, or
        ``ARS_CALL_EXPIRED``); the right one ends it too and ``confirmed`` moves the flow on
        (its answer joins ``{"ars": "confirmed"}``)."""

        def look() -> ArsAnswer:
            with engine.uow_factory() as uow:
                data = dict(engine.authorise(uow, ref, lock=False).data)
            return ArsAnswer.of(data, self.ars, self.hasher, now=self.clock.now())

        answer = engine.guard(ref, "ars_confirm", look)

        def act(uow: UnitOfWork, row: R) -> Mapping[str, Any]:
            if str(row.data.get("ars_call_id", "")) != answer.call_id:  # another call since
                raise CertCenterError(
                    "ENROLLMENT_STEP_OUT_OF_ORDER", state=row.state, step="ars_confirm"
                )
            if answer.status == "ringing":
                return {"ars": "ringing"}
            row.data = without_ars_call(row.data)
            if not answer.matches:
                row.state = retry  # a new call may be asked for
                row.updated_at = self.clock.now()
                uow.commit()
                if answer.status == "expired":
                    raise CertCenterError(
                        "ARS_CALL_EXPIRED", seconds=self.policy.ars_call_ttl_seconds
                    )
                raise wrong(row)
            return {"ars": "confirmed", **confirmed(uow, row)}

        return engine.step(ref, "ars_confirm", act)
