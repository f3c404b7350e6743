"""The persisted step engine every multi-step flow runs on (국민인증서 발급, 금융인증서 발급).

A flow is a row (its state, its bearer token kept as SHA-256, its expiry) and one method per
step. :class:`FlowEngine` runs a step: it loads the row under a lock, checks the token, the
expiry (an expired flow is marked ``failed``), the closed state, the blocks, the client's
network and whether the step may run in this state; runs the step's action; audits it
(``<flow>.<step>``); commits once; and only then performs the step's effects
(:mod:`certcenter.flows.effects`). A refusal (:class:`~certcenter.errors.CertCenterError`) is
recorded in its own transaction (``failures``, the audit trail, a block when the window is
full) and raised again. What differs between flows is data: a :class:`FlowKind`.

    engine = FlowEngine(MOBILE_FLOW, uow_factory=..., risk=..., audit=..., clock=...,
                        effects=Effects(providers=..., sms_sender="1588-9999"), ttl_minutes=30)
    result = engine.step(ref, "terms", lambda uow, enrollment: {"accepted": True})
    ci = engine.guard(ref, "identify", lambda: providers.identity.ci_for(number))
    seen = engine.peek(ref, "csr")   # (row, customer) read without the write lock, or None
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from certcenter.clock import Clock, as_utc
from certcenter.entities import Customer
from certcenter.errors import CertCenterError
from certcenter.flows.effects import Effects, Outcome
from certcenter.lifecycle.service import AuditRecorder
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import RiskRules

log = logging.getLogger(__name__)

MAX_FLOW_ID = 36  # a flow id is a UUID; a longer one is refused before it reaches the database


class FlowRow(Protocol):
    """What the engine reads and writes on a flow's row."""

    id: str
    token_hash: str
    state: str
    customer_id: str | None
    updated_at: datetime
    expires_at: datetime
    failure_code: str | None


class FlowState(Protocol):
    @property
    def closed(self) -> bool: ...


R = TypeVar("R", bound=FlowRow)
St = TypeVar("St", bound=FlowState)
V = TypeVar("V")
T = TypeVar("T")


class FlowRows(Protocol[R]):
    """The repository that holds a flow's rows."""

    def add(self, row: R, /) -> None: ...
    def get(self, flow_id: str, /, *, for_update: bool = False) -> R | None: ...


class FlowRef(Protocol):
    """Which flow, its bearer token, and where the request came from."""

    @property
    def enrollment_id(self) -> str: ...
    @property
    def token(self) -> str: ...
    @property
    def client_ip(self) -> str: ...


@dataclass(frozen=True)
class FlowTicket:
    """The :class:`FlowRef` every flow's callers pass: the flow's id (``enrollment_id``, the
    name the first flow gave it), the bearer token handed out at its start, and the caller's
    address. The token never shows in a repr."""

    enrollment_id: str
    token: str
    client_ip: str

    def __repr__(self) -> str:
        return f"FlowTicket({self.enrollment_id!r}, token=…, {self.client_ip!r})"


@dataclass(frozen=True)
class FlowKind(Generic[R, St]):
    """What makes one flow different from another: where its rows are, its states, and the
    names it leaves in the audit trail and the failure log."""

    rows: Callable[[UnitOfWork], FlowRows[R]]
    state: Callable[[str], St]  # the stored value → the state
    allowed: Callable[[str], frozenset[St]]  # step → the states it may run in
    next_step: Callable[[St], str | None]
    choices: Callable[[St], tuple[str, ...]]
    failed: str  # the stored value of the failed state
    audit_prefix: str  # action "<prefix><step>" in the audit trail
    subject_kind: str  # the audit subject's kind
    failure_prefix: str  # step "<prefix><step>" in the failure log
    anonymous_actor: str  # the actor before the customer is known; "{device}" → device id
    device: Callable[[R], str | None]  # the device that is blocked and recorded with the flow
    # A constraint that refused the commit (another request raced this one): the first code
    # whose name part is in the constraint's name, else the last code.
    races: tuple[tuple[str, str], ...] = (("devices", "DEVICE_ALREADY_REGISTERED"),)
    race_otherwise: str = "CERTIFICATE_ALREADY_ACTIVE"
    # Further subjects the request named (risk.rules.claimed: the phone, the person, the
    # client address) whose blocks stop the flow and under which its refusals count too.
    marks: Callable[[R], Sequence[tuple[str, str]]] = lambda row: ()


def no_choices(state: object) -> tuple[str, ...]:
    return ()


def no_device(row: object) -> str | None:
    return None


@dataclass(frozen=True)
class StepResult:
    """A step's answer: the flow's state now, what comes next, and the step's own detail."""

    enrollment_id: str
    state: str
    next_step: str | None
    expires_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Started(StepResult):
    token: str = ""


def token_hash(token: str) -> str:
    """What is stored of a bearer token (a lone surrogate hashes; it only never matches)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class FlowEngine(Generic[R, St]):
    def __init__(
        self,
        kind: FlowKind[R, St],
        *,
        uow_factory: UnitOfWorkFactory,
        risk: RiskRules,
        audit: AuditRecorder,
        clock: Clock,
        effects: Effects,
        ttl_minutes: int,
    ) -> None:
        self.kind = kind
        self.uow_factory = uow_factory
        self.risk = risk
        self.audit = audit
        self.clock = clock
        self.effects = effects
        self.ttl_minutes = ttl_minutes

    @property
    def ttl(self) -> timedelta:
        return timedelta(minutes=self.ttl_minutes)

    # ------------------------------------------------------------------ running steps

    def begin(
        self,
        make: Callable[[UnitOfWork, str], R],
        *,
        client_ip: str,
        device_id: str | None = None,
    ) -> tuple[R, str]:
        """Start a flow: ``make`` checks what it must and builds the row for the token's
        hash; the row is added, the start audited and committed. Returns the row and token."""
        token = secrets.token_urlsafe(32)
        try:
            with self.uow_factory() as uow:
                row = make(uow, token_hash(token))
                self.kind.rows(uow).add(row)
                self.audit_step(uow, row, "start", client_ip)
                self._commit(uow, row.id, "start")
        except CertCenterError as err:
            self.record_failure(
                "start",
                err,
                flow_id=None,
                customer_id=None,
                device_id=device_id,
                client_ip=client_ip,
            )
            raise
        return row, token

    def step(
        self,
        ref: FlowRef,
        step: str,
        action: Callable[[UnitOfWork, R], Outcome | Mapping[str, Any]],
        *,
        allow: frozenset[St] | None = None,
        audit: bool = True,
    ) -> StepResult:
        """Run one step (see the module's text). ``allow`` narrows the states it may run in;
        ``audit=False`` leaves the audit entry to a later part of the same step."""
        result, _ = self.step_with(
            ref, step, lambda uow, row: (action(uow, row), None), allow=allow, audit=audit
        )
        return result

    def step_with(
        self,
        ref: FlowRef,
        step: str,
        action: Callable[[UnitOfWork, R], tuple[Outcome | Mapping[str, Any], V]],
        *,
        allow: frozenset[St] | None = None,
        audit: bool = True,
    ) -> tuple[StepResult, V]:
        """A step whose action also hands a value to the code that runs after it."""
        loaded: R | None = None
        try:
            with self.uow_factory() as uow:
                row = loaded = self.authorise(uow, ref, lock=True)
                self._admit(uow, ref, step, row, allow)
                returned, value = action(uow, row)
                outcome = returned if isinstance(returned, Outcome) else Outcome(returned)
                row.updated_at = self.clock.now()
                if audit:
                    self.audit_step(uow, row, step, ref.client_ip)
                result = self.result(row, outcome.detail)
                self._commit(uow, ref.enrollment_id, step)
        except CertCenterError as err:
            # The customer may have been identified by the step that was refused (a phone step
            # refused for 1 person 1 device): the failure is theirs.
            self._refused(step, err, ref, loaded)
            raise
        self.effects.perform(outcome.effects)
        return result, value

    def ask(
        self,
        ref: FlowRef,
        step: str,
        question: Callable[[R, Customer | None], T],
        *,
        allow: frozenset[St] | None = None,
        links: Sequence[tuple[str, str]] = (),
    ) -> T:
        """Ask the outside (the telco, the bank, the ID registry, the ARS) before a step: the
        flow is checked as the step will check it, in a short transaction of its own, then
        ``question`` runs with no transaction open and no row locked. Its answer goes to the
        step that follows; a refusal is recorded like the step's, linked to the person the
        question named (``links``: :func:`certcenter.risk.rules.identity_link`) when the flow
        does not know its customer yet. The check is a read-only transaction: it waits for
        no writer."""
        loaded: R | None = None
        try:
            # checking takes no write lock: a read-only transaction; only a flow found
            # expired is marked failed, in a transaction of its own
            expired = False
            with self.uow_factory(read_only=True) as uow:
                try:
                    loaded = self.authorise(uow, ref, lock=False)
                except CertCenterError as err:
                    if err.code != "ENROLLMENT_EXPIRED":
                        raise
                    expired = True
                else:
                    customer = self._admit(uow, ref, step, loaded, allow)
            if expired:
                with self.uow_factory() as uow:
                    loaded = self.authorise(uow, ref, lock=True)  # marks it failed and raises
                    customer = self._admit(uow, ref, step, loaded, allow)
            if loaded is None:  # not reached: authorise returned a row or raised
                raise CertCenterError("ENROLLMENT_NOT_FOUND")
            return question(loaded, customer)
        except CertCenterError as err:
            self._refused(step, err, ref, loaded, links=links)
            raise

    def peek(self, ref: FlowRef, step: str) -> tuple[R, Customer] | None:
        """The flow and its customer, read without a lock or a write transaction (a
        read-only unit of work), when the token is the flow's own, it is open, not expired,
        ``step`` may run in its state and its customer is known; else None, and the caller
        asks the way that records the refusal (:meth:`ask`). Nothing here is a decision: the
        step checks all of it again, blocks and network included, under its lock
        (:meth:`within`). It spares a step whose question needs no one outside (a CSR's
        checks) the write transaction of :meth:`ask`."""
        if not 0 < len(ref.enrollment_id) <= MAX_FLOW_ID or not ref.token:
            return None
        with self.uow_factory(read_only=True) as uow:
            row = self.kind.rows(uow).get(ref.enrollment_id)
            if (
                row is None
                or row.customer_id is None
                or not hmac.compare_digest(row.token_hash, token_hash(ref.token))
                or self.kind.state(row.state).closed
                or self.clock.now() >= as_utc(row.expires_at)
                or self.kind.state(row.state) not in self.kind.allowed(step)
            ):
                return None
            customer = uow.customers.get(row.customer_id)
        return (row, customer) if customer is not None else None

    def within(
        self,
        uow: UnitOfWork,
        ref: FlowRef,
        step: str,
        action: Callable[[UnitOfWork, R], T],
        *,
        allow: frozenset[St] | None = None,
        mark_expired: bool = True,
    ) -> T:
        """A step inside a transaction another service owns and commits (the hooks of
        ``issue()``): the flow is checked and locked, the action runs, the step is audited.
        The caller records a refusal (:meth:`guard` around the whole). ``mark_expired=False``
        where a commit of the expiry would commit the owner's unfinished work too."""
        row = self.authorise(uow, ref, lock=True, mark_expired=mark_expired)
        self._admit(uow, ref, step, row, allow)
        value = action(uow, row)
        row.updated_at = self.clock.now()
        self.audit_step(uow, row, step, ref.client_ip)
        return value

    def guard(self, ref: FlowRef, step: str, work: Callable[[], T]) -> T:
        """Run work outside a step's transaction; record a refusal like a step would."""
        try:
            return work()
        except CertCenterError as err:
            with self.uow_factory() as uow:
                row = self._get(uow, ref.enrollment_id, lock=False)
            self._refused(step, err, ref, row)
            raise

    # ------------------------------------------------------------------ parts of a step

    def authorise(
        self,
        uow: UnitOfWork,
        ref: FlowRef,
        *,
        lock: bool,
        closed_ok: bool = False,
        mark_expired: bool = True,
    ) -> R:
        """The flow's row if the token is its own and it is open and not expired (an expired
        one is marked failed and committed when ``lock`` and ``mark_expired``); ``closed_ok``
        lets a closed flow be read."""
        row = self._get(uow, ref.enrollment_id, lock=lock)
        if row is None:
            raise CertCenterError("ENROLLMENT_NOT_FOUND")
        if not ref.token or not hmac.compare_digest(row.token_hash, token_hash(ref.token)):
            raise CertCenterError("ENROLLMENT_TOKEN_INVALID")
        if self.kind.state(row.state).closed:
            if closed_ok:
                return row
            raise CertCenterError("ENROLLMENT_CLOSED", state=row.state)
        if self.clock.now() >= as_utc(row.expires_at):
            if lock and mark_expired:
                row.state = self.kind.failed
                row.failure_code = "ENROLLMENT_EXPIRED"
                row.updated_at = self.clock.now()
                uow.commit()
            raise CertCenterError("ENROLLMENT_EXPIRED", minutes=self.ttl_minutes)
        return row

    def customer(self, uow: UnitOfWork, row: R, *, lock: bool = False) -> Customer:
        """The flow's customer; out of order while the flow has not identified one."""
        if row.customer_id is None:
            raise CertCenterError("ENROLLMENT_STEP_OUT_OF_ORDER", state=row.state, step="customer")
        customer = uow.customers.get(row.customer_id, for_update=lock)
        if customer is None:
            raise CertCenterError("CUSTOMER_NOT_FOUND")
        return customer

    @staticmethod
    def known(row: R, customer: Customer | None) -> Customer:
        """The customer :meth:`ask` found; out of order while the flow has none."""
        if customer is None:
            raise CertCenterError("ENROLLMENT_STEP_OUT_OF_ORDER", state=row.state, step="customer")
        return customer

    def result(self, row: R, detail: Mapping[str, Any]) -> StepResult:
        state = self.kind.state(row.state)
        return StepResult(
            enrollment_id=row.id,
            state=row.state,
            next_step=self.kind.next_step(state),
            expires_at=row.expires_at,
            detail=dict(detail),
            choices=self.kind.choices(state),
        )

    def audit_step(
        self,
        uow: UnitOfWork,
        row: R,
        step: str,
        ip: str | None,
        outcome: str = "ok",
        *,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """The audit entry ``<flow>.<step>`` of the flow's customer (or its anonymous actor);
        its details are the flow's state unless the step names its own."""
        number = uow.customers.number_of(row.customer_id) if row.customer_id else None
        self.audit.record(
            uow,
            actor_kind="customer",
            actor=number or self._anonymous(self.kind.device(row)),
            action=f"{self.kind.audit_prefix}{step}",
            subject_kind=self.kind.subject_kind,
            subject=row.id,
            outcome=outcome,
            source_ip=ip,
            details={"state": row.state} if details is None else dict(details),
        )

    def record_failure(
        self,
        step: str,
        err: CertCenterError,
        *,
        flow_id: str | None,
        customer_id: str | None,
        client_ip: str | None,
        device_id: str | None = None,
        marks: Sequence[tuple[str, str]] = (),
    ) -> None:
        """In its own transaction: the failure, its audit entry, and a block (with its own
        audit entry) when the failure fills the window (of the customer, the device, or one
        of the claimed subjects)."""
        known = flow_id if flow_id and len(flow_id) <= MAX_FLOW_ID else None
        kind = self.kind
        log.info(
            "refused %s at %s%s (%s %s)",
            err.code,
            kind.failure_prefix,
            step,
            kind.subject_kind,
            known or "-",
        )
        with self.uow_factory() as uow:
            block = self.risk.record_failure(
                uow,
                step=f"{kind.failure_prefix}{step}",
                code=err.code,
                customer_id=customer_id,
                enrollment_id=known,
                device_id=device_id,
                client_ip=client_ip,
                marks=marks,
            )
            number = uow.customers.number_of(customer_id) if customer_id else None
            actor = number or self._anonymous(device_id)
            self.audit.record(
                uow,
                actor_kind="customer",
                actor=actor,
                action=f"{kind.audit_prefix}{step}",
                subject_kind=kind.subject_kind,
                subject=known or "-",
                outcome=f"refused:{err.code}"[:80],
                source_ip=client_ip,
            )
            if block is not None:
                self.audit.record(
                    uow,
                    actor_kind="system",
                    actor="risk",
                    action="block",
                    subject_kind=block.subject_kind,
                    subject=actor if block.subject == customer_id else block.subject,
                    source_ip=client_ip,
                    details={"until": block.blocked_until.isoformat(), "reason": block.reason},
                )
            uow.commit()
        if block is not None:
            log.warning(
                "%s %s blocked until %s",
                block.subject_kind,
                block.subject,
                block.blocked_until.isoformat(),
            )

    # ------------------------------------------------------------------ inside

    def _admit(
        self, uow: UnitOfWork, ref: FlowRef, step: str, row: R, allow: frozenset[St] | None
    ) -> Customer | None:
        """The blocks (the device's at this client address too), the state and the client's
        network; the customer once known."""
        self.risk.check_blocks(
            uow,
            customer_id=row.customer_id,
            device_id=self.kind.device(row),
            client_ip=ref.client_ip,
            marks=self.kind.marks(row),
        )
        if self.kind.state(row.state) not in (allow or self.kind.allowed(step)):
            raise CertCenterError("ENROLLMENT_STEP_OUT_OF_ORDER", state=row.state, step=step)
        if row.customer_id is None:
            return None
        customer = self.customer(uow, row)
        self.risk.check_customer_network(ref.client_ip, customer)
        return customer

    def _refused(
        self,
        step: str,
        err: CertCenterError,
        ref: FlowRef,
        row: R | None,
        *,
        links: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Record a refusal of the flow; the customer (and device) as far as it knows them,
        and the person ``links`` name while it knows none."""
        customer_id = row.customer_id if row is not None else None
        marks = tuple(self.kind.marks(row)) if row is not None else ()
        self.record_failure(
            step,
            err,
            flow_id=ref.enrollment_id,
            customer_id=customer_id,
            device_id=self.kind.device(row) if row is not None else None,
            client_ip=ref.client_ip,
            marks=marks + (tuple(links) if customer_id is None else ()),
        )

    def _get(self, uow: UnitOfWork, flow_id: str, *, lock: bool) -> R | None:
        if not 0 < len(flow_id) <= MAX_FLOW_ID:
            return None
        return self.kind.rows(uow).get(flow_id, for_update=lock)

    def _anonymous(self, device_id: str | None) -> str:
        return self.kind.anonymous_actor.format(device=device_id or "-")

    def _commit(self, uow: UnitOfWork, flow_id: str, step: str) -> None:
        try:
            uow.commit()
        except ConstraintViolationError as violation:
            log.warning(
                "%s %s: %s raced (%s)", self.kind.subject_kind, flow_id, step, violation.name
            )
            code = next(
                (code for part, code in self.kind.races if part in violation.name),
                self.kind.race_otherwise,
            )
            raise CertCenterError(code) from None
