"""The OCSP responder (RFC 6960): a DER request in, a DER response out, never an exception.

    responder = OcspResponder(uow_factory=..., backend=..., hierarchy=center.hierarchy,
                              settings=settings, clock=clock)
    der = responder.respond(request_der)     # POST body, or the decoded GET path
    held = responder.held(request_der)       # from memory only, or None (no database)
    responder.refresh_due()                  # job runner: re-sign what is near its end

What it answers:

- a request that does not parse, uses a hash other than SHA-1/SHA-2, carries a nonce
  outside 1-32 octets, or asks about more than ``policy.ocsp_max_certificates_per_request``
  certificates: ``malformedRequest``;
- a request about several certificates (up to that limit): one response with a
  SingleResponse for each, signed for the request (:mod:`certcenter.pki.ocsp_batch`);
- a CertID naming an issuer that is not one of the center's issuing CAs: ``unauthorized``;
- otherwise a signed response about the certificate (:func:`certificate_answer`):
  ``good`` (active), ``revoked`` with time and reason (revoked, superseded), ``revoked``
  with reason certificateHold (suspended), ``unknown`` (never issued by that CA, or only
  an intent: pending, abandoned). An expired certificate is ``revoked`` if it was revoked
  or on hold when it expired, else ``good`` (RFC 6960 §2.2 allows either; OpenSSL accepts
  both; the certificate's own notAfter tells the relying party it expired);
- a part of the center that is away for now (a refusal with status 503: the HSM's
  ``KEY_TOKEN_UNAVAILABLE``, ``STORAGE_UNAVAILABLE``): ``tryLater``, logged as one line
  with its code (HTTP 503, :attr:`OcspAnswer.unavailable`);
- any other fault of the center: ``internalError``, logged.

Responses are signed by the CA's delegated responder (``mobile-ocsp``, see
:func:`certcenter.pki.hierarchy.ensure_ocsp_signer`), which is re-issued here if it is
missing or near its end. Its file is read again every :data:`SIGNER_REREAD_SECONDS`, so a
signer rotated by a key ceremony (``mobile-ocsp.2``) is taken up by a running server.
thisUpdate is now, nextUpdate now + ``policy.ocsp_response_validity_minutes``. After a CA
key rollover each CA generation has its own responder (``mobile-ocsp``, ``mobile.2-ocsp``),
certified by its own key: a certificate of the retired generation is answered by the
retired generation's responder, which that key (kept for this) re-issues when due.

Caching: a response to a request without a nonce is stored in ``uow.ocsp`` (keyed by serial)
and served again until ``next_update - policy.ocsp_refresh_margin_minutes``, as long as the
request's CertID is the stored one. Serving a stored response, and answering a request with a
nonce, are read-only units of work: they never wait for the database's write lock; only a
response about to be stored takes it. A request with a nonce gets a fresh response echoing it.
``unknown`` is never stored (an intent becomes a certificate; guessed serials must not fill
the table). A response is stored under the certificate's row lock, the lock every status
change takes before it invalidates the cache, so a response computed before a revocation
cannot be stored after it.

In memory: a cacheable answer about a known certificate is also held in this process's
:class:`~certcenter.revocation.ocsp_memory.ResponseMemory`, keyed by the request's bytes;
:meth:`OcspResponder.held` serves it with no database and no parse. Every invalidation is
numbered in the database's change log (``uow.ocsp.invalidate``); :meth:`OcspResponder.
check_changes` reads the log after the last number seen and drops what it names, and nothing
is served from memory while the last read is older than
``policy.ocsp_memory_max_staleness_seconds``. The invalidations this process commits are
dropped at once (``change_feed``).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import ocsp
from cryptography.x509.ocsp import OCSPCertStatus, OCSPResponseStatus

from certcenter.clock import Clock, as_utc
from certcenter.config import Settings
from certcenter.entities import CertificateRecord, CertificateStatus, OcspCacheEntry
from certcenter.errors import CertCenterError
from certcenter.keys.backend import CaKeys, OcspKeys
from certcenter.pki.hierarchy import (
    CaHierarchy,
    CertificateAuthority,
    OcspSigner,
    ensure_ocsp_signer,
    load_ocsp_signer,
    ocsp_signer_due,
)
from certcenter.pki.ocsp import (
    CERTID_HASHES,
    CertAnswer,
    StatusRequest,
    issuer_hashes,
    parse_request,
    response_builder,
    unsuccessful,
    whole_seconds,
)
from certcenter.pki.ocsp_batch import BatchRequest, basic_response, parse_batch, response_data
from certcenter.ports import (
    ConstraintViolationError,
    OcspChangeFeed,
    UnitOfWork,
    UnitOfWorkFactory,
)
from certcenter.revocation.ocsp_memory import ResponseMemory

__all__ = ["OcspAnswer", "OcspResponder", "certificate_answer"]

log = logging.getLogger(__name__)

CHANGES_KEPT = 100_000  # logged status changes kept for processes that read the log late
# how often the responder reads its signer's certificate file again: a rotated signer is
# used within this many seconds, in every worker
SIGNER_REREAD_SECONDS = 60.0
_CHANGES_READ = 1000  # more changes than this since the last read: everything is dropped

_UNKNOWN_STATES = (CertificateStatus.PENDING.value, CertificateStatus.ABANDONED.value)
_REVOKED_STATES = (CertificateStatus.REVOKED.value, CertificateStatus.SUPERSEDED.value)


def _reason(record: CertificateRecord) -> x509.ReasonFlags | None:
    if record.revocation_reason is None:
        return None
    try:
        return x509.ReasonFlags(record.revocation_reason)
    except ValueError:
        log.warning("certificate %s has an unknown revocation reason", record.serial)
        return None


def _revoked_at(record: CertificateRecord) -> datetime:
    when = record.revoked_at or record.suspended_at
    if when is None:  # a record written by hand; say revoked, at least since issuance
        log.warning("certificate %s is %s without a revocation time", record.serial, record.status)
        when = record.issued_at or record.created_at
    return as_utc(when)


def certificate_answer(record: CertificateRecord | None, ca: CertificateAuthority) -> CertAnswer:
    """What the responder says about ``record`` when asked by the CertID of ``ca``."""
    if record is None or record.issuer_key_label != ca.key_label:
        return CertAnswer.unknown()
    status = record.status
    if status in _UNKNOWN_STATES:
        return CertAnswer.unknown()
    if status == CertificateStatus.ACTIVE:
        return CertAnswer.good()
    if status == CertificateStatus.SUSPENDED:
        when = record.suspended_at or record.revoked_at
        return CertAnswer.revoked(
            as_utc(when) if when is not None else _revoked_at(record),
            x509.ReasonFlags.certificate_hold,
        )
    if status in _REVOKED_STATES:
        reason = _reason(record)
        if reason is None and status == CertificateStatus.SUPERSEDED:
            reason = x509.ReasonFlags.superseded
        return CertAnswer.revoked(_revoked_at(record), reason)
    if status == CertificateStatus.EXPIRED:
        if record.revoked_at is None:
            return CertAnswer.good()
        return CertAnswer.revoked(as_utc(record.revoked_at), _reason(record))
    log.warning("certificate %s has an unknown status %r", record.serial, status)
    return CertAnswer.unknown()


@dataclass(frozen=True)
class OcspAnswer:
    """A DER OCSPResponse with what an HTTP cache needs to know about it, so that nobody
    parses the DER again: ``cacheable`` is a successful response without nonce (RFC 5019
    §6.2); ``this_update``/``next_update`` are set exactly when it is cacheable."""

    der: bytes
    cacheable: bool = False
    this_update: datetime | None = None
    next_update: datetime | None = None
    # the catalog code of a part that is away for now (``tryLater``: the key backend, the
    # database); HTTP answers it 503
    unavailable: str | None = None

    @classmethod
    def unsuccessful(cls, status: OCSPResponseStatus) -> OcspAnswer:
        return cls(unsuccessful(status))

    @classmethod
    def try_later(cls, error: CertCenterError) -> OcspAnswer:
        return cls(unsuccessful(OCSPResponseStatus.TRY_LATER), unavailable=error.code)

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the DER, hex (an HTTP entity tag is made of it); computed once."""
        return hashlib.sha256(self.der).hexdigest()


class OcspResponder:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        backend: OcspKeys,
        hierarchy: Callable[[], CaHierarchy],
        settings: Settings,
        clock: Clock,
        change_feed: OcspChangeFeed | None = None,
        ca_backend: CaKeys | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._backend = backend  # the responders' keys
        # the CAs' keys certify the responders (the same backend unless given apart)
        if ca_backend is None:
            if not isinstance(backend, CaKeys):
                raise TypeError(f"{type(backend).__name__} holds no CA keys: give ca_backend")
            ca_backend = backend
        self._ca_backend = ca_backend
        self._hierarchy = hierarchy
        self._settings = settings
        self._clock = clock
        policy = settings.policy
        self._validity = timedelta(minutes=policy.ocsp_response_validity_minutes)
        self._margin = timedelta(minutes=policy.ocsp_refresh_margin_minutes)
        self._batch_limit = policy.ocsp_max_certificates_per_request
        self._lock = threading.Lock()
        self._signers: dict[str, OcspSigner] = {}
        self._signers_read: dict[str, float] = {}  # when each family's file was last read
        self._issuers: dict[tuple[str, bytes, bytes], CertificateAuthority] = {}
        self._issuers_of: CaHierarchy | None = None
        self.memory: ResponseMemory[OcspAnswer] = ResponseMemory(
            max_bytes=policy.ocsp_memory_mib * 1024 * 1024,
            max_staleness=timedelta(seconds=policy.ocsp_memory_max_staleness_seconds),
        )
        self._check_lock = threading.Lock()  # one read of the change log at a time
        self._schedule_lock = threading.Lock()
        self._check_scheduled = False
        self._closed = False
        if change_feed is not None and self.memory.enabled:
            change_feed.watch_ocsp_changes(self.memory.drop)

    # ------------------------------------------------------------------ answering

    def respond(self, request_der: bytes) -> bytes:
        """The DER OCSPResponse for a DER OCSPRequest (see the module docstring)."""
        return self.answer(request_der).der

    def held(self, request_der: bytes) -> OcspAnswer | None:
        """The answer held in memory for exactly these request bytes, if it may be served
        now; None: call :meth:`answer`. Reads no database and signs nothing: an event loop
        may call it."""
        if not self.memory.enabled:
            return None
        return self.memory.get(request_der, self._clock.now())

    def answer(self, request_der: bytes) -> OcspAnswer:
        """:meth:`respond`, with the response's cache facts (see :class:`OcspAnswer`)."""
        try:
            if self.memory.enabled:
                held = self.held(request_der)
                if held is not None:
                    return held
                if not self.memory.fresh(self._clock.now()):
                    self.check_changes()
                    held = self.held(request_der)
                    if held is not None:
                        return held
            return self._respond(request_der, self.memory.generation)
        except CertCenterError as error:
            if error.http_status != 503:
                log.exception("OCSP: internal error")
                return OcspAnswer.unsuccessful(OCSPResponseStatus.INTERNAL_ERROR)
            # a part that is away for now (the HSM, the database): tryLater, no traceback
            log.warning("OCSP: tryLater: %s (%s)", error.code, error.cause("en"))
            return OcspAnswer.try_later(error)
        except Exception:  # the protocol has an answer for our faults too
            log.exception("OCSP: internal error")
            return OcspAnswer.unsuccessful(OCSPResponseStatus.INTERNAL_ERROR)

    def _respond(self, request_der: bytes, generation: int) -> OcspAnswer:
        request = parse_request(request_der)
        if request is OCSPResponseStatus.MALFORMED_REQUEST:
            # ``cryptography`` reads one certificate per request: several are read apart
            batch = parse_batch(request_der, limit=self._batch_limit)
            if isinstance(batch, BatchRequest) and len(batch.requests) > 1:
                return self._answer_batch(batch)
        if isinstance(request, OCSPResponseStatus):
            return OcspAnswer.unsuccessful(request)
        ca = self._issuer_of(request)
        if ca is None:
            return OcspAnswer.unsuccessful(OCSPResponseStatus.UNAUTHORIZED)
        now = self._clock.now()
        if request.nonce is not None:  # never stored: a read, then a signature
            with self._uow_factory(read_only=True) as uow:
                record = uow.certificates.get(request.serial_hex)
            return OcspAnswer(self._answer(request, record, ca, now)[1])
        with self._uow_factory(read_only=True) as uow:
            cached = self._cached(uow, request, now)
        if cached is not None:
            return self._hold(request_der, request, cached, generation)
        with self._uow_factory() as uow:
            # Stored by a request that held the lock before this one?
            cached = self._cached(uow, request, now)
            if cached is not None:
                return self._hold(request_der, request, cached, generation)
            # Locked because the answer may be stored: see the module docstring.
            record = uow.certificates.get(request.serial_hex, for_update=True)
            response, der = self._answer(request, record, ca, now)
            known = response.certificate_status is not OCSPCertStatus.UNKNOWN
            if known:
                self._store(uow, request.serial_hex, response, der)
        answer = OcspAnswer(der, True, response.this_update_utc, response.next_update_utc)
        return self._hold(request_der, request, answer, generation) if known else answer

    def _answer_batch(self, batch: BatchRequest) -> OcspAnswer:
        """One response about several certificates, signed for this request (never stored:
        the set asked about is the client's). They must all be of one issuing CA: its
        delegated responder speaks for its certificates only, and a client checks that
        (OpenSSL: "root ca not trusted"), so a request that names another issuer too is
        ``unauthorized``, as a request about that issuer's certificate alone is."""
        found = [self._issuer_of(request) for request in batch.requests]
        ca = found[0]
        if ca is None or any(authority is not ca for authority in found):
            return OcspAnswer.unsuccessful(OCSPResponseStatus.UNAUTHORIZED)
        with self._uow_factory(read_only=True) as uow:
            answers = [
                certificate_answer(uow.certificates.get(request.serial_hex), ca)
                for request in batch.requests
            ]
        now = whole_seconds(self._clock.now())
        signer = self._signer(ca, now)
        tbs = response_data(
            batch,
            answers,
            signer.certificate,
            produced_at=now,
            this_update=now,
            next_update=now + self._validity,
        )
        signature = self._backend.sign(signer.key_label, tbs)
        return OcspAnswer(basic_response(tbs, signer.certificate, signature))

    def _hold(
        self, key: bytes, request: StatusRequest, answer: OcspAnswer, generation: int
    ) -> OcspAnswer:
        """Keep a cacheable answer about a known certificate in memory (see
        :mod:`certcenter.revocation.ocsp_memory`)."""
        if self.memory.enabled and answer.next_update is not None:
            self.memory.put(
                key,
                request.serial_hex,
                answer,
                der_size=len(answer.der),
                serve_until=answer.next_update - self._margin,
                generation=generation,
            )
        return answer

    # ------------------------------------------------------------------ the change log

    def check_due(self) -> bool:
        """Whether the change log should be read in the background now (half the bound has
        passed and no read is scheduled); a True answer counts as scheduling it, so the
        caller must then run :meth:`check_changes`."""
        if not self.memory.enabled or self._check_scheduled:
            return False
        if not self.memory.check_due(self._clock.now()):
            return False
        with self._schedule_lock:
            if self._check_scheduled:
                return False
            self._check_scheduled = True
            return True

    def check_changes_in_background(self) -> None:
        """:meth:`check_changes` for a thread of its own: a failure is logged (the next
        request that finds the memory too old to serve reads the log itself)."""
        try:
            self.check_changes()
        except Exception:  # nobody waits for this; the bound still holds
            log.warning("OCSP: the change log could not be read", exc_info=True)

    def check_changes(self) -> None:
        """Read the change log after the last number seen and drop what it names (all of it
        when the log was pruned past that number): one small read-only query."""
        try:
            self._check_changes()
        finally:
            with self._schedule_lock:
                self._check_scheduled = False

    def close(self) -> None:
        """No more reads of the change log (the center is closing its databases): waits for
        a read under way; a read scheduled later does nothing."""
        with self._check_lock:
            self._closed = True

    def _check_changes(self) -> None:
        with self._check_lock:
            if self._closed:
                return
            started, started_mono = self._clock.now(), time.monotonic()
            if not self.memory.check_due(started):
                return  # read by another thread while this one waited
            memory = self.memory
            seen = memory.seen
            with self._uow_factory(read_only=True) as uow:
                if seen is None:
                    newest, changes = uow.ocsp.version(), []
                else:
                    changes = list(uow.ocsp.changed_since(seen, limit=_CHANGES_READ + 1))
                    newest = changes[-1][0] if changes else seen
                    if len(changes) > _CHANGES_READ:
                        newest = uow.ocsp.version()
            if (
                seen is None
                or len(changes) > _CHANGES_READ
                or (changes and changes[0][0] != seen + 1)
            ):
                memory.clear()  # the first read, too many changes, or the log was pruned
            else:
                for _, serial in changes:
                    memory.drop(serial)
            memory.checked(started, started_mono, newest)

    def _cached(self, uow: UnitOfWork, request: StatusRequest, now: datetime) -> OcspAnswer | None:
        cached = uow.ocsp.get(request.serial_hex, request.hash_algorithm.name)
        if cached is not None and self._fresh(cached, now) and _same_certid(cached, request):
            return OcspAnswer(
                bytes(cached.der), True, as_utc(cached.this_update), as_utc(cached.next_update)
            )
        return None

    def _answer(
        self,
        request: StatusRequest,
        record: CertificateRecord | None,
        ca: CertificateAuthority,
        now: datetime,
    ) -> tuple[ocsp.OCSPResponse, bytes]:
        response = self._sign(request, certificate_answer(record, ca), ca, now)
        return response, response.public_bytes(serialization.Encoding.DER)

    def _issuer_of(self, request: StatusRequest) -> CertificateAuthority | None:
        hierarchy = self._hierarchy()
        if self._issuers_of is not hierarchy:
            table = {}
            for ca in hierarchy.authorities:  # retired CA generations answer too
                for name, algorithm in CERTID_HASHES.items():
                    name_hash, key_hash = issuer_hashes(ca.certificate, algorithm)
                    table[(name, name_hash, key_hash)] = ca
            self._issuers, self._issuers_of = table, hierarchy
        key = (request.hash_algorithm.name, request.issuer_name_hash, request.issuer_key_hash)
        return self._issuers.get(key)

    def _fresh(self, cached: OcspCacheEntry, now: datetime) -> bool:
        this_update = as_utc(cached.this_update)
        next_update = as_utc(cached.next_update)
        return this_update <= now + timedelta(minutes=5) and now < next_update - self._margin

    def _signer(self, ca: CertificateAuthority, now: datetime) -> OcspSigner:
        if ca.family is None:
            raise ValueError("only issuing CAs have OCSP responders")
        with self._lock:
            # one responder per CA generation (a retired CA's answers for what it issued)
            signer = self._signers.get(ca.scope)
            read = self._signers_read.get(ca.scope)
            if signer is None or read is None or time.monotonic() - read >= SIGNER_REREAD_SECONDS:
                # a rotation (certcenter keys ceremony rotate ocsp-signer) writes a new file
                signer = load_ocsp_signer(self._settings, ca) or signer
                self._signers_read[ca.scope] = time.monotonic()
            if signer is None or ocsp_signer_due(signer, ca, now):
                signer = ensure_ocsp_signer(
                    self._ca_backend,
                    self._settings,
                    self._clock,
                    ca,
                    responder_keys=self._backend,
                )
            self._signers[ca.scope] = signer
            return signer

    def _sign(
        self, request: StatusRequest, answer: CertAnswer, ca: CertificateAuthority, now: datetime
    ) -> ocsp.OCSPResponse:
        signer = self._signer(ca, now)
        builder = response_builder(
            request,
            answer,
            signer.certificate,
            this_update=now,
            next_update=now + self._validity,
        )
        return self._backend.sign_ocsp(signer.key_label, builder)

    def _store(self, uow: UnitOfWork, serial: str, response: ocsp.OCSPResponse, der: bytes) -> None:
        next_update = response.next_update_utc
        if next_update is None:  # we always set it
            return
        uow.ocsp.put(
            OcspCacheEntry(
                serial=serial,
                der=der,
                this_update=response.this_update_utc,
                next_update=next_update,
                produced_at=response.produced_at_utc,
                hash_algorithm=response.hash_algorithm.name,
            )
        )
        try:
            uow.commit()
        except ConstraintViolationError:
            log.info("OCSP: response for %s stored by another request meanwhile", serial)

    # ------------------------------------------------------------------ the job

    def refresh_due(
        self, now: datetime | None = None, *, limit: int = 10_000, batch: int = 500
    ) -> int:
        """Re-sign stored responses whose ``next_update`` is within the refresh margin of
        ``now`` (SHA-1 CertIDs), at most ``limit`` of them; drop those of certificates that
        are gone, expired or unknown now. Returns how many were re-signed."""
        now = now or self._clock.now()
        hierarchy = self._hierarchy()
        authorities = {ca.key_label: ca for ca in hierarchy.authorities}
        refreshed = 0
        tried: set[tuple[str, str]] = set()
        while len(tried) < limit:
            with self._uow_factory(read_only=True) as uow:
                due = [
                    (entry.serial, entry.hash_algorithm)
                    for entry in uow.ocsp.due(now + self._margin, limit=batch + len(tried))
                    if (entry.serial, entry.hash_algorithm) not in tried
                ]
            if not due:
                break
            for serial, algorithm in due[: limit - len(tried)]:
                tried.add((serial, algorithm))
                try:
                    refreshed += self._refresh_one(serial, algorithm, authorities, now)
                except Exception:  # one bad entry must not stop the others
                    log.exception("OCSP: response for %s (%s) not refreshed", serial, algorithm)
        with self._uow_factory() as uow:
            if uow.ocsp.prune_changes(CHANGES_KEPT):
                uow.commit()
        return refreshed

    def stored_fresh(
        self, now: datetime | None = None, *, batch: int = 500
    ) -> list[OcspCacheEntry]:
        """Every stored response that would be served now, soonest nextUpdate first."""
        now = now or self._clock.now()
        horizon = now + timedelta(days=366 * 100)
        limit = batch
        while True:
            with self._uow_factory(read_only=True) as uow:
                page = list(uow.ocsp.due(horizon, limit=limit))
            if len(page) < limit:
                break
            limit *= 2
        return [entry for entry in page if self._fresh(entry, now)]

    def _refresh_one(
        self,
        serial: str,
        algorithm_name: str,
        authorities: dict[str, CertificateAuthority],
        now: datetime,
    ) -> int:
        algorithm = CERTID_HASHES.get(algorithm_name)
        with self._uow_factory() as uow:
            record = uow.certificates.get(serial, for_update=True)
            cached = uow.ocsp.get(serial, algorithm_name)
            if cached is None or self._fresh(cached, now):
                return 0  # invalidated or refreshed meanwhile
            ca = authorities.get(record.issuer_key_label) if record is not None else None
            if record is None or ca is None or as_utc(record.not_after) <= now:
                uow.ocsp.invalidate(serial)
                uow.commit()
                return 0
            answer = certificate_answer(record, ca)
            if answer.status is OCSPCertStatus.UNKNOWN:
                uow.ocsp.invalidate(serial)
                uow.commit()
                return 0
            if algorithm is None:  # a hash no longer answered: re-signed when asked again
                return 0
            name_hash, key_hash = issuer_hashes(ca.certificate, algorithm)
            request = StatusRequest(algorithm, name_hash, key_hash, int(serial, 16), None)
            response = self._sign(request, answer, ca, now)
            self._store(uow, serial, response, response.public_bytes(serialization.Encoding.DER))
            return 1


def _same_certid(cached: OcspCacheEntry, request: StatusRequest) -> bool:
    """Whether the stored response answers exactly the request's CertID."""
    try:
        response = ocsp.load_der_ocsp_response(bytes(cached.der))
        return (
            response.response_status is OCSPResponseStatus.SUCCESSFUL
            and response.serial_number == request.serial
            and response.hash_algorithm.name == request.hash_algorithm.name
            and response.issuer_key_hash == request.issuer_key_hash
            and response.issuer_name_hash == request.issuer_name_hash
        )
    except Exception:  # noqa: BLE001 - a damaged stored response is simply not used
        return False
