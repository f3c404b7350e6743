"""The OTP arithmetic against the published vectors: RFC 4226 Appendix D (HOTP) and RFC 6238
Appendix B (TOTP, SHA-1/SHA-256/SHA-512, 8 digits); the window, the URI and the QR code."""

from __future__ import annotations

import base64
import struct
import zlib
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
import segno

from certcenter.media.otp import (
    SECRET_BYTES,
    hotp,
    matching_step,
    provisioning_uri,
    qr_png,
    time_step,
    totp,
)

RFC4226_SECRET = b"12345678901234567890"
RFC4226_CODES = [
    "755224",
    "287082",
    "359152",
    "969429",
    "338314",
    "254676",
    "287922",
    "162583",
    "399871",
    "520489",
]

# RFC 6238 Appendix B: the seeds are the ASCII digits repeated to the hash's length.
SEEDS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC6238_VECTORS = [
    # (unix time, T in hex, SHA1, SHA256, SHA512)
    (59, "0000000000000001", "94287082", "46119246", "90693936"),
    (1111111109, "00000000023523EC", "07081804", "68084774", "25091201"),
    (1111111111, "00000000023523ED", "14050471", "67062674", "99943326"),
    (1234567890, "000000000273EF07", "89005924", "91819424", "93441116"),
    (2000000000, "0000000003F940AA", "69279037", "90698825", "38618901"),
    (20000000000, "0000000027BC86AA", "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("counter", "expected"), list(enumerate(RFC4226_CODES)))
def test_rfc4226_appendix_d_hotp_values(counter: int, expected: str) -> None:
    assert hotp(RFC4226_SECRET, counter) == expected
    # pyotp agrees (it is what the provisioning URI's consumers are checked against)
    secret32 = base64.b32encode(RFC4226_SECRET).decode()
    assert pyotp.HOTP(secret32).at(counter) == expected


@pytest.mark.parametrize(("at", "step_hex", "sha1", "sha256", "sha512"), RFC6238_VECTORS)
def test_rfc6238_appendix_b_totp_vectors(
    at: int, step_hex: str, sha1: str, sha256: str, sha512: str
) -> None:
    assert time_step(at, 30) == int(step_hex, 16)
    when = datetime.fromtimestamp(at, UTC)
    assert time_step(when, 30) == int(step_hex, 16)
    for algorithm, expected in (("SHA1", sha1), ("SHA256", sha256), ("SHA512", sha512)):
        seed = SEEDS[algorithm]
        assert totp(seed, at, period=30, digits=8, algorithm=algorithm) == expected
        assert totp(seed, when, period=30, digits=8, algorithm=algorithm) == expected


def test_hotp_refuses_what_is_not_hotp() -> None:
    with pytest.raises(ValueError, match="64-bit"):
        hotp(RFC4226_SECRET, -1)
    with pytest.raises(ValueError, match="digits"):
        hotp(RFC4226_SECRET, 0, digits=5)
    with pytest.raises(ValueError, match="algorithm"):
        hotp(RFC4226_SECRET, 0, algorithm="MD5")
    with pytest.raises(ValueError, match="epoch"):
        time_step(-1)


def test_the_window_finds_the_earliest_unused_step_and_nothing_outside() -> None:
    secret = RFC4226_SECRET
    now = 5  # steps 4, 5, 6 are in a ±1 window

    def code(step: int) -> str:
        return hotp(secret, step)

    for step in (4, 5, 6):
        found = matching_step(secret, code(step), step=now, window=1, digits=6, algorithm="SHA1")
        assert found == step
    for step in (3, 7):
        assert (
            matching_step(secret, code(step), step=now, window=1, digits=6, algorithm="SHA1")
            is None
        )
        assert (
            matching_step(secret, code(step), step=now, window=2, digits=6, algorithm="SHA1")
            == step
        )
    # steps at or before the last accepted one are not candidates
    assert (
        matching_step(secret, code(5), step=now, window=1, digits=6, algorithm="SHA1", after=5)
        is None
    )
    assert (
        matching_step(secret, code(6), step=now, window=1, digits=6, algorithm="SHA1", after=5) == 6
    )
    # a window of 0 is the current step only; malformed input is simply no match
    assert matching_step(secret, code(4), step=now, window=0, digits=6, algorithm="SHA1") is None
    for garbage in ("", "12345", "1234567", "١٢٣٤٥٦", "abcdef"):
        assert (
            matching_step(secret, garbage, step=now, window=1, digits=6, algorithm="SHA1") is None
        )


def test_provisioning_uri_is_the_key_uri_format_with_every_parameter() -> None:
    secret = bytes(range(SECRET_BYTES))
    uri = provisioning_uri(
        secret, account_name="C001", issuer="certcenter Demo Bank", digits=6, period=30
    )
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/certcenter Demo Bank:C001"
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {
        "secret": [base64.b32encode(secret).decode().rstrip("=")],
        "issuer": ["certcenter Demo Bank"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    assert uri.startswith("otpauth://totp/certcenter%20Demo%20Bank:C001?secret=") and uri.endswith(
        "&issuer=certcenter%20Demo%20Bank&algorithm=SHA1&digits=6&period=30"
    )
    # pyotp reads it back to the same generator
    parsed = pyotp.parse_uri(uri)
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.at(1_234_567_890) == totp(secret, 1_234_567_890)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, after checking the signature and the chunk CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    body = data[16 : 16 + length]
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert crc == zlib.crc32(kind + body)
    width, height = struct.unpack(">II", body[:8])
    assert data.endswith(b"IEND\xaeB`\x82")
    return width, height


def test_the_qr_code_is_a_png_of_the_uri_made_by_segno() -> None:
    uri = provisioning_uri(bytes(20), account_name="C001", issuer="Bank", digits=6, period=30)
    image = qr_png(uri)
    width, height = png_size(image)
    expected = segno.make(uri, error="m", micro=False)
    modules = expected.symbol_size(scale=1, border=4)
    assert (width, height) == (modules[0] * 5, modules[1] * 5)
    assert expected.png_data_uri(scale=5, border=4).endswith(base64.b64encode(image).decode())
