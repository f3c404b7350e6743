"""CMP transactions (RFC 4210 §5.1.1, RFC 9483 §3.5): each kept by its transactionID from the
request to the certConf, and the certificates whose certConf never came.

    transactions.begin(tid, nonce, kind="ir", protection="mac", ...)   # refuses a reused tid
    transactions.await_confirmation(tid, certificate, server_nonce=n, secret=code)
    claimed = transactions.claim_confirmation(tid, nonce2, recip_nonce=n, ...)
    transactions.finish(tid, "accepted")

    ConfirmationTimeout(transactions, authority).reject_unconfirmed()   # the job runner

Each step is one short unit of work, and none is open while the authority works: the
authority has transactions of its own (on SQLite a second writer would wait for ours). A
reused transactionID is refused by the primary key even between racing requests, a replayed
senderNonce by ``cmp_nonces``' one. The authorization code of a MAC-protected enrolment is
kept sealed by the key backend (AES-GCM bound to the transactionID) only while its certConf is
awaited, because the certConf is protected by the same MAC.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certcenter.clock import Clock
from certcenter.cmp.authority import CmpAuthority
from certcenter.entities import CmpState, CmpTransaction
from certcenter.errors import CertCenterError
from certcenter.keys.backend import Secrets
from certcenter.ports import ConstraintViolationError, UnitOfWorkFactory

__all__ = [
    "CmpTransactions",
    "ConfirmationTimeout",
    "IssuedCertificates",
    "RecordedCertificates",
    "TimeoutPass",
]

log = logging.getLogger(__name__)
NONCE_MEMORY = timedelta(days=1)  # senderNonces are remembered this long


class IssuedCertificates(Protocol):
    """Whether a certificate is one the center issued, and its status."""

    def status_of(self, certificate: x509.Certificate) -> str | None:
        """The record's status (``active``, ``revoked`` …), None when the center did not
        issue exactly this certificate."""
        ...


class RecordedCertificates:
    """The certificate records: a certificate is the center's when the record of its serial
    holds exactly its DER (and, when ``families`` is given, is of one of them)."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, families: Collection[str] | None = None
    ) -> None:
        self._uow_factory = uow_factory
        self._families = families

    def status_of(self, certificate: x509.Certificate) -> str | None:
        der = certificate.public_bytes(serialization.Encoding.DER)
        with self._uow_factory(read_only=True) as uow:
            record = uow.certificates.get(format(certificate.serial_number, "X"))
        if record is None or record.der != der:
            return None
        if self._families is not None and record.family not in self._families:
            return None
        return str(record.status)


def _key(transaction_id: bytes) -> str:
    return transaction_id.hex()


def _context(transaction_id: bytes) -> bytes:
    return b"cmp-transaction:" + transaction_id


class CmpTransactions:
    """The ``cmp_transactions`` rows, one short unit of work per step."""

    def __init__(
        self, uow_factory: UnitOfWorkFactory, keys: Secrets, seal_label: str, clock: Clock
    ) -> None:
        self._uow_factory = uow_factory
        self._keys = keys
        self._seal_label = seal_label
        self._clock = clock

    def begin(
        self,
        transaction_id: bytes,
        sender_nonce: bytes,
        *,
        kind: str,
        protection: str,
        pvno: int,
        reference: str | None,
        signer_key: bytes | None,
        expires_in: timedelta,
    ) -> None:
        """Start the transaction: ``CMP_TRANSACTION_IN_USE`` when its ID was used before,
        ``CMP_SENDER_NONCE_REPLAYED`` when the nonce was."""
        now = self._clock.now()
        with self._uow_factory() as uow:
            if uow.cmp_transactions.get(_key(transaction_id)) is not None:
                raise CertCenterError("CMP_TRANSACTION_IN_USE")
            if not uow.cmp_transactions.remember_nonce(_digest(sender_nonce), now):
                raise CertCenterError("CMP_SENDER_NONCE_REPLAYED")
            uow.cmp_transactions.add(
                CmpTransaction(
                    transaction_id=_key(transaction_id),
                    kind=kind,
                    state=CmpState.ISSUING,
                    protection=protection,
                    pvno=pvno,
                    created_at=now,
                    expires_at=now + expires_in,
                    client_nonce=sender_nonce,
                    reference=reference,
                    signer_key=signer_key,
                )
            )
            try:
                uow.commit()
            except ConstraintViolationError:  # raced by the same transactionID or nonce
                raise CertCenterError("CMP_TRANSACTION_IN_USE") from None

    def get(self, transaction_id: bytes) -> CmpTransaction | None:
        with self._uow_factory(read_only=True) as uow:
            return uow.cmp_transactions.get(_key(transaction_id))

    def refused(self, transaction_id: bytes) -> None:
        self.finish(transaction_id, "refused")

    def await_confirmation(
        self,
        transaction_id: bytes,
        certificate: x509.Certificate,
        *,
        server_nonce: bytes,
        secret: bytes | None,
    ) -> None:
        """The certificate went out: wait for its certConf (the code sealed meanwhile)."""
        sealed = None
        if secret is not None:
            sealed = self._keys.encrypt(self._seal_label, secret, _context(transaction_id))
        with self._uow_factory() as uow:
            row = uow.cmp_transactions.get(_key(transaction_id), for_update=True)
            if row is None or row.state != CmpState.ISSUING:
                raise CertCenterError("CMP_TRANSACTION_FINISHED")
            row.state = CmpState.WAITING
            row.serial = format(certificate.serial_number, "X")
            row.certificate = certificate.public_bytes(serialization.Encoding.DER)
            row.server_nonce = server_nonce
            row.sealed_secret = sealed
            uow.commit()

    def secret(self, transaction: CmpTransaction) -> bytes:
        """The authorization code sealed for the transaction's certConf."""
        if transaction.sealed_secret is None:
            raise CertCenterError("CMP_TRANSACTION_FINISHED")
        return self._keys.decrypt(
            self._seal_label,
            transaction.sealed_secret,
            _context(bytes.fromhex(transaction.transaction_id)),
        )

    def claim_confirmation(
        self,
        transaction_id: bytes,
        sender_nonce: bytes,
        *,
        recip_nonce: bytes | None,
        server_nonce: bytes,
        expired_seconds: int,
    ) -> bytes:
        """Take the certConf of a waiting transaction, once: its recipNonce must be our
        last senderNonce, its own senderNonce new, the time to confirm not over. The
        certificate it is about (DER)."""
        now = self._clock.now()
        with self._uow_factory() as uow:
            row = uow.cmp_transactions.get(_key(transaction_id), for_update=True)
            if row is None:
                raise CertCenterError("CMP_TRANSACTION_UNKNOWN")
            if row.state != CmpState.WAITING or row.certificate is None:
                raise CertCenterError("CMP_TRANSACTION_FINISHED")
            if recip_nonce is None or row.server_nonce is None or recip_nonce != row.server_nonce:
                raise CertCenterError("CMP_RECIPIENT_NONCE_WRONG")
            if now >= row.expires_at:
                raise CertCenterError("CMP_TRANSACTION_EXPIRED", seconds=expired_seconds)
            if not uow.cmp_transactions.remember_nonce(_digest(sender_nonce), now):
                raise CertCenterError("CMP_SENDER_NONCE_REPLAYED")
            row.state = CmpState.CONFIRMING
            row.client_nonce = sender_nonce
            row.server_nonce = server_nonce
            certificate = row.certificate
            try:
                uow.commit()
            except ConstraintViolationError:
                raise CertCenterError("CMP_SENDER_NONCE_REPLAYED") from None
        return certificate

    def finish(self, transaction_id: bytes, outcome: str, *, serial: str | None = None) -> None:
        """The transaction is over (the sealed code is dropped)."""
        with self._uow_factory() as uow:
            row = uow.cmp_transactions.get(_key(transaction_id), for_update=True)
            if row is None:
                return
            row.state = CmpState.DONE
            row.outcome = outcome
            row.sealed_secret = None
            row.finished_at = self._clock.now()
            if serial is not None:
                row.serial = serial
            uow.commit()

    def take_expired(self, *, batch: int) -> list[str]:
        """Transactions whose certificate waited too long, each moved to ``confirming`` under
        its row lock (another runner skips it): their transactionIDs (hex)."""
        now = self._clock.now()
        with self._uow_factory(read_only=True) as uow:
            due = [row.transaction_id for row in uow.cmp_transactions.unconfirmed(now, limit=batch)]
        taken = []
        for key in due:
            with self._uow_factory() as uow:
                row = uow.cmp_transactions.get(key, for_update=True)
                if row is None or row.expires_at > now or row.state == CmpState.DONE:
                    continue
                if row.state == CmpState.CONFIRMING and row.expires_at + NONCE_MEMORY > now:
                    # a certConf is being answered, or one failed half-way: its own call
                    # decides; after a day it is rejected like any other
                    continue
                row.state = CmpState.CONFIRMING
                uow.commit()
            taken.append(key)
        return taken

    def forget_old_nonces(self) -> int:
        with self._uow_factory() as uow:
            forgotten = uow.cmp_transactions.forget_nonces(self._clock.now() - NONCE_MEMORY)
            uow.commit()
        return forgotten


def _digest(nonce: bytes) -> str:
    return hashlib.sha256(nonce).hexdigest()


@dataclass
class TimeoutPass:
    """What one pass of :meth:`ConfirmationTimeout.reject_unconfirmed` did."""

    rejected: list[str] = field(default_factory=list)  # transactionIDs (hex)
    errors: list[str] = field(default_factory=list)


class ConfirmationTimeout:
    """Rejects the certificates whose certConf never came (the job runner calls it)."""

    def __init__(self, transactions: CmpTransactions, authority: CmpAuthority | None) -> None:
        self._transactions = transactions
        self._authority = authority

    def reject_unconfirmed(self, *, batch: int = 500) -> TimeoutPass:
        done = TimeoutPass()
        if self._authority is None:
            return done
        for key in self._transactions.take_expired(batch=batch):
            transaction_id = bytes.fromhex(key)
            try:
                self._authority.confirm(transaction_id, accepted=False)
            except CertCenterError as error:
                log.info("CMP timeout: %s… not rejected by the authority (%s)", key[:8], error.code)
            except Exception as exc:
                log.exception("CMP timeout: rejecting %s… failed", key[:8])
                done.errors.append(f"cmp {key[:8]}: {type(exc).__name__}")
                continue
            self._transactions.finish(transaction_id, "expired")
            done.rejected.append(key)
        self._transactions.forget_old_nonces()
        return done
