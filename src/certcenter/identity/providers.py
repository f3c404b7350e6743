"""The outside parties of identity proofing, as Protocols.

Each has an embedded simulator in :mod:`certcenter.simulators` (the default) and can be
replaced by a real adapter — PASS/NICE/KCB for phones, the interbank network for the 1-won
deposit, the 행정안전부 / 경찰청 / 외교부 registries for ID documents — chosen by configuration.
Providers raise :class:`~certcenter.errors.CertCenterError` with the catalog's codes for the
refusals they decide (phone not in own name, dormant account, re-issued ID card, …).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol, runtime_checkable

from certcenter.identity.documents import DriverLicence, Passport, ResidentCard
from certcenter.identity.phone_numbers import Carrier
from certcenter.identity.rrn import ResidentNumber, RrnFront

IdDocument = ResidentCard | DriverLicence | Passport


@dataclass(frozen=True)
class VerifiedSubscriber:
    """What a phone-verification agency vouches for: who uses this line."""

    ci: str
    name: str
    phone: str
    carrier: Carrier


@dataclass(frozen=True)
class LineFacts:
    """What a carrier's subscriber inquiry (명의 조회) says about a line, for diagnosis.

    ``verifies_ci`` is whose identity the line can prove: the holder of a personal line, the
    registered user of a corporate line with the personal-verification service (법인폰
    개인인증), else None. ``filtered_senders`` are the sender-number prefixes the line's spam
    filter catches (``"1588"``). Never the holder's name or number.
    """

    phone: str
    carrier: Carrier
    corporate: bool
    corporate_personal_service: bool
    verifies_ci: str | None
    filtered_senders: tuple[str, ...] = ()

    def filters(self, sender: str) -> bool:
        """Would a message from ``sender`` (``"1588-9999"``) land in the spam folder?"""
        digits = sender.replace("-", "").strip()
        return any(digits.startswith(prefix) for prefix in self.filtered_senders)


@runtime_checkable
class TelcoVerifier(Protocol):
    """휴대폰 본인확인: is this line in this person's own name?

    ``line_facts`` is a read-only inquiry (no SMS, no charge to the customer) used by the
    diagnosis (왜 발급이 안 되나요?); None when no carrier has the number.
    """

    def verify_subscriber(
        self, *, carrier: Carrier, name: str, rrn_front: RrnFront, phone: str
    ) -> VerifiedSubscriber: ...

    def line_facts(self, phone: str) -> LineFacts | None: ...


@runtime_checkable
class SmsGateway(Protocol):
    """Sends a text message to a mobile number."""

    def send(self, *, phone: str, sender: str, text: str) -> None: ...


@dataclass(frozen=True)
class AccountFacts:
    """One account of a person as the interbank account inquiry (계좌통합조회) lists it.

    ``refusal`` is the catalog code :meth:`AccountVerifier.check_account` would refuse it with
    (``ACCOUNT_DORMANT``, …); None when the account can take a 1-won deposit.
    """

    bank_code: str
    account_number: str
    status: str  # normal | dormant | suspended | transfer_restricted
    refusal: str | None = None


@runtime_checkable
class AccountVerifier(Protocol):
    """1원 입금 인증: is the account the person's own and usable; deposit 1 won with a code.

    ``accounts_of`` lists the person's accounts at every bank, read-only (for diagnosis).
    """

    def check_account(self, *, bank_code: str, account_number: str, holder_ci: str) -> None: ...

    def accounts_of(self, holder_ci: str) -> list[AccountFacts]: ...

    def deposit_one_won(
        self, *, bank_code: str, account_number: str, depositor_text: str
    ) -> None: ...


@runtime_checkable
class IdRegistry(Protocol):
    """신분증 진위확인: do these typed details match a current document? Returns its holder's CI."""

    def verify(self, document: IdDocument, *, today: date) -> str: ...


@dataclass(frozen=True)
class TransferInquiry:
    """What the bank says became of a transfer the center sent with its reference (거래 결과
    조회): ``completed`` (with the bank's reference), ``refused`` (with the catalog code) or
    ``cancelled`` (the center gave up on it before it arrived: it never moves money)."""

    status: str
    bank_reference: str | None = None
    refusal: str | None = None


@runtime_checkable
class CoreBanking(Protocol):
    """The bank's core system and the interbank network, for transfers (이체).

    ``payee_name`` is the recipient inquiry (수취인 조회); ``available_balance`` the paying
    account's 출금가능금액 (its holder's own account only: ``ACCOUNT_NOT_OWN`` otherwise, the
    account's status refusal when it cannot pay); ``transfer`` moves the money and
    returns the bank's reference, raising ``INSUFFICIENT_FUNDS`` or an account refusal. The
    center's ``reference`` moves money once per paying account: sent again, the bank answers
    what it did the first time. ``settle_reference`` is the inquiry for a transfer whose
    answer never came: what the bank did with it, or — when it has not seen it — its
    cancellation (망취소), after which that reference never moves money;
    ``inquire_reference`` only asks.
    """

    def payee_name(self, *, bank_code: str, account_number: str) -> str: ...

    def available_balance(self, *, bank_code: str, account_number: str, holder_ci: str) -> int: ...

    def verify_account_password(
        self, *, bank_code: str, account_number: str, password: str
    ) -> bool: ...

    def transfer(
        self,
        *,
        from_bank: str,
        from_account: str,
        to_bank: str,
        to_account: str,
        amount: int,
        sender_text: str,
        payee_text: str,
        reference: str,
    ) -> str: ...

    def settle_reference(
        self, *, reference: str, from_bank: str, from_account: str
    ) -> TransferInquiry: ...

    def inquire_reference(
        self, *, reference: str, from_bank: str, from_account: str
    ) -> TransferInquiry:
        """The inquiry alone, changing nothing: ``unknown`` for a reference never seen."""
        ...


@dataclass(frozen=True)
class ArsOutcome:
    """Where an ARS call stands: ``ringing``, ``answered`` (with the keyed digits), ``declined``."""

    status: str
    keyed: str | None = None


@runtime_checkable
class ArsCaller(Protocol):
    """ARS 인증: an automated call to the customer's phone, who keys in the code on screen."""

    def place_call(self, *, phone: str, prompt: str) -> str: ...

    def outcome(self, call_id: str) -> ArsOutcome: ...


@runtime_checkable
class CardDelivery(Protocol):
    """Hands a newly printed security card (보안카드) to its holder."""

    def deliver(self, *, holder_ci: str, serial: str, slots: list[str]) -> None: ...


@runtime_checkable
class IdentityAgency(Protocol):
    """연계정보(CI) 조회: the identity-verification agency (NICE, KCB) derives the person's
    connecting information from a resident number, the same CI the telco vouches for. The
    center matches customers by CI and never keeps the resident number."""

    def ci_for(self, rrn: ResidentNumber) -> str: ...


@dataclass(frozen=True)
class DepartureStatus:
    """What the immigration records (출입국 기록) say about a person today.

    ``abroad``: departed and not yet returned. ``country`` (ISO 3166 alpha-2) and
    ``departed_on`` name the trip the person is on, or else the last one, whose
    ``returned_on`` is then set; all None when there is no record at all.
    """

    abroad: bool
    country: str | None = None
    departed_on: date | None = None
    returned_on: date | None = None


@runtime_checkable
class DepartureRecords(Protocol):
    """해외출국확인: is this person (by CI) abroad now — departed and not yet returned?

    Replaces the ARS call for a customer abroad (financial-certificate issuance). A real
    adapter asks the immigration service (법무부 출입국 기록) through the bank's channel.
    """

    def status(self, ci: str, *, today: date) -> DepartureStatus: ...


@dataclass(frozen=True)
class Providers:
    """The set of outside parties the center talks to."""

    telco: TelcoVerifier
    sms: SmsGateway
    accounts: AccountVerifier
    id_registry: IdRegistry
    banking: CoreBanking
    ars: ArsCaller
    cards: CardDelivery
    identity: IdentityAgency
    departures: DepartureRecords
