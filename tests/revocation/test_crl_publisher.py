"""Publishing: numbering, what publish_due republishes, serving the latest."""

from __future__ import annotations

from datetime import timedelta

from cryptography import x509

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import CertificateStatus
from certcenter.pki.crl import FULL_CRL_SHARD, crl_shard_of, encode_crl_entry
from certcenter.revocation import CrlPublisher, Partition, RevocationStatus
from tests.revocation.support import record_active


def _fresh_publisher(center: Center) -> CrlPublisher:
    """Another process's publisher: it remembers nothing."""
    return CrlPublisher(
        uow_factory=center.uow_factory,
        backend=center.keys,
        hierarchy=center.hierarchy,
        settings=center.settings,
        clock=center.clock,
    )


def _list_silently(center: Center, serial: str, *, listed: bool = True) -> Partition:
    """Change a certificate's CRL entry without publishing (a publication that failed)."""
    now = center.clock.now()
    with center.uow_factory() as uow:
        record = uow.certificates.get(serial, for_update=True)
        assert record is not None
        assert record.crl_shard == crl_shard_of(int(serial, 16), center.settings.policy.crl_shards)
        if listed:
            record.status = CertificateStatus.REVOKED.value
            record.revoked_at = now
            record.revocation_reason = "keyCompromise"
            record.crl_entry = encode_crl_entry(
                int(serial, 16), now, x509.ReasonFlags.key_compromise
            )
        else:
            record.status = CertificateStatus.ACTIVE.value
            record.revoked_at = record.revocation_reason = record.crl_entry = None
        uow.commit()
        return Partition(record.family, record.crl_shard)


def test_publish_numbers_partitions_and_signs(center: Center, revocation: RevocationStatus) -> None:
    first = revocation.publish("mobile", 3)
    second = revocation.publish("mobile", 3)
    other = revocation.publish("mobile", 4)
    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert first.entries == 0
    assert first.next_update - first.this_update == timedelta(
        hours=center.settings.policy.crl_validity_hours
    )
    crl = x509.load_der_x509_crl(second.der)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 2
    assert crl.last_update_utc == second.this_update
    with center.uow_factory() as uow:
        latest = uow.crls.latest("mobile", 3)
    assert latest is not None and latest.number == 2 and latest.der == second.der


def test_publish_due_publishes_what_is_missing_stale_or_due(
    center: Center, clock: FrozenClock, revocation: RevocationStatus
) -> None:
    shards = center.settings.policy.crl_shards
    everything = [Partition("root", 0)] + [
        Partition(family, s) for family in ("mobile", "financial", "joint") for s in range(shards)
    ]
    assert sorted(revocation.crls.publish_due()) == sorted(everything)
    assert revocation.crls.publish_due() == []
    assert _fresh_publisher(center).publish_due() == []  # judged from the stored CRLs too

    certificate = record_active(center)
    serial = f"{certificate.serial_number:X}"
    clock.advance(seconds=1)
    partition = _list_silently(center, serial)  # revoked, but its CRL was not published
    assert revocation.crls.publish_due() == [partition]
    crl = x509.load_der_x509_crl(revocation.crls.current(*_key(partition)).der)
    assert crl.get_revoked_certificate_by_serial_number(certificate.serial_number) is not None
    assert _fresh_publisher(center).publish_due() == []

    clock.advance(seconds=1)
    _list_silently(center, serial, listed=False)  # released: one entry fewer
    assert _fresh_publisher(center).publish_due() == [partition]
    assert revocation.crls.publish_due() == []

    policy = center.settings.policy
    clock.advance(hours=policy.crl_validity_hours - policy.crl_refresh_margin_hours - 1)
    assert revocation.crls.publish_due() == []
    clock.advance(hours=1, seconds=5)  # now within the margin: everything again
    assert sorted(revocation.crls.publish_due()) == sorted(everything)


def test_the_complete_crl_is_kept_current_once_asked_for(
    center: Center, clock: FrozenClock, revocation: RevocationStatus
) -> None:
    revocation.crls.publish_due()
    full = Partition("mobile", FULL_CRL_SHARD)
    assert full not in revocation.crls.publish_due()
    revocation.crls.current("mobile", FULL_CRL_SHARD)  # somebody fetched /crl/mobile.crl
    certificate = record_active(center)
    clock.advance(seconds=1)
    partition = _list_silently(center, f"{certificate.serial_number:X}")
    assert sorted(_fresh_publisher(center).publish_due()) == sorted([partition, full])
    crl = x509.load_der_x509_crl(revocation.crls.current("mobile", FULL_CRL_SHARD).der)
    assert [e.serial_number for e in crl] == [certificate.serial_number]


def test_current_publishes_on_demand_and_again_when_expired(
    center: Center, clock: FrozenClock, revocation: RevocationStatus
) -> None:
    made = revocation.crls.current("mobile", 7)
    assert made.number == 1
    assert revocation.crls.current("mobile", 7).number == 1
    clock.advance(hours=center.settings.policy.crl_validity_hours)
    assert revocation.crls.current("mobile", 7).number == 2


def test_partition_names(center: Center, revocation: RevocationStatus) -> None:
    named = revocation.crls.partition_named
    assert named("mobile-0") == Partition("mobile", 0)
    assert named("mobile-15") == Partition("mobile", 15)
    assert named("mobile") == Partition("mobile", FULL_CRL_SHARD)
    assert named("root") == Partition("root", 0)
    for unknown in ("mobile-16", "corporate-1", "root-0", "mobile-1.crl", "%2e%2e"):
        assert named(unknown) is None


def _key(partition: Partition) -> tuple[str, int]:
    return partition.family, partition.shard
