"""The ASN.1 of the NPKI files (asn1crypto): encrypted and plain PKCS#8, PKCS#5 parameters.

    info = EncryptedPrivateKeyInfo.load(data, strict=True)
    info["encryption_algorithm"]["algorithm"].dotted     # '1.2.410.200004.1.15'

Only the structures the files use; generic enough that PBES2 parameters of any cipher load.
"""

from __future__ import annotations

from asn1crypto import core, keys

__all__ = [
    "AlgorithmIdentifier",
    "AnySet",
    "Attribute",
    "Attributes",
    "EncryptedPrivateKeyInfo",
    "PbeParameter",
    "Pbes2Params",
    "Pbkdf2Params",
    "PrivateKeyInfo",
]


class AlgorithmIdentifier(core.Sequence):  # type: ignore[misc]  # asn1crypto has no hints
    _fields = [  # noqa: RUF012
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


class PbeParameter(core.Sequence):  # type: ignore[misc]
    _fields = [("salt", core.OctetString), ("iterations", core.Integer)]  # noqa: RUF012


class Pbkdf2Params(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("salt", core.OctetString),
        ("iterations", core.Integer),
        ("key_length", core.Integer, {"optional": True}),
        ("prf", AlgorithmIdentifier, {"optional": True}),
    ]


class Pbes2Params(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("key_derivation_func", AlgorithmIdentifier),
        ("encryption_scheme", AlgorithmIdentifier),
    ]


class EncryptedPrivateKeyInfo(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("encryption_algorithm", AlgorithmIdentifier),
        ("encrypted_data", core.OctetString),
    ]


class AnySet(core.SetOf):  # type: ignore[misc]
    _child_spec = core.Any


class Attribute(core.Sequence):  # type: ignore[misc]
    _fields = [("type", core.ObjectIdentifier), ("values", AnySet)]  # noqa: RUF012


class Attributes(core.SetOf):  # type: ignore[misc]
    _child_spec = Attribute


class PrivateKeyInfo(core.Sequence):  # type: ignore[misc]
    _fields = [  # noqa: RUF012
        ("version", core.Integer),
        ("private_key_algorithm", keys.PrivateKeyAlgorithm),
        ("private_key", core.OctetString),
        ("attributes", Attributes, {"implicit": 0, "optional": True}),
    ]
