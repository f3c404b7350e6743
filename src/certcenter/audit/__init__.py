"""The hash-chained audit trail, its signed checkpoints, and the redaction rules that keep
personal data out of it.

    trail = AuditTrail(clock)
    trail.record(uow, actor_kind=Actor.SYSTEM, actor="jobs", action="certificate.auto_revoke",
                 subject_kind="certificate", subject=serial)   # then the caller commits
    checkpoints.seal()     # AuditCheckpoints: link the committed entries, sign a checkpoint

See ``docs/audit-and-notifications.md``.
"""

from certcenter.audit.checkpoint_log import FileCheckpointLog
from certcenter.audit.checkpoints import (
    CHECKPOINT_KEY_LABEL,
    AuditCheckpoints,
    CheckpointPublisher,
    ensure_checkpoint_key,
)
from certcenter.audit.redaction import REDACTED, redact_details, redact_text
from certcenter.audit.trail import (
    GENESIS_HASH,
    AuditTrail,
    AuditVerification,
    canonical_json,
    content_hash,
    entry_hash,
    link_hash,
    verify_chain,
)

__all__ = [
    "CHECKPOINT_KEY_LABEL",
    "GENESIS_HASH",
    "REDACTED",
    "AuditCheckpoints",
    "AuditTrail",
    "AuditVerification",
    "CheckpointPublisher",
    "FileCheckpointLog",
    "canonical_json",
    "content_hash",
    "ensure_checkpoint_key",
    "entry_hash",
    "link_hash",
    "redact_details",
    "redact_text",
    "verify_chain",
]
