"""SQLAlchemy implementations of the repositories declared in :mod:`certcenter.ports`.

The statements of the issuance's hot path are *prepared*: built once (on first use, when
the mappers exist) with bound parameters (:func:`_prepared`) and executed with the values.
SQLAlchemy remembers a statement object's cache key, so each execution skips building the
``select`` and computing its key again: that was about a third of a signing's Python time.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from certcenter.entities import (
    AuditCheckpoint,
    AuditEntry,
    Block,
    BrowserDevice,
    BrowserDeviceStatus,
    CertificateCopy,
    CertificateRecord,
    CertificateStatus,
    CloudAccount,
    CloudAccountStatus,
    CmpState,
    CmpTransaction,
    CrlDistributionPoint,
    CrlRecord,
    Customer,
    Device,
    DeviceChallenge,
    DeviceStatus,
    Enrollment,
    FactorChallenge,
    FactorCounter,
    FailureRecord,
    FinancialEnrollment,
    FinancialReverification,
    JointRegistration,
    KeyGeneration,
    LostPhoneReport,
    MessageStatus,
    OcspCacheEntry,
    Operator,
    OtherJointCertificate,
    OtpToken,
    OtpTokenStatus,
    OutboxMessage,
    SecurityCard,
    SecurityCardStatus,
    SignedDocument,
    SigningActivation,
    Transfer,
    TransferRequestKey,
    VerificationCode,
    WebApproval,
    new_id,
)
from certcenter.entities import (
    Session as LoginSession,
)
from certcenter.ports import ConstraintViolationError, SmsWindows
from certcenter.storage import tables


def _prepared(build: Callable[[], Any]) -> Callable[[], Any]:
    """``build()`` once, on first use: a statement with bound parameters (see the module)."""
    return functools.cache(build)


def _p(name: str) -> BindParameter[Any]:
    return bindparam(name)


@_prepared
def _customer_locked() -> Any:
    return select(Customer).where(tables.customers.c.id == _p("id")).with_for_update()


@_prepared
def _customer_number() -> Any:
    c = tables.customers.c
    return select(c.customer_number).where(c.id == _p("id"))


@_prepared
def _enrollment() -> Any:
    return select(Enrollment).where(tables.enrollments.c.id == _p("id"))


@_prepared
def _enrollment_locked() -> Any:
    return _enrollment().with_for_update().execution_options(populate_existing=True)


@_prepared
def _certificate_locked() -> Any:
    return (
        select(CertificateRecord)
        .where(tables.certificates.c.serial == _p("serial"))
        .with_for_update()
        .execution_options(populate_existing=True)
    )


@_prepared
def _certificate_use() -> Any:
    c = tables.certificates.c
    d = tables.devices.c
    device_active = exists().where(
        d.id == _p("k_device"),
        d.device_id == _p("k_device_id"),
        d.status == DeviceStatus.ACTIVE.value,
    )
    return (
        update(tables.certificates)
        .where(
            c.serial == _p("k_serial"),
            c.status == CertificateStatus.ACTIVE.value,
            c.not_after > _p("k_now"),
            device_active,
        )
        .values(last_used_at=_p("k_now"))
        .returning(c.serial)
    )


@_prepared
def _session_insert() -> Any:
    return insert(tables.sessions)


@_prepared
def _key_lock() -> Any:
    return select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))


@_prepared
def _certificates_of_key() -> Any:
    t = tables.certificates.c
    return select(CertificateRecord).where(
        t.public_key_sha256 == _p("digest"), t.status != "abandoned"
    )


@functools.cache
def _certificates_of_customer(family: bool, statuses: bool) -> Any:
    t = tables.certificates.c
    query = select(CertificateRecord).where(t.customer_id == _p("customer_id"))
    if family:
        query = query.where(t.family == _p("family"))
    if statuses:
        query = query.where(t.status.in_(bindparam("statuses", expanding=True)))
    return query.order_by(t.created_at)


@_prepared
def _device_registration() -> Any:
    t = tables.devices.c
    return (
        select(Device)
        .where(t.customer_id == _p("customer_id"), t.device_id == _p("device_id"))
        .order_by(t.registered_at.desc())
        .limit(1)
    )


@_prepared
def _devices_near() -> Any:
    t = tables.devices.c
    return select(Device).where(
        or_(t.customer_id == _p("customer_id"), t.device_id == _p("device_id"))
    )


@_prepared
def _device_active_by_id() -> Any:
    t = tables.devices.c
    return select(Device).where(
        t.device_id == _p("device_id"), t.status == DeviceStatus.ACTIVE.value
    )


@_prepared
def _device_in_use() -> Any:
    d = tables.devices.c
    c = tables.certificates.c
    return (
        select(Device, CertificateRecord, Customer)
        .join(CertificateRecord, (c.customer_id == d.customer_id) & (c.device_id == d.device_id))
        .join(Customer, tables.customers.c.id == d.customer_id)
        .where(
            d.device_id == _p("device_id"),
            d.status == DeviceStatus.ACTIVE.value,
            c.family == _p("family"),
            c.status.in_([CertificateStatus.ACTIVE.value, CertificateStatus.SUSPENDED.value]),
        )
        .order_by(c.created_at)
        .limit(1)
    )


@_prepared
def _device_active_of_customer() -> Any:
    t = tables.devices.c
    return select(Device).where(
        t.customer_id == _p("customer_id"), t.status == DeviceStatus.ACTIVE.value
    )


@functools.cache
def _blocks_of(count: int) -> Any:
    t = tables.blocks.c
    return select(Block).where(
        or_(*(and_(t.subject_kind == _p(f"k{i}"), t.subject == _p(f"s{i}")) for i in range(count))),
        t.blocked_until > _p("now"),
    )


@_prepared
def _crl_point_until() -> Any:
    c = tables.crl_distribution_points.c
    return select(c.until).where(
        c.family == _p("family"), c.shard == _p("shard"), c.url == _p("url")
    )


@functools.cache
def _audit_insert(dialect: str) -> Any:
    t = tables.audit_log
    number: Any
    if dialect == "postgresql":
        number = func.nextval(tables.AUDIT_SEQUENCE)
    else:  # SQLite: the one writer takes the next number
        number = select(func.coalesce(func.max(t.c.seq), 0) + 1).scalar_subquery()
    return insert(t).values(seq=number).returning(t.c.seq)


_AUDIT_COLUMNS = tuple(c.name for c in tables.audit_log.columns if c.name != "seq")


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _loaded(self, entity: type[Any], ident: Any) -> Any:
        """The object of ``entity`` with primary key ``ident`` when this unit of work has it
        loaded already, else None — without a query (``Session.get`` would load it)."""
        return self.session.identity_map.get(Session.identity_key(entity, ident))

    def _written(self, entity: type[Any], ident: Any, **values: Any) -> None:
        """What a statement just wrote to a row, set on its object where this unit of work
        has it loaded: as the row's own state, not a change to flush, and without reading
        the row again (as ``Session.refresh`` would)."""
        cached = self._loaded(entity, ident)
        if cached is not None:
            for name, value in values.items():
                set_committed_value(cached, name, value)

    def _delete_expired(
        self, entity: type[Any], table: Table, expired: ColumnElement[bool], limit: int
    ) -> int:
        """Delete up to ``limit`` rows of ``table`` (mapped to ``entity``, keyed by ``id``)
        that are ``expired`` (a condition on the indexed ``expires_at``); how many."""
        ids = list(self.session.execute(select(table.c.id).where(expired).limit(limit)).scalars())
        if not ids:
            return 0
        for ident in ids:
            cached = self._loaded(entity, ident)
            if cached is not None:
                self.session.expunge(cached)
        self.session.execute(delete(table).where(table.c.id.in_(ids), expired))
        return len(ids)


class SqlCustomers(_Repository):
    def add(self, customer: Customer) -> None:
        self.session.add(customer)

    def get(self, customer_id: str, *, for_update: bool = False) -> Customer | None:
        if not for_update:  # one already read in this unit of work is not read again
            return self.session.get(Customer, customer_id)
        return self.session.scalars(_customer_locked(), {"id": customer_id}).one_or_none()

    def number_of(self, customer_id: str) -> str | None:
        held = self._loaded(Customer, customer_id)
        if held is not None:
            return str(held.customer_number)
        number = self.session.execute(_customer_number(), {"id": customer_id}).scalar()
        return None if number is None else str(number)

    def by_ci(self, ci: str) -> Customer | None:
        return self.session.scalars(
            select(Customer).where(tables.customers.c.ci == ci)
        ).one_or_none()

    def by_number(self, customer_number: str) -> Customer | None:
        return self.session.scalars(
            select(Customer).where(tables.customers.c.customer_number == customer_number)
        ).one_or_none()

    def by_user_id(self, user_id: str) -> Customer | None:
        return self.session.scalars(
            select(Customer).where(tables.customers.c.user_id == user_id)
        ).one_or_none()

    def list(self, *, limit: int = 100, offset: int = 0) -> Sequence[Customer]:
        return self.session.scalars(
            select(Customer)
            .order_by(tables.customers.c.customer_number)
            .limit(limit)
            .offset(offset)
        ).all()

    def search(self, text: str, *, limit: int = 50) -> Sequence[Customer]:
        t = tables.customers.c
        digits = "".join(ch for ch in text if ch.isdigit())
        # LIKE's wildcards in what was typed are matched as themselves
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = "%" + escaped + "%"
        conditions = [t.customer_number == text.upper(), t.name.like(pattern, escape="\\")]
        if len(digits) >= 10:
            conditions.append(t.phone == digits)
        return self.session.scalars(
            select(Customer).where(or_(*conditions)).order_by(t.customer_number).limit(limit)
        ).all()


class SqlEnrollments(_Repository):
    def add(self, enrollment: Enrollment) -> None:
        self.session.add(enrollment)

    def get(self, enrollment_id: str, *, for_update: bool = False) -> Enrollment | None:
        if not for_update:  # one already read in this unit of work is not read again
            return self.session.get(Enrollment, enrollment_id)
        return self.session.scalars(_enrollment_locked(), {"id": enrollment_id}).one_or_none()


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
        self._written(VerificationCode, code_id, tries=int(tries))
        return int(tries)

    def consume(self, code_id: str, at: datetime) -> bool:
        t = tables.verification_codes
        done = self.session.execute(
            update(t)
            .where(t.c.id == code_id, t.c.consumed_at.is_(None))
            .values(consumed_at=at)
            .returning(t.c.id)
        ).first()
        if done is None:
            self._refresh(code_id)  # another request's use: read what it wrote
        else:
            self._written(VerificationCode, code_id, consumed_at=at)
        return done is not None

    def _refresh(self, code_id: str) -> None:
        cached = self._loaded(VerificationCode, code_id)
        if cached is not None:
            self.session.refresh(cached)


class SqlDevices(_Repository):
    def add(self, device: Device) -> None:
        self.session.add(device)

    def registration(self, customer_id: str, device_id: str) -> Device | None:
        return self.session.scalars(
            _device_registration(), {"customer_id": customer_id, "device_id": device_id}
        ).first()

    def active_by_device_id(self, device_id: str) -> Device | None:
        return self.session.scalars(_device_active_by_id(), {"device_id": device_id}).one_or_none()

    def in_use(
        self, device_id: str, family: str
    ) -> tuple[Device, CertificateRecord, Customer] | None:
        """The registered device, its customer's usable (active or suspended) certificate of
        ``family`` on it (the oldest, when there were ever two) and the customer: one read,
        with all three in the unit of work. None when any of them is missing."""
        found = self.session.execute(
            _device_in_use(), {"device_id": device_id, "family": family}
        ).first()
        return None if found is None else (found[0], found[1], found[2])

    def latest_by_device_id(self, device_id: str) -> Device | None:
        t = tables.devices.c
        return self.session.scalars(
            select(Device).where(t.device_id == device_id).order_by(t.registered_at.desc()).limit(1)
        ).first()

    def active_for_customer(self, customer_id: str) -> Device | None:
        return self.session.scalars(
            _device_active_of_customer(), {"customer_id": customer_id}
        ).one_or_none()

    def near(self, customer_id: str, device_id: str) -> Sequence[Device]:
        return self.session.scalars(
            _devices_near(), {"customer_id": customer_id, "device_id": device_id}
        ).all()

    def for_customer(self, customer_id: str) -> Sequence[Device]:
        t = tables.devices.c
        return self.session.scalars(
            select(Device).where(t.customer_id == customer_id).order_by(t.registered_at)
        ).all()


class SqlCertificates(_Repository):
    def add(self, record: CertificateRecord) -> None:
        self.session.add(record)

    def get(self, serial: str, *, for_update: bool = False) -> CertificateRecord | None:
        if not for_update:
            return self.session.get(CertificateRecord, serial)
        return self.session.scalars(_certificate_locked(), {"serial": serial}).one_or_none()

    def mark_used(self, serial: str, *, device: str, device_id: str, now: datetime) -> bool:
        """Stamp the certificate's last use at ``now`` when it is active and within its
        validity and ``device`` (the row; ``device_id``, the phone's) is still registered:
        one guarded statement, which takes the certificate's row lock as a read for update
        would. False, with nothing written, when any of that no longer holds."""
        values = {"k_serial": serial, "k_device": device, "k_device_id": device_id, "k_now": now}
        return self.session.execute(_certificate_use(), values).first() is not None

    def pending_before(self, cutoff: datetime, *, limit: int = 500) -> Sequence[CertificateRecord]:
        t = tables.certificates.c
        return self.session.scalars(
            select(CertificateRecord)
            .where(t.status == CertificateStatus.PENDING.value, t.created_at < cutoff)
            .order_by(t.created_at)
            .limit(limit)
        ).all()

    def expired(self, now: datetime, *, limit: int = 500) -> Sequence[CertificateRecord]:
        t = tables.certificates.c
        # One state at a time: each is one ordered range of ix_certificates_status_not_after
        # that stops at the limit. With both states in one IN, PostgreSQL misjudged how many
        # usable certificates have ended (it multiplies the two conditions' shares) and read
        # the whole table.
        found: list[CertificateRecord] = []
        for status in (CertificateStatus.ACTIVE.value, CertificateStatus.SUSPENDED.value):
            found += self.session.scalars(
                select(CertificateRecord)
                .where(t.status == status, t.not_after <= now)
                .order_by(t.not_after)
                .limit(limit)
            ).all()
        return sorted(found, key=lambda record: record.not_after)[:limit]

    def unused_since(self, cutoff: datetime, *, limit: int = 500) -> Sequence[CertificateRecord]:
        t = tables.certificates.c
        last = func.coalesce(t.last_used_at, t.issued_at)
        return self.session.scalars(
            select(CertificateRecord)
            .where(t.status == CertificateStatus.ACTIVE.value, last <= cutoff)
            .order_by(last)
            .limit(limit)
        ).all()

    def renewal_due(
        self, now: datetime, window: timedelta, *, limit: int = 500
    ) -> Sequence[CertificateRecord]:
        t = tables.certificates.c
        # last_used_at >= not_after - window, written as not_after <= last_used_at + window
        # would need interval arithmetic that differs by database: compare in Python instead,
        # over the (few) certificates used recently enough to possibly qualify.
        candidates = self.session.scalars(
            select(CertificateRecord)
            .where(
                t.status == CertificateStatus.ACTIVE.value,
                t.replaced_by.is_(None),
                t.last_used_at.is_not(None),
                t.not_after > now,
                t.not_after <= now + window,
            )
            .order_by(t.not_after)
            .limit(limit)
        ).all()
        return [
            c
            for c in candidates
            if c.last_used_at is not None and c.last_used_at >= c.not_after - window
        ]

    def listed_summary(
        self, family: str, shard: int, issuer_key_label: str | None = None
    ) -> tuple[int, datetime | None]:
        t = tables.certificates.c
        query = select(func.count(), func.max(t.revoked_at)).where(
            t.family == family, t.crl_shard == shard, t.crl_entry.is_not(None)
        )
        if issuer_key_label is not None:
            query = query.where(t.issuer_key_label == issuer_key_label)
        count, newest = self.session.execute(query).one()
        return int(count), newest if newest is None else _aware(newest)

    def listed_entries(
        self, family: str, shard: int, issuer_key_label: str | None = None
    ) -> Iterator[bytes]:
        t = tables.certificates.c
        query = select(t.crl_entry).where(
            t.family == family, t.crl_shard == shard, t.crl_entry.is_not(None)
        )
        if issuer_key_label is not None:  # a family with several CA generations
            query = query.where(t.issuer_key_label == issuer_key_label)
        result = self.session.execute(query.order_by(t.serial).execution_options(yield_per=10_000))
        for (entry,) in result:
            yield bytes(entry)

    def bound_to_key(self, public_key_sha256: str) -> Sequence[CertificateRecord]:
        return self.session.scalars(_certificates_of_key(), {"digest": public_key_sha256}).all()

    def lock_key(self, public_key_sha256: str) -> None:
        if self.session.get_bind().dialect.name != "postgresql":
            return  # SQLite: every transaction holds the database's write lock already
        key = int.from_bytes(bytes.fromhex(public_key_sha256)[:8], "big", signed=True)
        self.session.execute(_key_lock(), {"key": key})

    def for_customer(
        self,
        customer_id: str,
        *,
        family: str | None = None,
        statuses: Sequence[str] | None = None,
    ) -> Sequence[CertificateRecord]:
        values: dict[str, Any] = {"customer_id": customer_id}
        if family is not None:
            values["family"] = family
        if statuses is not None:
            values["statuses"] = list(statuses)
        query = _certificates_of_customer(family is not None, statuses is not None)
        return self.session.scalars(query, values).all()

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


def _failures_since(
    since: datetime,
    customer_id: str | None,
    device_id: str | None,
    client_ip: str | None,
    excluding: Collection[str],
) -> Select[Any]:
    """``SELECT count(*)`` of the failures since ``since`` of the subjects given."""
    t = tables.failures.c
    query = select(func.count()).select_from(tables.failures).where(t.at >= since)
    if excluding:
        query = query.where(t.code.not_in(sorted(excluding)))
    if customer_id is not None:
        query = query.where(t.customer_id == customer_id)
    if device_id is not None:
        query = query.where(t.device_id == device_id)
    if client_ip is not None:
        query = query.where(t.client_ip == client_ip)
    return query


class SqlFailures(_Repository):
    def add(self, failure: FailureRecord) -> None:
        self.session.add(failure)

    def count_since(
        self,
        *,
        since: datetime,
        customer_id: str | None = None,
        device_id: str | None = None,
        client_ip: str | None = None,
        excluding: Collection[str] = (),
    ) -> int:
        query = _failures_since(since, customer_id, device_id, client_ip, excluding)
        return int(self.session.execute(query).scalar_one())

    def lock_subject(self, subject_kind: str, subject: str, now: datetime) -> None:
        t = tables.failure_subjects
        make = _insert_for(self.session)
        insert = make(t).values(
            subject_kind=subject_kind, subject=subject, failures=1, updated_at=now
        )
        self.session.execute(
            insert.on_conflict_do_update(
                index_elements=[t.c.subject_kind, t.c.subject],
                set_={"failures": t.c.failures + 1, "updated_at": now},
            )
        )

    def reserve_guess(
        self,
        *,
        customer_id: str,
        enrollment_id: str,
        since: datetime,
        live_since: datetime,
        limit: int,
        now: datetime,
        excluding: Collection[str] = (),
    ) -> bool:
        self.lock_subject("customer", customer_id, now)
        r = tables.failure_reservations
        self.session.execute(delete(r).where(r.c.customer_id == customer_id, r.c.at < live_since))
        # the window's failures and the guesses in flight, in one statement
        failed = _failures_since(since, customer_id, None, None, excluding).scalar_subquery()
        in_flight = (
            select(func.count())
            .select_from(r)
            .where(r.c.customer_id == customer_id)
            .scalar_subquery()
        )
        if int(self.session.execute(select(failed + in_flight)).scalar_one()) >= limit:
            return False
        self.session.execute(
            r.insert().values(
                id=new_id(), customer_id=customer_id, enrollment_id=enrollment_id, at=now
            )
        )
        return True

    def settle_guesses(self, enrollment_id: str) -> None:
        r = tables.failure_reservations
        self.session.execute(delete(r).where(r.c.enrollment_id == enrollment_id))

    def mark(self, failure_id: str, subject_kind: str, subject: str, at: datetime) -> None:
        self.session.execute(
            tables.failure_marks.insert().values(
                id=new_id(),
                failure_id=failure_id,
                subject_kind=subject_kind,
                subject=subject,
                at=at,
            )
        )

    def count_marked_since(self, subject_kind: str, subject: str, *, since: datetime) -> int:
        m = tables.failure_marks.c
        query = (
            select(func.count())
            .select_from(tables.failure_marks)
            .where(m.subject_kind == subject_kind, m.subject == subject, m.at >= since)
        )
        return int(self.session.execute(query).scalar_one())

    def unmark(self, failure_id: str) -> None:
        m = tables.failure_marks
        self.session.execute(delete(m).where(m.c.failure_id == failure_id))

    def marked(
        self, subject_kind: str, subject: str, *, since: datetime, limit: int = 200
    ) -> Sequence[FailureRecord]:
        t = tables.failures.c
        m = tables.failure_marks.c
        linked = select(m.failure_id).where(
            m.subject_kind == subject_kind, m.subject == subject, m.at >= since
        )
        return self.session.scalars(
            select(FailureRecord).where(t.id.in_(linked)).order_by(t.at.desc()).limit(limit)
        ).all()

    def recent(self, *, customer_id: str, limit: int = 50) -> Sequence[FailureRecord]:
        t = tables.failures.c
        return self.session.scalars(
            select(FailureRecord)
            .where(t.customer_id == customer_id)
            .order_by(t.at.desc())
            .limit(limit)
        ).all()


class SqlSmsBudget(_Repository):
    def lock(self, subject_kind: str, subject: str, now: datetime) -> datetime | None:
        t = tables.sms_subjects
        last = self.session.execute(
            _insert_for(self.session)(t)
            .values(subject_kind=subject_kind, subject=subject, last_sent_at=None, updated_at=now)
            .on_conflict_do_update(
                index_elements=[t.c.subject_kind, t.c.subject], set_={"updated_at": now}
            )
            .returning(t.c.last_sent_at)
        ).scalar_one()
        return None if last is None else _aware(last)

    def latest_over(
        self,
        subject_kind: str,
        subject: str,
        windows: Sequence[tuple[datetime, int]],
        *,
        forget_before: datetime | None = None,
    ) -> SmsWindows:
        """Counted in the database (one ``count`` per window over the subject's index, and
        one of the sends to forget), so no send is loaded unless a window is full; then the
        one send asked for."""
        s = tables.sms_sends.c
        mine = (s.subject_kind == subject_kind, s.subject == subject)
        counted = [func.count().filter(s.at > since) for since, _ in windows]
        if forget_before is not None:
            counted.append(func.count().filter(s.at <= forget_before))
        if not counted:
            return SmsWindows([], False)
        counts = self.session.execute(select(*counted).where(*mine)).one()
        full: list[datetime | None] = []
        for (since, limit), count in zip(windows, counts, strict=False):
            if count < limit:
                full.append(None)
                continue
            at = self.session.execute(
                select(s.at)
                .where(*mine, s.at > since)
                .order_by(s.at.desc())
                .limit(1)
                .offset(limit - 1)
            ).scalar_one()
            full.append(_aware(at))
        return SmsWindows(full, forget_before is not None and counts[-1] > 0)

    def record(
        self, subject_kind: str, subject: str, at: datetime, forget_before: datetime | None
    ) -> None:
        s = tables.sms_sends
        if forget_before is not None:
            self.session.execute(
                delete(s).where(
                    s.c.subject_kind == subject_kind,
                    s.c.subject == subject,
                    s.c.at <= forget_before,
                )
            )
        self.session.execute(
            s.insert().values(id=new_id(), subject_kind=subject_kind, subject=subject, at=at)
        )
        t = tables.sms_subjects
        self.session.execute(
            update(t)
            .where(t.c.subject_kind == subject_kind, t.c.subject == subject)
            .values(last_sent_at=at, updated_at=at)
        )


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

    def first_active(self, subjects: Sequence[tuple[str, str]], now: datetime) -> Block | None:
        """The block of the first of ``subjects`` (kind, subject) that is blocked, the one
        that lasts longest where it has several: one statement for all of them."""
        if not subjects:
            return None
        values: dict[str, Any] = {"now": now}
        for i, (kind, subject) in enumerate(subjects):
            values[f"k{i}"] = kind
            values[f"s{i}"] = subject
        found: Sequence[Block] = self.session.scalars(_blocks_of(len(subjects)), values).all()
        for kind, subject in subjects:
            mine = [b for b in found if b.subject_kind == kind and b.subject == subject]
            if mine:
                longest: Block = max(mine, key=lambda b: b.blocked_until)
                return longest
        return None

    def lift(self, subject_kind: str, subject: str, now: datetime) -> int:
        t = tables.blocks
        done = self.session.execute(
            update(t)
            .where(
                t.c.subject_kind == subject_kind, t.c.subject == subject, t.c.blocked_until > now
            )
            .values(blocked_until=now)
            .returning(t.c.id)
        ).all()
        return len(done)


GENESIS_HASH = "0" * 64
_PG_LOCK_NOT_AVAILABLE = "55P03"


def _aware(value: datetime) -> datetime:
    """Aggregates (max) bypass the column type: SQLite gives naive UTC back."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


class SqlAudit(_Repository):
    def _dialect(self) -> str:
        return str(self.session.get_bind().dialect.name)

    def append(self, entry: AuditEntry) -> int:
        values = {name: getattr(entry, name) for name in _AUDIT_COLUMNS}
        seq = self.session.execute(_audit_insert(self._dialect()), values).scalar_one()
        entry.seq = int(seq)
        return entry.seq

    def lock_head(self, *, wait: bool = True) -> tuple[int, str] | None:
        head = tables.audit_head
        query = select(head.c.seq, head.c.entry_hash).where(head.c.id == 1)
        query = query.with_for_update(skip_locked=not wait)
        row = self.session.execute(query).first()
        if row is None:  # the migration seeds it; a wiped table gets it back, race-free
            make = postgresql.insert if self._dialect() == "postgresql" else sqlite.insert
            self.session.execute(
                make(head)
                .values(id=1, seq=0, entry_hash=GENESIS_HASH)
                .on_conflict_do_nothing(index_elements=["id"])
            )
            row = self.session.execute(query).first()
        return None if row is None else (int(row.seq), str(row.entry_hash))

    def take_number(self, entry: AuditEntry, *, wait_seconds: float) -> AuditEntry | None:
        t = tables.audit_log
        postgres = self._dialect() == "postgresql"
        make = postgresql.insert if postgres else sqlite.insert
        values = {c.name: getattr(entry, c.name) for c in t.columns}
        try:
            with self.session.begin_nested():
                if postgres:  # a writer that holds the number: wait for it, not forever
                    millis = max(int(wait_seconds * 1000), 1)
                    self.session.execute(text(f"SET LOCAL lock_timeout = {millis}"))
                self.session.execute(
                    make(t).values(**values).on_conflict_do_nothing(index_elements=["seq"])
                )
                if postgres:
                    self.session.execute(text("SET LOCAL lock_timeout TO DEFAULT"))
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != _PG_LOCK_NOT_AVAILABLE:
                raise
            return None
        return self.session.scalars(
            select(AuditEntry).where(t.c.seq == entry.seq).execution_options(populate_existing=True)
        ).one()

    def seal(self, links: Sequence[tuple[int, str, str]]) -> None:
        if not links:
            return
        t = tables.audit_log
        self.session.execute(
            update(t)
            .where(t.c.seq == bindparam("k_seq"), t.c.entry_hash.is_(None))
            .values(prev_hash=bindparam("k_prev"), entry_hash=bindparam("k_hash")),
            [{"k_seq": seq, "k_prev": prev, "k_hash": hash_} for seq, prev, hash_ in links],
        )

    def move_head(self, seq: int, entry_hash: str) -> None:
        self.session.execute(
            update(tables.audit_head)
            .where(tables.audit_head.c.id == 1)
            .values(seq=seq, entry_hash=entry_hash)
        )

    def sealed_hashes(self, *, after_seq: int, up_to: int) -> Sequence[tuple[int, str | None]]:
        t = tables.audit_log.c
        rows = self.session.execute(
            select(t.seq, t.entry_hash).where(t.seq > after_seq, t.seq <= up_to).order_by(t.seq)
        ).all()
        return [(int(row.seq), row.entry_hash) for row in rows]

    def entries(self, *, after_seq: int = 0, limit: int = 1000) -> Sequence[AuditEntry]:
        t = tables.audit_log.c
        return self.session.scalars(
            select(AuditEntry)
            .where(t.seq > after_seq)
            .order_by(t.seq)
            .limit(limit)
            .execution_options(populate_existing=True)
        ).all()

    def for_subject(
        self, subject_kind: str, subject: str, *, limit: int = 100
    ) -> Sequence[AuditEntry]:
        t = tables.audit_log.c
        return self.session.scalars(
            select(AuditEntry)
            .where(t.subject_kind == subject_kind, t.subject == subject)
            .order_by(t.seq.desc())
            .limit(limit)
        ).all()

    def head(self) -> tuple[int, str]:
        head = tables.audit_head
        row = self.session.execute(
            select(head.c.seq, head.c.entry_hash).where(head.c.id == 1)
        ).first()
        return (0, GENESIS_HASH) if row is None else (int(row.seq), str(row.entry_hash))

    def add_checkpoint(self, checkpoint: AuditCheckpoint) -> None:
        self.session.add(checkpoint)

    def last_checkpoint(self) -> AuditCheckpoint | None:
        t = tables.audit_checkpoints.c
        return self.session.scalars(select(AuditCheckpoint).order_by(t.seq.desc()).limit(1)).first()

    def checkpoints(self, *, after_seq: int = 0, limit: int = 1000) -> Sequence[AuditCheckpoint]:
        t = tables.audit_checkpoints.c
        return self.session.scalars(
            select(AuditCheckpoint).where(t.seq > after_seq).order_by(t.seq).limit(limit)
        ).all()


class SqlHealth(_Repository):
    def beat(self, probe: str, at: datetime) -> None:
        probes = tables.health_probes
        changed = self.session.execute(update(probes).where(probes.c.name == probe).values(at=at))
        if not getattr(changed, "rowcount", 0):
            dialect = self.session.get_bind().dialect.name
            make = postgresql.insert if dialect == "postgresql" else sqlite.insert
            self.session.execute(
                make(probes)
                .values(name=probe, at=at)
                .on_conflict_do_update(index_elements=["name"], set_={"at": at})
            )


class SqlOutbox(_Repository):
    def add(self, message: OutboxMessage) -> None:
        self.session.add(message)

    def get(self, message_id: str) -> OutboxMessage | None:
        return self.session.get(OutboxMessage, message_id)

    def claim_due(self, now: datetime, *, limit: int = 50) -> Sequence[OutboxMessage]:
        t = tables.outbox.c
        return self.session.scalars(
            select(OutboxMessage)
            .where(t.status == MessageStatus.PENDING.value, t.next_attempt_at <= now)
            .order_by(t.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()

    def for_customer(self, customer_id: str, *, limit: int = 50) -> Sequence[OutboxMessage]:
        t = tables.outbox.c
        return self.session.scalars(
            select(OutboxMessage)
            .where(t.customer_id == customer_id)
            .order_by(t.created_at.desc())
            .limit(limit)
        ).all()


class SqlOperators(_Repository):
    def add(self, operator: Operator) -> None:
        self.session.add(operator)

    def by_token_hash(self, token_hash: str) -> Operator | None:
        return self.session.scalars(
            select(Operator).where(tables.operators.c.token_hash == token_hash)
        ).one_or_none()

    def by_name(self, name: str) -> Operator | None:
        return self.session.scalars(
            select(Operator).where(tables.operators.c.name == name)
        ).one_or_none()

    def list(self) -> Sequence[Operator]:
        return self.session.scalars(select(Operator).order_by(tables.operators.c.name)).all()


class SqlCrls(_Repository):
    def latest(
        self, family: str, shard: int, distribution_point: str | None = None
    ) -> CrlRecord | None:
        t = tables.crls.c
        query = select(CrlRecord).where(t.family == family, t.shard == shard)
        if distribution_point is not None:
            query = query.where(t.distribution_point == distribution_point)
        return self.session.scalars(query.order_by(t.number.desc()).limit(1)).first()

    def add(self, record: CrlRecord) -> None:
        self.session.add(record)

    def prune(self, family: str, shard: int, *, keep_after: int) -> int:
        t = tables.crls
        done = self.session.execute(
            delete(t)
            .where(t.c.family == family, t.c.shard == shard, t.c.number <= keep_after)
            .returning(t.c.number)
        ).all()
        return len(done)

    def lock_partition(self, family: str, shard: int) -> None:
        if self.session.get_bind().dialect.name != "postgresql":
            return  # SQLite: every transaction holds the database's write lock already
        name = f"certcenter.crl {family} {shard}".encode()
        key = int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)
        self.session.execute(select(func.pg_advisory_xact_lock(key)))

    def lock_numbering(self, family: str, shard: int) -> int:
        t = tables.crls.c
        # Lock the partition's newest row (if any); on SQLite the write lock is already held.
        newest = self.session.execute(
            select(t.number)
            .where(t.family == family, t.shard == shard)
            .order_by(t.number.desc())
            .limit(1)
            .with_for_update()
        ).scalar()
        return 1 if newest is None else int(newest) + 1


class SqlCrlPoints(_Repository):
    """The CRL distribution points certificates name (``tables.crl_distribution_points``)."""

    def record(self, point: CrlDistributionPoint) -> None:
        t = tables.crl_distribution_points
        c = t.c
        until = self.session.execute(
            _crl_point_until(), {"family": point.family, "shard": point.shard, "url": point.url}
        ).scalar()
        if until is not None and _aware(until) >= point.until:
            return  # the usual case, a read: no row lock, issuances do not wait on each other
        dialect = self.session.get_bind().dialect.name
        values = {
            "family": point.family,
            "shard": point.shard,
            "url": point.url,
            "until": point.until,
            "first_used_at": point.first_used_at,
        }
        upsert: Any = postgresql.insert(t) if dialect == "postgresql" else sqlite.insert(t)
        upsert = upsert.values(**values)
        self.session.execute(
            upsert.on_conflict_do_update(
                index_elements=[c.family, c.shard, c.url],
                set_={"until": upsert.excluded.until},
                where=c.until < upsert.excluded.until,
            )
        )

    def in_use(self, family: str, now: datetime) -> list[CrlDistributionPoint]:
        c = tables.crl_distribution_points.c
        rows = self.session.execute(
            select(c.family, c.shard, c.url, c.until, c.first_used_at)
            .where(c.family == family, c.until > now)
            .order_by(c.shard, c.first_used_at, c.url)
        )
        return [
            CrlDistributionPoint(
                family=str(f),
                shard=int(s),
                url=str(u),
                until=_aware(until),
                first_used_at=_aware(first),
            )
            for f, s, u, until, first in rows
        ]


class SqlOcspCache(_Repository):
    """Stored OCSP responses and the numbered log of status changes (see
    ``tables.ocsp_state``). ``changed`` is told each serial invalidated here (the unit of
    work tells its watchers once the change has committed)."""

    def __init__(self, session: Session, changed: Callable[[str], None] | None = None) -> None:
        super().__init__(session)
        self._changed = changed

    def get(self, serial: str, hash_algorithm: str = "sha1") -> OcspCacheEntry | None:
        return self.session.get(OcspCacheEntry, (serial, hash_algorithm))

    def put(self, entry: OcspCacheEntry) -> None:
        self.session.merge(entry)

    def due(self, before: datetime, *, limit: int = 500) -> Sequence[OcspCacheEntry]:
        t = tables.ocsp_responses.c
        return self.session.scalars(
            select(OcspCacheEntry)
            .where(t.next_update <= before)
            .order_by(t.next_update)
            .limit(limit)
        ).all()

    def invalidate(self, serial: str) -> None:
        for cached in list(self.session.identity_map.values()):
            if isinstance(cached, OcspCacheEntry) and cached.serial == serial:
                self.session.expunge(cached)
        self.session.execute(
            delete(tables.ocsp_responses).where(tables.ocsp_responses.c.serial == serial)
        )
        state = tables.ocsp_state.c
        # The row lock taken here orders the changing transactions: numbers commit in order.
        bumped = self.session.execute(
            update(tables.ocsp_state).where(state.id == 1).values(version=state.version + 1)
        )
        if getattr(bumped, "rowcount", 1) == 0:  # a schema without the seeded row
            self.session.execute(insert(tables.ocsp_state).values(id=1, version=1))
        version = self.session.execute(select(state.version).where(state.id == 1)).scalar_one()
        self.session.execute(insert(tables.ocsp_changes).values(version=version, serial=serial))
        if self._changed is not None:
            self._changed(serial)

    def version(self) -> int:
        state = tables.ocsp_state.c
        found = self.session.execute(select(state.version).where(state.id == 1)).scalar()
        return int(found or 0)

    def changed_since(self, version: int, *, limit: int = 1000) -> Sequence[tuple[int, str]]:
        t = tables.ocsp_changes.c
        rows = self.session.execute(
            select(t.version, t.serial).where(t.version > version).order_by(t.version).limit(limit)
        )
        return [(int(number), str(serial)) for number, serial in rows]

    def prune_changes(self, keep: int) -> int:
        newest = self.version()
        pruned = self.session.execute(
            delete(tables.ocsp_changes).where(tables.ocsp_changes.c.version <= newest - keep)
        )
        return int(getattr(pruned, "rowcount", 0) or 0)


_CHALLENGE_COLUMNS = tuple(c.name for c in tables.device_challenges.columns)


@functools.cache
def _challenge_use(dialect: str) -> Any:
    t = tables.device_challenges
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return make(t).on_conflict_do_nothing(index_elements=[t.c.challenge]).returning(t.c.id)


class SqlChallenges(_Repository):
    def use(self, challenge: DeviceChallenge) -> bool:
        """Record the challenge's one use: insert its row unless a row of the same value is
        there (``ON CONFLICT DO NOTHING`` on the unique value; on PostgreSQL a concurrent
        insert of it is waited for). False when it was used before."""
        values = {name: getattr(challenge, name) for name in _CHALLENGE_COLUMNS}
        dialect = self.session.get_bind().dialect.name
        return self.session.execute(_challenge_use(dialect), values).first() is not None

    def purge_expired(self, before: datetime, *, limit: int = 500) -> int:
        """Delete up to ``limit`` challenges that expired before ``before``, used or not (an
        expired challenge can never be taken again); how many were deleted."""
        t = tables.device_challenges
        return self._delete_expired(DeviceChallenge, t, t.c.expires_at < before, limit)


class SqlFactorCounters(_Repository):
    def get(self, customer_id: str, factor: str) -> FactorCounter | None:
        return self.session.get(FactorCounter, (customer_id, factor))

    def lock(self, customer_id: str, factor: str, now: datetime) -> None:
        t = tables.factor_counters
        self.session.execute(
            update(t)
            .where(t.c.customer_id == customer_id, t.c.factor == factor, t.c.locked_at.is_(None))
            .values(locked_at=now, updated_at=now)
        )
        self._refresh(customer_id, factor)

    def reset(self, customer_id: str, factor: str, now: datetime) -> None:
        t = tables.factor_counters
        self.session.execute(
            update(t)
            .where(t.c.customer_id == customer_id, t.c.factor == factor)
            .values(failures=0, locked_at=None, updated_at=now)
        )
        self._written(
            FactorCounter, (customer_id, factor), failures=0, locked_at=None, updated_at=now
        )

    def reserve_attempt(
        self, customer_id: str, factor: str, max_failures: int, now: datetime
    ) -> int | None:
        """One statement: the counter is created at its first try, or counted up while it is
        under ``max_failures`` and not locked (``INSERT … ON CONFLICT DO UPDATE … WHERE …
        RETURNING``; a concurrent try waits for the row and then sees its count)."""
        failures = self.session.execute(
            _attempt_counted(self.session.get_bind().dialect.name),
            {"customer_id": customer_id, "factor": factor, "now": now, "limit": max_failures},
        ).scalar_one_or_none()
        if failures is None:
            self._refresh(customer_id, factor)  # refused: read the count and the lock
        else:
            self._written(
                FactorCounter, (customer_id, factor), failures=int(failures), updated_at=now
            )
        return None if failures is None else int(failures)

    def release_attempt(self, customer_id: str, factor: str, now: datetime) -> None:
        t = tables.factor_counters
        self.session.execute(
            update(t)
            .where(t.c.customer_id == customer_id, t.c.factor == factor, t.c.failures > 0)
            .values(failures=t.c.failures - 1, updated_at=now)
        )
        self._refresh(customer_id, factor)

    def for_customer(self, customer_id: str) -> Sequence[FactorCounter]:
        return self.session.scalars(
            select(FactorCounter)
            .where(tables.factor_counters.c.customer_id == customer_id)
            .order_by(tables.factor_counters.c.factor)
        ).all()

    def _refresh(self, customer_id: str, factor: str) -> None:
        cached = self._loaded(FactorCounter, (customer_id, factor))
        if cached is not None:
            self.session.refresh(cached)


@functools.cache
def _attempt_counted(dialect: str) -> Any:
    """The try counted by :meth:`SqlFactorCounters.reserve_attempt`, per dialect."""
    t = tables.factor_counters
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    first = make(t).values(
        customer_id=_p("customer_id"), factor=_p("factor"), failures=1, updated_at=_p("now")
    )
    return first.on_conflict_do_update(
        index_elements=[t.c.customer_id, t.c.factor],
        set_={"failures": t.c.failures + 1, "updated_at": first.excluded.updated_at},
        where=(t.c.failures < _p("limit")) & t.c.locked_at.is_(None),
    ).returning(t.c.failures)


def _insert_for(session: Session) -> type[postgresql.Insert] | type[sqlite.Insert]:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert  # type: ignore[return-value]


_SESSION_COLUMNS = tuple(c.name for c in tables.sessions.columns)


class SqlSessions(_Repository):
    def add(self, session: LoginSession) -> None:
        """Insert the new session at once, as one prepared statement (its object stays
        detached: the unit of work has nothing of it left to flush)."""
        values = {name: getattr(session, name) for name in _SESSION_COLUMNS}
        self.session.execute(_session_insert(), values)

    def by_token_hash(self, token_hash: str) -> LoginSession | None:
        return self.session.scalars(
            select(LoginSession).where(tables.sessions.c.token_hash == token_hash)
        ).one_or_none()

    def touch(self, session_id: str, now: datetime, idle_since: datetime) -> bool:
        t = tables.sessions
        done = self.session.execute(
            update(t)
            .where(
                t.c.id == session_id,
                t.c.ended_at.is_(None),
                t.c.last_seen_at > idle_since,
                t.c.expires_at > now,
            )
            .values(last_seen_at=now)
            .returning(t.c.id)
        ).first()
        if done is None:
            self._refresh(session_id)  # ended, idle or expired: read which
        else:
            self._written(LoginSession, session_id, last_seen_at=now)
        return done is not None

    def end(self, session_id: str, now: datetime) -> None:
        t = tables.sessions
        self.session.execute(
            update(t).where(t.c.id == session_id, t.c.ended_at.is_(None)).values(ended_at=now)
        )
        self._refresh(session_id)

    def end_for_device(self, device_id: str, now: datetime, reason: str) -> int:
        return self._end_where(tables.sessions.c.device_id == device_id, now, reason)

    def end_for_certificate(self, serial: str, now: datetime, reason: str) -> int:
        return self._end_where(tables.sessions.c.certificate_serial == serial, now, reason)

    def _end_where(self, condition: ColumnElement[bool], now: datetime, reason: str) -> int:
        t = tables.sessions
        ended = self.session.execute(
            update(t)
            .where(condition, t.c.ended_at.is_(None))
            .values(ended_at=now, ended_reason=reason[:30])
            .returning(t.c.id)
        ).all()
        for (session_id,) in ended:
            self._refresh(session_id)
        return len(ended)

    def _refresh(self, session_id: str) -> None:
        cached = self._loaded(LoginSession, session_id)
        if cached is not None:
            self.session.refresh(cached)


class SqlFactorChallenges(_Repository):
    def add(self, challenge: FactorChallenge) -> None:
        self.session.add(challenge)

    def get(self, challenge_id: str) -> FactorChallenge | None:
        return self.session.get(FactorChallenge, challenge_id)

    def for_subject(self, subject: str, factor: str) -> Sequence[FactorChallenge]:
        t = tables.factor_challenges
        return self.session.scalars(
            select(FactorChallenge)
            .where(t.c.subject == subject, t.c.factor == factor)
            .order_by(t.c.created_at.desc())
        ).all()

    def consume(self, challenge_id: str, at: datetime) -> bool:
        t = tables.factor_challenges
        done = self.session.execute(
            update(t)
            .where(t.c.id == challenge_id, t.c.used_at.is_(None))
            .values(used_at=at)
            .returning(t.c.id)
        ).first()
        cached = self._loaded(FactorChallenge, challenge_id)
        if cached is not None:
            self.session.refresh(cached)
        return done is not None


class SqlOtpTokens(_Repository):
    def add(self, token: OtpToken) -> None:
        self.session.add(token)

    def get(self, token_id: str, *, for_update: bool = False) -> OtpToken | None:
        query = select(OtpToken).where(tables.otp_tokens.c.id == token_id)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def active_for_customer(self, customer_id: str) -> OtpToken | None:
        t = tables.otp_tokens
        return self.session.scalars(
            select(OtpToken).where(
                t.c.customer_id == customer_id, t.c.status == OtpTokenStatus.ACTIVE.value
            )
        ).one_or_none()

    def for_customer(self, customer_id: str) -> Sequence[OtpToken]:
        t = tables.otp_tokens
        return self.session.scalars(
            select(OtpToken).where(t.c.customer_id == customer_id).order_by(t.c.created_at)
        ).all()

    def accept_step(self, token_id: str, step: int) -> bool:
        t = tables.otp_tokens
        done = self.session.execute(
            update(t)
            .where(t.c.id == token_id, or_(t.c.last_step.is_(None), t.c.last_step < step))
            .values(last_step=step)
            .returning(t.c.id)
        ).first()
        cached = self._loaded(OtpToken, token_id)
        if cached is not None:
            self.session.refresh(cached)
        return done is not None


class SqlSecurityCards(_Repository):
    def add(self, card: SecurityCard) -> None:
        self.session.add(card)

    def by_serial(self, serial: str) -> SecurityCard | None:
        return self.session.scalars(
            select(SecurityCard).where(tables.security_cards.c.serial == serial)
        ).one_or_none()

    def active_for_customer(self, customer_id: str) -> SecurityCard | None:
        t = tables.security_cards
        return self.session.scalars(
            select(SecurityCard).where(
                t.c.customer_id == customer_id, t.c.status == SecurityCardStatus.ACTIVE.value
            )
        ).one_or_none()

    def for_customer(self, customer_id: str) -> Sequence[SecurityCard]:
        t = tables.security_cards
        return self.session.scalars(
            select(SecurityCard).where(t.c.customer_id == customer_id).order_by(t.c.issued_at)
        ).all()


class SqlTransfers(_Repository):
    def add(self, transfer: Transfer) -> None:
        self.session.add(transfer)

    def get(self, transfer_id: str, *, for_update: bool = False) -> Transfer | None:
        query = select(Transfer).where(tables.transfers.c.id == transfer_id)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def for_customer(self, customer_id: str, *, limit: int = 50) -> Sequence[Transfer]:
        t = tables.transfers
        return self.session.scalars(
            select(Transfer)
            .where(t.c.customer_id == customer_id)
            .order_by(t.c.created_at.desc())
            .limit(limit)
        ).all()

    def claim(self, transfer_id: str, from_status: str, to_status: str) -> bool:
        t = tables.transfers
        done = self.session.execute(
            update(t)
            .where(t.c.id == transfer_id, t.c.status == from_status)
            .values(status=to_status)
            .returning(t.c.id)
        ).first()
        cached = self._loaded(Transfer, transfer_id)
        if cached is not None:
            self.session.refresh(cached)
        return done is not None

    def reserve_daily(self, customer_id: str, day: str, amount: int, limit: int) -> int | None:
        t = tables.transfer_days
        self.session.execute(
            _insert_for(self.session)(t)
            .values(customer_id=customer_id, day=day, total=0)
            .on_conflict_do_nothing(index_elements=[t.c.customer_id, t.c.day])
        )
        total = self.session.execute(
            update(t)
            .where(t.c.customer_id == customer_id, t.c.day == day, t.c.total + amount <= limit)
            .values(total=t.c.total + amount)
            .returning(t.c.total)
        ).scalar_one_or_none()
        return None if total is None else int(total)

    def release_daily(self, customer_id: str, day: str, amount: int) -> None:
        t = tables.transfer_days
        self.session.execute(
            update(t)
            .where(t.c.customer_id == customer_id, t.c.day == day)
            .values(total=t.c.total - amount)
        )

    def processing(
        self, *, claimed_before: datetime | None = None, limit: int = 100
    ) -> Sequence[Transfer]:
        """Transfers sent to the bank whose answer was not recorded, oldest first; with
        ``claimed_before`` only those claimed before it."""
        t = tables.transfers
        query = select(Transfer).where(t.c.status == "processing")
        if claimed_before is not None:
            query = query.where(t.c.claimed_at <= claimed_before)
        return self.session.scalars(query.order_by(t.c.claimed_at).limit(limit)).all()

    def add_request_key(self, key: TransferRequestKey) -> bool:
        """Keep ``key`` unless the customer already used it; False (nothing written) then."""
        r = tables.transfer_requests
        done = self.session.execute(
            _insert_for(self.session)(r)
            .values(
                customer_id=key.customer_id,
                key=key.key,
                operation=key.operation,
                fingerprint=key.fingerprint,
                transfer_id=key.transfer_id,
                answer=key.answer,
                created_at=key.created_at,
            )
            .on_conflict_do_nothing(index_elements=[r.c.customer_id, r.c.key])
            .returning(r.c.key)
        ).first()
        return done is not None

    def request_key(self, customer_id: str, key: str) -> TransferRequestKey | None:
        r = tables.transfer_requests
        row = (
            self.session.execute(select(r).where(r.c.customer_id == customer_id, r.c.key == key))
            .mappings()
            .first()
        )
        return None if row is None else TransferRequestKey(**dict(row))

    def set_request_answer(self, customer_id: str, key: str, answer: dict[str, object]) -> None:
        r = tables.transfer_requests
        self.session.execute(
            update(r).where(r.c.customer_id == customer_id, r.c.key == key).values(answer=answer)
        )

    def day_total(self, customer_id: str, day: str) -> int:
        t = tables.transfer_days
        total = self.session.execute(
            select(t.c.total).where(t.c.customer_id == customer_id, t.c.day == day)
        ).scalar_one_or_none()
        return int(total or 0)


class SqlSignedDocuments(_Repository):
    def add(self, document: SignedDocument) -> None:
        self.session.add(document)

    def get(self, document_id: str) -> SignedDocument | None:
        return self.session.get(SignedDocument, document_id)

    def for_customer(self, customer_id: str, *, limit: int = 50) -> Sequence[SignedDocument]:
        t = tables.signed_documents
        return self.session.scalars(
            select(SignedDocument)
            .where(t.c.customer_id == customer_id)
            .order_by(t.c.created_at.desc())
            .limit(limit)
        ).all()


def _mark_once(session: Session, table: Any, row_id: str, column: str, at: datetime) -> bool:
    """Set ``column`` to ``at`` where it is still empty, in one statement; False if another
    request set it first (single use)."""
    done = session.execute(
        update(table)
        .where(table.c.id == row_id, table.c[column].is_(None))
        .values({column: at})
        .returning(table.c.id)
    ).first()
    return done is not None


class SqlCloudAccounts(_Repository):
    def add(self, account: CloudAccount) -> None:
        self.session.add(account)

    def get(self, account_id: str) -> CloudAccount | None:
        return self.session.get(CloudAccount, account_id)

    def active_for_customer(self, customer_id: str) -> CloudAccount | None:
        t = tables.cloud_accounts
        return self.session.scalars(
            select(CloudAccount).where(
                t.c.customer_id == customer_id, t.c.status == CloudAccountStatus.ACTIVE.value
            )
        ).one_or_none()

    def unused_since(self, cutoff: datetime, *, limit: int = 500) -> Sequence[CloudAccount]:
        t = tables.cloud_accounts
        return self.session.scalars(
            select(CloudAccount)
            .where(t.c.status == CloudAccountStatus.ACTIVE.value, t.c.last_used_at < cutoff)
            .order_by(t.c.last_used_at)
            .limit(limit)
        ).all()

    def touch(self, account_id: str, at: datetime) -> None:
        t = tables.cloud_accounts
        self.session.execute(
            update(t)
            .where(t.c.id == account_id, t.c.last_used_at < at)
            .values(last_used_at=at, notice_sent_at=None)
        )
        self._refresh(account_id)

    def claim_notice(self, account_id: str, at: datetime) -> bool:
        """Mark the inactivity notice sent, once per idle period."""
        done = _mark_once(self.session, tables.cloud_accounts, account_id, "notice_sent_at", at)
        self._refresh(account_id)
        return done

    def claim_deletion(self, account_id: str, at: datetime) -> bool:
        t = tables.cloud_accounts
        done = self.session.execute(
            update(t)
            .where(t.c.id == account_id, t.c.status == CloudAccountStatus.ACTIVE.value)
            # the wrapped key is erased with the account: the key is destroyed by this commit
            .values(status=CloudAccountStatus.DELETED.value, deleted_at=at, wrapped_key=None)
            .returning(t.c.id)
        ).first()
        self._refresh(account_id)
        return done is not None

    def wrapped_keys(
        self, *, not_under: str, after: str = "", limit: int = 200
    ) -> Sequence[tuple[str, str, bytes]]:
        t = tables.cloud_accounts.c
        rows = self.session.execute(
            select(t.id, t.wrapping_key_label, t.wrapped_key)
            .where(
                t.status == CloudAccountStatus.ACTIVE.value,
                t.wrapped_key.is_not(None),
                t.wrapping_key_label.is_not(None),
                t.wrapping_key_label != not_under,
                t.id > after,
            )
            .order_by(t.id)
            .limit(limit)
        ).all()
        return [(row.id, row.wrapping_key_label, bytes(row.wrapped_key)) for row in rows]

    def rewrap(
        self, account_id: str, old_label: str, old_wrapped: bytes, new_label: str, new: bytes
    ) -> bool:
        t = tables.cloud_accounts
        done = self.session.execute(
            update(t)
            .where(
                t.c.id == account_id,
                t.c.status == CloudAccountStatus.ACTIVE.value,
                t.c.wrapping_key_label == old_label,
                t.c.wrapped_key == old_wrapped,
            )
            .values(wrapped_key=new, wrapping_key_label=new_label)
            .returning(t.c.id)
        ).first()
        self._refresh(account_id)
        return done is not None

    def wrapping_label_counts(self) -> dict[str, int]:
        t = tables.cloud_accounts.c
        rows = self.session.execute(
            select(t.wrapping_key_label, func.count())
            .where(t.status == CloudAccountStatus.ACTIVE.value, t.wrapped_key.is_not(None))
            .group_by(t.wrapping_key_label)
        ).all()
        return {str(label): int(count) for label, count in rows if label is not None}

    def unwrapped_keys(self) -> Sequence[tuple[str, str]]:
        t = tables.cloud_accounts.c
        rows = self.session.execute(
            select(t.id, t.key_label)
            .where(t.status == CloudAccountStatus.ACTIVE.value, t.wrapped_key.is_(None))
            .order_by(t.id)
        ).all()
        return [(row.id, row.key_label) for row in rows]

    def store_wrapped(self, account_id: str, label: str, wrapped: bytes) -> bool:
        t = tables.cloud_accounts
        done = self.session.execute(
            update(t)
            .where(
                t.c.id == account_id,
                t.c.status == CloudAccountStatus.ACTIVE.value,
                t.c.wrapped_key.is_(None),
            )
            .values(wrapped_key=wrapped, wrapping_key_label=label)
            .returning(t.c.id)
        ).first()
        self._refresh(account_id)
        return done is not None

    def _refresh(self, account_id: str) -> None:
        cached = self._loaded(CloudAccount, account_id)
        if cached is not None:
            self.session.refresh(cached)


class SqlKeyGenerations(_Repository):
    def for_name(self, name: str) -> Sequence[KeyGeneration]:
        t = tables.key_generations.c
        rows = self.session.execute(
            select(t.name, t.generation, t.label, t.created_at, t.retired_at)
            .where(t.name == name)
            .order_by(t.generation)
        ).all()
        return [
            KeyGeneration(
                name=row.name,
                generation=row.generation,
                label=row.label,
                created_at=row.created_at,
                retired_at=row.retired_at,
            )
            for row in rows
        ]

    def add(self, generation: KeyGeneration) -> None:
        try:
            self.session.execute(
                insert(tables.key_generations).values(
                    name=generation.name,
                    generation=generation.generation,
                    label=generation.label,
                    created_at=generation.created_at,
                    retired_at=generation.retired_at,
                )
            )
        except IntegrityError as exc:  # recorded meanwhile by another rotation
            self.session.rollback()
            raise ConstraintViolationError("pk_key_generations") from exc

    def retire(self, name: str, generation: int, at: datetime) -> None:
        t = tables.key_generations
        self.session.execute(
            update(t)
            .where(t.c.name == name, t.c.generation == generation, t.c.retired_at.is_(None))
            .values(retired_at=at)
        )


# the stored hashes a pepper rotation moves: (table, column, id column)
_SECRET_HASHES = {
    "device-pin": (tables.devices, "pin_hash"),
    "device-pattern": (tables.devices, "pattern_hash"),
    "cloud-pin": (tables.cloud_accounts, "pin_hash"),
    "enrollment-pin": (tables.enrollments, "pin_hash"),
    "enrollment-pattern": (tables.enrollments, "pattern_hash"),
    "banking-password": (tables.customers, "password_hash"),
}


class SqlSecretHashes(_Repository):
    def count_by_prefix(self, prefixes: dict[int, str], now: datetime) -> dict[int, int]:
        counts = dict.fromkeys(prefixes, 0)
        live: dict[str, ColumnElement[bool]] = {
            "devices": tables.devices.c.status == DeviceStatus.ACTIVE.value,
            "cloud_accounts": tables.cloud_accounts.c.status == CloudAccountStatus.ACTIVE.value,
            "enrollments": tables.enrollments.c.expires_at > now,
            "customers": tables.customers.c.password_hash.is_not(None),
        }
        for table, column_name in _SECRET_HASHES.values():
            column = table.c[column_name]
            for key, prefix in prefixes.items():
                found = self.session.execute(
                    select(func.count()).where(
                        live[table.name], column.like(_escape_like(prefix) + "%", escape="\\")
                    )
                ).scalar_one()
                counts[key] += int(found)
        return counts

    def replace(self, kind: str, row_id: str, old: str, new: str) -> bool:
        table, column_name = _SECRET_HASHES[kind]
        column = table.c[column_name]
        done = self.session.execute(
            update(table)
            .where(table.c.id == row_id, column == old)
            .values({column_name: new})
            .returning(table.c.id)
        ).first()
        return done is not None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlBrowserDevices(_Repository):
    def add(self, device: BrowserDevice) -> None:
        self.session.add(device)

    def get(self, device_id: str) -> BrowserDevice | None:
        return self.session.get(BrowserDevice, device_id)

    def active_for_customer(self, customer_id: str) -> Sequence[BrowserDevice]:
        t = tables.browser_devices
        return self.session.scalars(
            select(BrowserDevice)
            .where(t.c.customer_id == customer_id, t.c.status == BrowserDeviceStatus.ACTIVE.value)
            .order_by(t.c.registered_at)
        ).all()

    def count_active(self, customer_id: str) -> int:
        t = tables.browser_devices
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(t)
                .where(
                    t.c.customer_id == customer_id, t.c.status == BrowserDeviceStatus.ACTIVE.value
                )
            )
            or 0
        )

    def active_by_key(self, key_sha256: str) -> BrowserDevice | None:
        t = tables.browser_devices
        return self.session.scalars(
            select(BrowserDevice).where(
                t.c.key_sha256 == key_sha256, t.c.status == BrowserDeviceStatus.ACTIVE.value
            )
        ).one_or_none()

    def remove(self, device_id: str, at: datetime) -> bool:
        t = tables.browser_devices
        done = self.session.execute(
            update(t)
            .where(t.c.id == device_id, t.c.status == BrowserDeviceStatus.ACTIVE.value)
            .values(status=BrowserDeviceStatus.REMOVED.value, removed_at=at)
            .returning(t.c.id)
        ).first()
        cached = self._loaded(BrowserDevice, device_id)
        if cached is not None:
            self.session.refresh(cached)
        return done is not None

    def remove_all(self, customer_id: str, at: datetime) -> int:
        t = tables.browser_devices
        result = self.session.execute(
            update(t)
            .where(t.c.customer_id == customer_id, t.c.status == BrowserDeviceStatus.ACTIVE.value)
            .values(status=BrowserDeviceStatus.REMOVED.value, removed_at=at)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class SqlSigningActivations(_Repository):
    def add(self, activation: SigningActivation) -> None:
        self.session.add(activation)

    def get(self, activation_id: str) -> SigningActivation | None:
        return self.session.get(SigningActivation, activation_id)

    def by_grant_hash(self, grant_hash: str) -> SigningActivation | None:
        t = tables.signing_activations
        return self.session.scalars(
            select(SigningActivation).where(t.c.grant_hash == grant_hash)
        ).one_or_none()

    def authorize(self, activation_id: str, grant_hash: str, at: datetime) -> bool:
        """Record the grant once: False if the activation was already authorized."""
        t = tables.signing_activations
        done = self.session.execute(
            update(t)
            .where(t.c.id == activation_id, t.c.authorized_at.is_(None))
            .values(authorized_at=at, grant_hash=grant_hash)
            .returning(t.c.id)
        ).first()
        self._refresh(activation_id)
        return done is not None

    def consume(self, activation_id: str, at: datetime) -> bool:
        done = _mark_once(self.session, tables.signing_activations, activation_id, "used_at", at)
        self._refresh(activation_id)
        return done

    def _refresh(self, activation_id: str) -> None:
        cached = self._loaded(SigningActivation, activation_id)
        if cached is not None:
            self.session.refresh(cached)


class SqlFinancialEnrollments(_Repository):
    def add(self, enrollment: FinancialEnrollment) -> None:
        self.session.add(enrollment)

    def get(self, enrollment_id: str, *, for_update: bool = False) -> FinancialEnrollment | None:
        query = select(FinancialEnrollment).where(
            tables.financial_enrollments.c.id == enrollment_id
        )
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()


class SqlJointRegistrations(_Repository):
    def add(self, registration: JointRegistration, /) -> None:
        self.session.add(registration)

    def _one(self, condition: Any, for_update: bool) -> JointRegistration | None:
        query = select(JointRegistration).where(condition)
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()

    def get(self, flow_id: str, /, *, for_update: bool = False) -> JointRegistration | None:
        return self._one(tables.joint_registrations.c.id == flow_id, for_update)

    def by_reference(self, reference: str, *, for_update: bool = False) -> JointRegistration | None:
        return self._one(tables.joint_registrations.c.reference == reference, for_update)

    def by_transaction(
        self, transaction_id: str, *, for_update: bool = False
    ) -> JointRegistration | None:
        return self._one(tables.joint_registrations.c.transaction_id == transaction_id, for_update)

    def by_serial(self, serial: str, *, for_update: bool = False) -> JointRegistration | None:
        return self._one(tables.joint_registrations.c.certificate_serial == serial, for_update)

    def charged_before(self, moment: datetime, limit: int) -> Sequence[str]:
        table = tables.joint_registrations
        query = (
            select(table.c.id)
            .where(table.c.fee_state == "charged", table.c.expires_at <= moment)
            .order_by(table.c.expires_at)
            .limit(limit)
        )
        return list(self.session.scalars(query))


class SqlFinancialReverifications(_Repository):
    def add(self, flow: FinancialReverification, /) -> None:
        self.session.add(flow)

    def get(self, flow_id: str, /, *, for_update: bool = False) -> FinancialReverification | None:
        query = select(FinancialReverification).where(
            tables.financial_reverifications.c.id == flow_id
        )
        if for_update:
            query = query.with_for_update()
        return self.session.scalars(query).one_or_none()


class SqlLostPhoneReports(_Repository):
    def add(self, report: LostPhoneReport) -> None:
        self.session.add(report)

    def get(self, report_id: str, *, for_update: bool = False) -> LostPhoneReport | None:
        query = select(LostPhoneReport).where(tables.lost_phone_reports.c.id == report_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(query).one_or_none()


class SqlWebApprovals(_Repository):
    def add(self, approval: WebApproval) -> None:
        self.session.add(approval)

    def get(self, approval_id: str) -> WebApproval | None:
        return self.session.get(WebApproval, approval_id)

    def by_code_digest(self, code_digest: str) -> WebApproval | None:
        t = tables.web_approvals
        return self.session.scalars(
            select(WebApproval).where(t.c.code_digest == code_digest)
        ).one_or_none()

    def by_token_hash(self, token_hash: str) -> WebApproval | None:
        t = tables.web_approvals
        return self.session.scalars(
            select(WebApproval).where(t.c.token_hash == token_hash)
        ).one_or_none()

    def approve(
        self,
        approval_id: str,
        *,
        customer_id: str,
        device_id: str,
        certificate_serial: str,
        at: datetime,
        method: str | None = None,
    ) -> bool:
        t = tables.web_approvals
        done = self.session.execute(
            update(t)
            .where(t.c.id == approval_id, t.c.approved_at.is_(None), t.c.expires_at > at)
            .values(
                approved_at=at,
                customer_id=customer_id,
                device_id=device_id,
                certificate_serial=certificate_serial,
                app_method=method,
            )
            .returning(t.c.id)
        ).first()
        self._refresh(approval_id)
        return done is not None

    def consume(self, approval_id: str, at: datetime) -> bool:
        done = _mark_once(self.session, tables.web_approvals, approval_id, "consumed_at", at)
        self._refresh(approval_id)
        return done

    def _refresh(self, approval_id: str) -> None:
        cached = self._loaded(WebApproval, approval_id)
        if cached is not None:
            self.session.refresh(cached)


class SqlCertificateCopies(_Repository):
    def add(self, relay: CertificateCopy) -> None:
        self.session.add(relay)

    def exists(self, relay_id: str) -> bool:
        t = tables.certificate_copies
        return self.session.execute(select(t.c.id).where(t.c.id == relay_id)).first() is not None

    def get(self, relay_id: str, *, for_update: bool = False) -> CertificateCopy | None:
        query = select(CertificateCopy).where(tables.certificate_copies.c.id == relay_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(query).one_or_none()

    def delete(self, relay_id: str) -> None:
        t = tables.certificate_copies
        cached = self._loaded(CertificateCopy, relay_id)
        if cached is not None:
            self.session.expunge(cached)
        self.session.execute(delete(t).where(t.c.id == relay_id))

    def open_from(self, client_ip: str, now: datetime) -> int:
        t = tables.certificate_copies
        query = select(func.count()).where(t.c.client_ip == client_ip, t.c.expires_at > now)
        return int(self.session.execute(query).scalar_one())

    def purge_expired(self, now: datetime, *, limit: int = 500) -> int:
        t = tables.certificate_copies
        return self._delete_expired(CertificateCopy, t, t.c.expires_at <= now, limit)


class SqlCmpTransactions(_Repository):
    def add(self, transaction: CmpTransaction) -> None:
        self.session.add(transaction)

    def get(self, transaction_id: str, *, for_update: bool = False) -> CmpTransaction | None:
        query = select(CmpTransaction).where(
            tables.cmp_transactions.c.transaction_id == transaction_id
        )
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(query).one_or_none()

    def remember_nonce(self, nonce_sha256: str, at: datetime) -> bool:
        t = tables.cmp_nonces
        make = _insert_for(self.session)
        inserted = self.session.execute(
            make(t)
            .values(nonce_sha256=nonce_sha256, seen_at=at)
            .on_conflict_do_nothing(index_elements=[t.c.nonce_sha256])
            .returning(t.c.nonce_sha256)
        ).first()
        return inserted is not None

    def unconfirmed(self, now: datetime, *, limit: int = 500) -> Sequence[CmpTransaction]:
        t = tables.cmp_transactions
        return self.session.scalars(
            select(CmpTransaction)
            .where(
                t.c.state.in_([CmpState.ISSUING, CmpState.WAITING, CmpState.CONFIRMING]),
                t.c.expires_at <= now,
            )
            .order_by(t.c.expires_at)
            .limit(limit)
        ).all()

    def forget_nonces(self, before: datetime) -> int:
        t = tables.cmp_nonces
        result = self.session.execute(delete(t).where(t.c.seen_at < before))
        return int(getattr(result, "rowcount", 0) or 0)


class SqlOtherJointCertificates(_Repository):
    def add(self, registered: OtherJointCertificate) -> None:
        self.session.add(registered)

    def get(self, registration_id: str) -> OtherJointCertificate | None:
        t = tables.other_joint_certificates.c
        query = select(OtherJointCertificate).where(t.id == registration_id)
        return self.session.scalars(query).one_or_none()

    def by_fingerprint(self, fingerprint: str) -> OtherJointCertificate | None:
        t = tables.other_joint_certificates.c
        query = select(OtherJointCertificate).where(t.fingerprint == fingerprint)
        return self.session.scalars(query).one_or_none()

    def for_customer(self, customer_id: str) -> Sequence[OtherJointCertificate]:
        t = tables.other_joint_certificates.c
        query = (
            select(OtherJointCertificate)
            .where(t.customer_id == customer_id)
            .order_by(t.registered_at, t.id)
        )
        return list(self.session.scalars(query))

    def delete(self, registration_id: str) -> None:
        t = tables.other_joint_certificates
        cached = self.session.get(OtherJointCertificate, registration_id)
        if cached is not None:
            self.session.expunge(cached)
        self.session.execute(delete(t).where(t.c.id == registration_id))
