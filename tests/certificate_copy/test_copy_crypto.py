"""The copy's cryptography on the devices (certcenter.npki.copy): the code, the fingerprint that
catches a substituted key, the sealed folder that only the receiver's key and relay open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from certcenter.errors import CertCenterError
from certcenter.npki import read_folder
from certcenter.npki.copy import (
    CopyReceiver,
    check_fingerprint,
    fingerprint_digits,
    pack_folder,
    parse_code,
    seal,
    unpack_into,
)
from certcenter.npki.folder import CERT_FILE, KEY_FILE
from tests.certificate_copy.conftest import PASSWORD, Holder


def _code(error: pytest.ExceptionInfo[CertCenterError]) -> str:
    return error.value.code


def test_the_code_is_the_relay_id_then_the_keys_fingerprint() -> None:
    receiver = CopyReceiver.new()
    code = receiver.code("01234567")
    relay_id, digits = parse_code(code)
    assert relay_id == "01234567" and len(digits) == 8 and digits.isdigit()
    assert code == f"01234567-{digits}"
    assert parse_code(f" {relay_id} {digits} ") == (relay_id, digits)
    check_fingerprint(relay_id, receiver.public_bytes, digits)
    # the fingerprint is bound to the relay id too
    assert fingerprint_digits("76543210", receiver.public_bytes) != digits


@pytest.mark.parametrize("typed", ["", "1234567-87654321", "12345678-8765432x", "1" * 17, "١" * 16])
def test_a_code_that_is_not_16_digits_is_refused(typed: str) -> None:
    with pytest.raises(CertCenterError) as error:
        parse_code(typed)
    assert _code(error) == "CERTIFICATE_COPY_CODE_INVALID"


def test_a_substituted_public_key_is_caught_by_the_fingerprint() -> None:
    receiver = CopyReceiver.new()
    relay_id, digits = parse_code(receiver.code("20261204"))
    substituted = CopyReceiver.new().public_bytes
    with pytest.raises(CertCenterError) as error:
        check_fingerprint(relay_id, substituted, digits)
    assert _code(error) == "CERTIFICATE_COPY_FINGERPRINT_MISMATCH"


def test_the_sealed_folder_opens_only_for_the_receiver_and_its_relay(
    pc_folder: Path, tmp_path: Path
) -> None:
    receiver = CopyReceiver.new()
    archive = pack_folder(pc_folder)
    sealed = seal("11112222", receiver.public_bytes, archive)
    key_file = (pc_folder / KEY_FILE).read_bytes()
    assert key_file not in sealed and (pc_folder / CERT_FILE).read_bytes()[:64] not in sealed
    assert receiver.open("11112222", sealed) == archive

    for wrong in (
        lambda: CopyReceiver.new().open("11112222", sealed),  # another device's key
        lambda: receiver.open("11112223", sealed),  # another relay
        lambda: receiver.open("11112222", sealed[:-1] + bytes([sealed[-1] ^ 1])),  # changed
        lambda: receiver.open("11112222", sealed[:20]),  # cut short
    ):
        with pytest.raises(CertCenterError) as error:
            wrong()
        assert _code(error) == "CERTIFICATE_COPY_PAYLOAD_INVALID"

    folder = unpack_into(tmp_path / "phone" / "NPKI", receiver.open("11112222", sealed))
    assert folder.relative_to(tmp_path / "phone" / "NPKI").parts[:2] == ("yessign", "USER")
    assert (folder / KEY_FILE).read_bytes() == key_file
    assert read_folder(folder, PASSWORD).certificate == read_folder(pc_folder, PASSWORD).certificate


def test_a_low_order_public_key_is_refused() -> None:
    with pytest.raises(CertCenterError) as error:
        seal("11112222", bytes(32), b"{}")
    assert _code(error) == "CERTIFICATE_COPY_PAYLOAD_INVALID"


def test_an_archive_never_names_where_it_is_written(
    holder: Holder, pc_folder: Path, tmp_path: Path
) -> None:
    """The folder is named by the certificate; a CA name that leaves the NPKI folder is not
    taken."""
    document = json.loads(pack_folder(pc_folder))
    document["ca"] = "../../outside"
    archive = json.dumps(document).encode()
    root = tmp_path / "phone" / "NPKI"
    folder = unpack_into(root, archive)
    assert folder.resolve().is_relative_to(root.resolve())
    assert folder.parent.parent.name == "yessign"
    assert not (tmp_path / "outside").exists()


@pytest.mark.parametrize(
    "archive",
    [
        b"",
        b"not json",
        b'{"v": 1}',
        b'{"v": 1, "files": {"signCert.der": "!!", "signPri.key": ""}}',
        b'{"v": 2, "files": {"signCert.der": "", "signPri.key": "AA=="}}',
        b"[]",
    ],
)
def test_an_archive_that_is_not_a_certificate_folder_is_refused(
    archive: bytes, tmp_path: Path
) -> None:
    with pytest.raises(CertCenterError) as error:
        unpack_into(tmp_path / "NPKI", archive)
    assert _code(error) == "CERTIFICATE_COPY_PAYLOAD_INVALID"
    assert not (tmp_path / "NPKI").exists()


def test_the_public_key_is_raw_x25519() -> None:
    key = X25519PrivateKey.generate()
    receiver = CopyReceiver(key)
    assert receiver.public_bytes == key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
