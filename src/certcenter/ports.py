"""What the domain needs from storage: repositories and a unit of work, as Protocols.

``certcenter.storage`` implements them with SQLAlchemy; the domain never sees SQL.

    with uow_factory() as uow:
        customer = uow.customers.by_ci(ci)
        ...
        uow.commit()
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from certcenter.entities import (
    Block,
    CertificateRecord,
    Customer,
    Device,
    Enrollment,
    FailureRecord,
    VerificationCode,
)


class CustomerRepository(Protocol):
    def add(self, customer: Customer) -> None: ...
    def get(self, customer_id: str, *, for_update: bool = False) -> Customer | None: ...
    def by_ci(self, ci: str) -> Customer | None: ...
    def by_number(self, customer_number: str) -> Customer | None: ...
    def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Customer]: ...


class EnrollmentRepository(Protocol):
    def add(self, enrollment: Enrollment) -> None: ...
    def get(self, enrollment_id: str, *, for_update: bool = False) -> Enrollment | None: ...
    def open_for_customer(self, customer_id: str, now: datetime) -> Sequence[Enrollment]: ...


class VerificationCodeRepository(Protocol):
    def add(self, code: VerificationCode) -> None: ...
    def latest(self, enrollment_id: str, purpose: str) -> VerificationCode | None: ...
    def count_attempt(self, code_id: str) -> int:
        """Atomically add one attempt (taken before the code is compared); return the count."""
        ...

    def consume(self, code_id: str, at: datetime) -> bool:
        """Atomically mark the code used; False if it was already used."""
        ...


class DeviceRepository(Protocol):
    def add(self, device: Device) -> None: ...
    def registration(self, customer_id: str, device_id: str) -> Device | None:
        """This customer's registration of this device, active or not."""
        ...

    def active_by_device_id(self, device_id: str) -> Device | None: ...
    def active_for_customer(self, customer_id: str) -> Device | None: ...
    def for_customer(self, customer_id: str) -> Sequence[Device]: ...


class CertificateRepository(Protocol):
    def add(self, record: CertificateRecord) -> None: ...
    def get(self, serial: str) -> CertificateRecord | None: ...
    def for_customer(self, customer_id: str, *, family: str | None = None,
                     statuses: Sequence[str] | None = None) -> Sequence[CertificateRecord]: ...
    def list(self, *, limit: int = 100, offset: int = 0,
             status: str | None = None) -> Sequence[CertificateRecord]: ...


class FailureRepository(Protocol):
    def add(self, failure: FailureRecord) -> None: ...
    def count_since(self, *, since: datetime, customer_id: str | None = None,
                    device_id: str | None = None) -> int: ...
    def recent(self, *, customer_id: str, limit: int = 50) -> Sequence[FailureRecord]: ...


class BlockRepository(Protocol):
    def add(self, block: Block) -> None: ...
    def active(self, subject_kind: str, subject: str, now: datetime) -> Block | None: ...


class ConstraintViolation(Exception):
    """A database constraint refused a change (raced by another request); ``name`` says which."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class UnitOfWork(Protocol):
    """One transaction. ``commit`` makes everything since the last commit durable at once.

    ``flush`` and ``commit`` raise :class:`ConstraintViolation` when a constraint refuses.
    """

    customers: CustomerRepository
    enrollments: EnrollmentRepository
    codes: VerificationCodeRepository
    devices: DeviceRepository
    certificates: CertificateRepository
    failures: FailureRepository
    blocks: BlockRepository

    def flush(self) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
