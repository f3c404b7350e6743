"""The mobile OTP (모바일 OTP): an RFC 6238 TOTP generator on the customer's phone.

Registration proves who the customer is again, on top of the logged-in session:

    otp = OtpService(uow_factory, keys, SEAL_LABEL, hasher, providers, guard, clock, policy, audit)
    started = otp.start_registration(customer_id)          # SMS code to the registered phone
    made = otp.confirm_registration(customer_id, started.registration_id, sms_code="123456",
                                    bank_code="004", account_number="12340100000001",
                                    account_password="2580")
    made.uri, made.qr_png                                  # handed out once, never again
    otp.verify(customer_id, "287082")                      # with the OTP's own lockout
    otp.check(customer_id, "287082")                       # for a caller with its own guard
    otp.cancel(customer_id, device_id=session.device_id, pin="135790")   # 해지, the PIN again

The SMS code is kept only as a keyed digest (:meth:`SecretHasher.code_digest`, compared in
constant time; one stored as argon2id before still verifies) in a ``FactorChallenge`` (factor
``otp_registration``) and sent straight to the provider, never through the outbox; it is counted
in the SMS budget of the phone, the customer and the address like every code by SMS. A wrong
SMS code and a wrong account password answer alike (``AUTH_FAILED`` / ``AUTH_LAST_TRY``); the
password counts towards its own lock (:class:`~certcenter.authn.factors.FactorGuard`), the SMS
code towards the registration's tries (``sms_code_max_tries``), after which the registration is
spent.

The OTP secret (160 random bits) is sealed by the key backend under the seal label, bound to
the token's id, and stored only sealed. A code is accepted for the current time step and
``otp_window_steps`` either side, once: the last accepted step is stored atomically, and a code
for that step or an earlier one is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyotp
import segno

from certcenter.audit.redaction import mask_phone
from certcenter.audit.trail import AuditTrail
from certcenter.authn.codes import VerificationCodes, code_message, random_digits
from certcenter.authn.factors import ACCOUNT_PASSWORD, OTP, PIN, FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.clock import Clock, as_utc
from certcenter.config import Policy
from certcenter.entities import Actor, Customer, FactorChallenge, OtpToken, OtpTokenStatus, new_id
from certcenter.errors import CertCenterError
from certcenter.identity.providers import Providers
from certcenter.keys import Secrets
from certcenter.media.app_pin import check_pin, keep_fresh, session_app
from certcenter.ports import ConstraintViolationError, UnitOfWork, UnitOfWorkFactory

__all__ = [
    "ALGORITHMS",
    "OTP_REGISTRATION",
    "SECRET_BYTES",
    "OtpProvisioning",
    "OtpRegistration",
    "OtpService",
    "OtpStatus",
    "hotp",
    "matching_step",
    "provisioning_uri",
    "qr_png",
    "time_step",
    "totp",
]

OTP_REGISTRATION = "otp_registration"  # the FactorChallenge factor of a registration
SECRET_BYTES = 20  # 160 bits, the HMAC-SHA1 block the RFC 4226 recommends
REGISTRATION_CODE_DIGITS = 6
_CODE_PURPOSE = "code:otp_registration"

ALGORITHMS: dict[str, Callable[[], Any]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}


# ---------------------------------------------------------------- RFC 4226 / RFC 6238


def hotp(secret: bytes, counter: int, *, digits: int = 6, algorithm: str = "SHA1") -> str:
    """RFC 4226 HOTP: dynamic truncation of HMAC(secret, counter as 8 bytes big-endian)."""
    if not 0 <= counter < 1 << 64:
        raise ValueError("the counter is an unsigned 64-bit number")
    if not 6 <= digits <= 10:
        raise ValueError("digits must be 6 to 10")
    try:
        digest = ALGORITHMS[algorithm.upper()]
    except KeyError:
        raise ValueError(f"unknown algorithm {algorithm!r}") from None
    mac = hmac.new(secret, counter.to_bytes(8, "big"), digest).digest()
    offset = mac[-1] & 0x0F
    binary = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFF_FFFF
    return str(binary % 10**digits).zfill(digits)


def time_step(at: datetime | int, period: int = 30) -> int:
    """RFC 6238 T = floor((unix time - T0) / X) with T0 = 0; ``at`` a datetime or seconds."""
    if period < 1:
        raise ValueError("the period is at least one second")
    seconds = int(as_utc(at).timestamp()) if isinstance(at, datetime) else int(at)
    if seconds < 0:
        raise ValueError("time before the Unix epoch")
    return seconds // period


def totp(
    secret: bytes,
    at: datetime | int,
    *,
    period: int = 30,
    digits: int = 6,
    algorithm: str = "SHA1",
) -> str:
    """RFC 6238 TOTP at time ``at``."""
    return hotp(secret, time_step(at, period), digits=digits, algorithm=algorithm)


def matching_step(
    secret: bytes,
    code: str,
    *,
    step: int,
    window: int,
    digits: int,
    algorithm: str,
    after: int | None = None,
) -> int | None:
    """The earliest time step within ``step ± window`` (and later than ``after``) whose code is
    ``code``, or None. Every candidate is made and compared in constant time, whichever
    matches, so the answer's timing does not tell where in the window the code was."""
    wanted = code.encode("ascii", "replace")
    found: int | None = None
    for candidate in range(step - window, step + window + 1):
        if candidate < 0:
            continue
        same = hmac.compare_digest(
            hotp(secret, candidate, digits=digits, algorithm=algorithm).encode("ascii"), wanted
        )
        if same and found is None and (after is None or candidate > after):
            found = candidate
    return found


def provisioning_uri(
    secret: bytes,
    *,
    account_name: str,
    issuer: str,
    digits: int,
    period: int,
    algorithm: str = "SHA1",
) -> str:
    """``otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=…&digits=…&period=…``
    (Key URI format). pyotp leaves out parameters at their usual defaults; they are written
    out here anyway, so no authenticator has to guess."""
    digest = ALGORITHMS[algorithm.upper()]
    made = pyotp.TOTP(
        base64.b32encode(secret).decode("ascii"), digits=digits, interval=period, digest=digest
    ).provisioning_uri(name=account_name, issuer_name=issuer)
    parts = urlsplit(made)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.setdefault("algorithm", algorithm.upper())
    query.setdefault("digits", str(digits))
    query.setdefault("period", str(period))
    ordered = {
        key: query[key] for key in ("secret", "issuer", "algorithm", "digits", "period")
    } | query
    return urlunsplit(parts._replace(query=urlencode(ordered).replace("+", "%20")))


def qr_png(uri: str, *, scale: int = 5) -> bytes:
    """The URI as a QR code (error correction M, quiet zone 4), a PNG image."""
    buffer = io.BytesIO()
    segno.make(uri, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class OtpRegistration:
    """A started registration: an SMS code went to the customer's registered phone."""

    registration_id: str
    expires_at: datetime
    phone: str  # masked: 010-****-0001
    customer_number: str


@dataclass(frozen=True)
class OtpProvisioning:
    """What the app needs to make codes, handed out once when the registration completes."""

    token_id: str
    uri: str
    secret_base32: str
    qr_png: bytes
    issuer: str
    account_name: str
    digits: int
    period: int
    algorithm: str
    activated_at: datetime

    def __repr__(self) -> str:  # never print the secret
        return f"OtpProvisioning(token_id={self.token_id!r}, <secret hidden>)"


@dataclass(frozen=True)
class OtpStatus:
    """The customer's mobile OTP, without its secret."""

    registered: bool
    status: str  # active | revoked | none
    token_id: str | None = None
    digits: int | None = None
    period: int | None = None
    algorithm: str | None = None
    issuer: str | None = None
    activated_at: datetime | None = None
    revoked_at: datetime | None = None
    locked: bool = False


# ---------------------------------------------------------------- the service


class OtpService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        keys: Secrets,
        seal_label: str,
        hasher: SecretHasher,
        providers: Providers,
        guard: FactorGuard,
        clock: Clock,
        policy: Policy,
        audit: AuditTrail,
    ) -> None:
        self.uow_factory = uow_factory
        self.keys = keys
        self.seal_label = seal_label
        self.hasher = hasher
        self.providers = providers
        self.guard = guard
        self.clock = clock
        self.policy = policy
        self.audit = audit
        self._codes = VerificationCodes(hasher, clock)  # the SMS budget

    # -- using the OTP

    def check(self, customer_id: str, code: str) -> bool:
        """Is ``code`` the customer's OTP now (within the window) and not used before?

        ``OTP_NOT_REGISTERED`` when the customer has no active OTP. A right code's time step is
        recorded (committed) so it can never be accepted again. Failures are not counted here:
        the caller's :class:`FactorGuard` does that.
        """
        with self.uow_factory() as uow:
            token = uow.otp.active_for_customer(customer_id)
            if token is None:
                raise CertCenterError("OTP_NOT_REGISTERED")
            clean = code.strip()
            if len(clean) != token.digits or not (clean.isascii() and clean.isdigit()):
                return False
            secret = self._open(token)
            step = matching_step(
                secret,
                clean,
                step=time_step(self.clock.now(), token.period),
                window=self.policy.otp_window_steps,
                digits=token.digits,
                algorithm=token.algorithm,
                after=token.last_step,
            )
            if step is None or not uow.otp.accept_step(token.id, step):
                return False
            uow.commit()
        return True

    def verify(self, customer_id: str, code: str) -> None:
        """Check ``code`` with the OTP's lockout (``otp_max_failures``): ``AUTH_FAILED`` /
        ``AUTH_LAST_TRY`` for a wrong, malformed or replayed code, ``OTP_LOCKED`` at the limit
        (then even the right code), ``OTP_NOT_REGISTERED`` without an active OTP."""
        with self.uow_factory() as uow:
            if uow.otp.active_for_customer(customer_id) is None:
                raise CertCenterError("OTP_NOT_REGISTERED")
            self.guard.reserve(uow, customer_id, [OTP])
            uow.commit()
        try:
            ok = self.check(customer_id, code)
        except CertCenterError:  # cancelled meanwhile: give the try back
            with self.uow_factory() as uow:
                uow.factors.release_attempt(customer_id, OTP, self.clock.now())
                uow.commit()
            raise
        with self.uow_factory() as uow:
            refusal = self.guard.settle(uow, customer_id, {OTP: ok})
            uow.commit()
        if refusal is not None:
            raise refusal

    # -- registration

    def start_registration(
        self, customer_id: str, *, source_ip: str | None = None
    ) -> OtpRegistration:
        """Step 1: send a registration code by SMS to the customer's registered phone."""
        with self.uow_factory() as uow:
            customer = self._customer(uow, customer_id)
            if uow.otp.active_for_customer(customer_id) is not None:
                raise CertCenterError("OTP_ALREADY_REGISTERED")
        plain = random_digits(REGISTRATION_CODE_DIGITS)
        code_hash = self.hasher.code_digest(plain, purpose=_CODE_PURPOSE)
        now = self.clock.now()
        challenge = FactorChallenge(
            id=new_id(),
            customer_id=customer_id,
            factor=OTP_REGISTRATION,
            created_at=now,
            expires_at=now + timedelta(seconds=self.policy.sms_code_ttl_seconds),
            data={"code_hash": code_hash, "tries": 0},
        )
        with self.uow_factory() as uow:
            uow.factor_challenges.add(challenge)
            self._codes.spend_sms(
                uow,
                phone=customer.phone,
                person=customer.id,
                client_ip=source_ip,
                policy=self.policy,
            )
            self._audit(
                uow,
                customer,
                "otp.registration_start",
                "otp_registration",
                challenge.id,
                source_ip=source_ip,
                details={"expires_at": challenge.expires_at},
            )
            uow.commit()
        # Straight to the provider, after the commit: the code never sits anywhere in clear.
        self.providers.sms.send(
            phone=customer.phone, sender=self.policy.sms_sender_number, text=self._sms_text(plain)
        )
        return OtpRegistration(
            registration_id=challenge.id,
            expires_at=challenge.expires_at,
            phone=mask_phone(customer.phone),
            customer_number=customer.customer_number,
        )

    def confirm_registration(
        self,
        customer_id: str,
        registration_id: str,
        *,
        sms_code: str,
        bank_code: str,
        account_number: str,
        account_password: str,
        source_ip: str | None = None,
    ) -> OtpProvisioning:
        """Step 2: the SMS code, the customer's own withdrawal account and its password.

        Returns the new OTP's secret, URI and QR code: the only time they leave the center.
        """
        account = "".join(ch for ch in account_number if ch.isdigit())
        with self.uow_factory() as uow:
            customer = self._customer(uow, customer_id)
            self._open_registration(uow, customer_id, registration_id)
            if uow.otp.active_for_customer(customer_id) is not None:
                raise CertCenterError("OTP_ALREADY_REGISTERED")
        # The account must be the customer's own and usable (ACCOUNT_* refusals).
        self.providers.accounts.check_account(
            bank_code=bank_code, account_number=account, holder_ci=customer.ci
        )

        # Count the tries before anything secret is compared, and commit that.
        with self.uow_factory() as uow:
            uow.customers.get(customer_id, for_update=True)  # one confirmation at a time
            challenge = self._open_registration(uow, customer_id, registration_id)
            tries = int(challenge.data.get("tries", 0))
            if tries >= self.policy.sms_code_max_tries:
                uow.factor_challenges.consume(challenge.id, self.clock.now())
                uow.commit()
                raise CertCenterError("OTP_REGISTRATION_INVALID")
            self.guard.reserve(uow, customer_id, [ACCOUNT_PASSWORD])
            challenge.data = {**challenge.data, "tries": tries + 1}
            code_hash = str(challenge.data["code_hash"])
            uow.commit()

        # The slow checks, outside any transaction.
        clean = sms_code.strip()
        well_formed = len(clean) == REGISTRATION_CODE_DIGITS and clean.isascii() and clean.isdigit()
        # Compared whatever was sent, so a malformed code takes the time of a wrong one.
        code_ok = self.hasher.code_matches(code_hash, clean, purpose=_CODE_PURPOSE) and well_formed
        password_ok = self.providers.banking.verify_account_password(
            bank_code=bank_code, account_number=account, password=account_password
        )
        secret = secrets.token_bytes(SECRET_BYTES)
        token_id = new_id()
        sealed = self.keys.encrypt(self.seal_label, secret, context=token_id.encode())

        with self.uow_factory() as uow:
            uow.customers.get(customer_id, for_update=True)
            challenge = self._registration(uow, customer_id, registration_id)
            if not (code_ok and password_ok):
                refusal = self._refusal(uow, customer_id, challenge, password_ok=password_ok)
                self._audit(
                    uow,
                    customer,
                    "otp.register",
                    "otp_registration",
                    registration_id,
                    outcome=refusal.code,
                    source_ip=source_ip,
                )
                uow.commit()
                raise refusal
            now = self.clock.now()
            refused = self.guard.settle(uow, customer_id, {ACCOUNT_PASSWORD: True})
            if refused is not None:  # pragma: no cover - every factor was right
                raise refused
            if not uow.factor_challenges.consume(registration_id, now):
                raise CertCenterError("OTP_REGISTRATION_INVALID")  # confirmed meanwhile
            if uow.otp.active_for_customer(customer_id) is not None:
                raise CertCenterError("OTP_ALREADY_REGISTERED")
            token = OtpToken(
                id=token_id,
                customer_id=customer_id,
                secret_sealed=sealed,
                digits=self.policy.otp_digits,
                period=self.policy.otp_period_seconds,
                algorithm="SHA1",
                status=OtpTokenStatus.ACTIVE.value,
                created_at=now,
                activated_at=now,
            )
            uow.otp.add(token)
            # Identity was verified again: an earlier OTP's lock ends with the new OTP.
            self.guard.release(uow, customer_id, OTP)
            self._audit(
                uow,
                customer,
                "otp.register",
                "otp",
                token_id,
                source_ip=source_ip,
                details={
                    "registration": registration_id,
                    "digits": token.digits,
                    "period": token.period,
                    "algorithm": token.algorithm,
                    "bank_code": bank_code,
                    "account": account,
                },
            )
            try:
                uow.commit()
            except ConstraintViolationError:
                raise CertCenterError("OTP_ALREADY_REGISTERED") from None

        uri = provisioning_uri(
            secret,
            account_name=customer.customer_number,
            issuer=self.policy.otp_issuer,
            digits=token.digits,
            period=token.period,
            algorithm=token.algorithm,
        )
        return OtpProvisioning(
            token_id=token_id,
            uri=uri,
            secret_base32=base64.b32encode(secret).decode("ascii"),
            qr_png=qr_png(uri),
            issuer=self.policy.otp_issuer,
            account_name=customer.customer_number,
            digits=token.digits,
            period=token.period,
            algorithm=token.algorithm,
            activated_at=now,
        )

    def cancel(
        self, customer_id: str, *, device_id: str, pin: str, source_ip: str | None = None
    ) -> OtpStatus:
        """Cancel (해지) the customer's mobile OTP, after the PIN of the app the session runs
        on (counted before it is compared, like every PIN try: ``AUTH_FAILED``,
        ``AUTH_LAST_TRY``, ``PIN_LOCKED``); ``OTP_NOT_REGISTERED`` without one, and
        ``DEVICE_NOT_REGISTERED`` in a session that is not on the customer's app."""
        with self.uow_factory() as uow:
            self._customer(uow, customer_id)
            if uow.otp.active_for_customer(customer_id) is None:
                raise CertCenterError("OTP_NOT_REGISTERED")
            device = session_app(uow, customer_id, device_id)
            attempts = self.guard.reserve(uow, customer_id, [PIN])
            uow.commit()
        pin_answer = check_pin(self.hasher, device, pin)
        with self.uow_factory() as uow:
            refusal = self.guard.settle(uow, customer_id, {PIN: pin_answer.ok}, attempts=attempts)
            if refusal is not None:
                uow.commit()
                raise refusal
            keep_fresh(uow, device, pin_answer)
            customer = self._customer(uow, customer_id)
            found = uow.otp.active_for_customer(customer_id)
            if found is None:
                uow.commit()
                raise CertCenterError("OTP_NOT_REGISTERED")
            token = uow.otp.get(found.id, for_update=True)
            if token is None or token.status != OtpTokenStatus.ACTIVE:
                raise CertCenterError("OTP_NOT_REGISTERED")
            token.status = OtpTokenStatus.REVOKED.value
            token.revoked_at = self.clock.now()
            self._audit(uow, customer, "otp.cancel", "otp", token.id, source_ip=source_ip)
            uow.commit()
            return self._status(uow, customer_id, token)

    def status(self, customer_id: str) -> OtpStatus:
        """The customer's current OTP (or the last one), never its secret."""
        with self.uow_factory() as uow:
            token = uow.otp.active_for_customer(customer_id)
            if token is None:
                history = uow.otp.for_customer(customer_id)
                token = history[-1] if history else None
            return self._status(uow, customer_id, token)

    # -- inside

    def _status(self, uow: UnitOfWork, customer_id: str, token: OtpToken | None) -> OtpStatus:
        if token is None:
            return OtpStatus(registered=False, status="none")
        active = token.status == OtpTokenStatus.ACTIVE
        return OtpStatus(
            registered=active,
            status=token.status,
            token_id=token.id,
            digits=token.digits,
            period=token.period,
            algorithm=token.algorithm,
            issuer=self.policy.otp_issuer,
            activated_at=as_utc(token.activated_at) if token.activated_at else None,
            revoked_at=as_utc(token.revoked_at) if token.revoked_at else None,
            locked=active and self.guard.is_locked(uow, customer_id, OTP),
        )

    def _open(self, token: OtpToken) -> bytes:
        return self.keys.decrypt(self.seal_label, token.secret_sealed, context=token.id.encode())

    def _customer(self, uow: UnitOfWork, customer_id: str) -> Customer:
        customer = uow.customers.get(customer_id)
        if customer is None:
            raise CertCenterError("SESSION_INVALID")
        return customer

    def _registration(
        self, uow: UnitOfWork, customer_id: str, registration_id: str
    ) -> FactorChallenge:
        challenge = uow.factor_challenges.get(registration_id)
        if (
            challenge is None
            or challenge.factor != OTP_REGISTRATION
            or not hmac.compare_digest(challenge.customer_id.encode(), customer_id.encode())
        ):
            raise CertCenterError("OTP_REGISTRATION_INVALID")
        return challenge

    def _open_registration(
        self, uow: UnitOfWork, customer_id: str, registration_id: str
    ) -> FactorChallenge:
        """The customer's registration, not used and not expired."""
        challenge = self._registration(uow, customer_id, registration_id)
        if challenge.used_at is not None or self.clock.now() >= as_utc(challenge.expires_at):
            raise CertCenterError("OTP_REGISTRATION_INVALID")
        return challenge

    def _refusal(
        self,
        uow: UnitOfWork,
        customer_id: str,
        challenge: FactorChallenge,
        *,
        password_ok: bool,
    ) -> CertCenterError:
        """Book a failed confirmation; one answer whichever of the two was wrong."""
        now = self.clock.now()
        max_tries = self.policy.sms_code_max_tries
        code_left = max_tries - int(challenge.data.get("tries", 0))
        if code_left <= 0:  # the registration's tries are spent: it cannot be confirmed now
            uow.factor_challenges.consume(challenge.id, now)
        if password_ok:
            uow.factors.release_attempt(customer_id, ACCOUNT_PASSWORD, now)
        else:
            refusal = self.guard.settle(uow, customer_id, {ACCOUNT_PASSWORD: False})
            if refusal is not None and refusal.code not in ("AUTH_FAILED", "AUTH_LAST_TRY"):
                return refusal  # the account password is locked now
        if code_left <= 0:
            return CertCenterError("OTP_REGISTRATION_TRIES_EXCEEDED", max_tries=max_tries)
        counter = uow.factors.get(customer_id, ACCOUNT_PASSWORD)
        password_left = self.guard.max_failures(ACCOUNT_PASSWORD) - (
            counter.failures if counter is not None else 0
        )
        left = min(code_left, password_left)
        if left <= 1:
            return CertCenterError("AUTH_LAST_TRY")
        return CertCenterError("AUTH_FAILED", tries_left=left)

    def _audit(
        self,
        uow: UnitOfWork,
        customer: Customer,
        action: str,
        subject_kind: str,
        subject: str,
        *,
        outcome: str = "ok",
        source_ip: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.audit.record(
            uow,
            actor_kind=Actor.CUSTOMER,
            actor=customer.customer_number,
            action=action,
            subject_kind=subject_kind,
            subject=subject,
            outcome=outcome,
            source_ip=source_ip,
            details=details,
        )

    def _sms_text(self, plain: str) -> str:
        return code_message("otp", bank=self.policy.otp_issuer, code=plain, policy=self.policy)
