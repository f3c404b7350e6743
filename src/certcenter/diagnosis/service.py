"""왜 발급이 안 되나요? — the diagnosis service, for an operator and for the customer.

    diagnosis = Diagnosis(uow_factory=uow_factory, providers=providers, guard=guard,
                          policy=settings.policy, clock=clock, audit=trail, hasher=hasher)
    checklist = diagnosis.for_customer_number("C004", ActorRef.operator("kim", ip))
    checklist.ready, [(i.key, i.code) for i in checklist.problems]
    # (False, [('phone_own_name', 'PHONE_NOT_OWN_NAME')])
    checklist = diagnosis.for_identity("c004user", "920505-2781965", client_ip=ip)

The checklist is made from the customer's real state: the carrier's record of their line,
the banks' records of their accounts, and the center's devices, certificates, factor locks,
blocks and recent refusals — also those of the phone step, which are made before the flow
knows its customer and are linked to the name, birth date and number typed by a keyed digest
(:func:`certcenter.risk.rules.identity_link`). Nothing is changed by it.

The customer asks with the internet-banking user ID and the resident registration number.
The number only derives the CI (연계정보) through the identity agency and is then dropped:
it is never stored or logged. A wrong ID and a wrong number are refused alike
(``DIAGNOSIS_IDENTITY_NOT_CONFIRMED``), and every try is counted *before* the comparison,
under the customer (or, for an ID nobody has, under a key made from it) and under the
caller's address: ``failure_max_in_window`` failures *(policy)* pause the diagnosis for
``block_hours`` *(policy)* (``DIAGNOSIS_LOCKED``). The count is kept apart from the
issuance failures, so guessing at someone's diagnosis never blocks their issuance.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta

from certcenter.authn.factors import FACTORS, FactorGuard, unknown_subject
from certcenter.clock import KST, Clock, as_utc
from certcenter.config import Policy
from certcenter.diagnosis.checklist import (
    DEFAULT_CHECKS,
    FACTOR_LOCK_CODES,
    Check,
    Checklist,
    Situation,
)
from certcenter.entities import Customer, FailureRecord
from certcenter.errors import CertCenterError
from certcenter.identity.providers import AccountFacts, LineFacts, Providers
from certcenter.identity.rrn import parse_rrn
from certcenter.lifecycle.service import ActorRef, AuditRecorder
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import Digester, identity_link

IDENTITY_FACTOR = "diagnosis_identity"  # the counter of the customer endpoint's tries


class Diagnosis:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        providers: Providers,
        guard: FactorGuard,
        policy: Policy,
        clock: Clock,
        audit: AuditRecorder | None = None,
        checks: Sequence[Check] = DEFAULT_CHECKS,
        lock_codes: Mapping[str, str] | None = None,
        hasher: Digester | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.providers = providers
        self.guard = guard
        self.policy = policy
        self.clock = clock
        self.audit = audit
        self.checks = list(checks)
        self.lock_codes = dict(FACTOR_LOCK_CODES if lock_codes is None else lock_codes)
        self.hasher = hasher  # links refusals made before the customer was known (phone)

    # ---------------------------------------------------------------- who is asking

    def for_customer(self, customer_id: str, *, client_ip: str | None = None) -> Checklist:
        """The checklist of a customer (by the center's customer id)."""
        with self.uow_factory() as uow:
            customer = uow.customers.get(customer_id)
        if customer is None:
            raise CertCenterError("CUSTOMER_UNKNOWN", customer=customer_id[:20])
        return self._diagnose(customer, client_ip, None)

    def for_customer_number(
        self, number: str, actor: ActorRef, *, client_ip: str | None = None
    ) -> Checklist:
        """An operator's diagnosis of a customer (고객번호); the look is audited."""
        with self.uow_factory() as uow:
            customer = uow.customers.by_number(number.strip().upper())
        if customer is None:
            raise CertCenterError("CUSTOMER_UNKNOWN", customer=number[:20])
        return self._diagnose(customer, client_ip, actor)

    def for_identity(self, user_id: str, rrn: str, *, client_ip: str) -> Checklist:
        """The customer's own diagnosis, after the user ID and resident number agree."""
        number = parse_rrn(rrn, today=self._today())  # RRN_INVALID tells nothing about anyone
        claimed = user_id.strip()
        ci = self.providers.identity.ci_for(number)  # for every claim, known or not
        with self.uow_factory() as uow:
            customer = uow.customers.by_user_id(claimed) if claimed else None
            subjects = self._subjects(customer, claimed, client_ip)
            refusal = self._reserve(uow, subjects)
            if refusal is not None:
                self._record(uow, customer, client_ip, refusal.code)
            uow.commit()
        if refusal is not None:
            raise refusal
        matched = customer is not None and hmac.compare_digest(
            customer.ci.encode("utf-8"), ci.encode("utf-8")
        )
        with self.uow_factory() as uow:
            if customer is None or not matched:
                mismatch = self._count_failure(uow, subjects)
                self._record(uow, customer, client_ip, mismatch.code)
                uow.commit()
                raise mismatch
            now = self.clock.now()
            uow.factors.reset(subjects[0], IDENTITY_FACTOR, now)
            uow.factors.release_attempt(subjects[1], IDENTITY_FACTOR, now)
            self._record(uow, customer, client_ip, None)
            uow.commit()
        return self._diagnose(customer, client_ip, None)

    # ---------------------------------------------------------------- the checks

    def _diagnose(
        self, customer: Customer, client_ip: str | None, actor: ActorRef | None
    ) -> Checklist:
        if client_ip is not None:
            try:
                client_ip = str(ipaddress.ip_address(client_ip.strip()))
            except ValueError:
                raise CertCenterError(
                    "INVALID_REQUEST", detail="client_ip: not an address"
                ) from None
        line, line_error = self._line(customer.phone)
        accounts, accounts_error = self._accounts(customer.ci)
        now = self.clock.now()
        since = now - timedelta(hours=self.policy.block_hours)
        with self.uow_factory() as uow:
            failures = self._failures(uow, customer, since)
            situation = Situation(
                customer=customer,
                uow=uow,
                policy=self.policy,
                now=now,
                client_ip=client_ip,
                line=line,
                accounts=accounts,
                failures=failures,
                line_error=line_error,
                accounts_error=accounts_error,
                lock_codes=self.lock_codes,
                lock_limits={f: self.guard.max_failures(f) for f in FACTORS},
            )
            items = tuple(item for check in self.checks for item in check(situation))
            checklist = Checklist(customer.customer_number, now, items)
            if actor is not None and self.audit is not None:
                self.audit.record(
                    uow,
                    actor_kind=actor.kind,
                    actor=actor.id,
                    action="diagnose_customer",
                    subject_kind="customer",
                    subject=customer.customer_number,
                    source_ip=actor.source_ip,
                    details={
                        "ready": checklist.ready,
                        "problems": [i.code for i in checklist.problems],
                    },
                )
                uow.commit()
        return checklist

    def _failures(
        self, uow: UnitOfWork, customer: Customer, since: datetime
    ) -> list[FailureRecord]:
        """The customer's refusals in the window, newest first: those recorded under them and
        those of the phone step linked to their name, birth date and number (made before the
        flow knew who it was for: the carrier refused the line)."""
        found = {f.id: f for f in uow.failures.recent(customer_id=customer.id, limit=200)}
        if self.hasher is not None:
            kind, subject = identity_link(
                self.hasher,
                name=customer.name,
                birth_date=customer.birth_date,
                phone=customer.phone,
            )
            for failure in uow.failures.marked(kind, subject, since=since):
                found.setdefault(failure.id, failure)
        recent = [f for f in found.values() if as_utc(f.at) >= since]
        return sorted(recent, key=lambda f: as_utc(f.at), reverse=True)

    def _line(self, phone: str) -> tuple[LineFacts | None, CertCenterError | None]:
        try:
            return self.providers.telco.line_facts(phone), None
        except CertCenterError as err:
            return None, err

    def _accounts(self, ci: str) -> tuple[list[AccountFacts], CertCenterError | None]:
        try:
            return list(self.providers.accounts.accounts_of(ci)), None
        except CertCenterError as err:
            return [], err

    # ---------------------------------------------------------------- counting tries

    @staticmethod
    def _subjects(customer: Customer | None, claimed: str, client_ip: str) -> list[str]:
        """Whose tries these are: the customer (or the claimed ID), and the address."""
        who = customer.id if customer is not None else unknown_subject("diagnosis:" + claimed)
        return [who, unknown_subject("diagnosis-ip:" + client_ip)]

    def _reserve(self, uow: UnitOfWork, subjects: list[str]) -> CertCenterError | None:
        """Count this try under every subject before comparing; a refusal when one is at its
        limit (nothing counted then). A lock ends ``block_hours`` after it began; failures
        older than that are forgotten."""
        now = self.clock.now()
        limit = self.policy.failure_max_in_window
        expiry = timedelta(hours=self.policy.block_hours)
        for subject in subjects:
            counter = uow.factors.get(subject, IDENTITY_FACTOR)
            if counter is None:
                continue
            began = counter.locked_at or counter.updated_at
            if counter.failures and began + expiry <= now:
                uow.factors.reset(subject, IDENTITY_FACTOR, now)
        taken: list[str] = []
        for subject in subjects:
            if uow.factors.reserve_attempt(subject, IDENTITY_FACTOR, limit, now) is None:
                for earlier in taken:
                    uow.factors.release_attempt(earlier, IDENTITY_FACTOR, now)
                uow.factors.lock(subject, IDENTITY_FACTOR, now)
                counter = uow.factors.get(subject, IDENTITY_FACTOR)
                began = counter.locked_at if counter and counter.locked_at else now
                return CertCenterError(
                    "DIAGNOSIS_LOCKED",
                    max_failures=limit,
                    until=(began + expiry).isoformat(timespec="minutes"),
                )
            taken.append(subject)
        return None

    def _count_failure(self, uow: UnitOfWork, subjects: list[str]) -> CertCenterError:
        """The try stays counted; lock a subject that reached the limit."""
        now = self.clock.now()
        limit = self.policy.failure_max_in_window
        left = limit
        for subject in subjects:
            counter = uow.factors.get(subject, IDENTITY_FACTOR)
            failures = counter.failures if counter is not None else limit
            if failures >= limit:
                uow.factors.lock(subject, IDENTITY_FACTOR, now)
            left = min(left, max(limit - failures, 0))
        return CertCenterError("DIAGNOSIS_IDENTITY_NOT_CONFIRMED", tries_left=left)

    def _record(
        self, uow: UnitOfWork, customer: Customer | None, client_ip: str, refused: str | None
    ) -> None:
        """Audit the customer's try; an unconfirmed claim names no one (not even the ID)."""
        if self.audit is None:
            return
        known = customer is not None and refused is None
        self.audit.record(
            uow,
            actor_kind="customer",
            actor=customer.customer_number if known and customer else "unconfirmed",
            action="diagnosis.self",
            subject_kind="diagnosis",
            subject=customer.customer_number if known and customer else "-",
            outcome="ok" if refused is None else f"refused:{refused}",
            source_ip=client_ip,
        )

    def _today(self) -> date:
        now: datetime = self.clock.now()
        return now.astimezone(KST).date()
