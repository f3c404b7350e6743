"""Reading requests about several certificates: whatever the bytes, an answer, never an
exception (outside input)."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.x509.ocsp import OCSPResponseStatus
from hypothesis import given, settings
from hypothesis import strategies as st

from certcenter.pki.ocsp import issuer_hashes
from certcenter.pki.ocsp_batch import BatchRequest, parse_batch
from tests.revocation.support import Ca


def _cert_id(ca: Ca, serial: int) -> bytes:
    name_hash, key_hash = issuer_hashes(ca.hierarchy.issuing("mobile").certificate, hashes.SHA1())  # noqa: S303
    size = (serial.bit_length() + 8) // 8
    body = (
        bytes.fromhex("300906052b0e03021a0500")  # sha1, NULL
        + b"\x04\x14" + name_hash + b"\x04\x14" + key_hash
        + b"\x02" + bytes([size]) + serial.to_bytes(size, "big")
    )  # fmt: skip
    return b"\x30" + bytes([len(body)]) + body


def _request(ca: Ca, count: int, nonce: bytes | None = None) -> bytes:
    requests = b"".join(
        b"\x30" + bytes([len(c)]) + c for c in (_cert_id(ca, 0x100 + n) for n in range(count))
    )
    listed = b"\x30\x82" + len(requests).to_bytes(2, "big") + requests
    if nonce is not None:
        inner = b"\x04" + bytes([len(nonce)]) + nonce
        extension = bytes.fromhex("06092b0601050507300102") + b"\x04" + bytes([len(inner)]) + inner
        extension = b"\x30" + bytes([len(extension)]) + extension
        listed += (
            b"\xa2" + bytes([len(extension) + 2]) + b"\x30" + bytes([len(extension)]) + extension
        )
    tbs = b"\x30\x82" + len(listed).to_bytes(2, "big") + listed
    return b"\x30\x82" + len(tbs).to_bytes(2, "big") + tbs


def test_several_certificates_are_read_in_order_with_the_nonce(ca: Ca) -> None:
    batch = parse_batch(_request(ca, 3, nonce=b"0123456789abcdef"), limit=10)
    assert isinstance(batch, BatchRequest)
    assert [request.serial for request in batch.requests] == [0x100, 0x101, 0x102]
    assert batch.cert_ids[1] == _cert_id(ca, 0x101)  # echoed byte for byte
    assert all(request.nonce == b"0123456789abcdef" for request in batch.requests)
    assert batch.nonce_extension is not None
    assert parse_batch(_request(ca, 11), limit=10) is OCSPResponseStatus.MALFORMED_REQUEST
    assert parse_batch(_request(ca, 2, nonce=b""), limit=10) is OCSPResponseStatus.MALFORMED_REQUEST
    assert parse_batch(_request(ca, 2, nonce=b"x" * 33), limit=10) is (
        OCSPResponseStatus.MALFORMED_REQUEST
    )


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_get_an_answer(data: bytes) -> None:
    assert parse_batch(data, limit=10) is OCSPResponseStatus.MALFORMED_REQUEST or isinstance(
        parse_batch(data, limit=10), BatchRequest
    )


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_damaged_requests_get_an_answer(ca: Ca, data: st.DataObject) -> None:
    request = bytearray(_request(ca, 3, nonce=b"nonce-nonce"))
    cut = data.draw(st.integers(0, len(request)))
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(request) - 1), st.integers(0, 255)), max_size=4)
    )
    for index, value in flips:
        request[index] = value
    for damaged in (bytes(request[:cut]), bytes(request)):
        answer = parse_batch(damaged, limit=10)
        assert isinstance(answer, BatchRequest) or answer is OCSPResponseStatus.MALFORMED_REQUEST
