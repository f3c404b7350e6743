"""Certificate profiles as data: what each kind of certificate contains, one entry per kind.

    mobile = profile("mobile", settings)
    mobile.validity    # timedelta(days=settings.policy.mobile_certificate_validity_days)

Kinds (``PROFILE_NAMES``):

``root-ca``
    The self-signed root, ECDSA P-384, 20 years. keyCertSign + cRLSign, no policy, no AIA/CRL.
``issuing-ca``
    The CA of the mobile family, ECDSA P-256 signed by the root, 10 years, pathLen 0.
    keyCertSign + cRLSign + digitalSignature (it may sign OCSP responses itself), the mobile
    policy, caIssuers → ``/ca/root-ca.der`` and CRL → ``/crl/root.crl``.
``financial-ca``
    The CA of the financial-certificate family (금융인증서): the same as ``issuing-ca`` but
    with the financial policy. Its own CA, so relying parties tell the two families apart by
    issuer as well as by policy.
``mobile``
    The customer's mobile certificate (end entity), EC P-256 only, validity from
    ``settings.policy.mobile_certificate_validity_days``. keyUsage digitalSignature +
    nonRepudiation (contentCommitment): it signs logins and transactions the customer must
    not be able to deny. No extendedKeyUsage: that would narrow the certificate to one
    purpose (for example TLS client auth), while the bank's app signs challenges and
    transaction texts with it. OCSP → ``/ocsp``, caIssuers → ``/ca/mobile-ca.der``,
    CRL → ``/crl/mobile-<shard>.crl``, the partition of the family's CRL that lists the
    certificate's serial (see :mod:`certcenter.pki.crl`). Subject gets OU ``personal``.
``financial``
    The customer's financial certificate (금융인증서, end entity), EC P-256 only, validity from
    ``settings.policy.financial_certificate_validity_days`` (3 years). Its key is made and
    kept by the center's key backend (cloud; the center signs on the customer's behalf after
    the device proof and the PIN, see :mod:`certcenter.financial`). keyUsage
    digitalSignature + nonRepudiation, no extendedKeyUsage (as ``mobile``), the financial
    policy, OCSP → ``/ocsp``, caIssuers → ``/ca/financial-ca.der``,
    CRL → ``/crl/financial-<shard>.crl``. Subject gets OU ``financial``.
``joint-ca``
    The CA of the joint-certificate family (공동인증서), **RSA-2048 with SHA-256**, signed by
    the root (whatever the root's key is: NPKI readers check the leaf and its issuer, which
    are both RSA). 10 years, pathLen 0, the policy anyPolicy (it issues under two policies).
``joint-banking``, ``joint-general``
    The customer's joint certificate (end entity): banking-only (은행·신용카드·보험용) and
    general-purpose (범용). RSA-2048 keys only, made by the customer and certified through
    CMP; validity from ``settings.policy.joint_certificate_validity_days`` (1 year). keyUsage
    digitalSignature + nonRepudiation, no extendedKeyUsage; the identity (VID) as an
    otherName 1.2.410.200004.10.1.1 in subjectAltName (``carries_vid``); the subject is the
    NPKI shape ``cn=<name>()<number>, ou=<bank>, ou=personal4IB, o=<CA>, c=kr`` made by
    :func:`certcenter.pki.names.joint_subject`. OCSP → ``/ocsp``, caIssuers →
    ``/ca/joint-ca.der``, CRL → ``/crl/joint-<shard>.crl``. Policy: see below.
``ocsp-signer``
    The delegated OCSP responder of an issuing CA (RFC 6960 §4.2.2.2), EC P-256 signed by
    that CA, 1 year, re-issued by ``ensure_hierarchy`` in its last 30 days. keyUsage
    digitalSignature, extendedKeyUsage id-kp-OCSPSigning, id-pkix-ocsp-nocheck (clients do
    not ask about the responder's own status), no policy, no AIA, no CRL.
``tsa``
    The center's time-stamping authority (RFC 3161 §2.3), EC P-256 signed by the mobile
    issuing CA, 1 year, re-issued in its last 30 days. keyUsage digitalSignature +
    nonRepudiation, extendedKeyUsage id-kp-timeStamping **critical** and alone, no policy,
    no AIA, no CRL (see :mod:`certcenter.tsa`).

URLs are paths under ``settings.public_base_url``; the web layer must serve each of them.

Policy OIDs sit under ``settings.bank_oid_arc`` (call it ``A``)::

    A.1         certificate policies
    A.1.1         mobile (personal) certificate policy — in mobile and issuing-ca certificates
    A.1.2         financial certificate policy (금융인증서, key held by the center) — in
                  financial and financial-ca certificates
    A.1.3       joint certificate policies (공동인증서), used unless the CA claims the
                  NPKI arc (``settings.joint_policy_arc == "npki"``):
    A.1.3.1       general-purpose (범용), in place of 1.2.410.200005.1.1.1
    A.1.3.4       banking-only (은행·신용카드·보험용), in place of 1.2.410.200005.1.1.4
    A.1.4-      reserved for further certificate families (corporate, device, …)
    A.2         reserved for the bank's own extensions and attribute types

The real NPKI policy OIDs (1.2.410.200005.1.1.1 개인 범용, 1.2.410.200005.1.1.4 개인
은행·신용카드·보험용) belong to the licensed CAs under 금융결제원's arc; a CA that may use them
sets ``joint_policy_arc = "npki"``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from certcenter.config import Settings
from certcenter.errors import CertCenterError
from certcenter.keys.backend import KeyKind

__all__ = [
    "JOINT_PROFILES",
    "NPKI_POLICY_OIDS",
    "OCSP_SIGNER_RENEWAL",
    "OCSP_SIGNER_VALIDITY",
    "PROFILE_NAMES",
    "VID_OTHER_NAME_OID",
    "CertificateProfile",
    "KeyUsageBit",
    "ProfileName",
    "joint_policy_oid",
    "policy_oid",
    "production_identity_problems",
    "profile",
    "require_production_identity",
]

ProfileName = Literal[
    "root-ca",
    "issuing-ca",
    "mobile",
    "financial-ca",
    "financial",
    "joint-ca",
    "joint-banking",
    "joint-general",
    "ocsp-signer",
    "cmp-responder",
    "tsa",
]
PROFILE_NAMES: tuple[ProfileName, ...] = (
    "root-ca",
    "issuing-ca",
    "mobile",
    "financial-ca",
    "financial",
    "joint-ca",
    "joint-banking",
    "joint-general",
    "ocsp-signer",
    "cmp-responder",
    "tsa",
)
JOINT_PROFILES: tuple[ProfileName, ...] = ("joint-banking", "joint-general")

KeyUsageBit = Literal[
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
]

ROOT_VALIDITY = timedelta(days=7305)  # 20 years
ISSUING_VALIDITY = timedelta(days=3653)  # 10 years
OCSP_SIGNER_VALIDITY = timedelta(days=365)
OCSP_SIGNER_RENEWAL = timedelta(days=30)  # re-issued when less than this is left

CMC_RA = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.28")  # id-kp-cmcRA (RFC 6402)

# Sub-arcs of settings.bank_oid_arc (see the module docstring).
MOBILE_POLICY_SUBARC = "1.1"
FINANCIAL_POLICY_SUBARC = "1.2"
JOINT_POLICY_SUBARCS = {"joint-general": "1.3.1", "joint-banking": "1.3.4"}
# The NPKI (공동인증서) personal policies: 범용 and 은행·신용카드·보험용.
NPKI_POLICY_OIDS = {
    "joint-general": x509.ObjectIdentifier("1.2.410.200005.1.1.1"),
    "joint-banking": x509.ObjectIdentifier("1.2.410.200005.1.1.4"),
}
# The identity (VID) otherName of KISA's 식별번호 (본인확인) specification.
VID_OTHER_NAME_OID = x509.ObjectIdentifier("1.2.410.200004.10.1.1")
ANY_POLICY = x509.ObjectIdentifier("2.5.29.32.0")
# RFC 5612: IANA's private enterprise number for documentation; never a real bank's arc
DOCUMENTATION_ARC = "1.3.6.1.4.1.32473"
DEMO_BANK_NAME = "certcenter Demo Bank"


@dataclass(frozen=True)
class CertificateProfile:
    """Everything about a kind of certificate except who it is for and when it is made."""

    name: ProfileName
    validity: timedelta
    is_ca: bool
    path_length: int | None
    key_usage: frozenset[KeyUsageBit]
    extended_key_usage: tuple[x509.ObjectIdentifier, ...] | None
    policy_oid: x509.ObjectIdentifier | None
    allowed_key_kinds: tuple[KeyKind, ...]
    family: str | None  # the CA family the certificate belongs to; None for the root
    organizational_unit: str | None = None  # subject OU of end-entity certificates
    ocsp_path: str | None = None  # AIA id-ad-ocsp, under public_base_url
    ca_issuers_path: str | None = None  # AIA id-ad-caIssuers, under public_base_url
    crl_path: str | None = None  # cRLDistributionPoints, under public_base_url; "{shard}"
    # in it stands for the certificate's CRL partition (see for_crl_shard)
    ocsp_no_check: bool = False  # id-pkix-ocsp-nocheck (delegated OCSP responders)
    extended_key_usage_critical: bool = False  # RFC 3161 §2.3: the TSA's is critical
    carries_vid: bool = False  # subjectAltName: the identity (VID) otherName (joint)

    @property
    def has_aia(self) -> bool:
        return self.ocsp_path is not None or self.ca_issuers_path is not None

    @property
    def crl_partitioned(self) -> bool:
        return self.crl_path is not None and "{shard}" in self.crl_path

    def for_crl_shard(self, shard: int) -> CertificateProfile:
        """The profile with its CRL distribution point naming partition ``shard``."""
        if not self.crl_partitioned or self.crl_path is None:
            return self
        return replace(self, crl_path=self.crl_path.replace("{shard}", str(int(shard))))

    def key_usage_extension(self) -> x509.KeyUsage:
        bits = self.key_usage
        return x509.KeyUsage(
            digital_signature="digital_signature" in bits,
            content_commitment="content_commitment" in bits,
            key_encipherment="key_encipherment" in bits,
            data_encipherment="data_encipherment" in bits,
            key_agreement="key_agreement" in bits,
            key_cert_sign="key_cert_sign" in bits,
            crl_sign="crl_sign" in bits,
            encipher_only=False,
            decipher_only=False,
        )


def policy_oid(settings: Settings, subarc: str) -> x509.ObjectIdentifier:
    """``settings.bank_oid_arc`` + ``.subarc`` (ValueError if the arc is not a valid OID)."""
    return x509.ObjectIdentifier(f"{settings.bank_oid_arc.strip().rstrip('.')}.{subarc}")


def joint_policy_oid(settings: Settings, name: str) -> x509.ObjectIdentifier:
    """The policy of joint profile ``name``: the NPKI OID when the CA claims that arc
    (``settings.joint_policy_arc == "npki"``), else the bank's own (A.1.3.x)."""
    if settings.joint_policy_arc == "npki":
        return NPKI_POLICY_OIDS[name]
    return policy_oid(settings, JOINT_POLICY_SUBARCS[name])


def profile(name: str, settings: Settings) -> CertificateProfile:
    """The profile called ``name``; :class:`ValueError` for an unknown one."""
    mobile_policy = policy_oid(settings, MOBILE_POLICY_SUBARC)
    financial_policy = policy_oid(settings, FINANCIAL_POLICY_SUBARC)
    if name == "root-ca":
        return CertificateProfile(
            name="root-ca",
            validity=ROOT_VALIDITY,
            is_ca=True,
            path_length=None,
            key_usage=frozenset({"key_cert_sign", "crl_sign"}),
            extended_key_usage=None,
            policy_oid=None,
            allowed_key_kinds=("ec-p384",),
            family=None,
        )
    if name == "issuing-ca":
        return CertificateProfile(
            name="issuing-ca",
            validity=ISSUING_VALIDITY,
            is_ca=True,
            path_length=0,
            key_usage=frozenset({"digital_signature", "key_cert_sign", "crl_sign"}),
            extended_key_usage=None,
            policy_oid=mobile_policy,
            allowed_key_kinds=("ec-p256",),
            family="mobile",
            ca_issuers_path="/ca/root-ca.der",
            crl_path="/crl/root.crl",
        )
    if name == "mobile":
        return CertificateProfile(
            name="mobile",
            validity=timedelta(days=settings.policy.mobile_certificate_validity_days),
            is_ca=False,
            path_length=None,
            key_usage=frozenset({"digital_signature", "content_commitment"}),
            extended_key_usage=None,
            policy_oid=mobile_policy,
            allowed_key_kinds=("ec-p256",),
            family="mobile",
            organizational_unit="personal",
            ocsp_path="/ocsp",
            ca_issuers_path="/ca/mobile-ca.der",
            crl_path="/crl/mobile-{shard}.crl",
        )
    if name == "financial-ca":
        return CertificateProfile(
            name="financial-ca",
            validity=ISSUING_VALIDITY,
            is_ca=True,
            path_length=0,
            key_usage=frozenset({"digital_signature", "key_cert_sign", "crl_sign"}),
            extended_key_usage=None,
            policy_oid=financial_policy,
            allowed_key_kinds=("ec-p256",),
            family="financial",
            ca_issuers_path="/ca/root-ca.der",
            crl_path="/crl/root.crl",
        )
    if name == "financial":
        return CertificateProfile(
            name="financial",
            validity=timedelta(days=settings.policy.financial_certificate_validity_days),
            is_ca=False,
            path_length=None,
            key_usage=frozenset({"digital_signature", "content_commitment"}),
            extended_key_usage=None,
            policy_oid=financial_policy,
            allowed_key_kinds=("ec-p256",),
            family="financial",
            organizational_unit="financial",
            ocsp_path="/ocsp",
            ca_issuers_path="/ca/financial-ca.der",
            crl_path="/crl/financial-{shard}.crl",
        )
    if name == "joint-ca":
        return CertificateProfile(
            name="joint-ca",
            validity=ISSUING_VALIDITY,
            is_ca=True,
            path_length=0,
            key_usage=frozenset({"digital_signature", "key_cert_sign", "crl_sign"}),
            extended_key_usage=None,
            policy_oid=ANY_POLICY,
            allowed_key_kinds=("rsa-2048",),
            family="joint",
            ca_issuers_path="/ca/root-ca.der",
            crl_path="/crl/root.crl",
        )
    if name in JOINT_PROFILES:
        return CertificateProfile(
            name="joint-banking" if name == "joint-banking" else "joint-general",
            validity=timedelta(days=settings.policy.joint_certificate_validity_days),
            is_ca=False,
            path_length=None,
            key_usage=frozenset({"digital_signature", "content_commitment"}),
            extended_key_usage=None,
            policy_oid=joint_policy_oid(settings, name),
            allowed_key_kinds=("rsa-2048",),
            family="joint",
            organizational_unit=None,  # the NPKI subject: pki.names.joint_subject
            ocsp_path="/ocsp",
            ca_issuers_path="/ca/joint-ca.der",
            crl_path="/crl/joint-{shard}.crl",
            carries_vid=True,
        )
    if name == "ocsp-signer":
        return CertificateProfile(
            name="ocsp-signer",
            validity=OCSP_SIGNER_VALIDITY,
            is_ca=False,
            path_length=None,
            key_usage=frozenset({"digital_signature"}),
            extended_key_usage=(ExtendedKeyUsageOID.OCSP_SIGNING,),
            policy_oid=None,
            allowed_key_kinds=("ec-p256",),
            family=None,  # one per issuing CA, made by ensure_hierarchy (not by Issuer)
            ocsp_no_check=True,
        )
    if name == "cmp-responder":
        return CertificateProfile(
            name="cmp-responder",
            validity=OCSP_SIGNER_VALIDITY,
            is_ca=False,
            path_length=None,
            key_usage=frozenset({"digital_signature"}),
            extended_key_usage=(CMC_RA,),
            policy_oid=None,
            allowed_key_kinds=("ec-p256",),
            family=None,  # one per CMP server, made by certcenter.cmp.responder
        )
    if name == "tsa":
        return CertificateProfile(
            name="tsa",
            validity=OCSP_SIGNER_VALIDITY,
            is_ca=False,
            path_length=None,
            key_usage=frozenset({"digital_signature", "content_commitment"}),
            extended_key_usage=(ExtendedKeyUsageOID.TIME_STAMPING,),
            extended_key_usage_critical=True,
            policy_oid=None,
            allowed_key_kinds=("ec-p256",),
            family=None,  # one per center, made by certcenter.tsa.authority_key
        )
    raise ValueError(f"unknown certificate profile {name!r}; known: {', '.join(PROFILE_NAMES)}")


def _public_url_problem(name: str, url: str) -> str | None:
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme not in ("http", "https") or not host:
        return f"{name} must be an http(s) URL (now {url!r})"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{name} names this machine ({url}); relying parties cannot reach it"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if address.is_loopback or address.is_unspecified:
        return f"{name} names this machine ({url}); relying parties cannot reach it"
    return None


def production_identity_problems(settings: Settings) -> list[str]:
    """What keeps ``settings`` from writing a production CA's certificates: the demo bank's
    name, the documentation policy arc (RFC 5612), loopback URLs in AIA and CRL
    distribution points, no CPS. Empty: fine (also in demo, where nothing is checked)."""
    if settings.environment != "production":
        return []
    problems = []
    if not settings.bank_name.strip() or settings.bank_name.strip() == DEMO_BANK_NAME:
        problems.append("bank_name is the demo bank's; set the bank's legal name")
    arc = settings.bank_oid_arc.strip().rstrip(".")
    try:
        x509.ObjectIdentifier(arc)
    except ValueError:
        problems.append(f"bank_oid_arc {arc!r} is not an object identifier")
    else:
        if arc == DOCUMENTATION_ARC or arc.startswith(DOCUMENTATION_ARC + "."):
            problems.append(
                f"bank_oid_arc {arc} is the documentation arc (RFC 5612); "
                "set the arc the bank registered"
            )
    problem = _public_url_problem("public_base_url", settings.public_base_url)
    if problem is not None:
        problems.append(problem)
    if not settings.cps_url.strip():
        problems.append("cps_url is not set; certificate policies name the bank's CPS")
    else:
        problem = _public_url_problem("cps_url", settings.cps_url)
        if problem is not None:
            problems.append(problem)
    return problems


def require_production_identity(settings: Settings) -> None:
    """``CA_IDENTITY_NOT_CONFIGURED`` unless :func:`production_identity_problems` is empty:
    checked before any CA certificate is made or used in production."""
    problems = production_identity_problems(settings)
    if problems:
        raise CertCenterError("CA_IDENTITY_NOT_CONFIGURED", detail="; ".join(problems))
