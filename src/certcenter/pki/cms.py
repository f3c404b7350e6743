"""CMS SignedData (RFC 5652) around a signature made elsewhere — on the customer's device, by
the customer's joint-certificate software, or by the center with the customer's cloud key.

The signer signs the bytes itself with its certificate key — ECDSA-SHA256 (the mobile and the
financial certificate) or RSA PKCS#1 v1.5 with SHA-256 (the joint certificate); the center
wraps that signature, the signer's certificate and its chain into a SignedData any CMS tool
checks, naming the signature algorithm after the signer's key (``sha256_ecdsa`` or
``sha256_rsa``):

    der = signed_data(document, signature_der, signer_cert, chain)           # content inside
    der = signed_data(document, signature_der, signer_cert, chain, detached=True)
    openssl cms -verify -inform DER -in evidence.p7m -CAfile root.pem      # prints the document

With a signing time the SignerInfo carries the signed attributes contentType (id-data),
signingTime and messageDigest (SHA-256 of the content), and the signature is over their DER
(RFC 5652 §5.4, the SET OF in DER order): :func:`signed_attributes` gives exactly those
bytes, for the signer to sign. Without one (a signature an older app made over the content
itself) the SignerInfo carries no signed attributes. Either way a time-stamp token over the
signature value (RFC 3161 Appendix A) may ride as the unsigned attribute
id-aa-signatureTimeStampToken:

    to_sign = signed_attributes(document, signing_time)                    # what the key signs
    der = signed_data(document, signature_der, signer_cert, chain,
                      signing_time=signing_time, timestamp=token_der)

:func:`verify_signed_data` checks either form (messageDigest over the content, signature over
the attributes) and hands back the signing time and the time-stamp token it found.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

# id-aa-signatureTimeStampToken (an OID, not a secret)
SIGNATURE_TIME_STAMP_TOKEN = "1.2.840.113549.1.9.16.2.14"  # noqa: S105
_DIGESTS = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


class CmsError(ValueError):
    """The structure is not a SignedData this center can check, or it does not verify."""


def signed_attributes(content: bytes, signing_time: datetime) -> bytes:
    """The DER SET OF the three signed attributes over ``content`` (RFC 5652 §11): what the
    signer signs when the SignerInfo carries them. contentType id-data, signingTime (UTCTime
    to the second, as §11.3 asks for 1950–2049), messageDigest SHA-256 of ``content``; the
    SET OF is in DER order (asn1crypto sorts the encodings)."""
    encoded: bytes = _attributes(content, signing_time).dump()
    return b"\x31" + encoded[1:]


def _attributes(content: bytes, signing_time: datetime) -> asn1_cms.CMSAttributes:
    if signing_time.tzinfo is None:
        raise ValueError("the signing time must be aware")
    when = signing_time.astimezone(UTC).replace(microsecond=0)
    return asn1_cms.CMSAttributes(
        [
            asn1_cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            asn1_cms.CMSAttribute(
                {"type": "signing_time", "values": [asn1_cms.Time({"utc_time": when})]}
            ),
            asn1_cms.CMSAttribute(
                {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
            ),
        ]
    )


def signed_data(
    content: bytes,
    signature: bytes,
    signer: x509.Certificate,
    chain: Sequence[x509.Certificate],
    *,
    detached: bool = False,
    signing_time: datetime | None = None,
    timestamp: bytes | None = None,
) -> bytes:
    """A DER ContentInfo holding SignedData: ``signature`` by ``signer`` (DER ECDSA or RSA
    PKCS#1 v1.5 with SHA-256, after the signer's key) over :func:`signed_attributes` of
    ``content`` and ``signing_time`` — or over ``content`` itself when there is no signing
    time —, the signer's certificate and ``chain``; the content inside unless ``detached``;
    ``timestamp`` (a DER time-stamp token over ``signature``) as an unsigned attribute."""
    certificates = [
        asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in (signer, *chain)
    ]
    signer_asn1 = certificates[0]
    # RFC 5754 §2: the SHA-2 AlgorithmIdentifiers carry no parameters (not even NULL)
    digest_algorithm = asn1_cms.DigestAlgorithm({"algorithm": "sha256", "parameters": None})
    encapsulated: dict[str, object] = {"content_type": "data"}
    if not detached:
        encapsulated["content"] = asn1_core.OctetString(content)
    signer_info = asn1_cms.SignerInfo(
        {
            "version": "v1",
            "sid": asn1_cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": asn1_cms.IssuerAndSerialNumber(
                        {
                            "issuer": signer_asn1.issuer,
                            "serial_number": signer_asn1.serial_number,
                        }
                    )
                }
            ),
            "digest_algorithm": digest_algorithm,
            "signature_algorithm": signature_algorithm(signer),
            "signature": signature,
        }
    )
    if signing_time is not None:
        signer_info["signed_attrs"] = _attributes(content, signing_time)
    if timestamp is not None:
        signer_info["unsigned_attrs"] = asn1_cms.CMSAttributes(
            [
                asn1_cms.CMSAttribute(
                    {
                        "type": "signature_time_stamp_token",
                        "values": [asn1_cms.ContentInfo.load(timestamp)],
                    }
                )
            ]
        )
    signed = asn1_cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": encapsulated,
            "certificates": certificates,
            "signer_infos": [signer_info],
        }
    )
    return bytes(asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def signature_algorithm(signer: x509.Certificate) -> asn1_cms.SignedDigestAlgorithm:
    """The SignerInfo's signature algorithm for the signer's key: ``ecdsa-with-SHA256`` (no
    parameters, RFC 5758) or ``sha256WithRSAEncryption`` (parameters NULL, RFC 4055)."""
    public_key = signer.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return asn1_cms.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    if isinstance(public_key, rsa.RSAPublicKey):
        return asn1_cms.SignedDigestAlgorithm(
            {"algorithm": "sha256_rsa", "parameters": asn1_core.Null()}
        )
    raise CmsError("only ECDSA and RSA signers are supported")


@dataclass(frozen=True)
class VerifiedSignature:
    signer: x509.Certificate
    content: bytes
    certificates: list[x509.Certificate]
    signing_time: datetime | None
    signature: bytes = b""  # the SignerInfo's signature value (what a time-stamp covers)
    timestamp: bytes | None = None  # the time-stamp token over it, DER, if there is one


def verify_signed_data(der: bytes, content: bytes | None = None) -> VerifiedSignature:
    """Check the (single) signature of a SignedData; ``content`` for a detached one. Says
    nothing yet about whom the signer's certificate belongs to: check its chain and status."""
    try:
        info = asn1_cms.ContentInfo.load(der, strict=True)
        if info["content_type"].native != "signed_data":
            raise CmsError("not CMS SignedData")
        signed = info["content"]
        encapsulated = signed["encap_content_info"]["content"]
        inside = None if isinstance(encapsulated, asn1_core.Void) else bytes(encapsulated.native)
        certificates = [
            x509.load_der_x509_certificate(c.chosen.dump())
            for c in (signed["certificates"] or [])
            if c.name == "certificate"
        ]
        signer_infos = list(signed["signer_infos"])
    except CmsError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise CmsError(f"not a readable CMS structure ({exc.__class__.__name__})") from None
    if inside is not None and content is not None and not hmac.compare_digest(inside, content):
        raise CmsError("the document differs from the content inside the signature")
    data = inside if inside is not None else content
    if data is None:
        raise CmsError("detached signature: the signed document is needed")
    if len(signer_infos) != 1:
        raise CmsError("exactly one signer is supported")
    signer_info = signer_infos[0]
    signer = _find_signer(signer_info, certificates)
    digest_name = signer_info["digest_algorithm"]["algorithm"].native
    if digest_name not in _DIGESTS:
        raise CmsError(f"digest algorithm {digest_name} is not accepted")
    algorithm = _DIGESTS[digest_name]
    signature = bytes(signer_info["signature"].native)
    attributes = signer_info["signed_attrs"]
    signing_time = None
    if isinstance(attributes, asn1_core.Void) or len(attributes) == 0:
        signed_bytes = data
    else:
        values = {a["type"].native: a["values"][0] for a in attributes}
        expected = hashlib.new(digest_name, data).digest()
        digest = values.get("message_digest")
        if digest is None or not hmac.compare_digest(bytes(digest.native), expected):
            raise CmsError("the message digest does not match the document")
        if "signing_time" in values:
            signing_time = values["signing_time"].native
        signed_bytes = b"\x31" + attributes.dump()[1:]  # DER of the SET OF, not the [0] tag
    public_key = signer.public_key()
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed_bytes, ec.ECDSA(algorithm))
        elif isinstance(public_key, rsa.RSAPublicKey):
            scheme = signer_info["signature_algorithm"].signature_algo
            if scheme != "rsassa_pkcs1v15":
                raise CmsError(f"RSA signature scheme {scheme} is not accepted")
            public_key.verify(signature, signed_bytes, padding.PKCS1v15(), algorithm)
        else:
            raise CmsError("only ECDSA and RSA signers are accepted")
    except InvalidSignature:
        raise CmsError("the signature does not verify") from None
    return VerifiedSignature(
        signer=signer,
        content=data,
        certificates=certificates,
        signing_time=signing_time,
        signature=signature,
        timestamp=_timestamp_token(signer_info),
    )


def _timestamp_token(signer_info: asn1_cms.SignerInfo) -> bytes | None:
    attributes = signer_info["unsigned_attrs"]
    if isinstance(attributes, asn1_core.Void):
        return None
    for attribute in attributes:
        if attribute["type"].dotted == SIGNATURE_TIME_STAMP_TOKEN and len(attribute["values"]):
            return bytes(attribute["values"][0].dump())
    return None


def _find_signer(
    signer_info: asn1_cms.SignerInfo, certificates: list[x509.Certificate]
) -> x509.Certificate:
    sid = signer_info["sid"]
    if sid.name != "issuer_and_serial_number":
        raise CmsError("the signer must be named by issuer and serial number")
    serial = sid.chosen["serial_number"].native
    issuer = sid.chosen["issuer"].dump()
    for certificate in certificates:
        wrapped = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
        if wrapped.serial_number == serial and wrapped.issuer.dump() == issuer:
            return certificate
    raise CmsError("the signer's certificate is not in the structure")
