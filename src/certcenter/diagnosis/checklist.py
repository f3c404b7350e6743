"""The checks of the diagnosis (왜 발급이 안 되나요?), each from the customer's real state.

    situation = Situation(customer=..., uow=uow, policy=policy, now=now, client_ip=None,
                          line=telco.line_facts(customer.phone), accounts=[...])
    items = [item for check in DEFAULT_CHECKS for item in check(situation)]

A check is a function ``Situation -> Iterable[CheckItem]``: it looks at what the carrier, the
banks and the center's database say now and answers with items. ``key`` names the check (the
web page labels it), ``status`` is ``ok``, ``warning`` (worth knowing, does not stop issuance)
or ``problem`` (issuance fails until it is fixed); a problem, and a warning but
``recent_failures`` (whose ``context["failures"]`` name a code each), names the catalog
``code`` whose message, cause and remedy tell the customer what to do, filled from
``context``. A key repeats when a check looks at several things (one ``account_usable`` per
account, one ``factor_locks`` per locked factor).

To add a check (financial-certificate PIN lock, device limit, …) write such a function and
pass ``checks=[*DEFAULT_CHECKS, my_check]`` to :class:`~certcenter.diagnosis.service.Diagnosis`;
``situation.uow`` is open for any further reads.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from certcenter.audit.redaction import mask_phone
from certcenter.authn.factors import LOCK_CODES
from certcenter.clock import as_utc
from certcenter.config import Policy
from certcenter.entities import CertificateStatus, Customer, FailureRecord
from certcenter.errors import CertCenterError
from certcenter.errors.blocks import released_at
from certcenter.identity.banks import BANKS
from certcenter.identity.providers import AccountFacts, LineFacts
from certcenter.ports import UnitOfWork
from certcenter.risk.rules import DEVICE_AT_ADDRESS, devices_at_addresses

Status = Literal["ok", "warning", "problem"]
OK: Status = "ok"
WARNING: Status = "warning"
PROBLEM: Status = "problem"

MOBILE = "mobile"  # the certificate family whose issuance is diagnosed

# Codes a factor counter's lock is reported with; other packages add their factors here.
FACTOR_LOCK_CODES: dict[str, str] = dict(LOCK_CODES)


@dataclass(frozen=True)
class CheckItem:
    """One line of the checklist."""

    key: str
    status: Status
    code: str | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def error(self) -> CertCenterError | None:
        """The catalog entry this item points to, filled with its context (None when ok)."""
        return None if self.code is None else CertCenterError(self.code, **self.context)


@dataclass(frozen=True)
class Checklist:
    """The diagnosis of one customer: items in the order of the issuance flow."""

    customer_number: str
    checked_at: datetime
    items: tuple[CheckItem, ...]

    @property
    def problems(self) -> list[CheckItem]:
        return [item for item in self.items if item.status == PROBLEM]

    @property
    def warnings(self) -> list[CheckItem]:
        return [item for item in self.items if item.status == WARNING]

    @property
    def ready(self) -> bool:
        """Nothing in the customer's state stops issuance."""
        return not self.problems

    def item(self, key: str) -> CheckItem:
        """The first item of ``key`` (KeyError when no check answered with it)."""
        for candidate in self.items:
            if candidate.key == key:
                return candidate
        raise KeyError(key)

    def all(self, key: str) -> list[CheckItem]:
        return [item for item in self.items if item.key == key]


@dataclass
class Situation:
    """What the checks look at. Provider answers are fetched before the unit of work opens;
    ``line_error`` / ``accounts_error`` hold a provider's refusal when it could not answer."""

    customer: Customer
    uow: UnitOfWork
    policy: Policy
    now: datetime
    client_ip: str | None
    line: LineFacts | None
    accounts: Sequence[AccountFacts]
    failures: Sequence[FailureRecord] = ()  # the lookback window's, newest first
    line_error: CertCenterError | None = None
    accounts_error: CertCenterError | None = None
    lock_codes: Mapping[str, str] = field(default_factory=lambda: FACTOR_LOCK_CODES)
    lock_limits: Mapping[str, int] = field(default_factory=dict)  # failures that lock

    def failed_with(self, code: str) -> list[FailureRecord]:
        return [f for f in self.failures if f.code == code]


Check = Callable[[Situation], Iterable[CheckItem]]


def _time(value: datetime) -> str:
    return value.isoformat(timespec="minutes")


def mask_account(number: str) -> str:
    return f"{number[:4]}{'*' * max(len(number) - 7, 0)}{number[-3:]}"


def _unavailable(key: str, error: CertCenterError) -> CheckItem:
    detail = str(error.context.get("detail", "")) or error.code
    return CheckItem(key, WARNING, "SERVICE_UNAVAILABLE", {"detail": detail})


# ---------------------------------------------------------------- the customer


def check_internet_banking(s: Situation) -> Iterable[CheckItem]:
    """인터넷뱅킹 가입: a customer new to it joins in the same flow, so never a problem."""
    yield CheckItem(
        "internet_banking",
        OK,
        context={"enrolled": s.customer.internet_banking, "joins_in_flow": True},
    )


def _is_domestic(address: str, policy: Policy) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in policy.domestic_networks)


def check_overseas_access(s: Situation) -> Iterable[CheckItem]:
    """해외 접속: refused from a foreign address unless the customer allowed it (해외 IP 차단
    해제, until its end). Without the asker's address, the addresses of recent refusals tell."""
    until = s.customer.overseas_access_until
    allowed = s.customer.overseas_access and (until is None or s.now < as_utc(until))
    context: dict[str, Any] = {"allowed": allowed}
    if allowed and until is not None:
        context["until"] = _time(as_utc(until))
    if s.client_ip is not None:
        domestic = _is_domestic(s.client_ip, s.policy)
        context["domestic"] = domestic
        if not domestic and not allowed:
            yield CheckItem("overseas_access", PROBLEM, "FOREIGN_IP_BLOCKED", {"ip": s.client_ip})
            return
        yield CheckItem("overseas_access", OK, context=context)
        return
    refused = [f for f in s.failed_with("FOREIGN_IP_BLOCKED") if f.client_ip]
    if refused and not allowed:
        ip = str(refused[0].client_ip)
        yield CheckItem("overseas_access", PROBLEM, "FOREIGN_IP_BLOCKED", {"ip": ip})
        return
    yield CheckItem("overseas_access", OK, context=context)


def check_blocks(s: Situation) -> Iterable[CheckItem]:
    """24시간 차단: the customer's block, and blocks of devices they tried from (a device not
    registered yet is blocked at the address it failed from: its subject is still a device)."""
    subjects = [("customer", s.customer.id)]
    devices = {f.device_id for f in s.failures if f.device_id}
    devices |= {d.device_id for d in s.uow.devices.for_customer(s.customer.id)}
    subjects += [("device", device) for device in sorted(devices)]
    subjects += [(DEVICE_AT_ADDRESS, scoped) for scoped in devices_at_addresses(s.failures)]
    found = False
    for kind, subject in subjects:
        block = s.uow.blocks.active(kind, subject, s.now)
        if block is None:
            continue
        found = True
        yield CheckItem(
            "blocks",
            PROBLEM,
            "TOO_MANY_ATTEMPTS",
            {
                "subject": "device" if kind == DEVICE_AT_ADDRESS else kind,  # from one address
                "until": _time(block.blocked_until),
                "released": released_at(block.blocked_until),
                "window_minutes": s.policy.failure_window_minutes,
                "max_failures": s.policy.failure_max_in_window,
            },
        )
    if not found:
        yield CheckItem("blocks", OK)


# ---------------------------------------------------------------- the phone (통신사)


def check_phone(s: Situation) -> Iterable[CheckItem]:
    """휴대폰: the line exists, is not a corporate line without the personal service, proves
    the customer's own identity (CI), the carrier to choose, and the spam filter."""
    phone = mask_phone(s.customer.phone)
    if s.line_error is not None:
        yield _unavailable("phone_own_name", s.line_error)
        return
    line = s.line
    if line is None:
        yield CheckItem("phone_own_name", PROBLEM, "PHONE_SUBSCRIBER_NOT_FOUND", {"phone": phone})
        return
    corporate = {"corporate": line.corporate, "personal_service": line.corporate_personal_service}
    if line.corporate and not line.corporate_personal_service:
        yield CheckItem("phone_corporate_line", PROBLEM, "PHONE_CORPORATE_LINE", corporate)
    else:
        yield CheckItem("phone_corporate_line", OK, context=corporate)
        if line.verifies_ci == s.customer.ci:
            yield CheckItem("phone_own_name", OK, context={"phone": phone})
        else:
            yield CheckItem("phone_own_name", PROBLEM, "PHONE_NOT_OWN_NAME", {"phone": phone})
    # the carrier to choose: an 알뜰폰 line must pick its host network's MVNO entry. A recent
    # refusal for another carrier (linked to the customer by name, birth date and number)
    # stops issuance until the customer chooses this one, unless a certificate came since.
    carrier: dict[str, Any] = {
        "carrier": line.carrier.value,
        "carrier_label": line.carrier.label,
        "mvno": line.carrier.mvno,
    }
    wrong = s.failed_with("PHONE_CARRIER_MISMATCH")
    if wrong and not _issued_since(s, wrong[0].at):
        carrier["refused_at"] = _time(wrong[0].at)
        yield CheckItem("phone_carrier", PROBLEM, "PHONE_CARRIER_MISMATCH", carrier)
    else:
        yield CheckItem("phone_carrier", OK, context=carrier)
    sender = s.policy.sms_sender_number
    if line.filters(sender):
        yield CheckItem("sms_spam_block", WARNING, "PHONE_SMS_SPAM_BLOCKED", {"sender": sender})
    else:
        yield CheckItem("sms_spam_block", OK, context={"sender": sender})


def _issued_since(s: Situation, when: datetime) -> bool:
    """A mobile certificate was issued to the customer since ``when``."""
    return any(
        record.issued_at is not None and as_utc(record.issued_at) >= as_utc(when)
        for record in s.uow.certificates.for_customer(s.customer.id, family=MOBILE)
    )


# ---------------------------------------------------------------- accounts (은행)


def check_accounts(s: Situation) -> Iterable[CheckItem]:
    """계좌: each of the customer's accounts at any bank. An unusable account is a problem
    only when no account can take the 1-won deposit; otherwise the customer uses another."""
    if s.accounts_error is not None:
        yield _unavailable("account_usable", s.accounts_error)
        return
    if not s.accounts:
        yield CheckItem("account_usable", PROBLEM, "CUSTOMER_NOT_FOUND", {"accounts": 0})
        return
    any_usable = any(a.refusal is None for a in s.accounts)
    for account in s.accounts:
        context = {
            "bank_code": account.bank_code,
            "bank": BANKS.get(account.bank_code, account.bank_code),
            "account": mask_account(account.account_number),
            "account_status": account.status,
        }
        if account.refusal is None:
            yield CheckItem("account_usable", OK, context=context)
        else:
            status = WARNING if any_usable else PROBLEM
            yield CheckItem("account_usable", status, account.refusal, context)


# ---------------------------------------------------------------- the center's records


def check_device(s: Situation) -> Iterable[CheckItem]:
    """1인 1기기: a registered device stops issuance on another one (unless moved)."""
    device = s.uow.devices.active_for_customer(s.customer.id)
    if device is None:
        yield CheckItem("device_registered", OK, context={"registered": False})
        return
    yield CheckItem(
        "device_registered",
        PROBLEM,
        "DEVICE_ALREADY_REGISTERED",
        {
            "registered": True,
            "device_id": device.device_id,
            "platform": device.platform,
            "model": device.model,
            "registered_at": _time(device.registered_at),
        },
    )


def _revoked_for_inactivity(
    s: Situation, revoked_at: datetime | None, last: datetime | None
) -> bool:
    return (
        revoked_at is not None
        and last is not None
        and revoked_at - last >= timedelta(days=s.policy.mobile_inactivity_days)
    )


def check_certificate(s: Situation) -> Iterable[CheckItem]:
    """The mobile certificate: in use, suspended (lost phone), or revoked for inactivity."""
    records = list(s.uow.certificates.for_customer(s.customer.id, family=MOBILE))
    usable = [
        r for r in records if r.status in (CertificateStatus.ACTIVE, CertificateStatus.SUSPENDED)
    ]
    if usable:
        record = max(usable, key=lambda r: r.created_at)
        context = {
            "serial": record.serial,
            "certificate_status": record.status,
            "not_after": _time(record.not_after),
        }
        if record.status == "suspended":
            yield CheckItem("certificate", WARNING, "CERTIFICATE_SUSPENDED", context)
        else:
            yield CheckItem("certificate", OK, context=context)
        return
    handed_out = [
        r
        for r in records
        if r.status not in (CertificateStatus.PENDING, CertificateStatus.ABANDONED)
    ]
    latest = max(handed_out, key=lambda r: r.created_at, default=None)
    if (
        latest is not None
        and latest.status == CertificateStatus.REVOKED
        and latest.revocation_reason == "cessationOfOperation"
        and _revoked_for_inactivity(s, latest.revoked_at, latest.last_used_at or latest.issued_at)
    ):
        yield CheckItem(
            "certificate",
            WARNING,
            "INACTIVE_CERTIFICATE_REVOKED",
            {"serial": latest.serial, "days": s.policy.mobile_inactivity_days},
        )
        return
    yield CheckItem("certificate", OK, context={"certificate_status": None})


def check_factor_locks(s: Situation) -> Iterable[CheckItem]:
    """Locked factors (PIN, pattern, OTP, security card, account password, …)."""
    locked = [
        counter
        for counter in s.uow.factors.for_customer(s.customer.id)
        if counter.locked_at is not None and counter.factor in s.lock_codes
    ]
    for counter in locked:
        yield CheckItem(
            "factor_locks",
            PROBLEM,
            s.lock_codes[counter.factor],
            {
                "factor": counter.factor,
                "max_failures": s.lock_limits.get(counter.factor, counter.failures),
                "locked_at": _time(counter.locked_at or s.now),
            },
        )
    if not locked:
        yield CheckItem("factor_locks", OK)


def check_recent_failures(s: Situation) -> Iterable[CheckItem]:
    """최근 실패: the lookback window's refusals, by code with counts, most recent first."""
    summary: dict[str, dict[str, Any]] = {}
    for failure in s.failures:  # newest first
        entry = summary.setdefault(
            failure.code,
            {"code": failure.code, "count": 0, "last_at": _time(failure.at), "step": failure.step},
        )
        entry["count"] += 1
    hours = s.policy.block_hours
    if not summary:
        yield CheckItem("recent_failures", OK, context={"hours": hours, "failures": []})
        return
    # no single code: each listed failure names its own (the newest first)
    yield CheckItem(
        "recent_failures",
        WARNING,
        context={"hours": hours, "failures": list(summary.values()), "total": len(s.failures)},
    )


DEFAULT_CHECKS: tuple[Check, ...] = (
    check_internet_banking,
    check_overseas_access,
    check_blocks,
    check_phone,
    check_accounts,
    check_device,
    check_certificate,
    check_factor_locks,
    check_recent_failures,
)
