"""Transfers (이체) confirmed with the mobile certificate: tiered factors, per-medium limits,
dynamic linking of amount and payee, and signed evidence.

    transfers = TransferService(...)
    prepared = transfers.prepare(session, TransferRequest(...))
    prepared.factors        # exactly what the amount needs, e.g. ["account_password", "pin", "ars"]
    prepared.document       # what the device shows and signs: amount and payee, once
    parse_document(prepared.document)["memo"]   # one escaped line per field (v2)
    done = transfers.confirm(session, prepared.transfer.id, Confirmation(signature=..., pin=...))
    transfers.allowance(session, "004", "12340100000001")   # 출금가능금액 and the limits left
    transfers.prepare(session, TransferRequest(...), within_balance=True)  # INSUFFICIENT_FUNDS
    done.evidence           # CMS SignedData: `openssl cms -verify` prints the document

What each amount needs comes from ``policy.transfer_tiers``; the medium's and the customer's own
limits cap each transfer and each (KST) day. Who signs the server-made document is chosen once
from the session (:meth:`TransferService._signer_for`) and seen only as a
:class:`~certcenter.signing.Signer`: the device (its signature is presented and checked
against the certificate's key) or — in a session opened with the financial certificate
(``Session.method == "financial"``) — the center, with the cloud key under a one-time
activation the customer authorized for exactly that document with a registered browser and
the PIN, which stands for the PIN factor (``Confirmation.activation_grant``) — or, in a
session opened with the joint certificate (``Session.method == "joint"``), the customer's
certificate software with the RSA key of its NPKI folder, whose password stands for the PIN
(:class:`~certcenter.signing.JointSigner`). The server
checks that the signature covers exactly the stored document, that the stored document is
still what the transfer's fields say (nothing changed underneath), and that it is used once.
The day's total is raised by one conditional UPDATE, so concurrent transfers cannot spend the
same headroom twice. A confirmation that fails for any reason ends the transfer: a new one
starts from the beginning (and a new document to sign).

A confirmation takes three transactions of its own, four when the bank refuses: the first
reads the transfer and reserves the factors' tries (counted before anything is compared),
the second books their outcome and claims the transfer, the day's headroom and keeps the
evidence (``processing``), then the bank moves the money outside any transaction, with the
transfer's id as the center's reference (its refusal gives the headroom back in one more),
and the last records the bank's reference (:meth:`TransferService.finish`). The checks and
the signing happen between the first two, outside any transaction; the center's signer
commits its own (the activation used once). A process that stops after the claim leaves the
transfer ``processing``: :mod:`certcenter.usage.reconciliation` settles it from the bank's
record. An ``Idempotency-Key`` (:mod:`certcenter.usage.transfer_requests`) makes a request
sent again get the first answer.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization

from certcenter.audit.trail import AuditTrail
from certcenter.authn.device_auth import key_signature_valid
from certcenter.authn.factors import ACCOUNT_PASSWORD, OTP, PIN, SECURITY_CARD, FactorGuard
from certcenter.authn.hashing import SecretHasher
from certcenter.authn.held_media import CardChecker, CardQuestion, OtpChecker
from certcenter.certificates.records import require_active
from certcenter.clock import KST, Clock
from certcenter.config import Policy
from certcenter.entities import (
    Actor,
    Customer,
    FactorChallenge,
    Session,
    Transfer,
    TransferRequestKey,
    TransferStatus,
    new_id,
)
from certcenter.errors import CertCenterError, Locale
from certcenter.errors.catalog import text
from certcenter.identity.banks import BANKS
from certcenter.identity.providers import Providers
from certcenter.issuance.service import Acting
from certcenter.notifications.messages import notice
from certcenter.notifications.outbox import Outbox
from certcenter.pki.cms import signed_attributes
from certcenter.pki.hierarchy import JOINT, MOBILE, Hierarchy
from certcenter.ports import UnitOfWork, UnitOfWorkFactory
from certcenter.signing import (
    CenterSigning,
    DeviceSigner,
    JointSigner,
    Signature,
    Signer,
    SigningRequest,
    TimeStamping,
)
from certcenter.usage import fault_points
from certcenter.usage.free_text import escape, quote, require_plain, unescape, unquote, unsafe
from certcenter.usage.login import FINANCIAL_METHOD, JOINT_METHOD
from certcenter.usage.transfer_limits import MEDIA, MEDIUM_NAMES, TransferLimits
from certcenter.usage.transfer_requests import (
    CONFIRM,
    PREPARE,
    fingerprint,
    refusal_answer,
    refusal_of,
)

log = logging.getLogger(__name__)

ARS = "ars"
PROCESSING = "processing"


@dataclass(frozen=True)
class TransferRequest:
    from_bank: str
    from_account: str
    to_bank: str
    to_account: str
    amount: int
    memo: str = ""
    medium: str = "certificate"
    source_ip: str | None = None


@dataclass(frozen=True)
class Prepared:
    transfer: Transfer
    factors: list[str]  # what the customer must give, besides the device's signature
    ars_code: str | None = None  # shown on screen; the customer keys it in on the ARS call
    card_question: CardQuestion | None = None

    @property
    def document(self) -> bytes:
        return self.transfer.document


@dataclass(frozen=True)
class Allowance:
    """What one of the customer's accounts may send now: its 출금가능금액 (``balance``, the
    bank's answer), the most one transfer may move by the medium (after the ARS call where the
    tiers ask for it, under the customer's own limit) and the day's limit with what was sent."""

    balance: int
    per_transfer: int
    per_day: int
    spent_today: int

    @property
    def remaining_today(self) -> int:
        return max(self.per_day - self.spent_today, 0)

    @property
    def most(self) -> int:
        """The largest amount the next transfer from this account can be."""
        return min(self.balance, self.per_transfer, self.remaining_today)


@dataclass(frozen=True)
class _KeptCardQuestion:
    """The security-card question of a prepared transfer, as kept with its Idempotency-Key."""

    id: str
    slot_a: int
    slot_b: int
    expires_at: datetime


@dataclass(frozen=True)
class Confirmation:
    signature: str  # base64 ECDSA-SHA256 over the document, by the certificate key
    document: bytes | None = None  # what the device signed, if it sends it back
    # financial-certificate sessions: the one-time grant of an activation bound to the
    # transfer's document (device proof + PIN); the remote signer signs with it, once
    activation_grant: str | None = None
    pin: str | None = None
    biometric_signature: str | None = None  # instead of the PIN where the tier allows it
    account_password: str | None = None
    otp_code: str | None = None
    card_challenge_id: str | None = None
    card_answer: str | None = None
    source_ip: str | None = None

    def __repr__(self) -> str:
        return "Confirmation(signature=…, secrets=…)"


@dataclass(frozen=True)
class Completed:
    transfer: Transfer
    evidence: bytes = field(repr=False)


@dataclass(frozen=True)
class _SessionDevice:
    """The registered device a confirming session runs on: its owner, and what the transfer
    checks itself (the app's PIN and biometric key; a browser has neither, its activation
    had the PIN checked)."""

    owner: str
    pin_hash: str | None = None
    biometric_key: str | None = None


@dataclass(frozen=True)
class _Opened:
    """What the first transaction of a confirmation read and reserved."""

    transfer: Transfer
    customer: Customer
    certificate_der: bytes = field(repr=False)
    signer: Signer
    device: _SessionDevice
    counted: list[str]  # the factors whose tries were reserved
    attempts: dict[str, int]
    at: datetime


NOT_EXECUTED = "TRANSFER_NOT_EXECUTED"


def not_executed_notice(transfer: Transfer) -> dict[Locale, str] | None:
    """Plain words for a transfer that was not carried out (``refused``, however it ended):
    that it was not, why in the words of its refusal, and what to do; ``None`` for any other
    transfer. A refusal's text that would need values it was not stored with is left out."""
    if transfer.status != TransferStatus.REFUSED:
        return None
    headline = CertCenterError(NOT_EXECUTED)
    reason = CertCenterError(transfer.failure_code or NOT_EXECUTED)
    words: dict[Locale, str] = {}
    locales: tuple[Locale, ...] = ("ko", "en")
    for locale in locales:
        parts = [headline.message(locale)]
        if reason.code != NOT_EXECUTED:
            parts.append(reason.message(locale))
        parts.append(reason.remedy(locale))
        words[locale] = " ".join(part for part in parts if "{" not in part)
    return words


def kst_day(at: datetime) -> str:
    return at.astimezone(KST).date().isoformat()


DOCUMENT_TITLE = "certcenter 이체 확인 / transfer confirmation v2"
DOCUMENT_FIELDS = (
    "transfer-id",
    "requested-at",
    "from",
    "payee",
    "to",
    "amount-krw",
    "amount",
    "memo",
    "medium",
    "certificate",
    "nonce",
)


def render_document(transfer: Transfer) -> bytes:
    """The transaction document (거래 확인서) the device signs: every field that matters,
    human-readable, with the transfer's id and a nonce so that no two are alike.

    Version 2 is one ``name: value`` line per field, in :data:`DOCUMENT_FIELDS` order, each
    once, in UTF-8. Text that comes from outside (accounts, the payee's name) is escaped and
    the memo is also quoted (:mod:`certcenter.usage.free_text`), so no value can hold a line
    break: whatever the memo says, it stays on the ``memo:`` line. A memo with a control
    character is refused before (``TEXT_CONTROL_CHARACTER``); the escaping holds anyway.
    """
    created = transfer.created_at.astimezone(KST).isoformat(timespec="seconds")
    nonce = _nonce_of(transfer.document)
    values = [
        transfer.id,
        created,
        f"{transfer.from_bank} {BANKS.get(transfer.from_bank, '')} {escape(transfer.from_account)}",
        escape(transfer.payee_name),
        f"{transfer.to_bank} {BANKS.get(transfer.to_bank, '')} {escape(transfer.to_account)}",
        str(transfer.amount),
        f"{transfer.amount:,}원 (KRW)",
        quote(transfer.memo),
        transfer.medium,
        transfer.certificate_serial,
        escape(nonce),
    ]
    lines = [DOCUMENT_TITLE] + [
        f"{name}: {value}" for name, value in zip(DOCUMENT_FIELDS, values, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def parse_document(document: bytes) -> dict[str, str]:
    """The fields of a version 2 document, unescaped (the memo unquoted); ``ValueError``
    unless it is exactly the title and every field once, in order, each on its own line."""
    text = document.decode("utf-8")
    if not text.endswith("\n"):
        raise ValueError("not a transfer document")
    lines = text[:-1].split("\n")
    if lines[0] != DOCUMENT_TITLE or len(lines) != len(DOCUMENT_FIELDS) + 1:
        raise ValueError("not a transfer document")
    fields: dict[str, str] = {}
    for name, line in zip(DOCUMENT_FIELDS, lines[1:], strict=True):
        key, sep, value = line.partition(": ")
        if key != name or not sep or any(unsafe(char) for char in line):
            raise ValueError(f"expected the field {name}")
        fields[name] = unquote(value) if name == "memo" else unescape(value)
    return fields


def signing_time_of(document: bytes) -> datetime | None:
    """The signing time of a transfer's signature: the document's ``requested-at`` (None
    for anything that is not a version 2 document). The app signs
    :func:`to_be_signed` with it, so the evidence says when it was signed without the
    device and the center having to agree on a clock."""
    try:
        return datetime.fromisoformat(parse_document(document)["requested-at"])
    except (ValueError, UnicodeDecodeError):
        return None


def to_be_signed(document: bytes) -> bytes:
    """What the app signs for a transfer (RFC 5652 §5.4): the DER of the signed attributes
    contentType, signingTime (:func:`signing_time_of`) and messageDigest of ``document``;
    ``ValueError`` for anything that is not a transfer document."""
    when = signing_time_of(document)
    if when is None:
        raise ValueError("not a transfer document")
    return signed_attributes(document, when)


def _nonce_of(document: bytes) -> str:
    """The nonce a prepared transfer was given: the whole placeholder at first, then the
    ``nonce`` field of the rendered document ("" for anything else: it will not match)."""
    if document.startswith(b"nonce: ") and b"\n" not in document:
        return document[len(b"nonce: ") :].decode()
    try:
        return parse_document(document)["nonce"]
    except (ValueError, UnicodeDecodeError):
        return ""


class TransferService:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        providers: Providers,
        guard: FactorGuard,
        hasher: SecretHasher,
        otp: OtpChecker,
        cards: CardChecker,
        hierarchy: Hierarchy,
        audit: AuditTrail,
        notifier: Outbox,
        clock: Clock,
        policy: Policy,
        center_signer: CenterSigning,
        timestamps: TimeStamping | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.timestamps = timestamps  # the evidence's time-stamp over the signature
        self.center_signer = center_signer
        self.providers = providers
        self.guard = guard
        self.hasher = hasher
        self.otp = otp
        self.cards = cards
        self.hierarchy = hierarchy
        self.audit = audit
        self.notifier = notifier
        self.clock = clock
        self.policy = policy

    # ------------------------------------------------------------------ policy

    def factors_for(self, amount: int, medium: str) -> list[str]:
        """Exactly the factors a transfer of ``amount`` by ``medium`` needs (the policy's tier,
        plus the medium's own code when the medium is not the certificate alone)."""
        for tier in sorted(self.policy.transfer_tiers, key=lambda t: t.max_amount):
            if amount <= tier.max_amount:
                factors: list[str] = list(tier.factors)
                break
        else:
            top = max(t.max_amount for t in self.policy.transfer_tiers)
            raise CertCenterError("TRANSFER_AMOUNT_OVER_TIERS", max_amount=f"{top:,}")
        if medium == "otp":
            factors.append(OTP)
        elif medium == "security_card":
            factors.append(SECURITY_CARD)
        return factors

    def limits(
        self,
        customer_per_transfer: int | None,
        customer_daily: int | None,
        medium: str,
        factors: list[str] | None = None,
    ) -> tuple[int, int]:
        """The medium's per-transfer and per-day limits for a transfer with ``factors``
        (raised after the ARS call), under the customer's own."""
        cap = TransferLimits(self.policy).cap(
            medium, factors or [], (customer_per_transfer, customer_daily)
        )
        return cap.per_transfer, cap.per_day

    # ------------------------------------------------------------------ the amount

    def _held(self, uow: UnitOfWork, customer_id: str) -> set[str]:
        held = {"certificate"}
        if uow.otp.active_for_customer(customer_id) is not None:
            held.add("otp")
        if uow.security_cards.active_for_customer(customer_id) is not None:
            held.add("security_card")
        return held

    def _own_customer(self, uow: UnitOfWork, session: Session) -> Customer:
        customer = uow.customers.get(session.customer_id)
        if customer is None:
            raise CertCenterError("SESSION_INVALID")
        return customer

    def allowance(
        self, session: Session, from_bank: str, from_account: str, medium: str = "certificate"
    ) -> Allowance:
        """The paying account's 출금가능금액 and the limits left today for ``medium`` (the
        bank is asked; the account must be the customer's own)."""
        if medium not in MEDIA:
            raise CertCenterError("INVALID_REQUEST", detail=f"medium: {', '.join(MEDIA)}")
        if from_bank not in BANKS:
            raise CertCenterError("BANK_UNKNOWN", bank_code=from_bank[:3])
        top = max(self.policy.transfer_tiers, key=lambda t: t.max_amount)
        with self.uow_factory(read_only=True) as uow:
            customer = self._own_customer(uow, session)
            spent = uow.transfers.day_total(customer.id, kst_day(self.clock.now()))
            own = (customer.transfer_limit_per_transfer, customer.transfer_limit_daily)
            ci = customer.ci
        per_transfer, per_day = self.limits(*own, medium, list(top.factors))
        balance = self.providers.banking.available_balance(
            bank_code=from_bank, account_number=from_account, holder_ci=ci
        )
        return Allowance(
            balance=balance,
            per_transfer=min(per_transfer, top.max_amount),
            per_day=per_day,
            spent_today=spent,
        )

    def check_amount(self, session: Session, request: TransferRequest) -> list[str]:
        """The amount held against the tiers, the limits and the paying account's
        출금가능금액 — before any factor is asked for: ``TRANSFER_AMOUNT_OVER_TIERS``, a limit's
        refusal (naming a medium that would do) or ``INSUFFICIENT_FUNDS``. Returns the factors
        the amount needs. The bank checks the balance again when the money moves."""
        if request.medium not in MEDIA:
            raise CertCenterError("INVALID_REQUEST", detail=f"medium: {', '.join(MEDIA)}")
        if request.amount <= 0:
            raise CertCenterError("INVALID_REQUEST", detail="amount: a positive number of KRW")
        if request.from_bank not in BANKS:
            raise CertCenterError("BANK_UNKNOWN", bank_code=request.from_bank[:3])
        factors = self.factors_for(request.amount, request.medium)
        with self.uow_factory(read_only=True) as uow:
            customer = self._own_customer(uow, session)
            refusal = TransferLimits(self.policy).refusal(
                amount=request.amount,
                factors=factors,
                medium=request.medium,
                spent=uow.transfers.day_total(customer.id, kst_day(self.clock.now())),
                own=(customer.transfer_limit_per_transfer, customer.transfer_limit_daily),
                held=self._held(uow, customer.id),
            )
            ci = customer.ci
        if refusal is not None:
            raise refusal
        balance = self.providers.banking.available_balance(
            bank_code=request.from_bank, account_number=request.from_account, holder_ci=ci
        )
        if request.amount > balance:
            raise CertCenterError("INSUFFICIENT_FUNDS")
        return factors

    # ------------------------------------------------------------------ prepare

    def prepare(
        self,
        session: Session,
        request: TransferRequest,
        *,
        idempotency_key: str | None = None,
        within_balance: bool = False,
    ) -> Prepared:
        """A new transfer to confirm: the document to sign and the factors the amount needs.
        With ``idempotency_key``, the same request sent again gets the same transfer (and
        the same ARS code on screen); the key with another request is refused. With
        ``within_balance``, a new transfer is first held against the paying account's
        출금가능금액 too (:meth:`check_amount`), before the payee inquiry and the ARS call."""
        digest = None
        if idempotency_key is not None:
            fields = {k: v for k, v in vars(request).items() if k != "source_ip"}
            digest = fingerprint(PREPARE, fields)
            kept = self._kept_prepare(session, idempotency_key, digest)
            if kept is not None:
                return kept
        if within_balance:
            self.check_amount(session, request)
        if request.medium not in MEDIA:
            raise CertCenterError("INVALID_REQUEST", detail=f"medium: {', '.join(MEDIA)}")
        if request.amount <= 0:
            raise CertCenterError("INVALID_REQUEST", detail="amount: a positive number of KRW")
        for name in ("from_account", "to_account", "memo"):
            require_plain(name, getattr(request, name))
        for bank in (request.from_bank, request.to_bank):
            if bank not in BANKS:
                raise CertCenterError("BANK_UNKNOWN", bank_code=bank[:3])
        if (request.from_bank, request.from_account) == (request.to_bank, request.to_account):
            raise CertCenterError("TRANSFER_SAME_ACCOUNT")
        factors = self.factors_for(request.amount, request.medium)
        now = self.clock.now()
        with self.uow_factory() as uow:
            customer = self._own_customer(uow, session)
            self._usable_certificate(uow, session.certificate_serial)
            held = self._held(uow, customer.id)
            refusal = TransferLimits(self.policy).refusal(
                amount=request.amount,
                factors=factors,
                medium=request.medium,
                spent=uow.transfers.day_total(customer.id, kst_day(now)),
                own=(customer.transfer_limit_per_transfer, customer.transfer_limit_daily),
                held=held,
            )
            if refusal is not None:
                raise refusal
            if request.medium not in held:
                raise CertCenterError("MEDIUM_NOT_REGISTERED", medium=MEDIUM_NAMES[request.medium])
            ci, phone, number = customer.ci, customer.phone, customer.customer_number
        # the outside parties: the account must be the customer's own; the payee must exist
        self.providers.accounts.check_account(
            bank_code=request.from_bank, account_number=request.from_account, holder_ci=ci
        )
        payee = self.providers.banking.payee_name(
            bank_code=request.to_bank, account_number=request.to_account
        )
        transfer = Transfer(
            id=new_id(),
            customer_id=session.customer_id,
            session_id=session.id,
            device_id=session.device_id,
            certificate_serial=session.certificate_serial,
            from_bank=request.from_bank,
            from_account=request.from_account,
            to_bank=request.to_bank,
            to_account=request.to_account,
            payee_name=payee,
            amount=request.amount,
            memo=request.memo,
            medium=request.medium,
            factors=factors,
            document=b"nonce: " + secrets.token_urlsafe(16).encode(),
            day=kst_day(now),
            status=TransferStatus.PENDING.value,
            created_at=now,
            expires_at=now + timedelta(seconds=self.policy.transfer_ttl_seconds),
        )
        transfer.document = render_document(transfer)
        shown = parse_document(transfer.document)
        if (shown["amount-krw"], shown["memo"]) != (str(transfer.amount), transfer.memo):
            raise CertCenterError("INVALID_REQUEST", detail="memo")  # the escaping holds
        ars_code = None
        ars_challenge = None
        if ARS in factors:
            ars_code = "".join(
                secrets.choice("0123456789") for _ in range(self.policy.ars_code_digits)
            )
            call_id = self.providers.ars.place_call(
                phone=phone,
                prompt=text("ars.transfer", "ko", payee=payee, amount=f"{request.amount:,}"),
            )
            ars_challenge = FactorChallenge(
                id=new_id(),
                customer_id=session.customer_id,
                factor=ARS,
                subject=transfer.id,
                created_at=now,
                expires_at=transfer.expires_at,
                data={
                    "call_id": call_id,
                    "code_hash": self.hasher.code_digest(ars_code, purpose="ars"),
                },
            )
        with self.uow_factory() as uow:
            uow.transfers.add(transfer)
            if ars_challenge is not None:
                uow.factor_challenges.add(ars_challenge)
            if idempotency_key is not None and digest is not None:
                kept_key = TransferRequestKey(
                    customer_id=session.customer_id,
                    key=idempotency_key,
                    operation=PREPARE,
                    fingerprint=digest,
                    transfer_id=transfer.id,
                    created_at=now,
                    answer={"ars_code": ars_code},
                )
                if not uow.transfers.add_request_key(kept_key):  # the same key, just now
                    uow.rollback()
                    replayed = self._kept_prepare(session, idempotency_key, digest)
                    if replayed is None:
                        raise CertCenterError("TRANSFER_IN_PROGRESS", transfer_id="")
                    return replayed
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=number,
                action="transfer_prepare",
                subject_kind="transfer",
                subject=transfer.id,
                source_ip=request.source_ip,
                details={"amount": transfer.amount, "medium": transfer.medium, "factors": factors},
            )
            uow.commit()
        question = None
        if SECURITY_CARD in factors:
            question = self.cards.challenge(session.customer_id, subject=transfer.id)
            if idempotency_key is not None:
                with self.uow_factory() as uow:
                    uow.transfers.set_request_answer(
                        session.customer_id,
                        idempotency_key,
                        {
                            "ars_code": ars_code,
                            "card": {
                                "id": question.id,
                                "slot_a": question.slot_a,
                                "slot_b": question.slot_b,
                                "expires_at": question.expires_at.isoformat(),
                            },
                        },
                    )
                    uow.commit()
        return Prepared(
            transfer=transfer, factors=factors, ars_code=ars_code, card_question=question
        )

    # ------------------------------------------------------------------ confirm

    def confirm(
        self,
        session: Session,
        transfer_id: str,
        confirmation: Confirmation,
        *,
        idempotency_key: str | None = None,
    ) -> Completed:
        """The customer's signature and factors for a prepared transfer; the money moves once
        every check holds. Any refusal but an unanswered ARS call ends the transfer. With
        ``idempotency_key``, the same confirmation sent again gets the first answer (the
        completed transfer, or the same refusal) and never moves money twice."""
        key = None
        if idempotency_key is not None:
            key = (idempotency_key, self._confirm_fingerprint(transfer_id, confirmation))
            kept = self._kept_confirm(session, transfer_id, *key)
            if kept is not None:
                return kept
        try:
            opened = self._open(session, transfer_id, confirmation, key=key)
            results = self._check_factors(
                opened.transfer, opened.device.pin_hash, confirmation, opened.counted
            )
            signed = self._sign(opened, confirmation, all(results.values()))
            biometric_ok = self._biometric_needed(opened) and self._biometric_ok(
                opened.device.biometric_key, opened.transfer, confirmation
            )
            day, signature = self._settle(opened, results, biometric_ok, signed)
            fault_points.reached("transfer.claimed")
            reference = self._move_money(opened, day)
            fault_points.reached("transfer.bank_answered")
            return self._complete(opened, signature, reference, confirmation)
        except CertCenterError as err:
            # kept only if this request's key was (with a change that ended the transfer)
            if key is not None and err.code != "TRANSFER_IN_PROGRESS":
                with self.uow_factory() as uow:
                    uow.transfers.set_request_answer(
                        session.customer_id, key[0], refusal_answer(err)
                    )
                    uow.commit()
            raise

    def _confirm_fingerprint(self, transfer_id: str, confirmation: Confirmation) -> str:
        secrets_mac = self.hasher.code_digest(
            "\x00".join(
                value or ""
                for value in (
                    confirmation.pin,
                    confirmation.account_password,
                    confirmation.otp_code,
                    confirmation.card_answer,
                    confirmation.activation_grant,
                )
            ),
            purpose="transfer-request",
        )
        return fingerprint(
            CONFIRM,
            {
                "transfer_id": transfer_id,
                "signature": confirmation.signature,
                "document": confirmation.document.hex() if confirmation.document else None,
                "biometric_signature": confirmation.biometric_signature,
                "card_challenge_id": confirmation.card_challenge_id,
                "secrets": secrets_mac,
            },
        )

    def _kept(
        self, session: Session, key: str, operation: str, digest: str
    ) -> tuple[Transfer, dict[str, object]] | None:
        """The transfer a key was first used for, and what was kept with it (None for a new
        key); refuses the key with another request."""
        with self.uow_factory() as uow:
            kept = uow.transfers.request_key(session.customer_id, key)
            if kept is None:
                return None
            if (kept.operation, kept.fingerprint) != (operation, digest):
                raise CertCenterError("TRANSFER_IDEMPOTENCY_KEY_REUSED")
            transfer = uow.transfers.get(kept.transfer_id)
            if transfer is None or transfer.customer_id != session.customer_id:
                raise CertCenterError("TRANSFER_NOT_FOUND")
            return transfer, dict(kept.answer or {})

    def _kept_prepare(self, session: Session, key: str, digest: str) -> Prepared | None:
        found = self._kept(session, key, PREPARE, digest)
        if found is None:
            return None
        transfer, answer = found
        card = answer.get("card")
        question = None
        if isinstance(card, dict):
            question = _KeptCardQuestion(
                id=str(card["id"]),
                slot_a=int(card["slot_a"]),
                slot_b=int(card["slot_b"]),
                expires_at=datetime.fromisoformat(str(card["expires_at"])),
            )
        code = answer.get("ars_code")
        return Prepared(
            transfer=transfer,
            factors=list(transfer.factors),
            ars_code=None if code is None else str(code),
            card_question=question,
        )

    def _kept_confirm(
        self, session: Session, transfer_id: str, key: str, digest: str
    ) -> Completed | None:
        found = self._kept(session, key, CONFIRM, digest)
        if found is None:
            return None
        transfer, answer = found
        if transfer.status == TransferStatus.COMPLETED and transfer.evidence is not None:
            return Completed(transfer=transfer, evidence=transfer.evidence)
        refusal = refusal_of(answer)
        if refusal is not None:
            raise refusal
        if transfer.status in (TransferStatus.PENDING, PROCESSING):
            raise CertCenterError("TRANSFER_IN_PROGRESS", transfer_id=transfer_id)
        raise CertCenterError(transfer.failure_code or "TRANSFER_ALREADY_PROCESSED")

    def _signer_for(
        self, uow: UnitOfWork, session: Session, transfer: Transfer, confirmation: Confirmation
    ) -> tuple[Signer, _SessionDevice | None]:
        """Who signs for this session, and the registered device it runs on (None when there
        is none): a session opened with the financial certificate has the center sign with
        the cloud key under the grant its browser and PIN released; one opened with the joint
        certificate, the customer's certificate software (no device: the certificate's owner);
        any other, the device."""
        signer: Signer
        if session.method == JOINT_METHOD:
            signer = JointSigner(
                confirmation.signature, chain=tuple(self.hierarchy.ca_certificates(JOINT))
            )
            certificate = uow.certificates.get(transfer.certificate_serial)
            if certificate is None or certificate.family != JOINT:
                return signer, None
            return signer, _SessionDevice(certificate.customer_id)
        if session.method == FINANCIAL_METHOD:
            signer = self.center_signer.signer(confirmation.activation_grant or "")
            browser = uow.browser_devices.get(transfer.device_id)
            if browser is None or browser.status != "active":
                return signer, None
            return signer, _SessionDevice(browser.customer_id)
        signer = DeviceSigner(
            confirmation.signature, chain=tuple(self.hierarchy.ca_certificates(MOBILE))
        )
        device = uow.devices.active_by_device_id(transfer.device_id)
        if device is None:
            return signer, None
        return signer, _SessionDevice(
            device.customer_id, device.pin_hash, device.biometric_public_key
        )

    def _open(
        self,
        session: Session,
        transfer_id: str,
        confirmation: Confirmation,
        *,
        key: tuple[str, str] | None = None,
    ) -> _Opened:
        """Transaction 1: the pending transfer, the inputs it needs, the session's device and
        certificate, the ARS answer; the tries of the counted factors are reserved (counted
        before they are compared). Refusals here end the transfer, except a missing input,
        an unknown device or certificate, and an ARS call not answered yet."""
        now = self.clock.now()
        with self.uow_factory() as uow:
            transfer = self._own(uow, session, transfer_id)
            if transfer.status != TransferStatus.PENDING:
                raise CertCenterError("TRANSFER_ALREADY_PROCESSED")
            if transfer.expires_at <= now:
                uow.transfers.claim(transfer.id, TransferStatus.PENDING, TransferStatus.EXPIRED)
                uow.commit()
                raise CertCenterError("TRANSFER_EXPIRED", seconds=self.policy.transfer_ttl_seconds)
            if key is not None and not uow.transfers.add_request_key(
                TransferRequestKey(
                    customer_id=session.customer_id,
                    key=key[0],
                    operation=CONFIRM,
                    fingerprint=key[1],
                    transfer_id=transfer.id,
                    created_at=now,
                )
            ):  # the same key in a request running now
                raise CertCenterError("TRANSFER_IN_PROGRESS", transfer_id=transfer.id)
            signer, device = self._signer_for(uow, session, transfer, confirmation)
            counted = self._counted_factors(transfer, confirmation, signer)
            customer = uow.customers.get(transfer.customer_id)
            certificate = uow.certificates.get(transfer.certificate_serial)
            if customer is None or device is None or device.owner != customer.id:
                raise CertCenterError("DEVICE_NOT_REGISTERED")
            if certificate is None:
                raise CertCenterError("CERTIFICATE_NOT_FOUND", serial=transfer.certificate_serial)
            try:
                require_active(certificate, now)
                if ARS in transfer.factors:
                    state = self._ars_state(uow, transfer)
                    if state == "ringing":  # not answered yet: the customer may still answer
                        raise CertCenterError("ARS_NOT_CONFIRMED")
                    if state == "failed":
                        self._end(uow, transfer, "ARS_NOT_CONFIRMED")
                        uow.commit()
                        raise CertCenterError("ARS_NOT_CONFIRMED")
                attempts = self.guard.reserve(uow, customer.id, counted)
            except CertCenterError as err:
                if err.code != "ARS_NOT_CONFIRMED":
                    self._end(uow, transfer, err.code)
                    uow.commit()
                raise
            uow.commit()
        return _Opened(
            transfer=transfer,
            customer=customer,
            certificate_der=certificate.der or b"",
            signer=signer,
            device=device,
            counted=counted,
            attempts=attempts,
            at=now,
        )

    def _sign(
        self, opened: _Opened, confirmation: Confirmation, factors_hold: bool
    ) -> Signature | CertCenterError | None:
        """The signature over the stored document, outside any transaction, or why there is
        none. Asked for only when the other factors hold (the center's grant signs once; the
        factors' refusal comes first anyway). A device signature that does not verify, or a
        signature not over the document, is ``TRANSFER_SIGNATURE_MISMATCH``; the center's
        refusals keep their codes."""
        if not factors_hold:
            return None
        transfer = opened.transfer
        try:
            signature = opened.signer.sign(
                SigningRequest(
                    data=transfer.document,
                    certificate_der=opened.certificate_der,
                    customer_id=opened.customer.id,
                    device_id=transfer.device_id,
                    purpose="transfer",
                    subject=transfer.id,
                    source_ip=confirmation.source_ip,
                    signing_time=signing_time_of(transfer.document),
                )
            )
        except CertCenterError as err:
            if err.code != "SIGNATURE_INVALID":
                return err
            return CertCenterError("TRANSFER_SIGNATURE_MISMATCH")
        if not self._covers_document(transfer, confirmation, signature):
            return CertCenterError("TRANSFER_SIGNATURE_MISMATCH")
        return signature

    def _covers_document(
        self, transfer: Transfer, confirmation: Confirmation, signature: Signature
    ) -> bool:
        """What was signed is the stored document, the document the device sent back (if it
        did), and still what the transfer's fields say (nothing changed underneath)."""
        return (
            (confirmation.document is None or confirmation.document == transfer.document)
            and render_document(transfer) == transfer.document
            and signature.verifies(transfer.document)
        )

    def _biometric_needed(self, opened: _Opened) -> bool:
        """The PIN is due and was not given: the biometric-bound key signs instead (the tier
        allows it, see :meth:`_counted_factors`) — unless the signer had the PIN checked."""
        return (
            PIN in opened.transfer.factors
            and PIN not in opened.counted
            and not opened.signer.stands_for_pin
        )

    def _settle(
        self,
        opened: _Opened,
        results: dict[str, bool],
        biometric_ok: bool,
        signed: Signature | CertCenterError | None,
    ) -> tuple[str, Signature]:
        """Transaction 2: book the tries; on a refusal (the factors', the biometric key's, then
        the signature's) end the transfer; on success claim it (once) and raise the day's
        total within the limit by one conditional UPDATE. Returns the (KST) day whose total
        was raised, and the signature."""
        transfer, customer = opened.transfer, opened.customer
        # the evidence is made before the money moves and kept with the claim, so a transfer
        # the bank completed is complete with its evidence even if this process stops
        evidence = self._evidence(signed, transfer) if isinstance(signed, Signature) else None
        with self.uow_factory() as uow:
            refusal = (
                self.guard.settle(uow, customer.id, results, attempts=opened.attempts)
                if results
                else None
            )
            if refusal is None and self._biometric_needed(opened) and not biometric_ok:
                refusal = CertCenterError("BIOMETRIC_AUTH_FAILED")
            if refusal is None and isinstance(signed, CertCenterError):
                refusal = signed
            if refusal is not None or not isinstance(signed, Signature):
                refusal = refusal or CertCenterError("TRANSFER_SIGNATURE_MISMATCH")
                self._end(uow, transfer, refusal.code)
                uow.commit()
                raise refusal
            if not uow.transfers.claim(transfer.id, TransferStatus.PENDING, PROCESSING):
                raise CertCenterError("TRANSFER_ALREADY_PROCESSED")
            fresh = uow.customers.get(customer.id)
            _, per_day = self.limits(
                fresh.transfer_limit_per_transfer if fresh else None,
                fresh.transfer_limit_daily if fresh else None,
                transfer.medium,
                transfer.factors,
            )
            day = kst_day(opened.at)
            if uow.transfers.reserve_daily(customer.id, day, transfer.amount, per_day) is None:
                spent = uow.transfers.day_total(customer.id, day)
                refusal = CertCenterError(
                    "TRANSFER_DAILY_LIMIT_EXCEEDED",
                    limit=f"{per_day:,}",
                    remaining=f"{max(per_day - spent, 0):,}",
                )
                self._end(uow, transfer, refusal.code, from_status=PROCESSING)
                uow.commit()
                raise refusal
            stored = uow.transfers.get(transfer.id)
            if stored is not None:
                stored.day = day
                stored.claimed_at = self.clock.now()
                stored.evidence = evidence
            uow.commit()
        return day, signed

    def _move_money(self, opened: _Opened, day: str) -> str:
        """The interbank transfer, outside any transaction; the bank's reference. When the
        bank refuses, transaction 3 gives the day's headroom back and ends the transfer."""
        transfer, customer = opened.transfer, opened.customer
        try:
            return self.providers.banking.transfer(
                from_bank=transfer.from_bank,
                from_account=transfer.from_account,
                to_bank=transfer.to_bank,
                to_account=transfer.to_account,
                amount=transfer.amount,
                sender_text=customer.name,
                payee_text=transfer.payee_name,
                reference=transfer.id,
            )
        except CertCenterError as err:
            fault_points.reached("transfer.bank_refused")
            with self.uow_factory() as uow:  # unless the reconciliation settled it first
                if self._end(uow, transfer, err.code, from_status=PROCESSING):
                    uow.transfers.release_daily(customer.id, day, transfer.amount)
                uow.commit()
            raise

    def _evidence(self, signature: Signature, transfer: Transfer) -> bytes:
        """The evidence as CMS, with the time-stamping authority's token over the signature;
        if the authority fails (its key backend), the signed evidence without it rather than a
        transfer left unfinished."""
        try:
            return signature.cms(transfer.document, timestamps=self.timestamps)
        except (CertCenterError, OSError, ValueError):
            log.exception("no time-stamp for the evidence of transfer %s", transfer.id)
            return signature.cms(transfer.document)

    def _complete(
        self, opened: _Opened, signature: Signature, reference: str, confirmation: Confirmation
    ) -> Completed:
        """The last transaction: complete the transfer with the bank's reference (its evidence
        was kept with the claim), audit it, tell the customer — unless the reconciliation
        already did, from the bank's record."""
        transfer = opened.transfer
        with self.uow_factory() as uow:
            done = self.finish(
                uow,
                transfer.id,
                reference,
                actor=(Actor.CUSTOMER, opened.customer.customer_number),
                source_ip=confirmation.source_ip,
            )
            uow.commit()
        if done is None:
            raise CertCenterError("TRANSFER_NOT_FOUND")
        if done.status != TransferStatus.COMPLETED:
            raise CertCenterError(done.failure_code or "TRANSFER_NOT_EXECUTED")
        evidence = done.evidence or self._evidence(signature, done)
        return Completed(transfer=done, evidence=evidence)

    def finish(
        self,
        uow: UnitOfWork,
        transfer_id: str,
        reference: str,
        *,
        actor: tuple[str, str],
        source_ip: str | None = None,
        reconciled: bool = False,
    ) -> Transfer | None:
        """A ``processing`` transfer the bank completed with ``reference``: completed, the
        certificate's use recorded, audited, the customer told (in ``uow``; the caller
        commits). A transfer no longer processing is returned as it stands."""
        stored = uow.transfers.get(transfer_id, for_update=True)
        if stored is None or not uow.transfers.claim(
            transfer_id, PROCESSING, TransferStatus.COMPLETED
        ):
            return stored
        stored.completed_at = self.clock.now()
        stored.bank_reference = reference
        used = uow.certificates.get(stored.certificate_serial, for_update=True)
        if used is not None:
            used.last_used_at = stored.completed_at
        details: dict[str, object] = {
            "amount": stored.amount,
            "to_bank": stored.to_bank,
            "medium": stored.medium,
            "factors": stored.factors,
            "reference": reference,
        }
        if reconciled:
            details["reconciled"] = True
        self.audit.record(
            uow,
            actor_kind=actor[0],
            actor=actor[1],
            action="transfer",
            subject_kind="transfer",
            subject=stored.id,
            source_ip=source_ip,
            details=details,
        )
        customer = uow.customers.get(stored.customer_id)
        if customer is not None:
            self.notifier.notify(
                uow,
                event="transfer",
                customer=customer,
                **notice(
                    "transfer",
                    payee=stored.payee_name,
                    amount=f"{stored.amount:,}",
                    account=stored.from_account[-4:],
                ),
            )
        return stored

    def tell_not_executed(self, uow: UnitOfWork, transfer: Transfer) -> None:
        """Tell the customer in plain words that ``transfer`` was not carried out: its answer
        never reached them, and the bank's record says no money moved (in ``uow``; the
        caller commits)."""
        customer = uow.customers.get(transfer.customer_id)
        if customer is not None:
            self.notifier.notify(
                uow,
                event="transfer_not_executed",
                customer=customer,
                **notice(
                    "transfer_not_executed",
                    payee=transfer.payee_name,
                    amount=f"{transfer.amount:,}",
                    account=transfer.from_account[-4:],
                ),
            )

    # ------------------------------------------------------------------ reading

    def get(self, session: Session, transfer_id: str) -> Transfer:
        with self.uow_factory() as uow:
            return self._own(uow, session, transfer_id)

    def history(self, session: Session, limit: int = 50) -> list[Transfer]:
        with self.uow_factory() as uow:
            return list(uow.transfers.for_customer(session.customer_id, limit=limit))

    def evidence(self, transfer_id: str, actor: Acting) -> Transfer:
        """For operators and auditors: the transfer with its evidence (any customer's); the
        read is audited."""
        with self.uow_factory() as uow:
            transfer = uow.transfers.get(transfer_id) if len(transfer_id) <= 36 else None
            if transfer is None or transfer.evidence is None:
                raise CertCenterError("TRANSFER_NOT_FOUND")
            self.audit.record(
                uow,
                actor_kind=actor.kind,
                actor=actor.id,
                action="export_transfer_evidence",
                subject_kind="transfer",
                subject=transfer.id,
                source_ip=actor.source_ip,
            )
            uow.commit()
            return transfer

    def set_limits(
        self, session: Session, per_transfer: int | None, daily: int | None
    ) -> tuple[int | None, int | None]:
        """The customer's own lower limits (None: the bank's)."""
        top_transfer, top_daily = TransferLimits(self.policy).top()
        for value, top in ((per_transfer, top_transfer), (daily, top_daily)):
            if value is not None and value > top:
                raise CertCenterError("TRANSFER_LIMIT_ABOVE_POLICY", limit=f"{top:,}")
            if value is not None and value <= 0:
                raise CertCenterError("INVALID_REQUEST", detail="limits: positive KRW amounts")
        with self.uow_factory() as uow:
            customer = uow.customers.get(session.customer_id, for_update=True)
            if customer is None:
                raise CertCenterError("SESSION_INVALID")
            customer.transfer_limit_per_transfer = per_transfer
            customer.transfer_limit_daily = daily
            self.audit.record(
                uow,
                actor_kind=Actor.CUSTOMER,
                actor=customer.customer_number,
                action="set_transfer_limits",
                subject_kind="customer",
                subject=customer.customer_number,
                details={"per_transfer": per_transfer, "daily": daily},
            )
            uow.commit()
        return per_transfer, daily

    # ------------------------------------------------------------------ internals

    def _own(self, uow: UnitOfWork, session: Session, transfer_id: str) -> Transfer:
        transfer = uow.transfers.get(transfer_id) if len(transfer_id) <= 36 else None
        if transfer is None or transfer.customer_id != session.customer_id:
            raise CertCenterError("TRANSFER_NOT_FOUND")
        return transfer

    def _end(
        self,
        uow: UnitOfWork,
        transfer: Transfer,
        code: str,
        *,
        from_status: str = TransferStatus.PENDING.value,
    ) -> bool:
        """End the transfer as refused with ``code``, if it is still in ``from_status``."""
        if uow.transfers.claim(transfer.id, from_status, TransferStatus.REFUSED):
            stored = uow.transfers.get(transfer.id)
            if stored is not None:
                stored.failure_code = code
            return True
        return False

    def _counted_factors(
        self, transfer: Transfer, confirmation: Confirmation, signer: Signer
    ) -> list[str]:
        """The lockout counters this confirmation tries; refuses a confirmation that lacks
        an input the transfer needs (nothing is counted then). A signer that stands for the
        PIN (the center, after the activation) needs its own input in the PIN's place;
        otherwise the device's signature comes last."""
        missing: list[str] = []
        counted: list[str] = []
        tier_one = [f for f in transfer.factors if f not in (OTP, SECURITY_CARD)] == [PIN]
        if signer.stands_for_pin:
            missing += signer.lacks
        elif PIN in transfer.factors:
            if confirmation.pin:
                counted.append(PIN)
            elif not (tier_one and confirmation.biometric_signature):
                missing.append("pin")
        if ACCOUNT_PASSWORD in transfer.factors:
            if confirmation.account_password:
                counted.append(ACCOUNT_PASSWORD)
            else:
                missing.append("account_password")
        if OTP in transfer.factors:
            if confirmation.otp_code:
                counted.append(OTP)
            else:
                missing.append("otp_code")
        if SECURITY_CARD in transfer.factors:
            if confirmation.card_answer and confirmation.card_challenge_id:
                counted.append(SECURITY_CARD)
            else:
                missing.append("card_challenge_id, card_answer")
        if not signer.stands_for_pin:
            missing += signer.lacks
        if missing:
            raise CertCenterError("INVALID_REQUEST", detail="required: " + ", ".join(missing))
        return counted

    def _check_factors(
        self,
        transfer: Transfer,
        pin_hash: str | None,
        confirmation: Confirmation,
        counted: list[str],
    ) -> dict[str, bool]:
        results: dict[str, bool] = {}
        if PIN in counted:
            results[PIN] = pin_hash is not None and self.hasher.verify(
                pin_hash, confirmation.pin or "", purpose="pin"
            )
        if ACCOUNT_PASSWORD in counted:
            results[ACCOUNT_PASSWORD] = self.providers.banking.verify_account_password(
                bank_code=transfer.from_bank,
                account_number=transfer.from_account,
                password=confirmation.account_password or "",
            )
        if OTP in counted:
            results[OTP] = self.otp.check(transfer.customer_id, confirmation.otp_code or "")
        if SECURITY_CARD in counted:
            try:
                results[SECURITY_CARD] = self.cards.check(
                    transfer.customer_id,
                    confirmation.card_challenge_id or "",
                    confirmation.card_answer or "",
                    subject=transfer.id,
                )
            except CertCenterError:
                results[SECURITY_CARD] = False
        return results

    def _biometric_ok(
        self, biometric_key: str | None, transfer: Transfer, confirmation: Confirmation
    ) -> bool:
        if biometric_key is None or not confirmation.biometric_signature:
            return False
        key = serialization.load_pem_public_key(biometric_key.encode())
        return key_signature_valid(key, transfer.document, confirmation.biometric_signature)

    def _ars_state(self, uow: UnitOfWork, transfer: Transfer) -> str:
        """``ringing`` (not answered yet: the customer may still answer), ``ok`` (the code on
        screen was keyed in; the call is used up) or ``failed`` (declined, wrong digits, used)."""
        challenges = uow.factor_challenges.for_subject(transfer.id, ARS)
        if not challenges or challenges[0].used_at is not None:
            return "failed"
        challenge = challenges[0]
        outcome = self.providers.ars.outcome(str(challenge.data.get("call_id", "")))
        if outcome.status == "ringing":
            return "ringing"
        keyed_ok = (
            outcome.status == "answered"
            and outcome.keyed is not None
            and len(outcome.keyed) <= 10
            and self.hasher.code_matches(
                str(challenge.data["code_hash"]), outcome.keyed, purpose="ars"
            )
        )
        uow.factor_challenges.consume(challenge.id, self.clock.now())
        return "ok" if keyed_ok else "failed"

    def _usable_certificate(self, uow: UnitOfWork, serial: str) -> None:
        certificate = uow.certificates.get(serial)
        if certificate is None:
            raise CertCenterError("SESSION_INVALID")
        require_active(certificate, self.clock.now())
