"""Logged-in sessions: a random bearer token (only its SHA-256 is stored), an idle timeout
and an absolute end, both from the policy.

    sessions = SessionService(uow_factory, clock, policy)
    opened = sessions.open(customer_id=..., device_id=..., certificate_serial=..., method="pin")
    session = sessions.resolve(opened.token)     # each use moves the idle deadline
    sessions.close(opened.token)

A session unused for ``session_idle_minutes`` is refused with ``SESSION_EXPIRED``; an unknown,
ended or garbled token with ``SESSION_INVALID``. A session ends with what it was opened with:
deregistering the app or removing the browser (``uow.sessions.end_for_device``) and revoking,
suspending, expiring or deleting the certificate (``uow.sessions.end_for_certificate``) end
its sessions in that same transaction; releasing a suspension does not open them again.
A session ended because its certificate was revoked, suspended or expired is refused by that
state (``CERTIFICATE_REVOKED``, ``CERTIFICATE_SUSPENDED``, ``CERTIFICATE_EXPIRED``): the app
says why; one ended with its device or account with ``SESSION_INVALID``. Every code of
:data:`SESSION_GONE` means "log in again".
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from certcenter.certificates.records import require_active
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import Session, new_id
from certcenter.errors import CertCenterError
from certcenter.ports import UnitOfWork, UnitOfWorkFactory

# what resolving a session answers once it is over: the customer has to log in again
SESSION_GONE = frozenset(
    {
        "SESSION_INVALID",
        "SESSION_EXPIRED",
        "CERTIFICATE_REVOKED",
        "CERTIFICATE_SUSPENDED",
        "CERTIFICATE_EXPIRED",
    }
)


_CERTIFICATE_STATES = frozenset({"revoked", "suspended", "expired"})


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    session: Session
    token: str  # handed to the client once; never stored

    @property
    def idle_expires_at(self) -> datetime:
        return self.session.last_seen_at

    def __repr__(self) -> str:
        return f"OpenedSession(session={self.session.id!r}, token=…)"


class SessionService:
    def __init__(self, uow_factory: UnitOfWorkFactory, clock: Clock, policy: Policy) -> None:
        self.uow_factory = uow_factory
        self.clock = clock
        self.policy = policy

    @property
    def idle(self) -> timedelta:
        return timedelta(minutes=self.policy.session_idle_minutes)

    def start(
        self,
        uow: UnitOfWork,
        *,
        customer_id: str,
        device_id: str,
        certificate_serial: str,
        method: str,
    ) -> OpenedSession:
        """Add a new session to ``uow`` (the caller commits, with the login's other writes)."""
        now = self.clock.now()
        token = secrets.token_urlsafe(32)
        session = Session(
            id=new_id(),
            token_hash=token_digest(token),
            customer_id=customer_id,
            device_id=device_id,
            certificate_serial=certificate_serial,
            method=method,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(minutes=self.policy.session_max_minutes),
        )
        uow.sessions.add(session)
        return OpenedSession(session=session, token=token)

    def open(
        self, *, customer_id: str, device_id: str, certificate_serial: str, method: str
    ) -> OpenedSession:
        with self.uow_factory() as uow:
            opened = self.start(
                uow,
                customer_id=customer_id,
                device_id=device_id,
                certificate_serial=certificate_serial,
                method=method,
            )
            uow.commit()
        return opened

    def resolve(self, token: str) -> Session:
        """The open session of ``token``, marked as used now."""
        if not token or len(token) > 200:
            raise CertCenterError("SESSION_INVALID")
        now = self.clock.now()
        with self.uow_factory() as uow:
            session = uow.sessions.by_token_hash(token_digest(token))
            if session is None:
                raise CertCenterError("SESSION_INVALID")
            if session.ended_at is not None:
                self._why_ended(uow, session, now)
                raise CertCenterError("SESSION_INVALID")
            if not uow.sessions.touch(session.id, now, now - self.idle):
                if session.ended_at is None:
                    uow.sessions.end(session.id, now)
                    uow.commit()
                raise CertCenterError(
                    "SESSION_EXPIRED", idle_minutes=self.policy.session_idle_minutes
                )
            uow.commit()
        return session

    @staticmethod
    def _why_ended(uow: UnitOfWork, session: Session, now: datetime) -> None:
        """Refuse an ended session by its certificate's state when that is why it ended
        (revoked, suspended, expired) and still is; otherwise return (``SESSION_INVALID``
        follows: logged out, the device or the account removed, or the suspension released)."""
        if session.ended_reason not in _CERTIFICATE_STATES:
            return
        certificate = uow.certificates.get(session.certificate_serial)
        if certificate is not None:
            try:
                require_active(certificate, now)
            except CertCenterError as err:
                if err.code in SESSION_GONE:
                    raise

    def close(self, token: str) -> None:
        now = self.clock.now()
        with self.uow_factory() as uow:
            session = uow.sessions.by_token_hash(token_digest(token))
            if session is None:
                raise CertCenterError("SESSION_INVALID")
            uow.sessions.end(session.id, now)
            uow.commit()

    def end(self, session_id: str) -> None:
        with self.uow_factory() as uow:
            uow.sessions.end(session_id, self.clock.now())
            uow.commit()
