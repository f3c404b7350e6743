"""Fixtures for the joint certificate's files: a throwaway RSA CA, an RSA-2048 leaf with the
KISA VID made from a resident number and a random value, and the password they are kept under.
The keys are made once per module: they are read-only for the tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.pki.vid import vid_other_name
from tests.support.throwaway_ca import ThrowawayCa

PASSWORD = "kb-Joint#2026"
OTHER_PASSWORD = "kb-Joint#2027"
RRN = "900101-1234567"
OTHER_RRN = "900101-2234567"
RANDOM = bytes.fromhex("8b1e2d3c4b5a69788796a5b4c3d2e1f00112233f")


@dataclass(frozen=True)
class Holder:
    """A joint certificate holder: the certificate, its key, the VID random value."""

    ca: ThrowawayCa
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    random_num: bytes

    @property
    def cert_der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)


@pytest.fixture(scope="module")
def ca() -> ThrowawayCa:
    return ThrowawayCa.make("yessign")


@pytest.fixture(scope="module")
def holder(ca: ThrowawayCa) -> Holder:
    leaf = ca.issue("홍길동()0012345678901234", vid=vid_other_name("홍길동", RRN, RANDOM))
    return Holder(ca=ca, certificate=leaf.certificate, key=leaf.key, random_num=RANDOM)
