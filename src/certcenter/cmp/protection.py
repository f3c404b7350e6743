"""Message protection (RFC 4210 §5.1.3, RFC 9481 §6): password-based MACs keyed by the
authorization code (인가코드) and signatures.

    mac = MacAlgorithm.parse(header.protection_alg, bounds)   # PasswordBasedMac or PBMAC1
    mac.verify(secret, protected_part, protection)            # CMP_PROTECTION_INVALID
    answer_mac = mac.fresh()                                  # the same parameters, new salt

    verify_signature(algorithm, public_key, signature, data)  # RSA PKCS#1 v1.5, ECDSA, Ed25519

Iteration counts are bounded (``MacBounds``, from the policy): a client that names a million
rounds gets ``CMP_MAC_PARAMETERS_REFUSED`` before any work is done, so a request cannot make
the server hash for minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from pyasn1.codec.der import decoder as der_decoder
from pyasn1.type import univ
from pyasn1_alt_modules import rfc4210, rfc5280, rfc8018

from certcenter.cmp.messages import UNREADABLE, encode
from certcenter.cmp.responder import ECDSA_WITH_SHA256, ECDSA_WITH_SHA384
from certcenter.errors import CertCenterError

__all__ = [
    "ECDSA_WITH_SHA256",
    "ECDSA_WITH_SHA384",
    "MacAlgorithm",
    "MacBounds",
    "is_mac",
    "signature_algorithm",
    "verify_signature",
]

PASSWORD_BASED_MAC = rfc4210.id_PasswordBasedMac  # 1.2.840.113533.7.66.13
PBMAC1 = rfc8018.id_PBMAC1  # 1.2.840.113549.1.5.14
PBKDF2 = rfc8018.id_PBKDF2

_OWF: Final[dict[str, str]] = {  # one-way functions of PasswordBasedMac (no SHA-1)
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_HMAC: Final[dict[str, str]] = {  # MACs: HMAC-SHA1 is what OpenSSL 3.0 sends by default
    "1.3.6.1.5.5.8.1.2": "sha1",  # hMAC-SHA1 (RFC 2104 arc, as RFC 4210 names it)
    "1.2.840.113549.2.7": "sha1",  # id-hmacWithSHA1
    "1.2.840.113549.2.9": "sha256",
    "1.2.840.113549.2.10": "sha384",
    "1.2.840.113549.2.11": "sha512",
}
_PRF: Final[dict[str, str]] = {  # PBKDF2's pseudorandom functions (no SHA-1)
    "1.2.840.113549.2.9": "sha256",
    "1.2.840.113549.2.10": "sha384",
    "1.2.840.113549.2.11": "sha512",
}
_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
MAX_SALT = 128
MIN_SALT = 8

_SIGNATURES: Final[dict[str, tuple[str, str | None]]] = {
    "1.2.840.113549.1.1.11": ("rsa", "sha256"),
    "1.2.840.113549.1.1.12": ("rsa", "sha384"),
    "1.2.840.113549.1.1.13": ("rsa", "sha512"),
    ECDSA_WITH_SHA256: ("ec", "sha256"),
    ECDSA_WITH_SHA384: ("ec", "sha384"),
    "1.2.840.10045.4.3.4": ("ec", "sha512"),
    "1.3.101.112": ("ed25519", None),
}


def _refuse(detail: str) -> CertCenterError:
    return CertCenterError("CMP_MAC_PARAMETERS_REFUSED", detail=detail)


def _unsupported(detail: str) -> CertCenterError:
    return CertCenterError("CMP_PROTECTION_UNSUPPORTED", detail=detail)


@dataclass(frozen=True)
class MacBounds:
    """How much work a client may ask of a MAC (from the policy)."""

    pbm_min: int = 100
    pbm_max: int = 100_000
    pbkdf2_min: int = 1000
    pbkdf2_max: int = 600_000


def is_mac(algorithm: rfc5280.AlgorithmIdentifier) -> bool:
    return algorithm["algorithm"] in (PASSWORD_BASED_MAC, PBMAC1)


def _parameters(algorithm: rfc5280.AlgorithmIdentifier, spec: univ.Sequence) -> univ.Sequence:
    if not algorithm["parameters"].isValue:
        raise _refuse("the MAC has no parameters")
    try:
        value, rest = der_decoder.decode(bytes(algorithm["parameters"]), asn1Spec=spec)
    except UNREADABLE:
        raise _refuse("the MAC's parameters cannot be read") from None
    if rest:
        raise _refuse("bytes after the MAC's parameters")
    return value


def _hmac_name(algorithm: rfc5280.AlgorithmIdentifier, table: dict[str, str], what: str) -> str:
    name = table.get(str(algorithm["algorithm"]))
    if name is None:
        raise _refuse(f"{what} {algorithm['algorithm']} is not accepted")
    return name


@dataclass(frozen=True)
class MacAlgorithm:
    """A password-based MAC with its parameters: ``kind`` is ``pbm`` (PasswordBasedMac) or
    ``pbmac1`` (PBKDF2 + HMAC)."""

    kind: str
    salt: bytes
    iterations: int
    key_hash: str  # PBM: the OWF; PBMAC1: PBKDF2's PRF
    mac_hash: str
    key_length: int | None = None  # PBMAC1 only
    owf_oid: str = ""
    mac_oid: str = ""
    prf_oid: str = ""

    @classmethod
    def parse(cls, algorithm: rfc5280.AlgorithmIdentifier, bounds: MacBounds) -> MacAlgorithm:
        oid = algorithm["algorithm"]
        if oid == PASSWORD_BASED_MAC:
            return cls._parse_pbm(algorithm, bounds)
        if oid == PBMAC1:
            return cls._parse_pbmac1(algorithm, bounds)
        raise _unsupported(f"protection {oid} is not a password-based MAC")

    @classmethod
    def _parse_pbm(cls, algorithm: rfc5280.AlgorithmIdentifier, bounds: MacBounds) -> MacAlgorithm:
        params = _parameters(algorithm, rfc4210.PBMParameter())
        salt = bytes(params["salt"])
        iterations = int(params["iterationCount"])
        if not MIN_SALT <= len(salt) <= MAX_SALT:
            raise _refuse(f"salt of {len(salt)} bytes (8 to 128 accepted)")
        if not bounds.pbm_min <= iterations <= bounds.pbm_max:
            raise _refuse(
                f"iterationCount {iterations} (from {bounds.pbm_min} to {bounds.pbm_max})"
            )
        owf = _hmac_name(params["owf"], _OWF, "one-way function")
        mac = _hmac_name(params["mac"], _HMAC, "MAC")
        return cls(
            "pbm",
            salt,
            iterations,
            owf,
            mac,
            owf_oid=str(params["owf"]["algorithm"]),
            mac_oid=str(params["mac"]["algorithm"]),
        )

    @classmethod
    def _parse_pbmac1(
        cls, algorithm: rfc5280.AlgorithmIdentifier, bounds: MacBounds
    ) -> MacAlgorithm:
        params = _parameters(algorithm, rfc8018.PBMAC1_params())
        kdf = params["keyDerivationFunc"]
        if kdf["algorithm"] != PBKDF2:
            raise _refuse(f"key derivation {kdf['algorithm']} is not PBKDF2")
        kdf_params = _parameters(kdf, rfc8018.PBKDF2_params())
        if kdf_params["salt"].getName() != "specified":
            raise _refuse("PBKDF2's salt must be given")
        salt = bytes(kdf_params["salt"]["specified"])
        iterations = int(kdf_params["iterationCount"])
        if not MIN_SALT <= len(salt) <= MAX_SALT:
            raise _refuse(f"salt of {len(salt)} bytes (8 to 128 accepted)")
        if not bounds.pbkdf2_min <= iterations <= bounds.pbkdf2_max:
            raise _refuse(
                f"iterationCount {iterations} (from {bounds.pbkdf2_min} to {bounds.pbkdf2_max})"
            )
        prf = _hmac_name(kdf_params["prf"], _PRF, "PBKDF2 PRF")
        mac = _hmac_name(params["messageAuthScheme"], _PRF, "MAC")
        key_length = None
        if kdf_params["keyLength"].isValue:
            key_length = int(kdf_params["keyLength"])
            if not 16 <= key_length <= 64:
                raise _refuse(f"keyLength {key_length} (16 to 64 accepted)")
        return cls(
            "pbmac1",
            salt,
            iterations,
            prf,
            mac,
            key_length=key_length,
            prf_oid=str(kdf_params["prf"]["algorithm"]),
            mac_oid=str(params["messageAuthScheme"]["algorithm"]),
        )

    def key(self, secret: bytes) -> bytes:
        if self.kind == "pbm":
            # RFC 4210 §5.1.3.1: the OWF over secret||salt, then over its own output,
            # iterationCount times in all
            digest = hashlib.new(self.key_hash, secret + self.salt).digest()
            for _ in range(self.iterations - 1):
                digest = hashlib.new(self.key_hash, digest).digest()
            return digest
        length = self.key_length or hashlib.new(self.mac_hash).digest_size
        kdf = PBKDF2HMAC(
            algorithm=_HASHES[self.key_hash](),
            length=length,
            salt=self.salt,
            iterations=self.iterations,
        )
        return kdf.derive(secret)

    def mac(self, secret: bytes, data: bytes) -> bytes:
        return hmac.new(self.key(secret), data, self.mac_hash).digest()

    def verify(self, secret: bytes, data: bytes, protection: bytes) -> bool:
        return hmac.compare_digest(self.mac(secret, data), protection)

    def fresh(self) -> MacAlgorithm:
        """The same algorithm and work with a new salt, for the answer."""
        return MacAlgorithm(
            self.kind,
            secrets.token_bytes(16),
            self.iterations,
            self.key_hash,
            self.mac_hash,
            key_length=self.key_length,
            owf_oid=self.owf_oid,
            mac_oid=self.mac_oid,
            prf_oid=self.prf_oid,
        )

    def algorithm_identifier(self) -> rfc5280.AlgorithmIdentifier:
        identifier = rfc5280.AlgorithmIdentifier()
        if self.kind == "pbm":
            params = rfc4210.PBMParameter()
            params["salt"] = self.salt
            params["owf"]["algorithm"] = univ.ObjectIdentifier(self.owf_oid)
            params["iterationCount"] = self.iterations
            params["mac"]["algorithm"] = univ.ObjectIdentifier(self.mac_oid)
            identifier["algorithm"] = PASSWORD_BASED_MAC
            identifier["parameters"] = encode(params)
            return identifier
        kdf_params = rfc8018.PBKDF2_params()
        kdf_params["salt"]["specified"] = self.salt
        kdf_params["iterationCount"] = self.iterations
        if self.key_length is not None:
            kdf_params["keyLength"] = self.key_length
        kdf_params["prf"]["algorithm"] = univ.ObjectIdentifier(self.prf_oid)
        kdf_params["prf"]["parameters"] = encode(univ.Null(""))
        params = rfc8018.PBMAC1_params()
        params["keyDerivationFunc"]["algorithm"] = PBKDF2
        params["keyDerivationFunc"]["parameters"] = encode(kdf_params)
        params["messageAuthScheme"]["algorithm"] = univ.ObjectIdentifier(self.mac_oid)
        params["messageAuthScheme"]["parameters"] = encode(univ.Null(""))
        identifier["algorithm"] = PBMAC1
        identifier["parameters"] = encode(params)
        return identifier


def signature_algorithm(oid: str) -> rfc5280.AlgorithmIdentifier:
    """An AlgorithmIdentifier without parameters (ECDSA, RFC 5758)."""
    identifier = rfc5280.AlgorithmIdentifier()
    identifier["algorithm"] = univ.ObjectIdentifier(oid)
    return identifier


def verify_signature(
    algorithm: rfc5280.AlgorithmIdentifier,
    public_key: PublicKeyTypes,
    signature: bytes,
    data: bytes,
) -> bool:
    """Whether ``signature`` over ``data`` verifies with ``public_key`` under ``algorithm``;
    ``CMP_PROTECTION_UNSUPPORTED`` for an algorithm (or key) not accepted."""
    known = _SIGNATURES.get(str(algorithm["algorithm"]))
    if known is None:
        raise _unsupported(f"signature algorithm {algorithm['algorithm']} is not accepted")
    kind, hash_name = known
    try:
        if kind == "rsa" and isinstance(public_key, rsa.RSAPublicKey) and hash_name:
            public_key.verify(signature, data, padding.PKCS1v15(), _HASHES[hash_name]())
            return True
        if kind == "ec" and isinstance(public_key, ec.EllipticCurvePublicKey) and hash_name:
            public_key.verify(signature, data, ec.ECDSA(_HASHES[hash_name]()))
            return True
        if kind == "ed25519" and isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
            return True
    except InvalidSignature:
        return False
    raise _unsupported("the signature algorithm does not fit the key")
