"""The center's schema. Alembic migrations under ``storage/migrations`` create it; this
module is their reference and the target of the ORM mapping.

Constraints carry rules the domain also checks, as the last line of defence against races:
one active device per customer (1인 1기기), one active or suspended certificate per customer
and family.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)

from certcenter.storage.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

customers = Table(
    "customers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_number", String(20), nullable=False, unique=True),
    Column("name", String(80), nullable=False),
    Column("ci", String(100), nullable=False, unique=True),
    Column("birth_date", Date, nullable=False),
    Column("phone", String(20), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("internet_banking", Boolean, nullable=False),
    Column("overseas_access", Boolean, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("email", String(200), nullable=True),
    Column("transfer_limit_per_transfer", BigInteger, nullable=True),
    Column("transfer_limit_daily", BigInteger, nullable=True),
    Column("user_id", String(40), nullable=True, unique=True),
    Column("overseas_access_until", UtcDateTime, nullable=True),
    # the internet-banking password: a slow salted hash (argon2id), never the password
    Column("password_hash", String(200), nullable=True),
)

enrollments = Table(
    "enrollments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False),
    Column("state", String(30), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("device_model", String(80), nullable=False),
    Column("app_version", String(20), nullable=False),
    Column("integrity", JSON, nullable=False),
    Column("client_ip", String(45), nullable=False),
    Column("move_certificate", Boolean, nullable=False),
    Column("accepted_terms", JSON, nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=True, index=True),
    Column("new_customer", Boolean, nullable=False),
    Column("phone", String(20), nullable=True),
    Column("carrier", String(20), nullable=True),
    Column("pin_hash", String(200), nullable=True),
    Column("pattern_hash", String(200), nullable=True),
    Column("biometric_public_key", String(400), nullable=True),
    Column("certificate_serial", String(64), nullable=True),
    Column("failure_code", String(60), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

verification_codes = Table(
    "verification_codes",
    metadata,
    Column("id", String(36), primary_key=True),
    # the flow the code belongs to: a mobile enrollment, a financial-certificate enrollment
    # or a browser registration (no foreign key: three tables)
    Column("enrollment_id", String(36), nullable=False),
    Column("purpose", String(20), nullable=False),
    Column("target", String(80), nullable=False),
    Column("code_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("max_tries", Integer, nullable=False),
    Column("tries", Integer, nullable=False),
    Column("resends", Integer, nullable=False),
    Column("consumed_at", UtcDateTime, nullable=True),
    Index("ix_verification_codes_enrollment_purpose", "enrollment_id", "purpose"),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("device_id", String(64), nullable=False, index=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False, index=True),
    Column("platform", String(20), nullable=False),
    Column("model", String(80), nullable=False),
    Column("app_version", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("pin_hash", String(200), nullable=True),
    Column("pattern_hash", String(200), nullable=True),
    Column("biometric_public_key", String(400), nullable=True),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("deregistered_at", UtcDateTime, nullable=True),
    # 1 person 1 device: at most one active device per customer.
    Index(
        "uq_devices_one_active_per_customer",
        "customer_id",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
    # A device holds one person's certificate at a time.
    Index(
        "uq_devices_one_active_registration",
        "device_id",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

certificates = Table(
    "certificates",
    metadata,
    Column("serial", String(64), primary_key=True),
    Column("family", String(20), nullable=False),
    Column("profile", String(30), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("device_id", String(64), nullable=True),
    Column("enrollment_id", String(36), nullable=True),
    Column("subject", String(400), nullable=False),
    Column("public_key_sha256", String(64), nullable=False),
    Column("issuer_key_label", String(64), nullable=False),
    Column("not_before", UtcDateTime, nullable=False),
    Column("not_after", UtcDateTime, nullable=False),
    Column("tbs", LargeBinary, nullable=False),
    Column("der", LargeBinary, nullable=True),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("issued_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("revocation_reason", String(40), nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("suspended_at", UtcDateTime, nullable=True),
    Column("renewed_from", String(64), nullable=True),
    Column("replaced_by", String(64), nullable=True),
    Column("crl_shard", Integer, nullable=False, server_default="0"),
    Column("crl_entry", LargeBinary, nullable=True),
    # A certificate is renewed at most once (two job runners cannot both renew it); an
    # abandoned attempt does not count.
    Index(
        "uq_certificates_renewed_from",
        "renewed_from",
        unique=True,
        sqlite_where=text("status != 'abandoned'"),
        postgresql_where=text("status != 'abandoned'"),
    ),
    # A CRL partition's listed certificates (listed_summary, listed_entries): only the rows
    # that carry an entry, in serial order. PostgreSQL keeps the revocation time and the entry
    # in the index too, so a CRL is built from the index alone (no certificate row is read).
    Index(
        "ix_certificates_listed",
        "family",
        "crl_shard",
        "serial",
        sqlite_where=text("crl_entry IS NOT NULL"),
        postgresql_where=text("crl_entry IS NOT NULL"),
        postgresql_include=["revoked_at", "crl_entry"],
    ),
    # The job runner's expiry and renewal passes: by state, then validity end. Its prefix
    # serves the state alone.
    Index("ix_certificates_status_not_after", "status", "not_after"),
    # A customer's certificates, of a family, in some states (for_customer): one index search,
    # whatever the number of certificates of the family. Its prefix serves customer_id alone.
    Index("ix_certificates_customer_family_status", "customer_id", "family", "status"),
    # Which certificates bind a public key (one key, one customer and device).
    Index("ix_certificates_public_key", "public_key_sha256"),
    # At most one usable certificate per customer and family (mobile, financial, ...).
    Index(
        "uq_certificates_one_usable_per_family",
        "customer_id",
        "family",
        unique=True,
        sqlite_where=text("status IN ('active', 'suspended')"),
        postgresql_where=text("status IN ('active', 'suspended')"),
    ),
)

# The job runner's pass over certificates unused for a year (unused_since): the same
# expression as the query, so the oldest come first from the index.
Index(
    "ix_certificates_status_last_use",
    certificates.c.status,
    func.coalesce(certificates.c.last_used_at, certificates.c.issued_at),
)

failures = Table(
    "failures",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("step", String(40), nullable=False),
    Column("code", String(60), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("customer_id", String(36), nullable=True),
    Column("enrollment_id", String(36), nullable=True),
    Column("device_id", String(64), nullable=True),
    Column("client_ip", String(45), nullable=True),
    Index("ix_failures_customer_at", "customer_id", "at"),
    Index("ix_failures_device_at", "device_id", "at"),
)

# One row per subject (customer, device) that failed: recording a failure updates it first, so
# the row's lock makes counting the window and writing the block one step per subject.
failure_subjects = Table(
    "failure_subjects",
    metadata,
    Column("subject_kind", String(20), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A code guess being compared right now, counted in its customer's failure window until its
# outcome is known (the wrong guess's failure replaces it; a right guess removes it).
failure_reservations = Table(
    "failure_reservations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False),
    Column("enrollment_id", String(36), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_failure_reservations_customer_at", "customer_id", "at"),
    Index("ix_failure_reservations_enrollment", "enrollment_id"),
)

# A failure counted under a further subject than its customer and device (a phone number's
# keyed digest, a client address, a claimed identity's keyed digest): each such subject is
# counted into the 24-hour block like a customer, under its own failure_subjects row lock.
failure_marks = Table(
    "failure_marks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("failure_id", String(36), nullable=False),
    Column("subject_kind", String(20), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_failure_marks_subject_at", "subject_kind", "subject", "at"),
)

# The SMS budget (인증번호 발송 한도): one row per phone, person and client address that was
# sent a code, named by a keyed digest (never the number itself). Sending a code updates the
# row first, so its lock makes counting the window and recording the send one step per subject.
sms_subjects = Table(
    "sms_subjects",
    metadata,
    Column("subject_kind", String(10), primary_key=True),
    Column("subject", String(64), primary_key=True),
    Column("last_sent_at", UtcDateTime, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Each code sent, once per subject it counts for; older than a day they are forgotten.
sms_sends = Table(
    "sms_sends",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subject_kind", String(10), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index("ix_sms_sends_subject_at", "subject_kind", "subject", "at"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("subject_kind", String(20), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("reason", String(60), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("blocked_until", UtcDateTime, nullable=False),
    Index("ix_blocks_subject", "subject_kind", "subject", "blocked_until"),
)

# The audit trail: append-only. A writer inserts its entry with its number (PostgreSQL: the
# sequence audit_log_seq, made by migration 0018; SQLite: the next number under its single
# writer) and its content hash, and touches no shared row; the sealer later links entries in
# order (prev_hash, entry_hash) and moves the head, which only sealers lock.
AUDIT_SEQUENCE = "audit_log_seq"
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(60), nullable=False),
    Column("subject_kind", String(30), nullable=False),
    Column("subject", String(80), nullable=False),
    Column("outcome", String(80), nullable=False),
    Column("source_ip", String(45), nullable=True),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=True),
    Column("entry_hash", String(64), nullable=True),
    Column("content_hash", String(64), nullable=True),
    Index("ix_audit_log_subject", "subject_kind", "subject"),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

# Signed checkpoints of the audit trail (also published outside the database): a trail
# rewritten here, every later hash and the head recomputed, no longer matches them.
audit_checkpoints = Table(
    "audit_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("head_hash", String(64), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", LargeBinary(200), nullable=False),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("root_hash", String(64), nullable=True),
    Column("previous_hash", String(64), nullable=True),
)

# The readiness probe's heartbeat: one row per probe name, rewritten by every probe, so a
# probe proves that a write commits (a read-only database refuses it).
health_probes = Table(
    "health_probes",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("event", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("recipient", String(200), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", String(400), nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("customer_id", String(36), nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_at"),
)

operators = Table(
    "operators",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(80), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("roles", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime, nullable=True),
)

crls = Table(
    "crls",
    metadata,
    Column("family", String(20), primary_key=True),
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("number", BigInteger, primary_key=True, autoincrement=False),
    Column("this_update", UtcDateTime, nullable=False),
    Column("next_update", UtcDateTime, nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("entries", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # the URL its issuingDistributionPoint names (NULL: published before URLs were kept)
    Column("distribution_point", String(400), nullable=True),
)

# The CRL distribution points issued certificates name, per partition: written when a
# certificate is decided (before it is signed), so a partition is published under every URL
# a certificate still valid names, whatever public_base_url says now. ``until`` is the day
# after the latest notAfter among them (rounded up, so one issuance a day writes the row).
crl_distribution_points = Table(
    "crl_distribution_points",
    metadata,
    Column("family", String(20), primary_key=True),
    Column("shard", Integer, primary_key=True, autoincrement=False),
    Column("url", String(400), primary_key=True),
    Column("until", UtcDateTime, nullable=False),
    Column("first_used_at", UtcDateTime, nullable=False),
)

# Pre-signed responses, one per certificate and CertID hash (SHA-1 and SHA-256 clients each
# get theirs, neither replaces the other).
ocsp_responses = Table(
    "ocsp_responses",
    metadata,
    Column("serial", String(64), primary_key=True),
    Column("hash_algorithm", String(10), primary_key=True, server_default="sha1"),
    Column("der", LargeBinary, nullable=False),
    Column("this_update", UtcDateTime, nullable=False),
    Column("next_update", UtcDateTime, nullable=False),
    Column("produced_at", UtcDateTime, nullable=False),
)

# Every invalidation of a certificate's OCSP answer (revoke, suspend, release, supersede,
# expiry), numbered in commit order: one row's counter, bumped in the changing transaction
# (its row lock orders the writers), and the serial changed at each number. Each server
# process reads the changes after the number it last saw, so answers it holds in memory
# never outlive a status change by more than ``ocsp_memory_max_staleness_seconds``.
ocsp_state = Table(
    "ocsp_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

ocsp_changes = Table(
    "ocsp_changes",
    metadata,
    Column("version", BigInteger, primary_key=True, autoincrement=False),
    Column("serial", String(64), nullable=False),
)

device_challenges = Table(
    "device_challenges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("purpose", String(40), nullable=False),
    Column("challenge", String(128), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    # the job that deletes the challenges long past their expiry finds them by it
    Index("ix_device_challenges_expires_at", "expires_at"),
)

factor_counters = Table(
    "factor_counters",
    metadata,
    Column("customer_id", String(36), primary_key=True),
    Column("factor", String(20), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("locked_at", UtcDateTime, nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("certificate_serial", String(64), nullable=False),
    Column("method", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("ended_reason", String(30), nullable=True),
    Index("ix_sessions_customer", "customer_id"),
    Index("ix_sessions_device", "device_id"),
    Index("ix_sessions_certificate", "certificate_serial"),
)

factor_challenges = Table(
    "factor_challenges",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), nullable=False),
    Column("factor", String(30), nullable=False),
    Column("subject", String(36), nullable=True),
    Column("data", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
    Index("ix_factor_challenges_customer", "customer_id", "factor"),
)

otp_tokens = Table(
    "otp_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("secret_sealed", LargeBinary, nullable=False),
    Column("digits", Integer, nullable=False),
    Column("period", Integer, nullable=False),
    Column("algorithm", String(10), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("activated_at", UtcDateTime, nullable=True),
    Column("last_step", BigInteger, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    # one usable OTP per customer
    Index(
        "uq_otp_tokens_active_customer",
        "customer_id",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

security_cards = Table(
    "security_cards",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("serial", String(20), nullable=False, unique=True),
    Column("slots", Integer, nullable=False),
    Column("slot_digests", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("registered_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Index("ix_security_cards_customer", "customer_id"),
    # one card in use per customer
    Index(
        "uq_security_cards_active_customer",
        "customer_id",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("session_id", String(36), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("certificate_serial", String(64), nullable=False),
    Column("from_bank", String(3), nullable=False),
    Column("from_account", String(20), nullable=False),
    Column("to_bank", String(3), nullable=False),
    Column("to_account", String(20), nullable=False),
    Column("payee_name", String(80), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("memo", String(40), nullable=False),
    Column("medium", String(20), nullable=False),
    Column("factors", JSON, nullable=False),
    Column("document", LargeBinary, nullable=False),
    Column("day", String(10), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("evidence", LargeBinary, nullable=True),
    Column("failure_code", String(60), nullable=True),
    Column("bank_reference", String(40), nullable=True),
    Column("claimed_at", UtcDateTime, nullable=True),
    Index("ix_transfers_customer", "customer_id", "created_at"),
    Index("ix_transfers_status_claimed", "status", "claimed_at"),
)

# Idempotency-Key of transfer requests: per customer, the request a key was first used for.
transfer_requests = Table(
    "transfer_requests",
    metadata,
    Column("customer_id", String(36), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("operation", String(10), nullable=False),
    Column("fingerprint", String(80), nullable=False),
    Column("transfer_id", String(36), nullable=False),
    Column("answer", JSON, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

# What each customer has sent per (KST) day: the daily limit is checked and raised in one
# conditional UPDATE, so concurrent transfers cannot spend the same headroom twice.
transfer_days = Table(
    "transfer_days",
    metadata,
    Column("customer_id", String(36), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("total", BigInteger, nullable=False),
)

signed_documents = Table(
    "signed_documents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("certificate_serial", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("cms", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_signed_documents_customer", "customer_id"),
)

# ------------------------------------------------------------------ financial certificate

cloud_accounts = Table(
    "cloud_accounts",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("key_label", String(64), nullable=False, unique=True),
    Column("pin_hash", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=False),
    Column("notice_sent_at", UtcDateTime, nullable=True),
    Column("deleted_at", UtcDateTime, nullable=True),
    # the private key wrapped under the key backend's key-encryption key (erased on deletion)
    Column("wrapped_key", LargeBinary, nullable=True),
    Column("wrapping_key_label", String(64), nullable=True),
    Index("ix_cloud_accounts_last_used", "status", "last_used_at"),
    # one financial certificate (and so one cloud account) per person
    Index(
        "uq_cloud_accounts_one_active_per_customer",
        "customer_id",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

browser_devices = Table(
    "browser_devices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("public_key", LargeBinary, nullable=False),
    Column("key_sha256", String(64), nullable=False),
    Column("label", String(120), nullable=False),
    Column("status", String(20), nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("removed_at", UtcDateTime, nullable=True),
    Index("ix_browser_devices_customer", "customer_id", "status"),
    Index(
        "uq_browser_devices_active_key",
        "key_sha256",
        unique=True,
        sqlite_where=text("status = 'active'"),
        postgresql_where=text("status = 'active'"),
    ),
)

signing_activations = Table(
    "signing_activations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("device_id", String(36), nullable=False),
    Column("purpose", String(20), nullable=False),
    Column("data_sha256", String(64), nullable=False),
    Column("challenge", String(64), nullable=False, unique=True),
    Column("subject", String(36), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("authorized_at", UtcDateTime, nullable=True),
    Column("grant_hash", String(64), nullable=True, unique=True),
    Column("used_at", UtcDateTime, nullable=True),
    Index("ix_signing_activations_customer", "customer_id", "created_at"),
)

financial_enrollments = Table(
    "financial_enrollments",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("state", String(30), nullable=False),
    Column("client_ip", String(45), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=True),
    Column("proofing", String(20), nullable=True),
    Column("medium", String(30), nullable=True),
    Column("data", JSON, nullable=False),
    Column("device_public_key", LargeBinary, nullable=True),
    Column("device_label", String(120), nullable=True),
    Column("certificate_serial", String(64), nullable=True),
    Column("failure_code", String(60), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_financial_enrollments_customer", "customer_id"),
)

joint_registrations = Table(
    "joint_registrations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("state", String(30), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("client_ip", String(45), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=True),
    Column("medium", String(30), nullable=True),
    Column("data", JSON, nullable=False),
    Column("reference", String(20), nullable=True, unique=True),
    Column("authorization_sealed", LargeBinary, nullable=True),
    Column("subject", String(400), nullable=True),
    Column("vid_value", LargeBinary, nullable=True),
    Column("vid_random_sealed", LargeBinary, nullable=True),
    Column("fee_krw", Integer, nullable=False),
    Column("fee_bank_code", String(3), nullable=True),
    Column("fee_account", String(20), nullable=True),
    Column("fee_state", String(10), nullable=False),
    Column("transaction_id", String(128), nullable=True, unique=True),
    Column("certificate_serial", String(64), nullable=True, unique=True),
    Column("failure_code", String(60), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("registered_at", UtcDateTime, nullable=True),
    Column("used_at", UtcDateTime, nullable=True),
    Column("confirmed_at", UtcDateTime, nullable=True),
    Index("ix_joint_registrations_customer", "customer_id"),
    # the job that refunds expired 범용 registrations reads only those still charged
    Index("ix_joint_registrations_fee", "fee_state", "expires_at"),
)

financial_reverifications = Table(
    "financial_reverifications",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("purpose", String(20), nullable=False),
    Column("state", String(30), nullable=False),
    Column("client_ip", String(45), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=True),
    Column("medium", String(30), nullable=True),
    Column("data", JSON, nullable=False),
    Column("device_public_key", LargeBinary, nullable=True),
    Column("device_label", String(120), nullable=True),
    Column("device_id", String(36), nullable=True),
    Column("failure_code", String(60), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Index("ix_financial_reverifications_customer", "customer_id"),
)

web_approvals = Table(
    "web_approvals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("purpose", String(30), nullable=False),
    Column("code_digest", String(64), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("expected_customer_id", String(36), nullable=True),
    Column("customer_id", String(36), nullable=True),
    Column("device_id", String(64), nullable=True),
    Column("certificate_serial", String(64), nullable=True),
    Column("approved_at", UtcDateTime, nullable=True),
    Column("consumed_at", UtcDateTime, nullable=True),
    Column("app_method", String(20), nullable=True),  # how the app's customer logged in
)

# 분실 신고: a report waits for its second factor (customer_id is None when the details named
# no customer: it can never be confirmed); once confirmed it keeps the suspended serials and
# the keyed digest of the single-use undo code sent to the customer.
lost_phone_reports = Table(
    "lost_phone_reports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("state", String(20), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=True),
    Column("person_key", String(64), nullable=False),
    Column("phone_key", String(64), nullable=False),
    Column("client_ip", String(45), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("tries", Integer, nullable=False),
    Column("confirmed_at", UtcDateTime, nullable=True),
    Column("medium", String(20), nullable=True),
    Column("serials", JSON, nullable=False),
    Column("undo_digest", String(64), nullable=True),
    Column("undo_expires_at", UtcDateTime, nullable=True),
    Column("undo_tries", Integer, nullable=False),
    Column("undone_at", UtcDateTime, nullable=True),
    Index("ix_lost_phone_reports_customer", "customer_id"),
)

# 인증서 복사: the relay of a joint certificate's sealed files between two devices; a row lives
# at most certificate_copy_ttl_seconds and goes when its payload is fetched
certificate_copies = Table(
    "certificate_copies",
    metadata,
    Column("id", String(8), primary_key=True),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("token_digest", String(64), nullable=False),
    Column("client_ip", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("payload", LargeBinary, nullable=True),
    Column("sent_at", UtcDateTime, nullable=True),
    Index("ix_certificate_copies_expires_at", "expires_at"),
    Index("ix_certificate_copies_client_ip", "client_ip", "expires_at"),
)

# CMP transactions (RFC 4210, RFC 9483): keyed by the client's transactionID, so a reused one
# is refused by the primary key even between racing requests. The sealed authorization code
# lives only while the certConf is awaited.
cmp_transactions = Table(
    "cmp_transactions",
    metadata,
    Column("transaction_id", String(128), primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    Column("protection", String(16), nullable=False),
    Column("pvno", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("client_nonce", LargeBinary, nullable=False),
    Column("reference", String(64), nullable=True),
    Column("server_nonce", LargeBinary, nullable=True),
    Column("serial", String(64), nullable=True),
    Column("certificate", LargeBinary, nullable=True),
    Column("sealed_secret", LargeBinary, nullable=True),
    Column("signer_key", LargeBinary, nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Index("ix_cmp_transactions_state_expires", "state", "expires_at"),
)

# Every senderNonce a CMP client sent (SHA-256), so that a replayed message is refused
# whatever its transaction; forgotten once older than any transaction could be.
cmp_nonces = Table(
    "cmp_nonces",
    metadata,
    Column("nonce_sha256", String(64), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),
    Index("ix_cmp_nonces_seen_at", "seen_at"),
)

# ---------------------------------------------------------------- the OpenID provider
# Every secret is a keyed digest (codes, tokens, client secrets, request URIs); signing keys
# stay in the key backend and are named here only by key id and label.
oidc_clients = Table(
    "oidc_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("auth_method", String(32), nullable=False),
    Column("redirect_uris", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("secret_digest", String(64), nullable=True),
    Column("jwks", JSON, nullable=True),
    Column("post_logout_redirect_uris", JSON, nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("allow_ci", Boolean, nullable=False),
    Column("require_par", Boolean, nullable=False),
    Column("disabled_at", UtcDateTime, nullable=True),
)

oidc_codes = Table(
    "oidc_codes",
    metadata,
    Column("code_digest", String(64), primary_key=True),
    Column("grant_id", String(36), nullable=False, index=True),
    Column("client_id", String(64), ForeignKey("oidc_clients.client_id"), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("certificate_serial", String(64), nullable=False),
    Column("redirect_uri", String(500), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("claims", JSON, nullable=False),
    Column("code_challenge", String(128), nullable=False),
    Column("code_challenge_method", String(8), nullable=False),
    Column("auth_time", UtcDateTime, nullable=False),
    Column("acr", String(64), nullable=False),
    Column("amr", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("nonce", String(255), nullable=True),
    Column("used_at", UtcDateTime, nullable=True),
)

oidc_tokens = Table(
    "oidc_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("grant_id", String(36), nullable=False, index=True),
    Column("client_id", String(64), ForeignKey("oidc_clients.client_id"), nullable=False),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("certificate_serial", String(64), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("claims", JSON, nullable=False),
    Column("access_digest", String(64), nullable=False, unique=True),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("access_expires_at", UtcDateTime, nullable=False),
    Column("auth_time", UtcDateTime, nullable=False),
    Column("acr", String(64), nullable=False),
    Column("amr", JSON, nullable=False),
    Column("refresh_digest", String(64), nullable=True, unique=True),
    Column("refresh_expires_at", UtcDateTime, nullable=True),
    Column("rotated_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)

oidc_consents = Table(
    "oidc_consents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("client_id", String(64), ForeignKey("oidc_clients.client_id"), nullable=False),
    Column("claims", JSON, nullable=False),
    Column("granted_at", UtcDateTime, nullable=False),
    Column("withdrawn_at", UtcDateTime, nullable=True),
    Index("ix_oidc_consents_customer_client", "customer_id", "client_id"),
)

oidc_signing_keys = Table(
    "oidc_signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("label", String(64), nullable=False, unique=True),
    Column("state", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("retired_at", UtcDateTime, nullable=True),
)

oidc_pushed_requests = Table(
    "oidc_pushed_requests",
    metadata,
    Column("uri_digest", String(64), primary_key=True),
    Column("client_id", String(64), ForeignKey("oidc_clients.client_id"), nullable=False),
    Column("params", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime, nullable=True),
)

# The IDs (jti) of the client assertions seen (private_key_jwt): each is accepted once.
oidc_assertions = Table(
    "oidc_assertions",
    metadata,
    Column("jti_digest", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
)
# ------------------------------------------------------------------ key generations

# The generations of a rotated key (the pepper, the customer keys' key-encryption key): which
# key backend label each generation has; the highest is the current one. A name without rows
# is in its first generation, under its first label (``pepper``, ``customer-kek``).
key_generations = Table(
    "key_generations",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("generation", Integer, primary_key=True),
    Column("label", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=True),  # None: a first generation recorded late
    # when the key itself was deleted from its backend (nothing used it any more)
    Column("retired_at", UtcDateTime, nullable=True),
)


# joint certificates of other institutions' CAs (타기관 인증서 등록): one row per certificate a
# customer registered; the fingerprint (SHA-256 of the DER) is unique, so a certificate is
# registered to one customer at most.
other_joint_certificates = Table(
    "other_joint_certificates",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("customer_id", String(36), ForeignKey("customers.id"), nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("issuer", String(500), nullable=False),
    Column("serial", String(64), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("der", LargeBinary, nullable=False),
    Column("not_after", UtcDateTime, nullable=False),
    Column("registered_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Index("ix_other_joint_certificates_customer", "customer_id"),
)
