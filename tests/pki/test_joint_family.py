"""The joint-certificate family: an RSA-2048 CA under the EC root, its two profiles with the
VID, the policy arc setting, lint refusals, and a data directory made before it existed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from certcenter.errors import CertCenterError
from certcenter.keys import SoftwareKeyBackend
from certcenter.pki import CaHierarchy, Issuer, SubjectInfo, ensure_hierarchy
from certcenter.pki import hierarchy as hierarchy_module
from certcenter.pki.lint import lint_tbs
from certcenter.pki.names import joint_subject
from certcenter.pki.profiles import profile
from certcenter.pki.vid import vid_matches, vid_other_name
from tests.pki.conftest import TEST_OID_ARC

RRN = "900315-1512541"
RANDOM = bytes(range(20))
_KEY = rsa.generate_private_key(65537, 2048)


def _issue(backend, hierarchy, settings, clock, name: str = "joint-banking") -> x509.Certificate:
    key = _KEY.public_key()
    issuer = Issuer(backend, hierarchy, settings, clock)
    intent = issuer.prepare(
        name,
        key,
        SubjectInfo("홍길동", "C0012345"),
        subject_name=joint_subject(settings, "홍길동", "0042026120412000012345"),
        subject_alt_name=x509.SubjectAlternativeName([vid_other_name("홍길동", RRN, RANDOM)]),
    )
    issuer.lint(intent)
    return issuer.sign(intent, key)


def test_the_joint_ca_is_rsa_2048_under_the_root(hierarchy: CaHierarchy) -> None:
    joint = hierarchy.issuing("joint")
    assert joint.key_label == "joint-ca"
    key = joint.certificate.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    assert isinstance(hierarchy.root.certificate.public_key(), ec.EllipticCurvePublicKey)
    joint.certificate.verify_directly_issued_by(hierarchy.root.certificate)
    assert hierarchy.ocsp_signer("joint") is not None


@pytest.mark.parametrize(
    ("name", "subarc"), [("joint-banking", "1.3.4"), ("joint-general", "1.3.1")]
)
def test_the_joint_profiles(backend, hierarchy, settings, clock, lint, name, subarc) -> None:
    cert = _issue(backend, hierarchy, settings, clock, name)
    assert cert.signature_algorithm_oid == x509.oid.SignatureAlgorithmOID.RSA_WITH_SHA256
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=365)
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_encipherment
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert [p.policy_identifier.dotted_string for p in policies] == [f"{TEST_OID_ARC}.{subarc}"]
    assert cert.subject.rfc4514_string() == (
        f"CN=홍길동()0042026120412000012345,OU=DemoBank,OU=personal4IB,O={settings.bank_name},C=KR"
    )
    assert vid_matches(cert, RRN, RANDOM)
    assert lint.errors(cert) == []


def test_the_npki_arc_when_the_ca_claims_it(make_settings, clock) -> None:
    settings = make_settings(joint_policy_arc="npki")
    assert profile("joint-general", settings).policy_oid.dotted_string == "1.2.410.200005.1.1.1"
    assert profile("joint-banking", settings).policy_oid.dotted_string == "1.2.410.200005.1.1.4"


def test_only_rsa_2048_and_only_with_the_vid(backend, hierarchy, settings, clock) -> None:
    issuer = Issuer(backend, hierarchy, settings, clock)
    with pytest.raises(CertCenterError) as refused:
        issuer.prepare(
            "joint-banking",
            ec.generate_private_key(ec.SECP256R1()).public_key(),
            SubjectInfo("홍길동", "C0012345"),
            subject_alt_name=x509.SubjectAlternativeName([vid_other_name("홍길동", RRN, RANDOM)]),
        )
    assert refused.value.code == "CSR_KEY_TYPE_NOT_ALLOWED"
    with pytest.raises(ValueError, match="VID"):
        issuer.prepare("joint-banking", _KEY.public_key(), SubjectInfo("홍길동", "C0012345"))


def test_the_lint_wants_the_vid_exactly(backend, hierarchy, settings, clock) -> None:
    """A joint TBS checked against the mobile profile fails (SAN present, RSA key); a mobile
    profile's lint never passes a missing VID for a joint one."""
    cert = _issue(backend, hierarchy, settings, clock)
    joint = profile("joint-banking", settings)
    shard_url = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value[0]
    shard = int(shard_url.full_name[0].value.rsplit("-", 1)[1].split(".")[0])
    ca = hierarchy.issuing("joint").certificate
    assert lint_tbs(cert.tbs_certificate_bytes, joint.for_crl_shard(shard), ca) == []
    mobile = profile("mobile", settings).for_crl_shard(shard)
    rules = {f.rule for f in lint_tbs(cert.tbs_certificate_bytes, mobile, ca)}
    assert {"subject_alt_name", "public_key", "policies"} <= rules


def test_the_subject_number_is_never_a_resident_number(settings) -> None:
    with pytest.raises(ValueError, match="14 to 32 digits"):
        joint_subject(settings, "홍길동", "9003151512541")  # 13 digits
    with pytest.raises(ValueError, match="resident registration number"):
        joint_subject(settings, "900315-1512541", "0042026120412000012345")
    name = joint_subject(settings, "홍길동", "0042026120412000012345")
    assert name.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "KR"


def test_an_existing_deployment_gains_the_joint_ca(
    settings, clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = SoftwareKeyBackend(settings.keys_path, settings.passphrase())
    older = tuple(s for s in hierarchy_module.FAMILIES if s.family != "joint")
    with monkeypatch.context() as patched:
        patched.setattr(hierarchy_module, "FAMILIES", older)
        old = ensure_hierarchy(backend, settings, clock)
    before = {p.name: p.read_bytes() for p in settings.ca_path.iterdir()}
    assert "joint-ca.pem" not in before
    grown = ensure_hierarchy(backend, settings, clock)
    after = {p.name: p.read_bytes() for p in settings.ca_path.iterdir()}
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {"joint-ca.pem", "joint-chain.pem", "joint-ocsp.pem"}
    assert grown.issuing("financial") == old.issuing("financial")
    grown.issuing("joint").certificate.verify_directly_issued_by(old.root.certificate)
    assert ensure_hierarchy(backend, settings, clock) == grown
