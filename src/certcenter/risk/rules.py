"""Device, network and abuse rules (이상 접근 차단), each refusing with a catalog code.

    rules = RiskRules(settings.policy, clock)
    rules.check_device(DeviceFacts(platform="android", app_version="5.2.0", rooted=False,
                                   developer_options=False, remote_control_apps=()))
    rules.check_network("203.0.113.9", overseas_access=False)   # FOREIGN_IP_BLOCKED

Every refusal is recorded (customer, step, code, time); too many in a short window block the
customer and the device for 24 hours *(policy)*. A block is earned: a registered device counts
only its owner's failures, so naming someone's device id blocks nothing of theirs; a device not
registered yet is blocked only for the client address its failures came from, so another
client cannot block it before it is registered either. A refusal can also be counted under
further subjects the request named (*marks*: a phone number's or a claimed person's keyed
digest, a client address; see :func:`client_address`): each keeps its own window and earns
its own block, checked where such claims are made, so guessing who is a customer stops
without blocking the customer's own flows elsewhere. Blocks live in the database, so they
survive restarts. Counting and blocking hold the subject's row lock
(:meth:`~certcenter.ports.FailureRepository.lock_subject`), so concurrent failures write one
block, on PostgreSQL as on SQLite. Limits fail closed: when the failure log cannot be read the
step fails.

A request that names no known customer (a lost-phone report) counts its failures under
further subjects — a keyed digest of the number, the client address — given as ``marks``;
:meth:`RiskRules.reserve` counts its try under them *before* the comparison, so concurrent
tries get no more than the block's limit compared.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property
from typing import Protocol

from certcenter.clock import Clock, as_utc
from certcenter.config import Policy
from certcenter.entities import Block, Customer, FailureRecord, new_id
from certcenter.errors import CertCenterError
from certcenter.errors.blocks import UNCOUNTED, too_many_attempts
from certcenter.ports import UnitOfWork

# The block of an unregistered device, held only for requests from the address it failed at.
DEVICE_AT_ADDRESS = "device_address"


def device_at(device_id: str, client_ip: str) -> str:
    """The subject of an unregistered device's block at one client address (a digest: the
    pair is longer than a subject; neither is a secret)."""
    return hashlib.sha256(f"{device_id}\n{client_ip}".encode("utf-8", "surrogatepass")).hexdigest()


# The mark of a client address: an address may carry many customers (a carrier's NAT, a
# branch), so its window holds more failures (policy: failure_max_in_window_per_address).
CLIENT_ADDRESS = "client_address"


def client_address(client_ip: str | None) -> tuple[str, str]:
    """The mark a request's failures count under for its client address."""
    return (CLIENT_ADDRESS, (client_ip or "-")[:64])


# The link of a refusal to the person it was about, made before the flow knows the customer
# (the phone step: the telco refused the line): a keyed digest of the name, birth date and
# phone number as typed, never the values. The diagnosis makes the same digest from the
# customer's record and so finds the refusals that were theirs. A link counts towards no block:
# typing someone's details must not block them.
IDENTITY_LINK = "identity"


class Digester(Protocol):
    def digest(self, value: str, *, purpose: str) -> str: ...


def identity_link(hasher: Digester, *, name: str, birth_date: date, phone: str) -> tuple[str, str]:
    """The link (kind, subject) of the person named by a name, birth date and phone number.

    >>> class Plain:
    ...     def digest(self, value: str, *, purpose: str) -> str:
    ...         return f"{purpose}:{value}"
    >>> identity_link(Plain(), name="정도윤", birth_date=date(1985, 9, 30), phone="01020000005")
    ('identity', 'link-identity:정도윤|1985-09-30|01020000005')
    """
    digits = "".join(ch for ch in phone if ch.isdigit())
    value = f"{name.strip()}|{birth_date.isoformat()}|{digits}"
    return (IDENTITY_LINK, hasher.digest(value, purpose="link-identity"))


def devices_at_addresses(failures: Iterable[FailureRecord]) -> list[str]:
    """The subjects of the blocks the failures' unregistered devices may have earned, one per
    device and address they failed from (for the diagnosis and the operator desk)."""
    pairs = {(f.device_id, f.client_ip) for f in failures if f.device_id and f.client_ip}
    return sorted(device_at(device, address) for device, address in pairs)


@dataclass(frozen=True)
class DeviceFacts:
    """What the app reports about its device at the start of a flow."""

    platform: str
    app_version: str
    rooted: bool
    developer_options: bool
    remote_control_apps: tuple[str, ...]


def parse_version(text: str) -> tuple[int, ...]:
    parts = text.strip().split(".")
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        raise CertCenterError("INVALID_REQUEST", detail="app_version must look like 5.2.0")
    return tuple(int(p) for p in parts)


class RiskRules:
    def __init__(self, policy: Policy, clock: Clock) -> None:
        self.policy = policy
        self.clock = clock

    @cached_property
    def _domestic(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        return [ipaddress.ip_network(n, strict=False) for n in self.policy.domestic_networks]

    def _limit(self, kind: str) -> int:
        """The failures in the window that block a subject of ``kind``."""
        if kind == CLIENT_ADDRESS:
            return self.policy.failure_max_in_window_per_address
        return self.policy.failure_max_in_window

    def check_device(self, facts: DeviceFacts) -> None:
        minimum = self.policy.min_app_version.get(facts.platform)
        if minimum is None:
            raise CertCenterError("INVALID_REQUEST", detail=f"unknown platform {facts.platform!r}")
        if parse_version(facts.app_version) < parse_version(minimum):
            raise CertCenterError(
                "APP_VERSION_OUTDATED", version=facts.app_version, minimum=minimum
            )
        if facts.rooted:
            raise CertCenterError("DEVICE_ROOTED")
        if facts.developer_options:
            raise CertCenterError("DEVICE_DEVELOPER_OPTIONS")
        if facts.remote_control_apps:
            raise CertCenterError("DEVICE_REMOTE_CONTROL")

    def is_domestic(self, client_ip: str) -> bool:
        try:
            address = ipaddress.ip_address(client_ip)
        except ValueError:
            return False  # an address we cannot read is not known to be domestic
        return any(address in network for network in self._domestic)

    def check_network(self, client_ip: str, *, overseas_access: bool) -> None:
        if not overseas_access and not self.is_domestic(client_ip):
            raise CertCenterError("FOREIGN_IP_BLOCKED", ip=client_ip)

    def overseas_allowed(self, customer: Customer) -> bool:
        """The customer allowed access from abroad (해외 IP 차단 해제), and the allowance has
        not ended (``overseas_access_until``; none: without an end)."""
        until = customer.overseas_access_until
        return customer.overseas_access and (until is None or self.clock.now() < as_utc(until))

    def check_customer_network(self, client_ip: str, customer: Customer) -> None:
        """``FOREIGN_IP_BLOCKED`` from abroad unless the customer's allowance holds now."""
        self.check_network(client_ip, overseas_access=self.overseas_allowed(customer))

    def check_blocks(
        self,
        uow: UnitOfWork,
        *,
        customer_id: str | None,
        device_id: str | None,
        client_ip: str | None = None,
        marks: Sequence[tuple[str, str]] = (),
    ) -> None:
        """``TOO_MANY_ATTEMPTS`` while the customer, the device, the device from this client
        address (an unregistered device's block) or one of ``marks`` (further subjects, as
        given to :meth:`record_failure`) is blocked."""
        now = self.clock.now()
        scoped = device_at(device_id, client_ip) if device_id and client_ip else None
        subjects = [
            (kind, subject)
            for kind, subject in (
                ("customer", customer_id),
                ("device", device_id),
                (DEVICE_AT_ADDRESS, scoped),
                *marks,
            )
            if subject is not None
        ]
        block = uow.blocks.first_active(subjects, now)  # one read for all of them
        if block is not None:
            raise too_many_attempts(
                block.blocked_until,
                window_minutes=self.policy.failure_window_minutes,
                max_failures=self.policy.failure_max_in_window,
            )

    def reserve(self, uow: UnitOfWork, *, marks: Sequence[tuple[str, str]], holder: str) -> None:
        """Count a try under each of ``marks`` *before* it is compared: under each subject's
        row lock, ``TOO_MANY_ATTEMPTS`` when the subject is blocked or its window already
        holds the policy's number of failures and reserved tries; otherwise the try is marked
        (``holder``: a fresh id) and counts until :meth:`release` (commit, then compare). Any
        number of concurrent tries gets no more than the block's limit compared."""
        now = self.clock.now()
        since = now - timedelta(minutes=self.policy.failure_window_minutes)
        for kind, subject in marks:
            uow.failures.lock_subject(kind, subject, now)
            block = uow.blocks.active(kind, subject, now)
            full = uow.failures.count_marked_since(kind, subject, since=since)
            if block is not None or full >= self._limit(kind):
                until = (
                    block.blocked_until if block else now + timedelta(hours=self.policy.block_hours)
                )
                raise too_many_attempts(
                    until,
                    window_minutes=self.policy.failure_window_minutes,
                    max_failures=self._limit(kind),
                )
        for kind, subject in marks:
            uow.failures.mark(holder, kind, subject, now)

    def release(self, uow: UnitOfWork, holder: str) -> None:
        """The reserved try is decided: it no longer counts (a wrong one is recorded with
        :meth:`record_failure` in the same transaction)."""
        uow.failures.unmark(holder)

    def record_failure(
        self,
        uow: UnitOfWork,
        *,
        step: str,
        code: str,
        customer_id: str | None,
        enrollment_id: str | None,
        device_id: str | None,
        client_ip: str | None,
        marks: Sequence[tuple[str, str]] = (),
    ) -> Block | None:
        """Write the failure; block customer and device when the window is full. A registered
        device counts only its owner's failures; an unregistered one counts the failures from
        this client address, and its block holds only for requests from there. ``marks`` are
        further subjects (kind, subject) the failure counts under — a phone number's keyed
        digest, a client address — each blocked like a customer when its window is full; they
        were named by the request, so they are blocked whoever they belong to. A mark of kind
        :data:`IDENTITY_LINK` only links the failure to the person it named, for the diagnosis:
        it is kept even for a refusal that counts towards nothing, and never counted.
        Refusals of :data:`~certcenter.errors.blocks.UNCOUNTED` (typing slips the form can
        check, the block itself) are kept and count towards no block."""
        now = self.clock.now()
        failure_id = new_id()
        uow.failures.add(
            FailureRecord(
                id=failure_id,
                step=step,
                code=code,
                at=now,
                customer_id=customer_id,
                enrollment_id=enrollment_id,
                device_id=device_id,
                client_ip=client_ip,
            )
        )
        links = [(kind, subject) for kind, subject in marks if kind == IDENTITY_LINK]
        marks = [(kind, subject) for kind, subject in marks if kind != IDENTITY_LINK]
        if links:
            uow.flush()
        for kind, subject in links:
            uow.failures.mark(failure_id, kind, subject, now)  # found, never counted
        if code in UNCOUNTED:
            return None
        uow.flush()
        since = now - timedelta(minutes=self.policy.failure_window_minutes)
        until = now + timedelta(hours=self.policy.block_hours)
        block: Block | None = None
        subjects: list[tuple[str, str, str | None]] = []  # kind, subject, the device's owner
        if customer_id is not None:
            subjects.append(("customer", customer_id, None))
        if device_id is not None:
            # A block is earned by whoever failed: a registered device is blocked only by its
            # owner's own failures, never by requests that merely name its id; a device not
            # registered to anyone only where it failed, at this client address.
            registered = uow.devices.active_by_device_id(device_id)
            owner = registered.customer_id if registered is not None else None
            if owner is not None and owner == customer_id:
                subjects.append(("device", device_id, owner))
            elif owner is None and client_ip:
                subjects.append((DEVICE_AT_ADDRESS, device_at(device_id, client_ip), None))
        for kind, subject, owner in subjects:
            # the subject's row lock: the count below sees every failure committed before
            # it, and no other transaction counts or blocks this subject until this one ends
            uow.failures.lock_subject(kind, subject, now)
            if kind == "customer" and enrollment_id is not None:
                uow.failures.settle_guesses(enrollment_id)  # now a failure of the log
            count = uow.failures.count_since(
                since=since,
                excluding=UNCOUNTED,
                customer_id=subject if kind == "customer" else owner,
                device_id=None if kind == "customer" else device_id,
                client_ip=client_ip if kind == DEVICE_AT_ADDRESS else None,
            )
            if count >= self.policy.failure_max_in_window and not uow.blocks.active(
                kind, subject, now
            ):
                block = Block(
                    id=new_id(),
                    subject_kind=kind,
                    subject=subject,
                    reason="too_many_failures",
                    created_at=now,
                    blocked_until=until,
                )
                uow.blocks.add(block)
        for kind, subject in marks:
            uow.failures.lock_subject(kind, subject, now)
            uow.failures.mark(failure_id, kind, subject, now)
            count = uow.failures.count_marked_since(kind, subject, since=since)
            if count >= self._limit(kind) and not uow.blocks.active(kind, subject, now):
                block = Block(
                    id=new_id(),
                    subject_kind=kind,
                    subject=subject,
                    reason="too_many_failures",
                    created_at=now,
                    blocked_until=until,
                )
                uow.blocks.add(block)
        return block
