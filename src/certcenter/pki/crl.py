"""Certificate revocation lists (RFC 5280 §5), built by concatenating pre-encoded entries.

A family's CRL is split into ``policy.crl_shards`` partitions by serial
(:func:`crl_shard_of`); each certificate names its own partition in its CRL distribution
point (``/crl/mobile-3.crl``) and each partition's CRL names the same URL in its critical
issuingDistributionPoint, so a relying party downloads 1/16th of the list and OpenSSL can
tell the partition is the right one. The root CA's CRL (``/crl/root.crl``) lists revoked
issuing CAs (normally none); it is complete (no issuingDistributionPoint), so it also
answers for the root itself when a relying party checks the whole chain
(``openssl verify -crl_check_all``).

Revoking a certificate stores the DER of its ``revokedCertificates`` entry with it
(:func:`encode_crl_entry`); publishing a partition is then one pass over the stored entries:

    entry = encode_crl_entry(serial, revoked_at, x509.ReasonFlags.key_compromise)
    der = build_crl(CrlContent(issuer=ca_certificate, number=42, this_update=now,
                               next_update=now + timedelta(hours=24),
                               distribution_point="https://…/crl/mobile-3.crl",
                               scope="user"),
                    entries=stored_entries, sign=lambda tbs: backend.sign("mobile-ca", tbs))

Only the structure around the entries is encoded here, by a few lines of DER (definite
lengths, SEQUENCE, INTEGER, UTCTime/GeneralizedTime, BIT STRING); extension values come from
``cryptography`` (``ExtensionType.public_bytes``). Times are whole seconds in UTC, UTCTime
through 2049 and GeneralizedTime from 2050 (RFC 5280 §5.1.2.4).

Partition names (:func:`partition_name`) are ``<family>-<shard>`` (``mobile-0`` …
``mobile-15``), ``root`` for the root's CRL and ``<family>`` (``mobile``) for the family's
complete CRL, which certificates issued before partitioning point to. After a key rollover
of a family's CA the new generation's CRLs go by its scope in place of the family
(``mobile.2-3``, ``mobile.2``): each CA generation signs the CRLs of what it issued.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from cryptography import x509

from certcenter.pki import der

__all__ = [
    "FULL_CRL_SHARD",
    "ROOT_CRL_FAMILY",
    "CrlContent",
    "CrlScope",
    "build_crl",
    "build_tbs",
    "crl_path",
    "crl_shard_of",
    "distribution_points_kept_until",
    "encode_crl_entry",
    "named_partitions",
    "parse_partition_name",
    "partition_name",
]

ROOT_CRL_FAMILY = "root"  # the CrlRecord family of the root CA's CRL (shard 0)
FULL_CRL_SHARD = -1  # the CrlRecord shard of a family's complete (unpartitioned) CRL

# "user": onlyContainsUserCerts, "ca": onlyContainsCACerts, both under the URL in an
# issuingDistributionPoint; "all": no issuingDistributionPoint, a complete CRL of the issuer.
CrlScope = Literal["user", "ca", "all"]

# a family, or a CA generation's scope after a key rollover (``mobile.2``), then the shard
_NAME = re.compile(r"([a-z][a-z0-9]{0,19}(?:\.[2-9]|\.[1-9][0-9]{1,2})?)(?:-(0|[1-9][0-9]{0,2}))?")


def crl_shard_of(serial: int, shards: int) -> int:
    """The partition of the family's CRL that lists ``serial``: ``serial mod shards``.

    Serials are 159 random bits, so partitions fill evenly. A certificate keeps the partition
    it was issued with (it is in its CRL distribution point): ``shards`` may grow, never
    shrink.
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")
    if serial < 0:
        raise ValueError("serial numbers are positive")
    return serial % shards


def partition_name(family: str, shard: int) -> str:
    """``mobile-3`` for a partition, ``root`` for the root CA's CRL, ``mobile`` for the
    family's complete CRL (``shard`` = :data:`FULL_CRL_SHARD`)."""
    if family == ROOT_CRL_FAMILY:
        return ROOT_CRL_FAMILY
    if shard == FULL_CRL_SHARD:
        return family
    return f"{family}-{shard}"


def crl_path(family: str, shard: int) -> str:
    """The path under ``public_base_url`` where the CRL is served: ``/crl/mobile-3.crl``."""
    return f"/crl/{partition_name(family, shard)}.crl"


def parse_partition_name(name: str) -> tuple[str, int] | None:
    """``(family, shard)`` of a partition name, the reverse of :func:`partition_name`;
    None when ``name`` has not that shape (which family and shard exist is not checked)."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    family, shard = match.group(1), match.group(2)
    if family == ROOT_CRL_FAMILY:
        return None if shard is not None else (ROOT_CRL_FAMILY, 0)
    return (family, FULL_CRL_SHARD) if shard is None else (family, int(shard))


def named_partitions(certificate: x509.Certificate) -> list[tuple[str, int, str]]:
    """``(family, shard, url)`` of each CRL distribution point of ``certificate`` that names
    a partition of a family's CRL (``…/crl/mobile-3.crl``, ``…/crl/mobile.crl``), as the
    certificate carries it: the URL its CRL must name in its issuingDistributionPoint. The
    root's CRL (complete, no issuingDistributionPoint) is not a partition."""
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except x509.ExtensionNotFound:
        return []
    found = []
    for point in points.value:
        for name in point.full_name or ():
            if not isinstance(name, x509.UniformResourceIdentifier):
                continue
            path = urlsplit(name.value).path
            file = path.rpartition("/crl/")[2]
            if not file.endswith(".crl") or "/" in file:
                continue
            parsed = parse_partition_name(file.removesuffix(".crl"))
            if parsed is not None and parsed[0] != ROOT_CRL_FAMILY:
                found.append((parsed[0], parsed[1], name.value))
    return found


def distribution_points_kept_until(not_after: datetime) -> datetime:
    """How long a distribution point named by a certificate valid until ``not_after`` is
    published: to the end of that day (UTC), so that a day's issuances record it once."""
    day = not_after.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=1)


# ---------------------------------------------------------------------------- DER

_extension = der.extension
_header = der.header
_integer = der.integer
_sequence = der.sequence
_signature_algorithm = der.signature_algorithm
_time = der.time
_tlv = der.tlv


# ---------------------------------------------------------------------------- entries


def encode_crl_entry(serial: int, revoked_at: datetime, reason: x509.ReasonFlags | None) -> bytes:
    """The DER of one ``revokedCertificates`` entry: serial, revocation date (whole seconds),
    and a reasonCode extension unless ``reason`` is None or unspecified (RFC 5280 §5.3.1:
    then the extension SHOULD be absent). removeFromCRL belongs to delta CRLs: ValueError.

    Store it with the certificate while the certificate must be listed; a partition's CRL is
    the concatenation of its stored entries.
    """
    if serial <= 0:
        raise ValueError("serial numbers are positive")
    if reason is x509.ReasonFlags.remove_from_crl:
        raise ValueError("removeFromCRL is only used in delta CRLs")
    parts = [_integer(serial), _time(revoked_at)]
    if reason is not None and reason is not x509.ReasonFlags.unspecified:
        parts.append(_reason_extensions(reason))
    return _sequence(*parts)


@functools.cache
def _reason_extensions(reason: x509.ReasonFlags) -> bytes:
    """crlEntryExtensions holding only reasonCode (ten possible values: made once each)."""
    return _sequence(_extension(x509.CRLReason(reason), critical=False))


# ---------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class CrlContent:
    """Everything in a CRL but its entries."""

    issuer: x509.Certificate  # the CA certificate whose key signs the CRL
    number: int  # cRLNumber: grows by one per partition and publication
    this_update: datetime
    next_update: datetime
    distribution_point: str  # the URL the CRL is served at (issuingDistributionPoint)
    scope: CrlScope  # see CrlScope


def _crl_extensions(content: CrlContent) -> bytes:
    ski = content.issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    extensions = [
        _extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False),
        _extension(x509.CRLNumber(content.number), False),
    ]
    if content.scope == "all":
        return _tlv(0xA0, _sequence(*extensions))  # crlExtensions [0] EXPLICIT
    point = x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier(content.distribution_point)],
        relative_name=None,
        only_contains_user_certs=content.scope == "user",
        only_contains_ca_certs=content.scope == "ca",
        only_some_reasons=None,
        indirect_crl=False,
        only_contains_attribute_certs=False,
    )
    extensions.append(_extension(point, critical=True))  # a partition's scope must be known
    return _tlv(0xA0, _sequence(*extensions))


def build_tbs(content: CrlContent, entries: Iterable[bytes]) -> bytes:
    """The DER TBSCertList (v2) with ``entries`` (each a stored entry DER) as they come."""
    if content.number < 0 or content.number.bit_length() > 159:
        raise ValueError("cRLNumber must be a non-negative integer of at most 20 octets")
    if content.next_update <= content.this_update:
        raise ValueError("nextUpdate must come after thisUpdate")
    listed = bytearray()
    for entry in entries:
        listed += entry
    head = b"".join(
        (
            b"\x02\x01\x01",  # version v2
            _signature_algorithm(content.issuer),
            content.issuer.subject.public_bytes(),
            _time(content.this_update),
            _time(content.next_update),
        )
    )
    # revokedCertificates is absent, not empty, when nothing is listed (RFC 5280 §5.1.2.6)
    revoked = _header(0x30, len(listed)) if listed else b""
    tail = _crl_extensions(content)
    body_length = len(head) + len(revoked) + len(listed) + len(tail)
    tbs = bytearray(_header(0x30, body_length))
    tbs += head
    tbs += revoked
    tbs += listed
    tbs += tail
    return bytes(tbs)


def build_crl(
    content: CrlContent, entries: Iterable[bytes], sign: Callable[[bytes], bytes]
) -> bytes:
    """The DER CertificateList: TBS from :func:`build_tbs`, signed by ``sign`` (an ECDSA
    DER signature over the TBS by the key of ``content.issuer``, e.g. ``backend.sign``)."""
    tbs = build_tbs(content, entries)
    signature = sign(tbs)
    algorithm = _signature_algorithm(content.issuer)
    bit_string = _tlv(0x03, b"\x00" + signature)
    crl = bytearray(_header(0x30, len(tbs) + len(algorithm) + len(bit_string)))
    crl += tbs
    crl += algorithm
    crl += bit_string
    return bytes(crl)
