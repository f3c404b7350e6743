"""A customer with a joint certificate issued by the center's authority, in an NPKI folder, and
the certificate software's part: sign the login challenge, transfers and documents."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from certcenter.bootstrap import Center
from certcenter.npki import KeyFileForm, write_folder
from tests.joint.support import Registrant, enroll, rsa_key

PASSWORD = "kb-Joint#2026"


@dataclass(frozen=True)
class JointHolder:
    person: str
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    random_num: bytes
    npki: Path  # the NPKI folder (its root)
    folder: Path  # the certificate's folder under it

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(Encoding.DER)

    @property
    def der_b64(self) -> str:
        return base64.b64encode(self.der).decode()

    @property
    def serial(self) -> str:
        return format(self.certificate.serial_number, "X")

    def sign(self, data: bytes, key: rsa.RSAPrivateKey | None = None) -> str:
        """What the certificate software sends: base64 RSA PKCS#1 v1.5 SHA-256."""
        raw = (key or self.key).sign(data, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(raw).decode()


def joint_holder(
    center: Center,
    tmp_path: Path,
    person: str = "C001",
    *,
    index: int = 0,
    form: KeyFileForm = KeyFileForm.PBES2,
) -> JointHolder:
    """Register ``person`` for a joint certificate, have the authority issue it for RSA key
    ``index`` (confirmed, as after certConf) and write its NPKI folder (``signPri.key`` in
    ``form``)."""
    enrolled, tid = enroll(center, Registrant(center, person).all_steps(), index)
    center.joint_authority.confirm(tid, accepted=True)
    npki = tmp_path / f"NPKI-{person}-{index}"
    key = rsa_key(index)
    folder = write_folder(
        npki, enrolled.certificate, key, PASSWORD, random_num=enrolled.vid_random, form=form
    )
    return JointHolder(person, enrolled.certificate, key, enrolled.vid_random, npki, folder)
