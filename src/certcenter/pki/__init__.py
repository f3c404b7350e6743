"""The center's X.509 PKI: CA hierarchy, certificate profiles, CSR checks and issuance.

    hierarchy = ensure_hierarchy(backend, settings, clock)            # once, at init
    checked = validate_csr(body, profile("mobile", settings).allowed_key_kinds)
    issuer = Issuer(backend, load_hierarchy(settings), settings, clock)
    intent = issuer.prepare("mobile", checked.public_key, SubjectInfo("홍길동", "C0012345"))
    # ... record the intent durably, then:
    certificate = issuer.sign(intent, checked.public_key)

Modules: :mod:`.profiles` (what each kind of certificate contains), :mod:`.names`
(distinguished names), :mod:`.builder` (extensions and validity), :mod:`.hierarchy`
(root and issuing CAs and their files), :mod:`.issuer` (prepare/sign), :mod:`.csr`
(request checks), :mod:`.pem` (PEM and fingerprints).
"""

from __future__ import annotations

from certcenter.pki.csr import MAX_CSR_BYTES, ValidatedCsr, validate_csr
from certcenter.pki.hierarchy import (
    CaHierarchy,
    CertificateAuthority,
    IssuingCa,
    ensure_hierarchy,
    load_hierarchy,
)
from certcenter.pki.issuer import IssuanceIntent, Issuer, SubjectInfo
from certcenter.pki.pem import (
    certificate_pem,
    certificates_from_pem,
    chain_pem,
    public_key_der,
    public_key_sha256,
)
from certcenter.pki.profiles import PROFILE_NAMES, CertificateProfile, profile

__all__ = [
    "MAX_CSR_BYTES",
    "PROFILE_NAMES",
    "CaHierarchy",
    "CertificateAuthority",
    "CertificateProfile",
    "IssuanceIntent",
    "Issuer",
    "IssuingCa",
    "SubjectInfo",
    "ValidatedCsr",
    "certificate_pem",
    "certificates_from_pem",
    "chain_pem",
    "ensure_hierarchy",
    "load_hierarchy",
    "profile",
    "public_key_der",
    "public_key_sha256",
    "validate_csr",
]
