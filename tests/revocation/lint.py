"""pkilint's RFC 5280 CRL linter and RFC 6960 OCSP response linter, built the way
``lint_crl`` and ``lint_ocsp_response`` build them (PKIX profile)."""

from __future__ import annotations

from functools import cache

from pkilint import loader, pkix
from pkilint.pkix import crl, extension, name, ocsp

from tests.support.pkilint import Finding


@cache
def _crl_validator():  # type: ignore[no-untyped-def]
    return crl.create_pkix_crl_validator_container(
        [
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [
            crl.create_issuer_validator_container([]),
            crl.create_validity_validator_container([]),
            crl.create_extensions_validator_container([]),
        ],
    )


@cache
def _ocsp_validator():  # type: ignore[no-untyped-def]
    return ocsp.create_pkix_ocsp_response_validator_container(
        [
            ocsp.create_response_decoder(),
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [],
    )


def _findings(validator, document) -> list[Finding]:  # type: ignore[no-untyped-def]
    return [
        Finding(
            description.finding.severity.name,
            description.finding.code,
            description.message,
            str(result.node.path),
        )
        for result in validator.validate(document.root)
        for description in result.finding_descriptions
    ]


def crl_findings(der: bytes) -> list[Finding]:
    document = loader.RFC5280CertificateListDocumentLoader().load_der_document(der, "crl")
    return _findings(_crl_validator(), document)


def ocsp_findings(der: bytes) -> list[Finding]:
    document = loader.RFC6960OCSPResponseDocumentLoader().load_der_document(der, "ocsp")
    return _findings(_ocsp_validator(), document)


def errors(findings: list[Finding]) -> list[Finding]:
    """ERROR and FATAL findings (those fail); the others are printed."""
    for finding in findings:
        if finding.severity not in {"ERROR", "FATAL"}:
            print(f"pkilint {finding.severity}: {finding.code} at {finding.path}")
    return [f for f in findings if f.severity in {"ERROR", "FATAL"}]
