"""The customer's CMP client (``certcenter.cmp.client``) against the real center's CMP server
in process (``center.cmp.handle``), on SQLite and PostgreSQL: ir → ip with the VID's random
value → certConf; kur and rr with the responder's signed answers checked under the root;
refusals as the server's catalog codes; answers that do not verify are not used."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography import x509
from pyasn1.codec.der import decoder, encoder
from pyasn1.type import univ
from pyasn1_alt_modules import rfc9480

from certcenter.bootstrap import Center
from certcenter.cmp import messages
from certcenter.cmp.client import CmpClient
from certcenter.errors import CertCenterError
from certcenter.joint.kinds import AUTHORIZATION_FACTOR
from certcenter.pki.vid import vid_matches
from tests.joint.support import Registrant, rrn_of, rsa_key


def transport(
    center: Center, change: Callable[[bytes], bytes] | None = None
) -> Callable[[bytes], bytes]:
    def send(der: bytes) -> bytes:
        answer = center.cmp.handle(der).der
        return change(answer) if change is not None else answer

    return send


def test_ir_gets_the_certificate_its_chain_and_the_vid_random_value(center: Center) -> None:
    registered = Registrant(center, "C001").all_steps()
    key = rsa_key(0)
    client = CmpClient(transport(center), now=center.clock.now)
    pending = client.initial(registered.reference, registered.code.encode(), key)
    assert pending.issued.chain == tuple(center.hierarchy.chain("joint"))
    assert pending.issued.root.subject == pending.issued.root.issuer
    assert pending.random_num is not None and len(pending.random_num) == 20
    assert vid_matches(pending.certificate, rrn_of("C001"), pending.random_num)
    assert not vid_matches(pending.certificate, rrn_of("C002"), pending.random_num)
    pending.confirm()
    with center.uow_factory(read_only=True) as uow:
        row = uow.joint_registrations.by_reference(registered.reference)
        assert row is not None and row.state == "confirmed"


def test_a_wrong_code_is_the_servers_refusal_and_counted(center: Center) -> None:
    registered = Registrant(center, "C001").all_steps()
    client = CmpClient(transport(center), now=center.clock.now)
    with pytest.raises(CertCenterError) as refused:
        client.initial(registered.reference, b"0000000000000000", rsa_key(0))
    assert refused.value.code == "CMP_PROTECTION_INVALID"
    assert refused.value.context["failure"] == "badMessageCheck"
    with center.uow_factory(read_only=True) as uow:
        counter = uow.factors.get(registered.ref.enrollment_id, AUTHORIZATION_FACTOR)
    assert counter is not None and counter.failures == 1


def test_an_answer_whose_mac_does_not_verify_is_not_used(center: Center) -> None:
    registered = Registrant(center, "C001").all_steps()
    changed = CmpClient(transport(center, _change_protection), now=center.clock.now)
    with pytest.raises(CertCenterError) as refused:
        changed.initial(registered.reference, registered.code.encode(), rsa_key(0))
    assert refused.value.code == "CMP_ANSWER_UNTRUSTED"


def _change_protection(der: bytes) -> bytes:
    """The answer with one bit of its protection changed."""
    message, _ = decoder.decode(der, asn1Spec=rfc9480.PKIMessage())
    value = bytearray(message["protection"].asOctets())
    value[0] ^= 1
    slot = rfc9480.PKIMessage.componentType["protection"].asn1Object
    message["protection"] = slot.clone(univ.BitString.fromOctetString(bytes(value)))
    return bytes(encoder.encode(message))


@pytest.mark.policy(joint_renewal_window_days=400)
def test_kur_renews_and_rr_revokes_with_signed_answers(center: Center) -> None:
    registered = Registrant(center, "C001").all_steps()
    client = CmpClient(transport(center), now=center.clock.now)
    pending = client.initial(registered.reference, registered.code.encode(), rsa_key(0))
    pending.confirm()
    root = pending.issued.root
    renewed = client.key_update(pending.certificate, rsa_key(0), rsa_key(1), trusted=root)
    assert renewed.random_num is None  # the key file keeps R
    assert renewed.certificate.subject == pending.certificate.subject
    renewed.confirm()
    client.revoke(
        renewed.certificate, rsa_key(1), trusted=root, reason=x509.ReasonFlags.key_compromise
    )
    with center.uow_factory(read_only=True) as uow:
        record = uow.certificates.get(f"{renewed.certificate.serial_number:X}")
        assert record is not None and record.status == "revoked"
    # again: the server's refusal, as its code
    with pytest.raises(CertCenterError) as refused:
        client.revoke(renewed.certificate, rsa_key(1), trusted=root)
    assert refused.value.code == "CERTIFICATE_ALREADY_REVOKED"
    # and a revoked certificate renews no more
    with pytest.raises(CertCenterError) as refused:
        client.key_update(renewed.certificate, rsa_key(1), rsa_key(2), trusted=root)
    assert refused.value.code == "CMP_CERTIFICATE_REVOKED"


@pytest.mark.policy(joint_renewal_window_days=400)
def test_a_signed_answer_under_another_root_is_not_trusted(center: Center) -> None:
    registered = Registrant(center, "C001").all_steps()
    client = CmpClient(transport(center), now=center.clock.now)
    pending = client.initial(registered.reference, registered.code.encode(), rsa_key(0))
    pending.confirm()
    stranger = pending.certificate  # not the root the responder chains to
    with pytest.raises(CertCenterError) as refused:
        client.key_update(pending.certificate, rsa_key(0), rsa_key(1), trusted=stranger)
    assert refused.value.code == "CMP_ANSWER_UNTRUSTED"


def test_renewal_before_the_window_is_the_authoritys_refusal(center: Center) -> None:
    registered = Registrant(center, "C001").all_steps()
    client = CmpClient(transport(center), now=center.clock.now)
    pending = client.initial(registered.reference, registered.code.encode(), rsa_key(0))
    pending.confirm()
    with pytest.raises(CertCenterError) as refused:
        client.key_update(pending.certificate, rsa_key(0), rsa_key(1), trusted=pending.issued.root)
    assert refused.value.code == "JOINT_RENEWAL_TOO_EARLY"
    assert refused.value.context["failure"] == "notAuthorized"


def test_an_answer_of_another_transaction_is_not_used(center: Center) -> None:
    registered = Registrant(center, "C001").all_steps()
    kept: list[bytes] = []

    def replay(der: bytes) -> bytes:  # the first answer, again, for every request
        kept.append(der)
        return kept[0]

    client = CmpClient(transport(center, replay), now=center.clock.now)
    pending = client.initial(registered.reference, registered.code.encode(), rsa_key(0))
    with pytest.raises(CertCenterError) as refused:
        pending.confirm()  # the ip comes back instead of the pkiConf
    assert refused.value.code == "CMP_ANSWER_INVALID"


def test_a_refusal_in_words_this_side_does_not_know_is_cmp_refused() -> None:
    def other_server(der: bytes) -> bytes:
        request = messages.read_header(messages.decode_message(der))
        header = messages.build_header(
            request,
            pvno=2,
            sender=messages.NULL_DN,
            sender_kid=None,
            protection_alg=None,
            nonce=b"n" * 16,
            now=datetime.now(UTC),
        )
        body = messages.error_body("badRequest", ["E42: the other CA says no"])
        return messages.encode_message(header, body, protect=None)

    with pytest.raises(CertCenterError) as refused:
        CmpClient(other_server).initial("4821937560", b"code", rsa_key(0))
    assert refused.value.code == "CMP_REFUSED"
    assert refused.value.context["failure"] == "badRequest"
    assert "the other CA says no" in refused.value.cause("en")
