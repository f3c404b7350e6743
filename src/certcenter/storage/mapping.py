"""Maps the domain's dataclasses (:mod:`certcenter.entities`) onto the tables, once."""

from __future__ import annotations

import threading

from sqlalchemy.orm import registry

from certcenter import entities
from certcenter.storage import tables

mapper_registry = registry(metadata=tables.metadata)
_lock = threading.Lock()
_mapped = False


def map_entities() -> None:
    """Idempotent: safe to call from every engine factory."""
    global _mapped
    with _lock:
        if _mapped:
            return
        mapper_registry.map_imperatively(entities.Customer, tables.customers)
        mapper_registry.map_imperatively(entities.Enrollment, tables.enrollments)
        mapper_registry.map_imperatively(entities.VerificationCode, tables.verification_codes)
        mapper_registry.map_imperatively(entities.Device, tables.devices)
        mapper_registry.map_imperatively(entities.CertificateRecord, tables.certificates)
        mapper_registry.map_imperatively(entities.FailureRecord, tables.failures)
        mapper_registry.map_imperatively(entities.Block, tables.blocks)
        mapper_registry.map_imperatively(entities.AuditEntry, tables.audit_log)
        mapper_registry.map_imperatively(entities.AuditCheckpoint, tables.audit_checkpoints)
        mapper_registry.map_imperatively(entities.OutboxMessage, tables.outbox)
        mapper_registry.map_imperatively(entities.Operator, tables.operators)
        mapper_registry.map_imperatively(entities.CrlRecord, tables.crls)
        mapper_registry.map_imperatively(entities.OcspCacheEntry, tables.ocsp_responses)
        mapper_registry.map_imperatively(entities.DeviceChallenge, tables.device_challenges)
        mapper_registry.map_imperatively(entities.FactorCounter, tables.factor_counters)
        mapper_registry.map_imperatively(entities.Session, tables.sessions)
        mapper_registry.map_imperatively(entities.FactorChallenge, tables.factor_challenges)
        mapper_registry.map_imperatively(entities.OtpToken, tables.otp_tokens)
        mapper_registry.map_imperatively(entities.SecurityCard, tables.security_cards)
        mapper_registry.map_imperatively(entities.Transfer, tables.transfers)
        mapper_registry.map_imperatively(entities.SignedDocument, tables.signed_documents)
        mapper_registry.map_imperatively(entities.CloudAccount, tables.cloud_accounts)
        mapper_registry.map_imperatively(entities.BrowserDevice, tables.browser_devices)
        mapper_registry.map_imperatively(entities.SigningActivation, tables.signing_activations)
        mapper_registry.map_imperatively(entities.FinancialEnrollment, tables.financial_enrollments)
        mapper_registry.map_imperatively(
            entities.FinancialReverification, tables.financial_reverifications
        )
        mapper_registry.map_imperatively(entities.JointRegistration, tables.joint_registrations)
        mapper_registry.map_imperatively(entities.WebApproval, tables.web_approvals)
        mapper_registry.map_imperatively(entities.LostPhoneReport, tables.lost_phone_reports)
        mapper_registry.map_imperatively(entities.CertificateCopy, tables.certificate_copies)
        mapper_registry.map_imperatively(entities.CmpTransaction, tables.cmp_transactions)
        mapper_registry.map_imperatively(entities.OidcClient, tables.oidc_clients)
        mapper_registry.map_imperatively(entities.OidcCode, tables.oidc_codes)
        mapper_registry.map_imperatively(entities.OidcToken, tables.oidc_tokens)
        mapper_registry.map_imperatively(entities.OidcConsent, tables.oidc_consents)
        mapper_registry.map_imperatively(entities.OidcSigningKey, tables.oidc_signing_keys)
        mapper_registry.map_imperatively(entities.OidcPushedRequest, tables.oidc_pushed_requests)
        mapper_registry.map_imperatively(
            entities.OtherJointCertificate, tables.other_joint_certificates
        )
        _mapped = True
