"""The unit of work: one session, one transaction, committed once per request or command.

    uow_factory = SqlUnitOfWorkFactory(session_factory)
    with uow_factory() as uow:
        uow.customers.add(customer)
        uow.commit()

Leaving the block without ``commit`` rolls back.

    with uow_factory(read_only=True) as uow:   # no write lock; a change raises
        record = uow.certificates.get(serial)

    uow_factory.watch_ocsp_changes(memory.drop)   # told each serial whose OCSP answer a
                                                  # committed unit of work invalidated

A read-only unit of work runs on :func:`~certcenter.storage.database.read_only_engine`: on
SQLite a deferred transaction that does not wait for the writers (``query_only``), on
PostgreSQL a ``READ ONLY`` one. Adding, changing or deleting an object in it raises
:class:`~certcenter.ports.ReadOnlyWriteError` at the flush, before any SQL; a statement that
writes raises it from the database.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from certcenter.ports import ConstraintViolationError, ReadOnlyWriteError
from certcenter.storage.database import is_sqlite, read_only_engine
from certcenter.storage.oidc_repositories import SqlOidc
from certcenter.storage.repositories import (
    SqlAudit,
    SqlBlocks,
    SqlBrowserDevices,
    SqlCertificateCopies,
    SqlCertificates,
    SqlChallenges,
    SqlCloudAccounts,
    SqlCmpTransactions,
    SqlCrlPoints,
    SqlCrls,
    SqlCustomers,
    SqlDevices,
    SqlEnrollments,
    SqlFactorChallenges,
    SqlFactorCounters,
    SqlFailures,
    SqlFinancialEnrollments,
    SqlFinancialReverifications,
    SqlHealth,
    SqlJointRegistrations,
    SqlKeyGenerations,
    SqlLostPhoneReports,
    SqlOcspCache,
    SqlOperators,
    SqlOtherJointCertificates,
    SqlOtpTokens,
    SqlOutbox,
    SqlSecretHashes,
    SqlSecurityCards,
    SqlSessions,
    SqlSignedDocuments,
    SqlSigningActivations,
    SqlSmsBudget,
    SqlTransfers,
    SqlVerificationCodes,
    SqlWebApprovals,
)

log = logging.getLogger(__name__)


class SqlUnitOfWork:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        read_only: bool = False,
        ocsp_watchers: Sequence[Callable[[str], None]] = (),
    ) -> None:
        self._session_factory = session_factory
        self.read_only = read_only
        self.session: Session | None = None
        self._after_commit: list[Callable[[], None]] = []
        self._ocsp_watchers = ocsp_watchers

    def __enter__(self) -> SqlUnitOfWork:
        session = self._session_factory()
        self.session = session
        self.customers = SqlCustomers(session)
        self.enrollments = SqlEnrollments(session)
        self.codes = SqlVerificationCodes(session)
        self.devices = SqlDevices(session)
        self.certificates = SqlCertificates(session)
        self.failures = SqlFailures(session)
        self.blocks = SqlBlocks(session)
        self.sms_budget = SqlSmsBudget(session)
        self.audit = SqlAudit(session)
        self.outbox = SqlOutbox(session)
        self.operators = SqlOperators(session)
        self.crls = SqlCrls(session)
        self.crl_points = SqlCrlPoints(session)
        self.ocsp = SqlOcspCache(session, self._ocsp_changed if self._ocsp_watchers else None)
        self.challenges = SqlChallenges(session)
        self.factors = SqlFactorCounters(session)
        self.sessions = SqlSessions(session)
        self.factor_challenges = SqlFactorChallenges(session)
        self.otp = SqlOtpTokens(session)
        self.security_cards = SqlSecurityCards(session)
        self.transfers = SqlTransfers(session)
        self.signed_documents = SqlSignedDocuments(session)
        self.cloud_accounts = SqlCloudAccounts(session)
        self.browser_devices = SqlBrowserDevices(session)
        self.activations = SqlSigningActivations(session)
        self.financial_enrollments = SqlFinancialEnrollments(session)
        self.financial_reverifications = SqlFinancialReverifications(session)
        self.joint_registrations = SqlJointRegistrations(session)
        self.approvals = SqlWebApprovals(session)
        self.lost_reports = SqlLostPhoneReports(session)
        self.certificate_copies = SqlCertificateCopies(session)
        self.health = SqlHealth(session)
        self.cmp_transactions = SqlCmpTransactions(session)
        self.oidc = SqlOidc(session)
        self.key_generations = SqlKeyGenerations(session)
        self.secret_hashes = SqlSecretHashes(session)
        self.other_joint_certificates = SqlOtherJointCertificates(session)
        return self

    def _open(self) -> Session:
        if self.session is None:
            raise RuntimeError("the unit of work is used outside its with-block")
        return self.session

    def __exit__(self, *exc: object) -> None:
        session = self._open()
        # close() rolls back what was not committed and detaches the objects without
        # expiring them, so values read in the unit of work stay readable after it.
        session.close()
        self.session = None
        self._after_commit.clear()  # never committed: the callbacks do not run

    def flush(self) -> None:
        session = self._open()
        try:
            session.flush()
        except IntegrityError as exc:
            session.rollback()
            raise ConstraintViolationError(_constraint_name(exc)) from exc

    def commit(self) -> None:
        session = self._open()
        try:
            session.commit()
        except IntegrityError as exc:
            session.rollback()
            self._after_commit.clear()
            raise ConstraintViolationError(_constraint_name(exc)) from exc
        except BaseException:
            self._after_commit.clear()
            raise
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # the change is durable: its caller must not fail
                log.exception("work after a commit failed")

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._open()
        self._after_commit.append(callback)

    def rollback(self) -> None:
        self._open().rollback()
        self._after_commit.clear()

    def _ocsp_changed(self, serial: str) -> None:
        for watcher in self._ocsp_watchers:
            self.after_commit(partial(watcher, serial))


class SqlUnitOfWorkFactory:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self.read_session_factory = _read_only_sessions(session_factory)
        self._ocsp_watchers: list[Callable[[str], None]] = []

    @property
    def writers_queue(self) -> bool:
        """SQLite: every writer begins ``BEGIN IMMEDIATE`` and holds the file's one write
        lock to its end (see :mod:`certcenter.storage.database`)."""
        bind = self.session_factory.kw.get("bind")
        return isinstance(bind, Engine) and is_sqlite(bind)

    def __call__(self, *, read_only: bool = False) -> SqlUnitOfWork:
        if read_only:
            return SqlUnitOfWork(self.read_session_factory, read_only=True)
        return SqlUnitOfWork(self.session_factory, ocsp_watchers=self._ocsp_watchers)

    def watch_ocsp_changes(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(serial)`` after each commit of these units of work that
        invalidated that certificate's OCSP answer (:class:`~certcenter.ports.OcspChangeFeed`)."""
        self._ocsp_watchers.append(listener)


def _read_only_sessions(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions like ``session_factory``'s on the read-only engine, refusing to flush changes."""
    bind = session_factory.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("the session factory must be bound to an engine")
    options = {**session_factory.kw, "bind": read_only_engine(bind)}
    sessions: sessionmaker[Session] = sessionmaker(class_=session_factory.class_, **options)
    event.listen(sessions, "before_flush", _refuse_changes)
    return sessions


def _refuse_changes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyWriteError("a read-only unit of work has changes to write")


_KNOWN_CONSTRAINTS = ("uq_devices_one_active_per_customer", "uq_certificates_one_usable_per_family")


def _constraint_name(exc: IntegrityError) -> str:
    """The violated constraint's name where the driver tells it, else the message's gist."""
    diag = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    if diag:
        return str(diag)
    text = str(exc.orig)
    for name in _KNOWN_CONSTRAINTS:
        if name in text:
            return name
    # SQLite names the columns, not the index: "UNIQUE constraint failed: devices.customer_id"
    match = re.search(r"constraint failed: ([\w.]+(?:, [\w.]+)*)", text)
    return match.group(1) if match else "unknown"
