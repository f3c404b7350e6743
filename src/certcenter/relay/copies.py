"""인증서 복사: the relay between the receiving and the sending device.

    opened = copies.open(public_key, client_ip="…")        # receiver: relay id + its token
    key = copies.public_key(opened.relay_id, client_ip="…")  # sender, with the code's 8 digits
    copies.send(opened.relay_id, sealed, client_ip="…")     # sender: once per relay
    fetched = copies.fetch(opened.relay_id, opened.token, client_ip="…")  # receiver
    copies.purge()                                          # the job: expired relays go

The center keeps the receiver's public key (public), a digest of the receiver's token and,
for the minutes between upload and fetch, the sealed payload, which only the receiver's
private key opens: no key that opens it ever reaches the center. A fetched payload is deleted
with its relay in the same transaction; a relay older than ``certificate_copy_ttl_seconds``
*(policy)* is refused with ``CERTIFICATE_COPY_EXPIRED``, its payload dropped on that access,
and deleted by the job.

The relay id is 8 digits, so guessing is limited like every other guess: each request naming
a relay id is reserved under the client address's mark (:func:`certcenter.risk.rules.
client_address`) before the relay is looked up, and an unknown id (or a wrong token) is a
failure under that mark; past ``failure_max_in_window_per_address`` *(policy)* the address is
blocked (``TOO_MANY_ATTEMPTS``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from certcenter.audit.trail import AuditTrail
from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import Actor, CertificateCopy, new_id
from certcenter.errors import CertCenterError
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.risk.rules import RiskRules, client_address

__all__ = ["CertificateCopies", "CopyOpened", "PayloadFetched"]

SUBJECT_KIND = "certificate_copy"
RELAY_ID_DIGITS = 8
PUBLIC_KEY_BYTES = 32
# a sealed payload is at least its version, the sender's key, the nonce and the tag
MIN_PAYLOAD_BYTES = 1 + 32 + 12 + 16
_RELAY_ID = re.compile(r"[0-9]{8}")
_MAX_TOKEN = 128


@dataclass(frozen=True)
class CopyOpened:
    relay_id: str
    token: str  # the receiver's alone: fetches the payload; only its digest is kept
    expires_at: datetime


@dataclass(frozen=True)
class RelayKey:
    relay_id: str
    public_key: bytes
    expires_at: datetime


@dataclass(frozen=True)
class PayloadFetched:
    """``payload`` None: nothing sent yet (the receiver asks again)."""

    relay_id: str
    payload: bytes | None
    expires_at: datetime


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class CertificateCopies:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        audit: AuditTrail,
        policy: Policy,
        clock: Clock,
    ) -> None:
        self.uow_factory = uow_factory
        self.risk = RiskRules(policy, clock)
        self.audit = audit
        self.policy = policy
        self.clock = clock

    # ------------------------------------------------------------------ the receiver opens

    def open(self, public_key: bytes, *, client_ip: str | None) -> CopyOpened:
        """A new relay for the receiving device's ephemeral X25519 public key."""
        if len(public_key) != PUBLIC_KEY_BYTES:
            raise CertCenterError("INVALID_REQUEST", detail="public_key must be 32 bytes")
        address = client_address(client_ip)[1]
        token = secrets.token_urlsafe(32)
        with self.uow_factory() as uow:
            self.risk.check_blocks(
                uow, customer_id=None, device_id=None, marks=[client_address(client_ip)]
            )
            now = self.clock.now()
            uow.certificate_copies.purge_expired(now)
            limit = self.policy.certificate_copy_max_open_per_address
            if uow.certificate_copies.open_from(address, now) >= limit:
                raise CertCenterError("CERTIFICATE_COPY_TOO_MANY", limit=limit)
            relay_id = self._new_id(uow)
            expires_at = now + timedelta(seconds=self.policy.certificate_copy_ttl_seconds)
            uow.certificate_copies.add(
                CertificateCopy(
                    id=relay_id,
                    public_key=bytes(public_key),
                    token_digest=_digest(token),
                    client_ip=address,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
            self._audit(uow, "open", relay_id, client_ip)
            uow.commit()
        return CopyOpened(relay_id=relay_id, token=token, expires_at=expires_at)

    @staticmethod
    def _new_id(uow: UnitOfWork) -> str:
        for _ in range(20):
            candidate = f"{secrets.randbelow(10**RELAY_ID_DIGITS):0{RELAY_ID_DIGITS}d}"
            if not uow.certificate_copies.exists(candidate):
                return candidate
        raise CertCenterError("SERVICE_UNAVAILABLE")  # pragma: no cover - 10^8 ids

    # ------------------------------------------------------------------ the sender

    def public_key(self, relay_id: str, *, client_ip: str | None) -> RelayKey:
        """The receiver's public key, for the sender to check against the code's fingerprint."""
        with self.uow_factory() as uow:
            relay = self._named(uow, relay_id, client_ip)
            self._live(uow, relay)
            if relay.sent_at is not None:
                raise CertCenterError("CERTIFICATE_COPY_ALREADY_SENT")
            key = RelayKey(relay.id, bytes(relay.public_key), relay.expires_at)
            uow.commit()
        return key

    def send(self, relay_id: str, payload: bytes, *, client_ip: str | None) -> datetime:
        """Keep the sealed payload for the receiver: once per relay."""
        limit = self.policy.certificate_copy_max_bytes
        if len(payload) > limit:
            raise CertCenterError("CERTIFICATE_COPY_TOO_LARGE", limit=limit)
        if len(payload) < MIN_PAYLOAD_BYTES:
            raise CertCenterError("INVALID_REQUEST", detail="payload is not a sealed copy")
        with self.uow_factory() as uow:
            relay = self._named(uow, relay_id, client_ip, lock=True)
            self._live(uow, relay)
            if relay.sent_at is not None:
                uow.commit()
                raise CertCenterError("CERTIFICATE_COPY_ALREADY_SENT")
            relay.payload = bytes(payload)
            relay.sent_at = self.clock.now()
            self._audit(uow, "send", relay.id, client_ip, details={"bytes": len(payload)})
            uow.commit()
            return relay.expires_at

    # ------------------------------------------------------------------ the receiver fetches

    def fetch(self, relay_id: str, token: str, *, client_ip: str | None) -> PayloadFetched:
        """The sealed payload once it was sent, deleted with its relay as it is handed out;
        ``payload`` None while nothing was sent. A wrong token is an unknown relay."""
        with self.uow_factory() as uow:
            relay = self._named(uow, relay_id, client_ip, lock=True, token=token)
            self._live(uow, relay)
            if relay.payload is None:
                uow.commit()
                return PayloadFetched(relay.id, None, relay.expires_at)
            fetched = PayloadFetched(relay.id, bytes(relay.payload), relay.expires_at)
            uow.certificate_copies.delete(relay.id)
            self._audit(uow, "receive", relay.id, client_ip)
            uow.commit()
        return fetched

    def cancel(self, relay_id: str, token: str, *, client_ip: str | None) -> None:
        """The receiver gives up: the relay and anything sent to it are deleted."""
        with self.uow_factory() as uow:
            relay = self._named(uow, relay_id, client_ip, lock=True, token=token)
            uow.certificate_copies.delete(relay.id)
            self._audit(uow, "cancel", relay.id, client_ip)
            uow.commit()

    # ------------------------------------------------------------------ the job

    def purge(self, *, batch: int = 500) -> int:
        """Delete the relays past their time, with whatever they hold."""
        with self.uow_factory() as uow:
            count = uow.certificate_copies.purge_expired(self.clock.now(), limit=batch)
            uow.commit()
        return count

    # ------------------------------------------------------------------ machinery

    def _named(
        self,
        uow: UnitOfWork,
        relay_id: str,
        client_ip: str | None,
        *,
        lock: bool = False,
        token: str | None = None,
    ) -> CertificateCopy:
        """The relay a request names, its try counted under the client address first: an
        unknown id (or, with ``token``, a wrong token) is a failure of the address's."""
        marks = [client_address(client_ip)]
        holder = new_id()
        # under the address's row lock: the tries from one address are counted one by one
        self.risk.reserve(uow, marks=marks, holder=holder)
        self.risk.release(uow, holder)
        clean = str(relay_id)
        relay = (
            uow.certificate_copies.get(clean, for_update=lock)
            if _RELAY_ID.fullmatch(clean)
            else None
        )
        if relay is not None and token is not None:
            given = _digest(str(token)[:_MAX_TOKEN])
            if not hmac.compare_digest(given, relay.token_digest):
                relay = None
        if relay is None:
            self.risk.record_failure(
                uow,
                step="certificate_copy",
                code="CERTIFICATE_COPY_NOT_FOUND",
                customer_id=None,
                enrollment_id=None,
                device_id=None,
                client_ip=client_ip,
                marks=marks,
            )
            uow.commit()
            raise CertCenterError("CERTIFICATE_COPY_NOT_FOUND")
        return relay

    def _live(self, uow: UnitOfWork, relay: CertificateCopy) -> None:
        """``CERTIFICATE_COPY_EXPIRED`` past its time: the relay is deleted on the spot."""
        if self.clock.now() >= relay.expires_at:
            uow.certificate_copies.delete(relay.id)
            uow.commit()
            raise CertCenterError(
                "CERTIFICATE_COPY_EXPIRED", seconds=self.policy.certificate_copy_ttl_seconds
            )

    def _audit(
        self,
        uow: UnitOfWork,
        step: str,
        relay_id: str,
        client_ip: str | None,
        *,
        details: dict[str, int] | None = None,
    ) -> None:
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER.value,
            actor="certificate_copy",
            action=f"certificate_copy.{step}",
            subject_kind=SUBJECT_KIND,
            subject=relay_id,
            source_ip=client_ip,
            details=details or {},
        )
