"""Our own lint of a to-be-signed certificate: what pkilint would fail, checked before signing.

    findings = lint_tbs(intent.tbs, profile("mobile", s).for_crl_shard(3), issuing.certificate)
    require_clean(intent.tbs, chosen, issuing.certificate)   # CERTIFICATE_PROFILE_LINT_FAILED

:func:`certificate_of_tbs` wraps the exact recorded TBS bytes in a certificate with an empty
signature, so the lint reads what the CA will sign, byte for byte, without any key. The rules
(each finding names one):

``der``                 the TBS parses, version 3, no extension twice
``serial``              positive, at most 20 octets (RFC 5280 §4.1.2.2)
``signature``           ECDSA with the hash of the issuing key's curve; sha256WithRSAEncryption
                        under an RSA-2048 issuing key (the joint certificate's CA)
``issuer``              the issuing CA's subject
``validity``            notBefore < notAfter, within the issuer's validity and the profile's
``subject``             not empty, a common name, no resident registration number anywhere
``basic_constraints``   present, critical, cA and pathLen as the profile says
``key_usage``           present, critical, exactly the profile's bits; keyCertSign iff a CA
``extended_key_usage``  exactly the profile's, or absent
``key_identifiers``     SKI (method 1 over the key) and AKI (the issuer's SKI), non-critical
``crl_distribution``    an HTTP URI of the profile's CRL partition, non-critical
``authority_info``      HTTP URIs of the profile's OCSP and caIssuers, non-critical
``policies``            the profile's certificate policy
``subject_alt_name``    the identity (VID) otherName where the profile carries one (the joint
                        certificate: exactly one otherName 1.2.410.200004.10.1.1, non-critical,
                        a subject that is not empty), else no subjectAltName
``public_key``          a kind of key the profile allows

The lint checks the profile against itself too: a profile that asked for something wrong
(an end entity with keyCertSign, say) fails as well. Its cost per certificate is measured by
``bench/issue_lint.py``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtensionOID,
    SignatureAlgorithmOID,
)

from certcenter.errors import CertCenterError
from certcenter.keys.backend import key_kind_of
from certcenter.pki.builder import signature_hash_for
from certcenter.pki.profiles import VID_OTHER_NAME_OID, CertificateProfile

__all__ = ["LintFinding", "certificate_of_tbs", "lint_certificate", "lint_tbs", "require_clean"]

MAX_SERIAL_OCTETS = 20
# A resident registration number (주민등록번호): 6 digits, an optional hyphen, 7 digits.
_RRN = re.compile(r"(?<!\d)\d{6}\s?-?\s?[0-9]\d{6}(?!\d)")
_ECDSA = {
    "sha256": SignatureAlgorithmOID.ECDSA_WITH_SHA256,
    "sha384": SignatureAlgorithmOID.ECDSA_WITH_SHA384,
    "sha512": SignatureAlgorithmOID.ECDSA_WITH_SHA512,
}
_RSA = {"sha256": SignatureAlgorithmOID.RSA_WITH_SHA256}
_NON_CRITICAL = {
    ExtensionOID.SUBJECT_KEY_IDENTIFIER: "key_identifiers",
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER: "key_identifiers",
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS: "authority_info",
    ExtensionOID.CRL_DISTRIBUTION_POINTS: "crl_distribution",
}
_KEY_USAGE_BITS = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


@dataclass(frozen=True)
class LintFinding:
    rule: str  # one of the rules in the module docstring
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


# ---------------------------------------------------------------------- DER


def _header(data: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at ``at``."""
    if at + 2 > len(data):
        raise ValueError("truncated DER")
    tag, first = data[at], data[at + 1]
    if first < 0x80:
        start, length = at + 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or at + 2 + count > len(data):
            raise ValueError("bad DER length")
        start, length = at + 2 + count, int.from_bytes(data[at + 2 : at + 2 + count], "big")
    if start + length > len(data):
        raise ValueError("truncated DER")
    return tag, start, start + length


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _serial_and_algorithm(tbs: bytes) -> tuple[bytes, bytes]:
    """The serial INTEGER's content octets and the signature AlgorithmIdentifier element."""
    tag, start, end = _header(tbs, 0)
    if tag != 0x30 or end != len(tbs):
        raise ValueError("a TBSCertificate is one DER SEQUENCE")
    at = start
    tag, _, after = _header(tbs, at)
    if tag == 0xA0:  # [0] EXPLICIT version
        at = after
        tag, _, after = _header(tbs, at)
    if tag != 0x02:
        raise ValueError("TBSCertificate without a serial number")
    _, serial_start, serial_end = _header(tbs, at)
    at = after
    tag, _, after = _header(tbs, at)
    if tag != 0x30:
        raise ValueError("TBSCertificate without a signature algorithm")
    return tbs[serial_start:serial_end], tbs[at:after]


def _serial_finding(octets: bytes) -> LintFinding | None:
    """RFC 5280 §4.1.2.2 on the DER octets (cryptography will not load a bad serial)."""
    if not octets or octets[0] & 0x80 or not any(octets):
        return LintFinding("serial", "the serial number is not positive")
    if len(octets) > MAX_SERIAL_OCTETS:
        return LintFinding("serial", f"the serial number is longer than {MAX_SERIAL_OCTETS} octets")
    return None


def certificate_of_tbs(tbs: bytes) -> x509.Certificate:
    """The TBS as a certificate with an empty signature (ValueError if it is not a TBS, or
    its serial is not positive). The outer signatureAlgorithm copies the TBS's own, as a
    signed certificate would."""
    serial, algorithm = _serial_and_algorithm(tbs)
    if serial and (serial[0] & 0x80 or not any(serial)):
        raise ValueError("the serial number is not positive")
    signature = b"\x03\x01\x00"  # BIT STRING, no unused bits, no content
    body = tbs + algorithm + signature
    return x509.load_der_x509_certificate(b"\x30" + _length(len(body)) + body)


# ---------------------------------------------------------------------- the rules


def lint_tbs(
    tbs: bytes, profile: CertificateProfile, issuer: x509.Certificate
) -> list[LintFinding]:
    """The findings for the to-be-signed bytes ``tbs`` (none: clean)."""
    try:
        serial_finding = _serial_finding(_serial_and_algorithm(tbs)[0])
        if serial_finding is not None:
            return [serial_finding]  # not a certificate anything should read further
        certificate = certificate_of_tbs(tbs)
    except ValueError as exc:
        return [LintFinding("der", f"the TBS does not parse: {exc}")]
    return lint_certificate(certificate, profile, issuer)


def require_clean(
    tbs: bytes, profile: CertificateProfile, issuer: x509.Certificate, *, serial: str = "-"
) -> None:
    """``CERTIFICATE_PROFILE_LINT_FAILED`` unless ``tbs`` lints clean."""
    findings = lint_tbs(tbs, profile, issuer)
    if findings:
        raise CertCenterError(
            "CERTIFICATE_PROFILE_LINT_FAILED",
            serial=serial,
            profile=profile.name,
            findings="; ".join(str(f) for f in findings),
        )


def lint_certificate(
    certificate: x509.Certificate, profile: CertificateProfile, issuer: x509.Certificate
) -> list[LintFinding]:
    """The findings for a (trial or signed) certificate of ``profile`` issued by ``issuer``
    (its CRL distribution point checked against ``profile.crl_path`` as given: pass
    ``profile.for_crl_shard(shard)``)."""
    found: list[LintFinding] = []

    def fail(rule: str, message: str) -> None:
        found.append(LintFinding(rule, message))

    if certificate.version != x509.Version.v3:
        fail("der", f"version {certificate.version.name}, not v3")
    _serial(certificate, fail)
    _signature(certificate, issuer, fail)
    if certificate.issuer != issuer.subject:
        fail("issuer", "the issuer name is not the issuing CA's subject")
    _validity(certificate, profile, issuer, fail)
    _subject(certificate, fail)
    public_key = certificate.public_key()
    kind = key_kind_of(public_key)
    if kind is None or kind not in profile.allowed_key_kinds:
        fail("public_key", f"{kind or 'this kind of key'} is not allowed by {profile.name}")
    try:
        extensions = certificate.extensions
    except x509.DuplicateExtension as exc:
        fail("der", f"extension {exc.oid.dotted_string} appears twice")
        return found
    except ValueError as exc:
        fail("der", f"the extensions do not parse: {exc}")
        return found
    _extensions(public_key, extensions, profile, issuer, fail)
    return found


_Fail = Callable[[str, str], None]


def _serial(certificate: x509.Certificate, fail: _Fail) -> None:
    serial = certificate.serial_number
    if serial <= 0:
        fail("serial", "the serial number is not positive")
    elif serial.bit_length() // 8 + 1 > MAX_SERIAL_OCTETS:  # DER: a sign bit of its own
        fail("serial", f"the serial number is longer than {MAX_SERIAL_OCTETS} octets")


def _signature(certificate: x509.Certificate, issuer: x509.Certificate, fail: _Fail) -> None:
    try:
        issuer_key = issuer.public_key()
        algorithms = _RSA if isinstance(issuer_key, rsa.RSAPublicKey) else _ECDSA
        expected = algorithms[signature_hash_for(issuer_key).name]
    except (TypeError, ValueError, KeyError) as exc:
        fail("signature", f"the issuing key cannot sign end entities: {exc}")
        return
    if certificate.signature_algorithm_oid != expected:
        fail(
            "signature",
            f"signed with {certificate.signature_algorithm_oid.dotted_string}, "
            f"the issuing key signs with {expected.dotted_string}",
        )


def _validity(
    certificate: x509.Certificate,
    profile: CertificateProfile,
    issuer: x509.Certificate,
    fail: _Fail,
) -> None:
    not_before: datetime = certificate.not_valid_before_utc
    not_after: datetime = certificate.not_valid_after_utc
    if not_before >= not_after:
        fail("validity", "notBefore is not before notAfter")
    if not_before < issuer.not_valid_before_utc or not_after > issuer.not_valid_after_utc:
        fail("validity", "the validity is not within the issuing CA's")
    if not_after - not_before > profile.validity:
        fail("validity", f"longer than the profile's {profile.validity.days} days")


def _subject(certificate: x509.Certificate, fail: _Fail) -> None:
    subject = certificate.subject
    if len(subject) == 0:
        fail("subject", "the subject is empty")
        return
    if not subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME):
        fail("subject", "the subject has no common name")
    for attribute in subject:
        value = attribute.value
        text = value if isinstance(value, str) else value.decode("utf-8", "replace")
        if not text.strip():
            fail("subject", f"{attribute.oid.dotted_string} is empty")
        if _RRN.search(text):
            fail("subject", "the subject holds a resident registration number")


def _extensions(
    public_key: CertificatePublicKeyTypes,
    extensions: x509.Extensions,
    profile: CertificateProfile,
    issuer: x509.Certificate,
    fail: _Fail,
) -> None:
    by_oid = {extension.oid: extension for extension in extensions}

    def find(oid: x509.ObjectIdentifier) -> x509.Extension[x509.ExtensionType] | None:
        return by_oid.get(oid)

    for oid, rule in _NON_CRITICAL.items():
        extension = find(oid)
        if extension is not None and extension.critical:
            fail(rule, f"{extension.value.__class__.__name__} must not be critical")

    # basicConstraints
    basic = find(ExtensionOID.BASIC_CONSTRAINTS)
    if basic is None:
        fail("basic_constraints", "missing")
    else:
        value = basic.value
        if not isinstance(value, x509.BasicConstraints):  # pragma: no cover - by its OID
            raise TypeError("basicConstraints did not parse as such")
        if not basic.critical:
            fail("basic_constraints", "not critical")
        if value.ca != profile.is_ca:
            fail("basic_constraints", f"cA is {value.ca}, the profile says {profile.is_ca}")
        if value.path_length != profile.path_length or (
            not value.ca and value.path_length is not None
        ):
            fail("basic_constraints", f"pathLenConstraint {value.path_length} is not the profile's")

    # keyUsage
    usage = find(ExtensionOID.KEY_USAGE)
    if usage is None:
        fail("key_usage", "missing")
    else:
        value = usage.value
        if not isinstance(value, x509.KeyUsage):  # pragma: no cover - by its OID
            raise TypeError("keyUsage did not parse as such")
        if not usage.critical:
            fail("key_usage", "not critical")
        bits = {bit for bit in _KEY_USAGE_BITS if getattr(value, bit)}
        if not bits:
            fail("key_usage", "no bit set")
        if bits != set(profile.key_usage):
            fail("key_usage", f"{sorted(bits)} are not the profile's {sorted(profile.key_usage)}")
        ca = basic is not None and bool(getattr(basic.value, "ca", False))
        if ("key_cert_sign" in bits) != ca:
            fail("key_usage", "keyCertSign without cA, or a CA without keyCertSign")

    # extendedKeyUsage
    eku = find(ExtensionOID.EXTENDED_KEY_USAGE)
    wanted_eku = tuple(profile.extended_key_usage or ())
    got_eku = tuple(eku.value) if eku is not None else ()  # type: ignore[arg-type]
    if got_eku != wanted_eku:
        fail("extended_key_usage", "not the profile's extended key usage")

    # subject and authority key identifiers
    ski = find(ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    spki = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if ski is None:
        fail("key_identifiers", "subjectKeyIdentifier missing")
    elif isinstance(ski.value, x509.SubjectKeyIdentifier) and ski.value.digest != _method_1(spki):
        fail("key_identifiers", "subjectKeyIdentifier is not the key's (method 1)")
    aki = find(ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    issuer_ski = _issuer_ski(issuer)
    if aki is None:
        fail("key_identifiers", "authorityKeyIdentifier missing")
    elif isinstance(aki.value, x509.AuthorityKeyIdentifier) and (
        aki.value.key_identifier is None or aki.value.key_identifier != issuer_ski
    ):
        fail("key_identifiers", "authorityKeyIdentifier is not the issuer's key identifier")

    # cRLDistributionPoints
    crl = find(ExtensionOID.CRL_DISTRIBUTION_POINTS)
    if profile.crl_path is not None:
        uris = (
            [
                name.value
                for point in crl.value  # type: ignore[attr-defined]
                for name in (point.full_name or [])
                if isinstance(name, x509.UniformResourceIdentifier)
            ]
            if crl is not None
            else []
        )
        _uris(fail, "crl_distribution", "CRL distribution point", uris, profile.crl_path)
    elif crl is not None:
        fail("crl_distribution", "present, the profile has none")

    # authorityInfoAccess
    aia = find(ExtensionOID.AUTHORITY_INFORMATION_ACCESS)
    if profile.has_aia:
        descriptions = list(aia.value) if aia is not None else []  # type: ignore[call-overload]
        for method, path, what in (
            (AuthorityInformationAccessOID.OCSP, profile.ocsp_path, "OCSP"),
            (AuthorityInformationAccessOID.CA_ISSUERS, profile.ca_issuers_path, "caIssuers"),
        ):
            uris = [
                d.access_location.value
                for d in descriptions
                if d.access_method == method
                and isinstance(d.access_location, x509.UniformResourceIdentifier)
            ]
            if path is not None:
                _uris(fail, "authority_info", what, uris, path)
            elif uris:
                fail("authority_info", f"{what} present, the profile has none")
    elif aia is not None:
        fail("authority_info", "present, the profile has none")

    # certificatePolicies
    policies = find(ExtensionOID.CERTIFICATE_POLICIES)
    if profile.policy_oid is not None:
        oids = (
            [p.policy_identifier for p in policies.value]  # type: ignore[attr-defined]
            if policies is not None
            else []
        )
        if not oids:
            fail("policies", "certificatePolicies missing")
        elif oids != [profile.policy_oid]:
            fail("policies", "not the profile's certificate policy")
        if len(set(oids)) != len(oids):
            fail("policies", "a policy appears twice")
    elif policies is not None:
        fail("policies", "present, the profile has none")

    # subjectAltName
    san = find(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    if profile.carries_vid:
        names = list(san.value) if san is not None else []  # type: ignore[call-overload]
        others = [n for n in names if isinstance(n, x509.OtherName)]
        if san is None:
            fail("subject_alt_name", "the identity (VID) subjectAltName is missing")
        elif san.critical:
            fail("subject_alt_name", "subjectAltName must not be critical under a subject")
        elif len(names) != 1 or len(others) != 1 or others[0].type_id != VID_OTHER_NAME_OID:
            fail("subject_alt_name", "not exactly one identity (VID) otherName")
    elif san is not None:
        fail("subject_alt_name", "present, the profile has none")


def _uris(fail: _Fail, rule: str, what: str, uris: list[str], path: str) -> None:
    if not uris:
        fail(rule, f"{what} missing")
        return
    for uri in uris:
        if not uri.startswith(("http://", "https://")):
            fail(rule, f"{what} {uri!r} is not an HTTP URI")
        elif not uri.endswith(path):
            fail(rule, f"{what} {uri!r} does not name {path!r}")


def _method_1(spki_der: bytes) -> bytes:
    """RFC 5280 §4.2.1.2 (1): SHA-1 of the subjectPublicKey BIT STRING's value."""
    _, start, _ = _header(spki_der, 0)
    _, _, after = _header(spki_der, start)  # AlgorithmIdentifier
    _, bits_start, bits_end = _header(spki_der, after)  # subjectPublicKey BIT STRING
    return hashlib.sha1(spki_der[bits_start + 1 : bits_end]).digest()  # noqa: S324


def _issuer_ski(issuer: x509.Certificate) -> bytes | None:
    try:
        return issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None
