"""Our lint of the to-be-signed certificate: every rule catches a TBS broken on purpose, every
real profile lints clean, and pkilint agrees with it on real and broken certificates."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from certcenter.errors import CertCenterError
from certcenter.pki import CaHierarchy, Issuer, SubjectInfo, profile
from certcenter.pki.issuer import IssuanceIntent
from certcenter.pki.lint import certificate_of_tbs, lint_certificate, lint_tbs, require_clean
from certcenter.pki.profiles import CertificateProfile

CUSTOMER = SubjectInfo(common_name="홍길동", customer_ref="C0012345")


@dataclass
class Case:
    """A real mobile intent, its profile and issuing CA, to be broken one way at a time."""

    intent: IssuanceIntent
    profile: CertificateProfile
    ca: x509.Certificate
    trial: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.trial = certificate_of_tbs(self.intent.tbs)

    def rules(self, tbs: bytes) -> set[str]:
        return {f.rule for f in lint_tbs(tbs, self.profile, self.ca)}

    def rebuild(
        self,
        *,
        subject: x509.Name | None = None,
        issuer: x509.Name | None = None,
        key: ec.EllipticCurvePublicKey | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        drop: Sequence[type[x509.ExtensionType]] = (),
        change: Sequence[tuple[x509.ExtensionType, bool]] = (),
        algorithm: hashes.HashAlgorithm | None = None,
    ) -> bytes:
        """The trial certificate made again with changes, signed by a throwaway key."""
        public_key = key or self.trial.public_key()
        assert isinstance(public_key, ec.EllipticCurvePublicKey)
        builder = (
            x509.CertificateBuilder()
            .serial_number(self.trial.serial_number)
            .issuer_name(issuer if issuer is not None else self.trial.issuer)
            .subject_name(subject if subject is not None else self.trial.subject)
            .public_key(public_key)
            .not_valid_before(not_before or self.trial.not_valid_before_utc)
            .not_valid_after(not_after or self.trial.not_valid_after_utc)
        )
        replaced = {type(value): (value, critical) for value, critical in change}
        for extension in self.trial.extensions:
            kind = type(extension.value)
            if kind in drop:
                continue
            value, critical = replaced.pop(kind, (extension.value, extension.critical))
            builder = builder.add_extension(value, critical=critical)
        for value, critical in replaced.values():
            builder = builder.add_extension(value, critical=critical)
        signer = ec.generate_private_key(ec.SECP256R1())
        return builder.sign(signer, algorithm or hashes.SHA256()).tbs_certificate_bytes


@pytest.fixture
def case(backend, hierarchy: CaHierarchy, settings, clock) -> Case:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    intent = Issuer(backend, hierarchy, settings, clock).prepare("mobile", key, CUSTOMER)
    return Case(
        intent,
        profile("mobile", settings).for_crl_shard(intent.crl_shard),
        hierarchy.issuing("mobile").certificate,
    )


# ---------------------------------------------------------------------- DER surgery


def _tlv(data: bytes, at: int) -> tuple[int, int]:
    """(start of the value, end of the element) of the DER element at ``at``."""
    first = data[at + 1]
    if first < 0x80:
        return at + 2, at + 2 + first
    count = first & 0x7F
    length = int.from_bytes(data[at + 2 : at + 2 + count], "big")
    return at + 2 + count, at + 2 + count + length


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def _sequence(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _length(len(content)) + content


def _elements(data: bytes) -> list[bytes]:
    """The elements inside the constructed DER element ``data``."""
    at, end = _tlv(data, 0)
    out = []
    while at < end:
        _, after = _tlv(data, at)
        out.append(data[at:after])
        at = after
    return out


def _with_serial(tbs: bytes, encoded_value: bytes) -> bytes:
    parts = _elements(tbs)  # version, serial, signature, issuer, validity, subject, spki, [3]
    parts[1] = _sequence(0x02, encoded_value)
    return _sequence(0x30, b"".join(parts))


def _with_duplicate_extension(tbs: bytes) -> bytes:
    parts = _elements(tbs)
    extensions = _elements(_elements(parts[-1])[0])
    doubled = _sequence(0x30, b"".join([*extensions, extensions[-1]]))
    parts[-1] = _sequence(0xA3, doubled)
    return _sequence(0x30, b"".join(parts))


# ---------------------------------------------------------------------- clean


def test_the_wrapped_tbs_is_the_recorded_one(case: Case) -> None:
    assert case.trial.tbs_certificate_bytes == case.intent.tbs
    assert case.trial.serial_number == case.intent.serial


@pytest.mark.parametrize("name", ["mobile", "financial"])
def test_every_end_entity_profile_lints_clean(
    backend, hierarchy: CaHierarchy, settings, clock, name: str, lint
) -> None:
    issuer = Issuer(backend, hierarchy, settings, clock)
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    intent = issuer.prepare(name, key, CUSTOMER)
    chosen = profile(name, settings).for_crl_shard(intent.crl_shard)
    ca = hierarchy.issuing(chosen.family or "").certificate
    assert lint_tbs(intent.tbs, chosen, ca) == []
    issuer.lint(intent)  # no error
    signed = issuer.sign(intent, key)
    assert lint_certificate(signed, chosen, ca) == []
    assert lint.errors(signed) == []  # pkilint agrees


def test_the_ca_profiles_lint_clean_too(hierarchy: CaHierarchy, settings) -> None:
    root = hierarchy.root.certificate
    assert lint_certificate(root, profile("root-ca", settings), root) == []
    mobile_ca = hierarchy.issuing("mobile").certificate
    assert lint_certificate(mobile_ca, profile("issuing-ca", settings), root) == []
    financial_ca = hierarchy.issuing("financial").certificate
    assert lint_certificate(financial_ca, profile("financial-ca", settings), root) == []


# ---------------------------------------------------------------------- each rule


def test_der(case: Case) -> None:
    assert case.rules(b"\x30\x03\x02\x01\x01") == {"der"}
    assert case.rules(case.intent.tbs[:-2]) == {"der"}
    assert case.rules(_with_duplicate_extension(case.intent.tbs)) == {"der"}


@pytest.mark.parametrize(
    "value",
    [b"\x00", b"\xff", b"\x01" + b"\x00" * 20],  # zero, negative, 21 octets
    ids=["zero", "negative", "too-long"],
)
def test_serial(case: Case, value: bytes) -> None:
    assert case.rules(_with_serial(case.intent.tbs, value)) == {"serial"}


def test_a_20_octet_serial_is_fine(case: Case) -> None:
    assert case.rules(_with_serial(case.intent.tbs, b"\x7f" + b"\x01" * 19)) == set()


def test_signature(case: Case) -> None:
    assert case.rules(case.rebuild(algorithm=hashes.SHA384())) == {"signature"}


def test_issuer(case: Case) -> None:
    other = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Another CA")])
    assert case.rules(case.rebuild(issuer=other)) == {"issuer"}


def test_validity(case: Case) -> None:
    start = case.trial.not_valid_before_utc
    assert case.rules(case.rebuild(not_after=start)) == {"validity"}
    beyond = case.ca.not_valid_after_utc + timedelta(days=1)
    assert "validity" in case.rules(case.rebuild(not_after=beyond))
    early = case.ca.not_valid_before_utc - timedelta(days=1)
    assert case.rules(case.rebuild(not_before=early)) == {"validity"}  # and too long


def test_subject(case: Case) -> None:
    assert case.rules(case.rebuild(subject=x509.Name([]))) == {"subject"}
    leaking = x509.Name(
        [
            *case.trial.subject,
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "900101-1234567"),
        ]
    )
    assert case.rules(case.rebuild(subject=leaking)) == {"subject"}
    no_cn = x509.Name([a for a in case.trial.subject if a.oid != NameOID.COMMON_NAME])
    assert case.rules(case.rebuild(subject=no_cn)) == {"subject"}


def test_basic_constraints(case: Case) -> None:
    assert case.rules(case.rebuild(drop=[x509.BasicConstraints])) == {"basic_constraints"}
    loose = x509.BasicConstraints(ca=False, path_length=None)
    assert case.rules(case.rebuild(change=[(loose, False)])) == {"basic_constraints"}
    ca = x509.BasicConstraints(ca=True, path_length=None)
    assert "basic_constraints" in case.rules(case.rebuild(change=[(ca, True)]))


def _usage(**bits: bool) -> x509.KeyUsage:
    names = (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
    )
    return x509.KeyUsage(
        **{n: bits.get(n, False) for n in names}, encipher_only=False, decipher_only=False
    )


def test_key_usage(case: Case) -> None:
    assert case.rules(case.rebuild(drop=[x509.KeyUsage])) == {"key_usage"}
    right = _usage(digital_signature=True, content_commitment=True)
    assert case.rules(case.rebuild(change=[(right, False)])) == {"key_usage"}
    more = _usage(digital_signature=True, content_commitment=True, key_encipherment=True)
    assert case.rules(case.rebuild(change=[(more, True)])) == {"key_usage"}
    signs_certs = _usage(digital_signature=True, content_commitment=True, key_cert_sign=True)
    found = lint_tbs(case.rebuild(change=[(signs_certs, True)]), case.profile, case.ca)
    assert any("keyCertSign" in f.message for f in found)


def test_extended_key_usage(case: Case) -> None:
    tls = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    assert case.rules(case.rebuild(change=[(tls, False)])) == {"extended_key_usage"}


def test_key_identifiers(case: Case) -> None:
    assert case.rules(case.rebuild(drop=[x509.SubjectKeyIdentifier])) == {"key_identifiers"}
    assert case.rules(case.rebuild(drop=[x509.AuthorityKeyIdentifier])) == {"key_identifiers"}
    wrong_ski = x509.SubjectKeyIdentifier(b"\x01" * 20)
    assert case.rules(case.rebuild(change=[(wrong_ski, False)])) == {"key_identifiers"}
    wrong_aki = x509.AuthorityKeyIdentifier(b"\x02" * 20, None, None)
    assert case.rules(case.rebuild(change=[(wrong_aki, False)])) == {"key_identifiers"}
    ski = case.trial.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert case.rules(case.rebuild(change=[(ski, True)])) == {"key_identifiers"}


def _crl(uri: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint([x509.UniformResourceIdentifier(uri)], None, None, None)]
    )


def test_crl_distribution(case: Case) -> None:
    assert case.rules(case.rebuild(drop=[x509.CRLDistributionPoints])) == {"crl_distribution"}
    ldap = _crl("ldap://directory.example/cn=crl")
    assert case.rules(case.rebuild(change=[(ldap, False)])) == {"crl_distribution"}
    other_shard = f"/crl/mobile-{case.intent.crl_shard + 1}.crl"
    wrong = _crl("http://127.0.0.1:8000" + other_shard)
    assert case.rules(case.rebuild(change=[(wrong, False)])) == {"crl_distribution"}


def test_authority_info(case: Case) -> None:
    assert case.rules(case.rebuild(drop=[x509.AuthorityInformationAccess])) == {"authority_info"}
    ftp = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier("ftp://127.0.0.1/ocsp"),
            ),
            *(
                d
                for d in case.trial.extensions.get_extension_for_class(
                    x509.AuthorityInformationAccess
                ).value
                if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
            ),
        ]
    )
    assert case.rules(case.rebuild(change=[(ftp, False)])) == {"authority_info"}


def test_policies(case: Case) -> None:
    assert case.rules(case.rebuild(drop=[x509.CertificatePolicies])) == {"policies"}
    other = x509.CertificatePolicies(
        [x509.PolicyInformation(x509.ObjectIdentifier("2.5.29.32.0"), None)]
    )
    assert case.rules(case.rebuild(change=[(other, False)])) == {"policies"}


def test_public_key(case: Case) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert case.rules(case.rebuild(key=p384)) == {"public_key", "key_identifiers"}


# ---------------------------------------------------------------------- the refusal


def test_require_clean_refuses_with_the_catalog_code(case: Case) -> None:
    require_clean(case.intent.tbs, case.profile, case.ca)
    with pytest.raises(CertCenterError) as refused:
        require_clean(case.rebuild(drop=[x509.KeyUsage]), case.profile, case.ca, serial="AB")
    assert refused.value.code == "CERTIFICATE_PROFILE_LINT_FAILED"
    assert refused.value.http_status == 500
    assert "key_usage" in refused.value.cause("en") and "AB" in refused.value.cause("en")


def test_the_issuer_lints_before_the_ca_key_is_used(
    backend, hierarchy: CaHierarchy, settings, clock
) -> None:
    issuer = Issuer(backend, hierarchy, settings, clock)
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    intent = issuer.prepare("mobile", key, CUSTOMER)
    broken = Case(intent, profile("mobile", settings), hierarchy.issuing().certificate)
    tbs = broken.rebuild(drop=[x509.SubjectKeyIdentifier])
    from dataclasses import replace

    with pytest.raises(CertCenterError) as refused:
        issuer.lint(replace(intent, tbs=tbs))
    assert refused.value.code == "CERTIFICATE_PROFILE_LINT_FAILED"


# ---------------------------------------------------------------------- pkilint agrees

Breaker = Callable[[Case], bytes]
BROKEN: dict[str, Breaker] = {
    "serial-too-long": lambda c: _with_serial(c.intent.tbs, b"\x01" + b"\x00" * 20),
    "no-aki": lambda c: c.rebuild(drop=[x509.AuthorityKeyIdentifier]),
    "ski-critical": lambda c: c.rebuild(
        change=[(c.trial.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value, True)]
    ),
    "duplicate-extension": lambda c: _with_duplicate_extension(c.intent.tbs),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_pkilint_fails_what_we_fail(case: Case, lint, name: str) -> None:
    tbs = BROKEN[name](case)
    assert case.rules(tbs), "our lint lets it pass"
    assert lint.errors(_unsafe_certificate(tbs)), "pkilint lets it pass"


def _unsafe_certificate(tbs: bytes) -> x509.Certificate:
    """A broken TBS as a certificate for pkilint (the same wrapping, without our refusals)."""
    parts = _elements(_sequence(0x30, tbs))
    algorithm = _elements(parts[0])[2]
    return x509.load_der_x509_certificate(_sequence(0x30, tbs + algorithm + b"\x03\x01\x00"))
