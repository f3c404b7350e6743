"""Configuration: ``CERTCENTER_*`` environment variables over an optional TOML file.

Nothing needs configuring for the demo: the defaults run the center on SQLite with the
embedded simulators under ``./var``. Values marked *(policy)* in the specification live in
:class:`Policy` and are read by the logic, never hard-coded in it.

    >>> settings = load_settings(environ={"CERTCENTER_DATA_DIR": "/tmp/cc"})
    >>> settings.database_url
    'sqlite:////tmp/cc/certcenter.db'
    >>> settings.policy.sms_code_ttl_seconds
    180

The file is named by ``CERTCENTER_CONFIG`` (or ``--config`` on the command line); its keys
are the field names below, with ``[policy]`` as a table. See ``docs/configuration.md``.

An installation keeps its own file: set-up writes ``certcenter.toml`` into the data directory
(:func:`write_installation_file`), and the command line finds it from anywhere with
:func:`find_config_file` — ``CERTCENTER_CONFIG``, else ``$CERTCENTER_DATA_DIR/certcenter.toml``,
else ``./certcenter.toml`` or ``./var/certcenter.toml``, else ``/etc/certcenter/certcenter.toml``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The demo's OID arc sits under the private enterprise number that RFC 5612 reserves for
# documentation (32473), so it collides with nobody. (A 2.25.<UUID> arc would be unique too, but
# its 128-bit component is more than common DER decoders, pkilint's included, accept.)
# A bank sets its own arc, for example one under 1.2.410.2000xx.
DEMO_OID_ARC = "1.3.6.1.4.1.32473.1"

# What keys are for, each of which may be put on a backend of its own (docs/keys.md)
KeyPurpose = Literal["ca", "ocsp", "customer", "secrets"]
KEY_PURPOSES: tuple[KeyPurpose, ...] = ("ca", "ocsp", "customer", "secrets")

# On SQLite every transaction that may write takes the database's one write lock, so server
# processes beyond a few only wait for it; reads scale, writes do not (docs/operations.md).
SQLITE_WORKERS = 4
MAX_WORKERS = 64


def default_workers(database_url: str, cpus: int | None) -> int:
    """``certcenter serve``'s processes when ``workers`` is not set: one per core (at least
    one, at most 64); on SQLite at most :data:`SQLITE_WORKERS`."""
    workers = max(1, min(cpus or 1, MAX_WORKERS))
    if database_url.startswith("sqlite"):
        workers = min(workers, SQLITE_WORKERS)
    return workers


class TransferTier(BaseModel):
    """Transfers up to ``max_amount`` KRW need exactly these factors."""

    max_amount: int = Field(ge=1)
    factors: list[Literal["pin", "account_password", "ars"]]


class MediumLimit(BaseModel):
    """What one security medium allows, per transfer and per (KST) day, in KRW.

    ``per_transfer_verified`` is the raised per-transfer limit of a transfer that also passes
    the additional verification (추가인증: the ARS call of the top tier), as banks raise the
    limit after it; None keeps ``per_transfer``."""

    per_transfer: int = Field(ge=1)
    per_day: int = Field(ge=1)
    per_transfer_verified: int | None = Field(None, ge=1)

    def per_transfer_with(self, factors: list[str]) -> int:
        if "ars" in factors and self.per_transfer_verified is not None:
            return max(self.per_transfer, self.per_transfer_verified)
        return self.per_transfer


#: The checks of 비대면 실명확인 (identifying a customer who is not at a branch) and of the
#: flows' identity proofing, by the names the policy uses (docs/identity-documents.md).
IdentityCheck = Literal[
    "phone",  # 휴대폰 본인인증: name, resident number's front, phone in own name, SMS code
    "user_id",  # internet-banking user ID + resident number
    "id_document",  # 신분증 진위확인: typed or photographed, asked of the ID registry
    "account_transfer",  # 1원 이체 to an account the customer already holds (any bank)
    "video_call",  # 영상통화
    "other_bank_account",  # 타 금융기관 기존계좌 확인
    "ars",  # ARS call with the code on screen
    "departure",  # 해외출국확인, for a customer abroad
    "sms",  # SMS code to the phone on record
    "account",  # this bank's withdrawal account and its password
    "security_card",
    "otp",
    "mobile_certificate",  # the mobile certificate, approved in the app
]

#: The flows the checks are set for, and the steps each flow has: a step offers the checks in
#: its tuple (one is done). ``relationship`` (opening a relationship) is met in the mobile
#: flow, where a customer new to the bank enrols.
FLOW_STEPS: dict[str, dict[str, tuple[str, ...]]] = {
    "relationship": {
        "phone": ("phone",),
        "account": ("account_transfer",),
        "id": ("id_document",),
    },
    "mobile": {"phone": ("phone",), "account": ("account_transfer",), "id": ("id_document",)},
    "financial": {
        "identify": ("user_id",),
        "verify": ("ars", "departure"),
        "medium": ("account", "security_card", "otp", "mobile_certificate", "id_document"),
        "details": ("sms",),
    },
    "joint": {
        "identify": ("user_id",),
        "medium": ("security_card", "otp"),
        "phone": ("sms", "ars"),
    },
}
#: Steps a flow cannot do without: the one that finds the customer (and, in the financial
#: flow, binds the browser by SMS; in the joint flow, reaches the phone on record).
FLOW_FIXED_STEPS: dict[str, tuple[str, ...]] = {
    "relationship": (),
    "mobile": ("phone",),
    "financial": ("identify", "verify", "medium", "details"),
    "joint": ("identify", "medium", "phone"),
}


class CheckRule(BaseModel):
    """Enough checks for one flow: every group in ``all_of`` met by one of its checks."""

    model_config = ConfigDict(extra="forbid")

    all_of: list[list[IdentityCheck]] = Field(min_length=1)

    def groups(self) -> list[frozenset[str]]:
        return [frozenset(group) for group in self.all_of]


class RealNameChecks(BaseModel):
    """비대면 실명확인: which combinations of checks are enough, for each flow. Validated at
    start against the steps each flow has (:data:`FLOW_STEPS`)."""

    model_config = ConfigDict(extra="forbid")

    # 신분증 확인 + one more: 1원 이체 to an existing account, a video call, or an existing
    # account at another bank (the 금융위원회's guidance, 2015)
    relationship: CheckRule = CheckRule(
        all_of=[["id_document"], ["account_transfer", "video_call", "other_bank_account"]]
    )
    # KB국민인증서: the phone, the 1원 이체, the ID document
    mobile: CheckRule = CheckRule(all_of=[["phone"], ["account_transfer"], ["id_document"]])
    # 금융인증서: user ID + resident number, ARS or the departure check, one additional
    # medium (or the ID document), the SMS code
    financial: CheckRule = CheckRule(
        all_of=[
            ["user_id"],
            ["ars", "departure"],
            ["account", "security_card", "otp", "mobile_certificate", "id_document"],
            ["sms"],
        ]
    )
    # 공동인증서: user ID + resident number, the security card or OTP, SMS code or ARS
    joint: CheckRule = CheckRule(all_of=[["user_id"], ["security_card", "otp"], ["sms", "ars"]])

    @model_validator(mode="after")
    def _flows_can_do_them(self) -> RealNameChecks:
        for flow, steps in FLOW_STEPS.items():
            rule: CheckRule = getattr(self, flow)
            doable = {check for checks in steps.values() for check in checks}
            covered: set[str] = set()
            for group in rule.all_of:
                if len(set(group)) != len(group):
                    raise ValueError(f"real_name_checks.{flow}: {group} names a check twice")
                if not doable & set(group):
                    raise ValueError(
                        f"real_name_checks.{flow}: no step of the {flow} flow does any of "
                        f"{', '.join(group)}; it can do {', '.join(sorted(doable))}"
                    )
                if flow in ("financial", "joint"):
                    step = self.step_of(flow, group)
                    if step in covered:
                        raise ValueError(
                            f"real_name_checks.{flow}: two groups for its {step} step; "
                            "a step does one check of one group"
                        )
                    covered.add(step)
            missing = [s for s in FLOW_FIXED_STEPS[flow] if s not in self.steps_for(flow)]
            if missing:
                raise ValueError(
                    f"real_name_checks.{flow}: the {', '.join(missing)} step cannot be left "
                    f"out; add a group of {' / '.join(FLOW_STEPS[flow][missing[0]])}"
                )
        return self

    @staticmethod
    def step_of(flow: str, group: Sequence[str]) -> str:
        """The step that does ``group``'s checks (a financial or joint group is one step's)."""
        steps = {s for s, checks in FLOW_STEPS[flow].items() if set(checks) & set(group)}
        if len(steps) != 1 or not set(group) <= set(FLOW_STEPS[flow][next(iter(steps))]):
            raise ValueError(
                f"real_name_checks.{flow}: {', '.join(group)} are not one step's checks; "
                + "; ".join(f"{s}: {' / '.join(c)}" for s, c in FLOW_STEPS[flow].items())
            )
        return next(iter(steps))

    def steps_for(self, flow: str) -> dict[str, tuple[str, ...]]:
        """The steps the flow runs and, for each, the checks it offers (in the flow's order).
        A group is met by the first step (in the flow's order) that offers one of its checks;
        the mobile flow also meets ``relationship`` (new customers enrol in it)."""
        rules = [self.mobile, self.relationship] if flow == "mobile" else [getattr(self, flow)]
        offered: dict[str, list[str]] = {}
        for rule in rules:
            for group in rule.all_of:
                for step, checks in FLOW_STEPS[flow].items():
                    found = [c for c in checks if c in group]
                    if found:
                        kept = offered.setdefault(step, [])
                        kept.extend(c for c in found if c not in kept)
                        break
        return {
            step: tuple(c for c in checks if c in offered[step])
            for step, checks in FLOW_STEPS[flow].items()
            if step in offered
        }


class Policy(BaseModel):
    """Values the bank decides; every one has the specification's default."""

    # certificates
    mobile_certificate_validity_days: int = Field(730, ge=1, le=3650)
    # financial certificate (금융인증서): key held by the center, signed for after device + PIN
    financial_certificate_validity_days: int = Field(1095, ge=1, le=3650)
    financial_renewal_window_days: int = Field(30, ge=1)  # used in its last month → renewed
    financial_inactivity_days: int = Field(365, ge=1)  # unused this long → account deleted
    financial_inactivity_notice_days: int = Field(30, ge=1)  # notice this long before
    financial_max_devices: int = Field(5, ge=1, le=50)  # registered browsers and apps
    financial_pin_max_failures: int = Field(5, ge=1)
    financial_activation_ttl_seconds: int = Field(120, ge=10)  # one-time signature activation
    device_registration_ttl_seconds: int = Field(600, ge=60)  # browser registration by SMS
    # joint certificate (공동인증서): made by the customer, certified through CMP
    joint_certificate_validity_days: int = Field(365, ge=1, le=3650)
    joint_renewal_window_days: int = Field(30, ge=1)  # renewable this long before expiry
    joint_general_fee_krw: int = Field(4400, ge=0)  # 범용; banking-only is free
    joint_registration_ttl_days: int = Field(7, ge=1, le=90)  # the 인가코드 lives this long
    joint_authorization_max_failures: int = Field(5, ge=1)  # wrong codes; then locked
    joint_ars_max_calls: int = Field(3, ge=1)  # ARS calls per registration
    joint_registration_flow_ttl_minutes: int = Field(30, ge=1)  # the registration's steps
    joint_required_terms: list[str] = [
        "joint_certificate",
        "privacy_collection",
        "unique_id_processing",
    ]
    # enrollment
    enrollment_ttl_minutes: int = Field(30, ge=1)
    required_terms: list[str] = [
        "service",
        "privacy_collection",
        "unique_id_processing",
        "e_finance",
    ]
    # financial-certificate issuance (금융인증서 발급/재발급) and approval in the app
    financial_enrollment_ttl_minutes: int = Field(30, ge=1)
    financial_required_terms: list[str] = [
        "financial_certificate",
        "privacy_collection",
        "unique_id_processing",
    ]
    # joining internet banking online (인터넷뱅킹 가입, certcenter.banking)
    banking_required_terms: list[str] = [
        "e_finance",
        "privacy_collection",
        "unique_id_processing",
    ]
    banking_password_min_length: int = Field(8, ge=8, le=20)
    financial_identity_max_failures: int = Field(5, ge=1)  # user ID + RRN; then paused
    financial_identity_max_failures_per_address: int = Field(20, ge=1)  # from one address
    financial_ars_max_calls: int = Field(3, ge=1)  # ARS calls per issuance
    approval_ttl_seconds: int = Field(180, ge=30)  # a code on screen waits this long
    approval_code_digits: int = Field(8, ge=6, le=10)
    approval_max_failures: int = Field(5, ge=1)  # wrong codes typed in one app; then paused
    # phone verification (휴대폰 본인인증)
    sms_code_ttl_seconds: int = Field(180, ge=10)
    sms_code_max_tries: int = Field(5, ge=1)
    sms_code_max_resends: int = Field(3, ge=0)
    # how many codes go out by SMS, in any flow: per phone, per person (the customer) and per
    # client address, in any hour and in any day; and the wait before a phone gets another code
    sms_resend_wait_seconds: int = Field(30, ge=0, le=600)
    sms_max_per_phone_hour: int = Field(8, ge=1)
    sms_max_per_phone_day: int = Field(20, ge=1)
    sms_max_per_person_hour: int = Field(8, ge=1)
    sms_max_per_person_day: int = Field(20, ge=1)
    sms_max_per_address_hour: int = Field(30, ge=1)  # many customers may share an address (NAT)
    sms_max_per_address_day: int = Field(200, ge=1)
    sms_sender_number: str = "1588-9999"
    # account verification (1원 입금 인증)
    account_code_ttl_seconds: int = Field(900, ge=10)
    # 신분증 촬영: the largest photo the ID step takes (bytes, before base64)
    id_photo_max_bytes: int = Field(6 * 1024 * 1024, ge=64 * 1024, le=8 * 1024 * 1024)
    # 비대면 실명확인: the checks enough for each flow (docs/identity-documents.md)
    real_name_checks: RealNameChecks = RealNameChecks()
    account_code_max_tries: int = Field(5, ge=1)
    account_code_digits: int = Field(4, ge=3, le=8)
    # device and access rules
    min_app_version: dict[str, str] = {"android": "5.0.0", "ios": "5.0.0"}
    domestic_networks: list[str] = [
        "127.0.0.0/8",
        "::1/128",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "fc00::/7",
        "211.32.0.0/11",
        "218.144.0.0/12",
        "1.208.0.0/12",
        "175.192.0.0/10",
    ]
    # too many failures → blocked (SPEC §5)
    failure_window_minutes: int = Field(10, ge=1)
    failure_max_in_window: int = Field(10, ge=1)
    # one client address may carry many customers (an office, a mobile carrier's NAT)
    failure_max_in_window_per_address: int = Field(30, ge=1)
    block_hours: int = Field(24, ge=1)
    # 해외 IP 차단 해제: the longest allowance a customer can set at once from the app
    overseas_access_max_days: int = Field(30, ge=1, le=365)
    # lifecycle (SPEC §7)
    mobile_renewal_window_days: int = Field(365, ge=1)  # used in its last year → renewed
    mobile_inactivity_days: int = Field(365, ge=1)  # unused this long → revoked
    challenge_ttl_seconds: int = Field(120, ge=10)  # device-signed challenges
    pin_max_failures: int = Field(5, ge=1)
    # lost-phone report (분실 신고): details, then a medium the customer holds, then suspended
    lost_report_ttl_minutes: int = Field(10, ge=1)  # a started report waits this long
    lost_report_max_tries: int = Field(3, ge=1)  # wrong answers to one report; then it fails
    lost_report_undo_hours: int = Field(24, ge=1)  # the undo code sent to the customer lives
    lost_report_undo_max_tries: int = Field(5, ge=1)  # wrong undo codes; then the code is dead
    # where the undo code goes: the phone's SMS (a customer who still has the phone sees it;
    # a finder holding the phone could undo too, but still needs the PIN) and the e-mail
    lost_report_undo_channels: list[Literal["sms", "email"]] = ["sms", "email"]
    # copying a joint certificate between devices (인증서 복사) through the center's relay
    certificate_copy_ttl_seconds: int = Field(300, ge=30, le=3600)  # then the relay is gone
    certificate_copy_max_bytes: int = Field(16 * 1024, ge=1024, le=48 * 1024)  # sealed files
    certificate_copy_max_open_per_address: int = Field(5, ge=1)  # receivers waiting at once
    # using the certificate (SPEC §6): lockout thresholds per factor
    pattern_max_failures: int = Field(5, ge=1)
    security_card_max_failures: int = Field(5, ge=1)
    otp_max_failures: int = Field(10, ge=1)
    account_password_max_failures: int = Field(5, ge=1)
    # logged-in sessions
    session_idle_minutes: int = Field(5, ge=1)
    session_max_minutes: int = Field(60, ge=1)
    # transfers (이체): the factors each amount needs, highest tier last; above it refused
    transfer_tiers: list[TransferTier] = [
        TransferTier(max_amount=2_000_000, factors=["pin"]),
        TransferTier(max_amount=50_000_000, factors=["account_password", "pin"]),
        TransferTier(max_amount=500_000_000, factors=["account_password", "pin", "ars"]),
    ]
    # limits per security medium: per transfer and per day (KRW)
    medium_limits: dict[str, MediumLimit] = {
        "certificate": MediumLimit(
            per_transfer=100_000_000, per_day=500_000_000, per_transfer_verified=500_000_000
        ),
        "otp": MediumLimit(
            per_transfer=100_000_000, per_day=500_000_000, per_transfer_verified=500_000_000
        ),
        "security_card": MediumLimit(per_transfer=10_000_000, per_day=10_000_000),
    }
    transfer_ttl_seconds: int = Field(300, ge=30)  # a prepared transfer waits this long
    # a transfer whose bank answer never came (the server stopped between claiming the day's
    # headroom and the answer) is settled against the bank after this long
    transfer_reconcile_after_seconds: int = Field(120, ge=0)
    ars_code_digits: int = Field(2, ge=2, le=6)
    # how long the number on the screen serves its ARS call (issuance, joint registration): the
    # page counts down to it; a new call is asked for after it
    ars_call_ttl_seconds: int = Field(180, ge=30)
    # mobile OTP (RFC 6238)
    otp_digits: int = Field(6, ge=6, le=8)
    otp_period_seconds: int = Field(30, ge=15, le=120)
    otp_window_steps: int = Field(1, ge=0, le=2)
    otp_issuer: str = "certcenter Demo Bank"
    # security card (보안카드)
    security_card_slots: Literal[30, 35] = 35
    security_card_challenge_ttl_seconds: int = Field(120, ge=30)
    # status publication
    ocsp_response_validity_minutes: int = Field(1440, ge=5)
    ocsp_refresh_margin_minutes: int = Field(60, ge=1)
    # how long an HTTP cache may serve a GET answer without asking again (max-age): a
    # suspension after a lost-phone report reaches relying parties behind caches within this
    ocsp_http_max_age_seconds: int = Field(60, ge=0, le=3600)
    # certificates one OCSP request may ask about (RFC 5019 clients ask about one)
    ocsp_max_certificates_per_request: int = Field(10, ge=1, le=100)
    # pre-signed OCSP answers each server process holds in memory (0: none), and how long at
    # most such an answer may go on being served after a status change made elsewhere
    ocsp_memory_mib: int = Field(32, ge=0, le=4096)
    ocsp_memory_max_staleness_seconds: float = Field(1.0, gt=0, le=60)
    crl_validity_hours: int = Field(24, ge=1)
    crl_refresh_margin_hours: int = Field(4, ge=1)
    # the root CA's CRL (ARL) signed at a key ceremony with an offline root lasts this long
    root_crl_validity_days: int = Field(90, ge=1, le=400)
    crl_shards: int = Field(16, ge=1, le=256)
    # the joint certificate's CMP server (RFC 9483): how long an issued certificate waits for
    # its certConf before it is rejected, and the bounds on a password-based MAC's work
    cmp_confirm_wait_seconds: int = Field(300, ge=30, le=86400)
    cmp_max_clock_skew_seconds: int = Field(600, ge=30)
    cmp_mac_min_iterations: int = Field(100, ge=1)
    cmp_mac_max_iterations: int = Field(100_000, ge=100)
    cmp_pbkdf2_min_iterations: int = Field(1000, ge=1)
    cmp_pbkdf2_max_iterations: int = Field(600_000, ge=1000)
    # background work
    job_interval_seconds: int = Field(60, ge=1)
    # the audit trail's sealer (where the jobs run): a pass this often links the committed
    # entries and signs a checkpoint over them, at most audit_checkpoint_every a checkpoint;
    # a missing entry number holds the entries after it back until it is this old
    audit_seal_interval_seconds: float = Field(1.0, gt=0)
    audit_checkpoint_every: int = Field(1000, ge=1)
    audit_seal_gap_seconds: int = Field(10, ge=1)
    notification_interval_seconds: int = Field(5, ge=1)
    notification_max_attempts: int = Field(8, ge=1)
    notification_retry_base_seconds: int = Field(30, ge=1)
    # credential hashing (argon2id; OWASP/ASVS v5 minimum is m=19 MiB, t=2, p=1)
    argon2_time_cost: int = Field(2, ge=2)
    argon2_memory_kib: int = Field(19456, ge=19456)
    argon2_parallelism: int = Field(1, ge=1)

    @model_validator(mode="after")
    def _tiers_reachable(self) -> Policy:
        """One policy: every amount a tier allows can be sent with some medium, within one
        transfer and one day (after the tier's own verification)."""
        for tier in self.transfer_tiers:
            if not any(
                min(limit.per_transfer_with(list(tier.factors)), limit.per_day) >= tier.max_amount
                for limit in self.medium_limits.values()
            ):
                raise ValueError(
                    f"no medium allows the tier up to {tier.max_amount:,} KRW: raise a medium's "
                    "per_transfer (or per_transfer_verified) and per_day to it"
                )
        return self


# where the demo's simulated other institution keeps its CA (타기관 인증서, in the data dir)
OTHER_CA_DIR_NAME = "other-ca"


class Settings(BaseSettings):
    """Everything the center reads at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="CERTCENTER_", env_nested_delimiter="__", extra="forbid"
    )

    environment: Literal["demo", "production"] = "demo"
    data_dir: Path = Path("var")
    database_url: str = ""
    simulator_database_url: str = ""
    simulators_enabled: bool | None = None
    world_file: Path | None = None  # a demo world of your own (TOML); default: the built-in one
    # PostgreSQL connection pool of each server process (docs/configuration.md#connection-pool)
    database_pool_size: int = Field(5, ge=1, le=100)
    database_max_overflow: int = Field(10, ge=0, le=100)
    database_pool_timeout_seconds: float = Field(30.0, gt=0, le=600)
    database_pool_recycle_seconds: int = Field(1800, ge=-1)
    database_pool_pre_ping: bool = True

    # key backend: where CA keys and the pepper live; each purpose may have its own
    # (key_backend_ca = "pkcs11" with the OCSP responders left in "software", …)
    key_backend: str = "software"
    key_backend_ca: str | None = None
    key_backend_ocsp: str | None = None
    key_backend_customer: str | None = None
    key_backend_secrets: str | None = None
    # where the CA keys retired by a rollover into another backend still are (the software
    # store, after a move into the HSM): they sign their CRLs and OCSP responders from there
    key_backend_ca_retired: str | None = None
    # the root CA's key, apart from the CA backend when any of these is set (an offline root:
    # a token or medium present only during key ceremonies, docs/keys.md#key-ceremonies);
    # its backend (default: key_backend_ca's), its folder (software), its token (pkcs11)
    key_backend_root: str | None = None
    root_key_dir: Path | None = None
    root_pkcs11_token_label: str | None = None
    key_dir: Path | None = None
    key_passphrase: SecretStr | None = None
    key_passphrase_file: Path | None = None
    # the PKCS#11 backend (key_backend = "pkcs11"): the vendor's module, the token's label,
    # and its user PIN from the environment or a file (never from the command line)
    pkcs11_module: Path | None = None
    pkcs11_token_label: str = ""
    pkcs11_pin: SecretStr | None = None
    pkcs11_pin_file: Path | None = None
    pkcs11_sessions: int = Field(1, ge=1, le=64)  # sessions at once per process (docs/keys.md)

    # where the signed audit checkpoints are published (default <data_dir>/audit-checkpoints)
    audit_checkpoint_dir: Path | None = None

    # PKI
    ca_dir: Path | None = None
    bank_name: str = "certcenter Demo Bank"
    # the bank's customer centre (고객센터): shown in the web center's footer and help pages
    customer_center_phone: str = Field("1588-9999", min_length=3, max_length=20)
    bank_oid_arc: str = DEMO_OID_ARC
    # joint certificate (공동인증서): which policy OIDs, and the NPKI subject's parts
    # ("bank": <bank_oid_arc>.1.3.x; "npki": 1.2.410.200005.1.1.x, for a CA that may claim it)
    joint_policy_arc: Literal["bank", "npki"] = "bank"
    joint_subject_bank_unit: str = "DemoBank"  # ou=<bank>
    joint_subject_personal_unit: str = "personal4IB"  # ou=personal4IB
    joint_subject_organization: str = ""  # o=<CA>; empty: bank_name
    # the bank's own account the 범용 fee is paid into (the demo world seeds it)
    joint_fee_bank_code: str = "004"
    joint_fee_account: str = "99990000004400"
    # joint certificates of other institutions (타기관 인증서 등록): their CAs' certificates
    # (roots and intermediates, PEM or DER) and CRLs, read at start; unset: none in
    # production, the demo's simulated institution (<data_dir>/other-ca) with simulators
    joint_other_ca_files: list[Path] | None = None
    joint_other_crl_files: list[Path] | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    # the bank's certification practice statement (인증업무준칙), named in every certificate
    # policy as a CPS qualifier; required in production
    cps_url: str = ""

    # server
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(0, ge=0, le=MAX_WORKERS)  # 0: default_workers (one per core)
    trusted_proxies: list[str] = []  # none: set the reverse proxy's address (docs)
    log_level: str = "info"

    # notifications: the demo world's SMS inbox by default; e-mail and a webhook when set
    notification_channels: list[Literal["sms", "email", "webhook"]] = ["sms"]
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "certcenter@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    background_jobs: bool = True  # the server runs the job runner and the sender itself

    policy: Policy = Policy()

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        data = self.data_dir
        if not self.database_url:
            self.database_url = f"sqlite:///{data / 'certcenter.db'}"
        if not self.simulator_database_url:
            self.simulator_database_url = f"sqlite:///{data / 'simulators.db'}"
        if self.key_dir is None:
            self.key_dir = data / "keys"
        if self.ca_dir is None:
            self.ca_dir = data / "ca"
        if self.audit_checkpoint_dir is None:
            self.audit_checkpoint_dir = data / "audit-checkpoints"
        if self.simulators_enabled is None:
            self.simulators_enabled = self.environment == "demo"
        other = data / OTHER_CA_DIR_NAME
        if self.joint_other_ca_files is None:
            demo_ca = [other / "root.der", other / "ca.der"]
            self.joint_other_ca_files = demo_ca if self.simulators_enabled else []
        if self.joint_other_crl_files is None:
            self.joint_other_crl_files = [other / "ca.crl"] if self.simulators_enabled else []
        if self.workers == 0:
            self.workers = default_workers(self.database_url, os.cpu_count())
        if "webhook" in self.notification_channels and not (
            self.webhook_url and self.webhook_secret
        ):
            raise ValueError("the webhook channel needs webhook_url and webhook_secret")
        return self

    @property
    def keys_path(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys"

    @property
    def ca_path(self) -> Path:
        return self.ca_dir if self.ca_dir is not None else self.data_dir / "ca"

    @property
    def audit_checkpoint_path(self) -> Path:
        if self.audit_checkpoint_dir is not None:
            return self.audit_checkpoint_dir
        return self.data_dir / "audit-checkpoints"

    @property
    def sims_enabled(self) -> bool:
        return bool(self.simulators_enabled)

    @property
    def demo_passphrase_file(self) -> Path:
        """Where ``init --demo`` keeps a generated passphrase when none is configured."""
        return self.keys_path / "demo-passphrase"

    def passphrase(self) -> str | None:
        """The key store passphrase: the variable, else the file, else the demo file."""
        if self.key_passphrase is not None:
            return self.key_passphrase.get_secret_value()
        for path in (
            self.key_passphrase_file,
            self.demo_passphrase_file if self.environment == "demo" else None,
        ):
            if path is not None and path.is_file():
                return path.read_text("utf-8").strip()
        return None

    def key_backend_for(self, purpose: KeyPurpose) -> str:
        """The backend ``purpose`` uses: ``key_backend_<purpose>``, else ``key_backend``."""
        chosen: str | None = getattr(self, f"key_backend_{purpose}")
        return chosen or self.key_backend

    @property
    def root_key_apart(self) -> bool:
        """Whether the root key lives apart from the CA keys (an offline root)."""
        return bool(self.key_backend_root or self.root_key_dir or self.root_pkcs11_token_label)

    def root_key_settings(self) -> Settings:
        """These settings, with the root key's backend, folder and token in the places
        :func:`certcenter.keys.load_key_backend` reads."""
        return self.model_copy(
            update={
                "key_backend": self.key_backend_root or self.key_backend_for("ca"),
                "key_dir": self.root_key_dir or self.keys_path,
                "pkcs11_token_label": self.root_pkcs11_token_label or self.pkcs11_token_label,
            }
        )

    def key_backend_names(self) -> set[str]:
        """The names of the key backends this center's purposes use."""
        return {self.key_backend_for(purpose) for purpose in KEY_PURPOSES}

    def pkcs11_user_pin(self) -> str | None:
        """The token's user PIN: the variable, else the file's first line."""
        if self.pkcs11_pin is not None:
            return self.pkcs11_pin.get_secret_value()
        if self.pkcs11_pin_file is not None and self.pkcs11_pin_file.is_file():
            return self.pkcs11_pin_file.read_text("utf-8").strip() or None
        return None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = os.environ.get("CERTCENTER_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read settings; ``environ`` replaces the process environment (tests, subprocesses)."""
    saved = None
    if environ is not None or config_file is not None:
        saved = dict(os.environ)
        if environ is not None:
            os.environ.clear()
            os.environ.update(environ)
        if config_file is not None:
            os.environ["CERTCENTER_CONFIG"] = str(config_file)
    try:
        return Settings(**overrides)
    finally:
        if saved is not None:
            os.environ.clear()
            os.environ.update(saved)


# ---------------------------------------------------------------- the installation's own file

CONFIG_FILE_NAME = "certcenter.toml"
SYSTEM_CONFIG_FILE = Path("/etc/certcenter") / CONFIG_FILE_NAME
# settings an installation's file records when they were given at set-up (never a secret)
_RECORDED = (
    "environment",
    "database_url",
    "simulator_database_url",
    "key_backend",
    "key_backend_root",
    "root_key_dir",
    "root_pkcs11_token_label",
    "key_dir",
    "key_passphrase_file",
    "ca_dir",
    "audit_checkpoint_dir",
    "world_file",
    "bank_name",
    "bank_oid_arc",
    "public_base_url",
    "host",
    "port",
)


def find_config_file(
    environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path | None:
    """The installation's configuration file: the one named by ``CERTCENTER_CONFIG`` (whether
    it exists or not: the caller says it is missing), else the first that exists of
    ``$CERTCENTER_DATA_DIR/certcenter.toml`` (when that variable is set, only it),
    ``./certcenter.toml``, ``./var/certcenter.toml`` and ``/etc/certcenter/certcenter.toml``."""
    env = os.environ if environ is None else environ
    named = env.get("CERTCENTER_CONFIG")
    if named:
        return Path(named)
    here = Path.cwd() if cwd is None else cwd
    data_dir = env.get("CERTCENTER_DATA_DIR")
    if data_dir:
        candidates = [(here / data_dir) / CONFIG_FILE_NAME]
    else:
        candidates = [here / CONFIG_FILE_NAME, here / "var" / CONFIG_FILE_NAME, SYSTEM_CONFIG_FILE]
    return next((c for c in candidates if c.is_file()), None)


def is_installed(settings: Settings) -> bool:
    """Whether set-up has run for these settings: the root CA certificate is there."""
    return (settings.ca_path / "root-ca.pem").is_file()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def write_installation_file(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> Path | None:
    """Write ``<data_dir>/certcenter.toml`` for an installation that has no file of its own:
    its data directory (absolute) and the settings given at set-up by ``CERTCENTER_*``
    variables (secrets never). Returns the file written; None when a file is in use or
    there already (it is never overwritten), or no data directory was made."""
    env = os.environ if environ is None else environ
    if env.get("CERTCENTER_CONFIG"):
        return None
    path = settings.data_dir / CONFIG_FILE_NAME
    if path.exists() or not settings.data_dir.is_dir():
        return None
    lines = [
        "# certcenter: this installation's settings, written by `certcenter init`.",
        "# The command line finds it from anywhere with CERTCENTER_CONFIG=<this file> or",
        "# CERTCENTER_DATA_DIR=<this folder>; CERTCENTER_* variables override it.",
        "# Keys and [policy]: docs/configuration.md. Secrets (the key-store passphrase) stay out.",
        f"data_dir = {_toml_value(settings.data_dir.resolve())}",
    ]
    for name in _RECORDED:
        if f"CERTCENTER_{name.upper()}" in env:
            value = getattr(settings, name)
            if name.endswith("database_url") and urlsplit(str(value)).password:
                continue  # a password in the URL is a secret: it stays in the variable
            if isinstance(value, Path):
                value = value.resolve()
            lines.append(f"{name} = {_toml_value(value)}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path
