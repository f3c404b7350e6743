"""pkilint's RFC 5280 linter, for tests that check what the center emits."""

from __future__ import annotations

from typing import NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import serialization


class Finding(NamedTuple):
    severity: str
    code: str
    message: str | None
    path: str


class Linter:
    """pkilint's RFC 5280 certificate linter, built the way ``lint_pkix_cert`` builds it."""

    def __init__(self) -> None:
        from pkilint import loader
        from pkilint.pkix import certificate, extension, name

        self._validator = certificate.create_pkix_certificate_validator_container(
            certificate.create_decoding_validators(
                name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
            ),
            [
                certificate.create_issuer_validator_container([]),
                certificate.create_validity_validator_container(),
                certificate.create_subject_validator_container([]),
                certificate.create_extensions_validator_container([]),
                certificate.create_spki_validator_container([]),
            ],
        )
        self._loader = loader.RFC5280CertificateDocumentLoader()

    def findings(self, cert: x509.Certificate) -> list[Finding]:
        document = self._loader.load_der_document(
            cert.public_bytes(serialization.Encoding.DER), "certificate"
        )
        return [
            Finding(
                description.finding.severity.name,
                description.finding.code,
                description.message,
                str(result.node.path),
            )
            for result in self._validator.validate(document.root)
            for description in result.finding_descriptions
        ]

    def errors(self, cert: x509.Certificate) -> list[Finding]:
        """ERROR and FATAL findings (those fail a certificate); the others are printed."""
        findings = self.findings(cert)
        for finding in findings:
            if finding.severity not in {"ERROR", "FATAL"}:
                print(f"pkilint {finding.severity}: {finding.code} at {finding.path}")
        return [f for f in findings if f.severity in {"ERROR", "FATAL"}]
