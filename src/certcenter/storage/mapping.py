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
        _mapped = True
