"""The CMP server's protocol, with pyasn1-built messages, over the center's real storage (on
SQLite and PostgreSQL) and a throwaway authority: what is answered, what is refused and with
which PKIFailureInfo, what the authority is asked."""

from __future__ import annotations

import functools
import secrets
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cmp.cmp_client import Answer, CmpClient, Mac, read
from tests.cmp.rig import CODE, REFERENCE, SUBJECT, Rig


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def one_key() -> rsa.RSAPrivateKey:
    return rsa_key()


def enrolled(rig: Rig, key: object | None = None) -> tuple[object, x509.Certificate]:
    """A certificate issued by ir and confirmed: (its key, it)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    client = CmpClient()
    sent = client.ir(REFERENCE, Mac(CODE), key, SUBJECT)
    ip = rig.send(sent.der)
    assert ip.body == "ip" and ip.certificate is not None and ip.nonce is not None
    conf = client.cert_conf(
        sent.transaction_id, ip.nonce, ip.certificate, mac=Mac(CODE), reference=REFERENCE
    )
    assert rig.send(conf.der).body == "pkiconf"
    return key, ip.certificate


@pytest.mark.parametrize("kind", ["pbm", "pbmac1"])
def test_ir_gets_the_certificate_mac_protected_and_certconf_confirms_it(
    rig: Rig, kind: str
) -> None:
    key = rsa_key()
    client = CmpClient(now=rig.clock.now())
    mac = Mac(CODE, kind=kind, iterations=500 if kind == "pbm" else 2000)
    sent = client.ir(REFERENCE, mac, key, SUBJECT)
    ip = rig.send(sent.der)
    assert ip.body == "ip"
    assert ip.certificate is not None and ip.certificate.subject == SUBJECT
    assert ip.certificate.public_key().public_numbers() == key.public_key().public_numbers()
    assert ip.ca_pubs == [rig.authority.ca] and rig.authority.ca in ip.extra
    assert ip.transaction_id == sent.transaction_id and ip.recip_nonce == sent.nonce
    assert ip.mac_ok(CODE) and not ip.mac_ok(b"another code")
    assert rig.authority.confirmed == {}  # handed out, not yet confirmed

    assert ip.nonce is not None
    conf = client.cert_conf(
        sent.transaction_id,
        ip.nonce,
        ip.certificate,
        mac=Mac(CODE, kind=kind, iterations=mac.iterations),
        reference=REFERENCE,
    )
    answer = rig.send(conf.der)
    assert answer.body == "pkiconf" and answer.mac_ok(CODE)
    assert answer.recip_nonce == conf.nonce
    assert rig.authority.confirmed == {sent.transaction_id: True}


def test_a_bad_mac_is_refused_counted_and_answered_signed(rig: Rig) -> None:
    sent = CmpClient().ir(REFERENCE, Mac(b"wrong code!"), rsa_key(), SUBJECT)
    answer = rig.send(sent.der)
    assert answer.body == "error" and answer.failure == {"badMessageCheck"}
    assert rig.authority.bad_macs == {REFERENCE: 1} and rig.authority.issued == {}
    assert answer.signed_by(rig.responder.current().certificate)
    assert any("CMP_PROTECTION_INVALID" in text for text in answer.texts)
    assert any("인가코드" in text for text in answer.texts)  # the Korean words too


def test_an_unknown_reference_is_answered_like_a_wrong_code(rig: Rig) -> None:
    unknown = rig.send(CmpClient().ir("99999999", Mac(CODE), rsa_key(), SUBJECT).der)
    wrong = rig.send(CmpClient().ir(REFERENCE, Mac(b"wrong code!"), rsa_key(), SUBJECT).der)
    assert unknown.failure == wrong.failure == {"badMessageCheck"}
    assert unknown.texts == wrong.texts
    assert rig.authority.bad_macs == {REFERENCE: 1} and rig.authority.issued == {}


@pytest.mark.parametrize("iterations", [10**7, 3])
def test_absurd_iteration_counts_are_refused_before_any_work(rig: Rig, iterations: int) -> None:
    answer = rig.send(CmpClient().ir(REFERENCE, Mac(CODE, iterations=iterations), rsa_key()).der)
    assert answer.failure == {"badAlg"}
    assert rig.authority.bad_macs == {} and rig.authority.issued == {}


def test_an_unprotected_ir_is_refused(rig: Rig) -> None:
    client = CmpClient()
    message = read(client.ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT).der).message
    answer = rig.send(client.finish(message["header"], message["body"]))
    assert answer.failure == {"badMessageCheck"} and rig.authority.issued == {}


def test_a_bad_proof_of_possession_is_refused(rig: Rig) -> None:
    answer = rig.send(CmpClient().ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT, bad_pop=True).der)
    assert answer.failure == {"badPOP"} and rig.authority.issued == {}
    assert answer.mac_ok(CODE)  # the MAC verified: the refusal is MAC-protected


def test_a_reused_transaction_id_is_refused(rig: Rig) -> None:
    client = CmpClient()
    first = client.ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT)
    assert rig.send(first.der).body == "ip"
    again = client.ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT, transaction_id=first.transaction_id)
    assert rig.send(again.der).failure == {"transactionIdInUse"}
    assert len(rig.authority.issued) == 1


def test_a_replayed_sender_nonce_is_refused(rig: Rig) -> None:
    client = CmpClient()
    first = client.ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT)
    assert rig.send(first.der).body == "ip"
    replay = client.ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT, nonce=first.nonce)
    assert rig.send(replay.der).failure == {"badSenderNonce"}
    # the exact message again: its transaction is taken
    assert rig.send(first.der).failure == {"transactionIdInUse"}
    assert len(rig.authority.issued) == 1


def _issued(rig: Rig) -> tuple[CmpClient, object, Answer, bytes]:
    client = CmpClient()
    sent = client.ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT)
    ip = rig.send(sent.der)
    assert ip.body == "ip" and ip.nonce is not None
    return client, sent, ip, sent.transaction_id


def test_certconf_with_an_unknown_transaction_id_is_refused(rig: Rig) -> None:
    client, _, ip, _ = _issued(rig)
    assert ip.certificate is not None and ip.nonce is not None
    conf = client.cert_conf(
        secrets.token_bytes(16), ip.nonce, ip.certificate, mac=Mac(CODE), reference=REFERENCE
    )
    assert rig.send(conf.der).failure == {"badRequest"}
    assert rig.authority.confirmed == {}


def test_certconf_with_a_wrong_recipient_nonce_is_refused(rig: Rig) -> None:
    client, _, ip, tid = _issued(rig)
    assert ip.certificate is not None
    conf = client.cert_conf(
        tid, secrets.token_bytes(16), ip.certificate, mac=Mac(CODE), reference=REFERENCE
    )
    assert rig.send(conf.der).failure == {"badRecipientNonce"}
    assert rig.authority.confirmed == {}


def test_certconf_with_a_bad_mac_is_refused_and_counted(rig: Rig) -> None:
    client, _, ip, tid = _issued(rig)
    assert ip.certificate is not None and ip.nonce is not None
    conf = client.cert_conf(tid, ip.nonce, ip.certificate, mac=Mac(b"guess"), reference=REFERENCE)
    assert rig.send(conf.der).failure == {"badMessageCheck"}
    assert rig.authority.bad_macs == {REFERENCE: 1} and rig.authority.confirmed == {}


def test_a_wrong_cert_hash_rejects_the_certificate(rig: Rig) -> None:
    client, _, ip, tid = _issued(rig)
    assert ip.certificate is not None and ip.nonce is not None
    conf = client.cert_conf(
        tid, ip.nonce, ip.certificate, mac=Mac(CODE), reference=REFERENCE, cert_hash=b"\x00" * 32
    )
    answer = rig.send(conf.der)
    assert answer.failure == {"badCertId"} and answer.mac_ok(CODE)
    assert rig.authority.confirmed == {tid: False}
    # nothing more is taken for the transaction
    again = client.cert_conf(
        tid, answer.nonce or b"", ip.certificate, mac=Mac(CODE), reference=REFERENCE
    )
    assert rig.send(again.der).failure == {"badRequest"}


def test_a_certconf_that_rejects_is_passed_on(rig: Rig) -> None:
    client, _, ip, tid = _issued(rig)
    assert ip.certificate is not None and ip.nonce is not None
    conf = client.cert_conf(
        tid, ip.nonce, ip.certificate, mac=Mac(CODE), reference=REFERENCE, reject=True
    )
    assert rig.send(conf.der).body == "pkiconf"
    assert rig.authority.confirmed == {tid: False}


def test_a_certconf_that_never_comes_rejects_the_certificate(rig: Rig) -> None:
    client, _, ip, tid = _issued(rig)
    assert rig.timeout.reject_unconfirmed().rejected == []  # not yet
    rig.clock.advance(seconds=rig.confirm_wait_seconds + 1)
    done = rig.timeout.reject_unconfirmed()
    assert done.rejected == [tid.hex()] and rig.authority.confirmed == {tid: False}
    assert rig.timeout.reject_unconfirmed().rejected == []  # once
    assert ip.certificate is not None and ip.nonce is not None
    late = client.cert_conf(tid, ip.nonce, ip.certificate, mac=Mac(CODE), reference=REFERENCE)
    assert rig.send(late.der).failure == {"badRequest"}


@pytest.mark.parametrize(
    "body",
    [b"", b"\x30\x03\x02\x01\x02", b"not DER at all", b"\x30\x82\xff\xff" + b"\x00" * 40],
)
def test_a_body_that_is_no_pkimessage_gets_bad_data_format_with_400(rig: Rig, body: bytes) -> None:
    answer = rig.send(body, status=400)
    assert answer.body == "error" and answer.failure == {"badDataFormat"}


def test_trailing_bytes_after_the_message_are_refused(rig: Rig) -> None:
    der = CmpClient().ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT).der
    assert rig.send(der + b"\x00", status=400).failure == {"badDataFormat"}


def test_an_unsupported_body_is_refused(rig: Rig) -> None:
    answer = rig.send(CmpClient().genm(Mac(CODE), REFERENCE).der)
    assert answer.failure == {"badRequest"}
    assert any("genm" in text for text in answer.texts)


def test_an_unsupported_version_is_refused(rig: Rig) -> None:
    answer = rig.send(CmpClient(pvno=1).ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT).der)
    assert answer.failure == {"unsupportedVersion"} and rig.authority.issued == {}


def test_a_message_time_far_off_is_refused(rig: Rig) -> None:
    client = CmpClient(now=rig.clock.now() - timedelta(hours=2))
    answer = rig.send(client.ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT).der)
    assert answer.failure == {"badTime"}


def test_kur_signed_by_the_old_key_renews_and_is_answered_signed(rig: Rig) -> None:
    old_key, old_cert = enrolled(rig)
    new_key = rsa_key()
    client = CmpClient()
    sent = client.kur(old_key, old_cert, new_key)
    kup = rig.send(sent.der)
    assert kup.body == "kup" and kup.certificate is not None and kup.nonce is not None
    assert kup.certificate.subject == old_cert.subject
    responder = rig.responder.current()
    assert kup.signed_by(responder.certificate) and kup.extra[0] == responder.certificate
    conf = client.cert_conf(
        sent.transaction_id, kup.nonce, kup.certificate, key=old_key, signer=old_cert
    )
    assert rig.send(conf.der).body == "pkiconf"
    assert rig.authority.confirmed[sent.transaction_id] is True
    # the old certificate was superseded: it cannot renew again
    assert rig.send(client.kur(old_key, old_cert, rsa_key()).der).failure == {"signerNotTrusted"}


def test_kur_certconf_signed_by_another_key_is_refused(rig: Rig) -> None:
    old_key, old_cert = enrolled(rig)
    client = CmpClient()
    sent = client.kur(old_key, old_cert, rsa_key())
    kup = rig.send(sent.der)
    assert kup.certificate is not None and kup.nonce is not None
    conf = client.cert_conf(
        sent.transaction_id,
        kup.nonce,
        kup.certificate,
        key=ec.generate_private_key(ec.SECP256R1()),
        signer=old_cert,
    )
    assert rig.send(conf.der).failure == {"badMessageCheck"}


def test_kur_signed_by_a_stranger_certificate_is_not_trusted(rig: Rig) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name.from_rfc4514_string("CN=Stranger")
    now = rig.clock.now()
    stranger = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    answer = rig.send(CmpClient().kur(key, stranger, rsa_key()).der)
    assert answer.failure == {"signerNotTrusted"} and rig.authority.issued == {}


def test_kur_with_a_mac_is_not_authorized(rig: Rig) -> None:
    client = CmpClient()
    sent = client.ir(REFERENCE, Mac(CODE), rsa_key(), SUBJECT)
    message = read(sent.der).message
    body = client.cert_request("kur", rsa_key(), None)
    der = client.finish(message["header"], body, mac=Mac(CODE))
    assert rig.send(der).failure == {"notAuthorized"}


def test_rr_revokes_its_own_certificate_once(rig: Rig) -> None:
    key, certificate = enrolled(rig)
    answer = rig.send(CmpClient().rr(key, certificate, reason=1).der)
    assert answer.body == "rp" and answer.signed_by(rig.responder.current().certificate)
    assert rig.authority.revoked == {certificate.serial_number: x509.ReasonFlags.key_compromise}
    again = rig.send(CmpClient().rr(key, certificate).der)
    assert again.failure == {"certRevoked"}


def test_rr_for_another_certificate_is_not_authorized(rig: Rig) -> None:
    key, mine = enrolled(rig)
    _, theirs = enrolled(rig)
    answer = rig.send(CmpClient().rr(key, mine, theirs).der)
    assert answer.failure == {"notAuthorized"} and rig.authority.revoked == {}


def test_rr_with_a_reason_a_holder_may_not_give_is_refused(rig: Rig) -> None:
    key, certificate = enrolled(rig)
    answer = rig.send(CmpClient().rr(key, certificate, reason=9).der)
    assert answer.failure == {"badCertTemplate"} and rig.authority.revoked == {}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=600))
def test_any_bytes_get_a_cmp_error_never_an_exception(rig: Rig, data: bytes) -> None:
    answer = rig.server.handle(data)
    assert answer.http_status in (200, 400)
    assert read(answer.der).body == "error"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_a_changed_byte_never_gets_a_certificate_without_the_mac(
    rig: Rig, position: int, value: int
) -> None:
    der = bytearray(CmpClient().ir(REFERENCE, Mac(CODE, iterations=100), one_key(), SUBJECT).der)
    index = position % len(der)
    if der[index] == value:
        return
    der[index] = value
    answer = rig.server.handle(bytes(der))
    body = read(answer.der).body
    assert body in ("error", "ip")
    if body == "ip":  # only a change the MAC does not cover (the protection's own tag bits)
        assert read(answer.der).mac_ok(CODE)
