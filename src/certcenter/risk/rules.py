"""Device, network and abuse rules (이상 접근 차단), each refusing with a catalog code.

    rules = RiskRules(settings.policy, clock)
    rules.check_device(DeviceFacts(platform="android", app_version="5.2.0", rooted=False,
                                   developer_options=False, remote_control_apps=()))
    rules.check_network("203.0.113.9", overseas_access=False)   # FOREIGN_IP_BLOCKED

Every refusal is recorded (customer, step, code, time); too many in a short window block the
customer and the device for 24 hours *(policy)*. A refusal can also be counted under claimed
subjects (:func:`claim_subject`: a phone number, a client address, a person as someone named
them) that are not customers: each keeps its own window and earns its own block, checked where
such claims are made, so guessing who is a customer stops without blocking the customer's own
flows elsewhere. A block is earned: a registered device counts
only its owner's failures, so naming someone's device id blocks nothing of theirs. Blocks live
in the database, so they survive restarts. Counting and blocking hold the subject's row lock
(:meth:`~certcenter.ports.FailureRepository.lock_subject`), so concurrent failures write one
block, on PostgreSQL as on SQLite. Limits fail closed: when the failure log cannot be read the
step fails.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

from certcenter.clock import Clock
from certcenter.config import Policy
from certcenter.entities import Block, FailureRecord, new_id
from certcenter.errors import CertCenterError
from certcenter.ports import UnitOfWork

# Refusals that do not count towards a block: they are the block itself, or they say
# nothing about the person (a lost session, a step done twice by a double tap).
NOT_COUNTED = frozenset(
    {
        "TOO_MANY_ATTEMPTS",
        "ENROLLMENT_STEP_OUT_OF_ORDER",
        "ENROLLMENT_NOT_FOUND",
        "ENROLLMENT_EXPIRED",
        "ENROLLMENT_CLOSED",
        "INTERNAL_ERROR",
        "SERVICE_UNAVAILABLE",
    }
)


def claim_subject(kind: str, value: str) -> str:
    """The failure-log key of a claimed subject (``phone``, ``address``, ``person``): a digest,
    so the log and the blocks never hold the claim itself.

    >>> claim_subject("phone", "01020000001")[:6]
    'phone:'
    """
    return f"{kind}:" + hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()[:27]


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

    def _limit(self, subject: str) -> int:
        """The failures in the window that block the subject (a client address: its own)."""
        if subject.startswith("address:"):
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

    def check_blocks(
        self,
        uow: UnitOfWork,
        *,
        customer_id: str | None,
        device_id: str | None,
        claims: Sequence[str] = (),
    ) -> None:
        """``TOO_MANY_ATTEMPTS`` when the customer, the device or one of the claimed subjects
        (:func:`claim_subject`) is blocked."""
        now = self.clock.now()
        subjects = [("customer", customer_id), ("device", device_id)]
        subjects += [("customer", claim) for claim in claims]
        for kind, subject in subjects:
            if subject is None:
                continue
            block = uow.blocks.active(kind, subject, now)
            if block is not None:
                raise CertCenterError(
                    "TOO_MANY_ATTEMPTS",
                    until=block.blocked_until.isoformat(timespec="minutes"),
                    window_minutes=self.policy.failure_window_minutes,
                    max_failures=self.policy.failure_max_in_window,
                )

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
        claims: Sequence[str] = (),
    ) -> Block | None:
        """Write the failure; block customer and device when the window is full. The failure
        is also counted under each claimed subject (:func:`claim_subject`), one row each, and
        blocks that subject when its window is full."""
        now = self.clock.now()
        extra = [c for c in dict.fromkeys(claims) if c and c != customer_id]
        for who in [customer_id, *extra]:
            uow.failures.add(
                FailureRecord(
                    id=new_id(),
                    step=step,
                    code=code,
                    at=now,
                    customer_id=who,
                    enrollment_id=enrollment_id,
                    device_id=device_id if who == customer_id else None,
                    client_ip=client_ip,
                )
            )
        if code in NOT_COUNTED:
            return None
        uow.flush()
        since = now - timedelta(minutes=self.policy.failure_window_minutes)
        until = now + timedelta(hours=self.policy.block_hours)
        block: Block | None = None
        subjects = [("customer", customer_id), ("device", device_id)]
        subjects += [("customer", claim) for claim in extra]
        for kind, subject in subjects:
            if subject is None:
                continue
            owner: str | None = None
            if kind == "device":
                # A block is earned by whoever failed: a registered device is blocked only by
                # its owner's own failures, never by requests that merely name its id.
                registered = uow.devices.active_by_device_id(subject)
                owner = registered.customer_id if registered is not None else None
                if owner is not None and owner != customer_id:
                    continue
            # the subject's row lock: the count below sees every failure committed before
            # it, and no other transaction counts or blocks this subject until this one ends
            uow.failures.lock_subject(kind, subject, now)
            if kind == "customer" and enrollment_id is not None:
                uow.failures.settle_guesses(enrollment_id)  # now a failure of the log
            count = uow.failures.count_since(
                since=since,
                customer_id=subject if kind == "customer" else owner,
                device_id=subject if kind == "device" else None,
            )
            if count >= self._limit(subject) and not uow.blocks.active(kind, subject, now):
                made = Block(
                    id=new_id(),
                    subject_kind=kind,
                    subject=subject,
                    reason="too_many_failures",
                    created_at=now,
                    blocked_until=until,
                )
                uow.blocks.add(made)
                block = block or made
        return block
