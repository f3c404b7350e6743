"""The hash-chained audit trail and the redaction rules that keep personal data out of it.

    trail = AuditTrail(clock)
    trail.record(uow, actor_kind=Actor.SYSTEM, actor="jobs", action="certificate.auto_revoke",
                 subject_kind="certificate", subject=serial)   # then the caller commits

See ``docs/audit-and-notifications.md``.
"""

from certcenter.audit.redaction import REDACTED, redact_details, redact_text
from certcenter.audit.trail import (
    GENESIS_HASH,
    AuditTrail,
    AuditVerification,
    canonical_json,
    entry_hash,
)

__all__ = [
    "GENESIS_HASH",
    "REDACTED",
    "AuditTrail",
    "AuditVerification",
    "canonical_json",
    "entry_hash",
    "redact_details",
    "redact_text",
]
