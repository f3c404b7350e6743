"""SQLAlchemy implementations of the repositories declared in :mod:`certcenter.ports`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from certcenter.entities import (
    Block,
    CertificateRecord,
    Customer,
    Device,
    Enrollment,
    EnrollmentState,
    FailureRecord,
    VerificationCode,
)
from certcenter.storage import tables


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session


class SqlCustomers(_Repository):
    def add(self, customer: Customer) -> None:
        self.session.add(customer)

    def get(self, customer_id: str, *, for_update: bool = False) -> Customer | None:
        query = select(Customer).where(tables.customers.c.id == customer_id)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def by_ci(self, ci: str) -> Customer | None:
        return self.session.scalars(
            select(Customer).where(tables.customers.c.ci == ci)
        ).one_or_none()

    def by_number(self, customer_number: str) -> Customer | None:
        return self.session.scalars(
            select(Customer).where(tables.customers.c.customer_number == customer_number)
        ).one_or_none()

    def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Customer]:
        return self.session.scalars(
            select(Customer)
            .order_by(tables.customers.c.customer_number)
            .limit(limit)
            .offset(offset)
        ).all()


class SqlEnrollments(_Repository):
    def add(self, enrollment: Enrollment) -> None:
        self.session.add(enrollment)

    def get(self, enrollment_id: str, *, for_update: bool = False) -> Enrollment | None:
        query = select(Enrollment).where(tables.enrollments.c.id == enrollment_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(query).one_or_none()

    def open_for_customer(self, customer_id: str, now: datetime) -> Sequence[Enrollment]:
        t = tables.enrollments.c
        closed = (EnrollmentState.COMPLETED.value, EnrollmentState.FAILED.value)
        return self.session.scalars(
            select(Enrollment).where(
                t.customer_id == customer_id, t.state.not_in(closed), t.expires_at > now
            )
        ).all()


class SqlVerificationCodes(_Repository):
    def add(self, code: VerificationCode) -> None:
        self.session.add(code)

    def latest(self, enrollment_id: str, purpose: str) -> VerificationCode | None:
        t = tables.verification_codes.c
        return self.session.scalars(
            select(VerificationCode)
            .where(t.enrollment_id == enrollment_id, t.purpose == purpose)
            .order_by(t.created_at.desc(), t.resends.desc())
            .limit(1)
            .execution_options(populate_existing=True)
        ).first()

    def count_attempt(self, code_id: str) -> int:
        t = tables.verification_codes
        tries = self.session.execute(
            update(t).where(t.c.id == code_id).values(tries=t.c.tries + 1).returning(t.c.tries)
        ).scalar_one()
        self._refresh(code_id)
        return int(tries)

    def consume(self, code_id: str, at: datetime) -> bool:
        t = tables.verification_codes
        done = self.session.execute(
            update(t)
            .where(t.c.id == code_id, t.c.consumed_at.is_(None))
            .values(consumed_at=at)
            .returning(t.c.id)
        ).first()
        self._refresh(code_id)
        return done is not None

    def _refresh(self, code_id: str) -> None:
        cached = self.session.get(VerificationCode, code_id)
        if cached is not None:
            self.session.refresh(cached)


class SqlDevices(_Repository):
    def add(self, device: Device) -> None:
        self.session.add(device)

    def registration(self, customer_id: str, device_id: str) -> Device | None:
        t = tables.devices.c
        return self.session.scalars(
            select(Device)
            .where(t.customer_id == customer_id, t.device_id == device_id)
            .order_by(t.registered_at.desc())
            .limit(1)
        ).first()

    def active_by_device_id(self, device_id: str) -> Device | None:
        t = tables.devices.c
        return self.session.scalars(
            select(Device).where(t.device_id == device_id, t.status == "active")
        ).one_or_none()

    def active_for_customer(self, customer_id: str) -> Device | None:
        t = tables.devices.c
        return self.session.scalars(
            select(Device).where(t.customer_id == customer_id, t.status == "active")
        ).one_or_none()

    def for_customer(self, customer_id: str) -> Sequence[Device]:
        t = tables.devices.c
        return self.session.scalars(
            select(Device).where(t.customer_id == customer_id).order_by(t.registered_at)
        ).all()


class SqlCertificates(_Repository):
    def add(self, record: CertificateRecord) -> None:
        self.session.add(record)

    def get(self, serial: str) -> CertificateRecord | None:
        return self.session.get(CertificateRecord, serial)

    def for_customer(
        self,
        customer_id: str,
        *,
        family: str | None = None,
        statuses: Sequence[str] | None = None,
    ) -> Sequence[CertificateRecord]:
        t = tables.certificates.c
        query = select(CertificateRecord).where(t.customer_id == customer_id)
        if family is not None:
            query = query.where(t.family == family)
        if statuses is not None:
            query = query.where(t.status.in_(list(statuses)))
        return self.session.scalars(query.order_by(t.created_at)).all()

    def list(
        self, *, limit: int = 100, offset: int = 0, status: str | None = None
    ) -> Sequence[CertificateRecord]:
        t = tables.certificates.c
        query = select(CertificateRecord)
        if status is not None:
            query = query.where(t.status == status)
        return self.session.scalars(
            query.order_by(t.created_at.desc()).limit(limit).offset(offset)
        ).all()


class SqlFailures(_Repository):
    def add(self, failure: FailureRecord) -> None:
        self.session.add(failure)

    def count_since(
        self,
        *,
        since: datetime,
        customer_id: str | None = None,
        device_id: str | None = None,
    ) -> int:
        t = tables.failures.c
        query = select(func.count()).select_from(tables.failures).where(t.at >= since)
        if customer_id is not None:
            query = query.where(t.customer_id == customer_id)
        if device_id is not None:
            query = query.where(t.device_id == device_id)
        return int(self.session.execute(query).scalar_one())

    def recent(self, *, customer_id: str, limit: int = 50) -> Sequence[FailureRecord]:
        t = tables.failures.c
        return self.session.scalars(
            select(FailureRecord)
            .where(t.customer_id == customer_id)
            .order_by(t.at.desc())
            .limit(limit)
        ).all()


class SqlBlocks(_Repository):
    def add(self, block: Block) -> None:
        self.session.add(block)

    def active(self, subject_kind: str, subject: str, now: datetime) -> Block | None:
        t = tables.blocks.c
        return self.session.scalars(
            select(Block)
            .where(t.subject_kind == subject_kind, t.subject == subject, t.blocked_until > now)
            .order_by(t.blocked_until.desc())
            .limit(1)
        ).first()
