"""The center's time-stamping authority (타임스탬프, RFC 3161): it answers time-stamp queries
and stamps the signature of every piece of evidence the center keeps.

    tsa = TimeStampAuthority(key, settings, clock)
    reply = tsa.respond(query_der)           # TimeStampResp DER: granted, or a rejection
    token = tsa.token(signature_value)       # a token over SHA-256 of the bytes (evidence)
    openssl ts -query -data file -sha256 -cert -out q.tsq
    curl --data-binary @q.tsq -H 'Content-Type: application/timestamp-query' .../tsa
    openssl ts -verify -data file -in reply.tsr -CAfile root-ca.pem

A token is CMS SignedData (content type id-ct-TSTInfo) signed by the authority's key
(:mod:`certcenter.tsa.key`) over the signed attributes contentType, signingTime,
messageDigest and signingCertificateV2 (RFC 5816: the SHA-256 of the authority's
certificate, which ``openssl ts -verify`` requires). TSTInfo carries the policy
``<bank_oid_arc>.3.1``, the query's message imprint and nonce, a random 127-bit serial
number, genTime to the second with an accuracy of one second, and the authority's name.
The authority's certificate and the chain above it are in the token when the query asks for
them (``certReq``) and always in the evidence's tokens, so the evidence is whole.

A query it cannot grant is answered with PKIStatus rejection and the failInfo bit RFC 3161
§2.4.2 names: ``badDataFormat`` (not a TimeStampReq, or not version 1), ``badAlg`` (a hash
other than SHA-256, SHA-384 or SHA-512, or an imprint of the wrong length),
``unacceptedPolicy`` (another policy asked for), ``unacceptedExtension`` (any extension).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC

from asn1crypto import algos as asn1_algos
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import tsp as asn1_tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.clock import Clock
from certcenter.config import Settings
from certcenter.pki.profiles import policy_oid
from certcenter.tsa.key import TsaKey

__all__ = [
    "DIGEST_SIZES",
    "MAX_QUERY_BYTES",
    "TSA_POLICY_SUBARC",
    "Rejection",
    "TimeStampAuthority",
    "TimeStampReply",
]

TSA_POLICY_SUBARC = "3.1"  # <bank_oid_arc>.3: time-stamping policies
DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
MAX_QUERY_BYTES = 4096  # a query with a SHA-512 imprint and a nonce is under 100 bytes


class Rejection(Exception):  # noqa: N818 - RFC 3161's word: PKIStatus rejection
    """A query the authority does not grant: the failInfo bit and why (statusString)."""

    def __init__(self, fail_info: str, reason: str) -> None:
        super().__init__(reason)
        self.fail_info = fail_info  # asn1crypto's name of the PKIFailureInfo bit: "bad_alg", …
        self.reason = reason


class TimeStampAuthority:
    """Answers RFC 3161 queries and makes tokens with the key of :class:`TsaKey`."""

    def __init__(self, key: TsaKey, settings: Settings, clock: Clock) -> None:
        self.key = key
        self.clock = clock
        self.policy = policy_oid(settings, TSA_POLICY_SUBARC).dotted_string

    # ------------------------------------------------------------------ the protocol

    def respond(self, query: bytes) -> bytes:
        """The DER TimeStampResp to a DER TimeStampReq: granted with a token, or rejected
        with the failInfo that says why. Never raises for what the query holds."""
        try:
            request = self._read(query)
        except Rejection as rejection:
            return self.rejection(rejection)
        token = self._token(
            request["message_imprint"],
            nonce=request["nonce"].native,
            with_certificates=bool(request["cert_req"].native),
        )
        return bytes(
            TimeStampReply({"status": {"status": "granted"}, "time_stamp_token": token}).dump()
        )

    @staticmethod
    def rejection(rejection: Rejection) -> bytes:
        """The DER TimeStampResp that refuses: PKIStatus rejection, its failInfo and text."""
        return bytes(
            TimeStampReply(
                {
                    "status": {
                        "status": "rejection",
                        "status_string": [rejection.reason],
                        "fail_info": {rejection.fail_info},
                    }
                }
            ).dump()
        )

    # ------------------------------------------------------------------ the evidence

    def token(self, data: bytes) -> bytes:
        """A DER time-stamp token (ContentInfo) over SHA-256 of ``data`` — for the evidence,
        over a signature value (RFC 3161 Appendix A) — with the authority's certificates."""
        imprint = asn1_tsp.MessageImprint(
            {
                "hash_algorithm": asn1_algos.DigestAlgorithm(
                    {"algorithm": "sha256", "parameters": None}
                ),
                "hashed_message": hashlib.sha256(data).digest(),
            }
        )
        return bytes(self._token(imprint, nonce=None, with_certificates=True).dump())

    # ------------------------------------------------------------------ internals

    def _read(self, query: bytes) -> asn1_tsp.TimeStampReq:
        if not query or len(query) > MAX_QUERY_BYTES:
            raise Rejection("bad_data_format", "the query is empty or too long")
        try:
            request = asn1_tsp.TimeStampReq.load(query, strict=True)
            request.native  # parses every field: a broken one fails here  # noqa: B018
            version = request["version"].native
            algorithm = request["message_imprint"]["hash_algorithm"]["algorithm"].native
            digest = bytes(request["message_imprint"]["hashed_message"].native)
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            kind = exc.__class__.__name__
            raise Rejection("bad_data_format", f"not a TimeStampReq ({kind})") from None
        if version != "v1":
            raise Rejection("bad_data_format", f"version {version} is not supported")
        if algorithm not in DIGEST_SIZES:
            raise Rejection("bad_alg", f"hash {algorithm} is not accepted: SHA-256/384/512")
        if len(digest) != DIGEST_SIZES[algorithm]:
            raise Rejection("bad_alg", f"the imprint is not a {algorithm} digest")
        policy = request["req_policy"].native
        if policy is not None and policy != self.policy:
            raise Rejection("unaccepted_policy", f"policy {policy} is not ours ({self.policy})")
        if not isinstance(request["extensions"], asn1_core.Void) and len(request["extensions"]):
            raise Rejection("unaccepted_extensions", "no extension is supported")
        return request

    def _token(
        self, imprint: asn1_tsp.MessageImprint, *, nonce: int | None, with_certificates: bool
    ) -> asn1_cms.ContentInfo:
        held = self.key.current()
        certificate = asn1_x509.Certificate.load(held.certificate.public_bytes(Encoding.DER))
        now = self.clock.now().astimezone(UTC).replace(microsecond=0)
        info: dict[str, object] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(127) | 1,
            "gen_time": now,
            "accuracy": {"seconds": 1},
            "tsa": asn1_x509.GeneralName({"directory_name": certificate.subject}),
        }
        if nonce is not None:
            info["nonce"] = nonce
        tst_info = asn1_tsp.TSTInfo(info)
        content = tst_info.dump()
        attributes = asn1_cms.CMSAttributes(
            [
                asn1_cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                asn1_cms.CMSAttribute(
                    {"type": "signing_time", "values": [asn1_cms.Time({"utc_time": now})]}
                ),
                asn1_cms.CMSAttribute(
                    {"type": "message_digest", "values": [hashlib.sha256(content).digest()]}
                ),
                asn1_cms.CMSAttribute(
                    {
                        "type": "signing_certificate_v2",
                        "values": [
                            {
                                "certs": [
                                    {
                                        "cert_hash": hashlib.sha256(certificate.dump()).digest(),
                                        "issuer_serial": {
                                            "issuer": [
                                                asn1_x509.GeneralName(
                                                    {"directory_name": certificate.issuer}
                                                )
                                            ],
                                            "serial_number": certificate.serial_number,
                                        },
                                    }
                                ]
                            }
                        ],
                    }
                ),
            ]
        )
        signature = self.key.sign(b"\x31" + attributes.dump()[1:])
        # RFC 5754 §2: the SHA-2 AlgorithmIdentifiers carry no parameters (not even NULL)
        digest_algorithm = asn1_cms.DigestAlgorithm({"algorithm": "sha256", "parameters": None})
        signer_info = asn1_cms.SignerInfo(
            {
                "version": "v1",
                "sid": {
                    "issuer_and_serial_number": {
                        "issuer": certificate.issuer,
                        "serial_number": certificate.serial_number,
                    }
                },
                "digest_algorithm": digest_algorithm,
                "signed_attrs": attributes,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": signature,
            }
        )
        signed: dict[str, object] = {
            "version": "v3",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": asn1_core.ParsableOctetString(content),
            },
            "signer_infos": [signer_info],
        }
        if with_certificates:
            signed["certificates"] = [
                certificate,
                *(_asn1_certificate(c) for c in held.chain[:-1]),  # the root is the anchor
            ]
        return asn1_cms.ContentInfo({"content_type": "signed_data", "content": signed})


class TimeStampReply(asn1_core.Sequence):  # type: ignore[misc]
    """TimeStampResp (RFC 3161 §2.4.2) with its token OPTIONAL, as the RFC has it: present
    when granted, absent when rejected. asn1crypto's ``TimeStampResp`` requires one, so it
    can neither encode nor read a rejection."""

    _fields = [  # noqa: RUF012 - asn1crypto's class API
        ("status", asn1_tsp.PKIStatusInfo),
        ("time_stamp_token", asn1_cms.ContentInfo, {"optional": True}),
    ]


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
