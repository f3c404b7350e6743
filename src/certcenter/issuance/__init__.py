"""Issuing certificates (인증서 발급): one :meth:`Issuance.issue` for every kind of certificate.

    issued = center.issuance.issue(
        IssueRequest(profile="financial", public_key=key, customer_id=customer.id,
                     supersede_family=True, actor=ActorRef.customer("C001", ip)))
    issued.serial, issued.certificate, issued.chain_pem

Write ahead → lint → sign → activate, audit, notify → publish; see :mod:`.service`.
"""

from __future__ import annotations

from certcenter.issuance.service import (
    Activated,
    AlreadyRenewedError,
    AuditRecorder,
    Issuance,
    Issued,
    IssueHooks,
    IssueRequest,
    Notice,
    Notifier,
    Renewal,
    StatusPublisher,
    audit_certificate,
    conflict_error,
    publish_crls,
)

__all__ = [
    "Activated",
    "AlreadyRenewedError",
    "AuditRecorder",
    "Issuance",
    "IssueHooks",
    "IssueRequest",
    "Issued",
    "Notice",
    "Notifier",
    "Renewal",
    "StatusPublisher",
    "audit_certificate",
    "conflict_error",
    "publish_crls",
]
