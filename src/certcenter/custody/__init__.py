"""Key custody (키 관리): rotating the center's secrets and moving them into an HSM.

    rotated = center.pepper_rotation.rotate(operator="cli:kim")   # pepper.2; PINs re-hashed
    center.kek_rotation.rotate(operator="cli:kim")                 # every cloud key re-wrapped
    plan = center.key_migration.plan(target)                       # software -> PKCS#11
    center.key_migration.apply(target, operator="cli:kim")

Each ends with a key ceremony record (:mod:`certcenter.audit.ceremony`), signed and in the
audit trail. The CA and OCSP signing keys are not moved: a key made in software cannot
become a key that never left the token, so new CA keys are made there by the key ceremony
commands and cross-signed.
"""

from __future__ import annotations

from certcenter.custody.kek import KekRotation, KekRotationReport
from certcenter.custody.migration import KeyMigration, MigrationPlan, MigrationReport
from certcenter.custody.peppers import GenerationUse, PepperRotation

__all__ = [
    "GenerationUse",
    "KekRotation",
    "KekRotationReport",
    "KeyMigration",
    "MigrationPlan",
    "MigrationReport",
    "PepperRotation",
]
