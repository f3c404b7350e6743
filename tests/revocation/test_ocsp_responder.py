"""The responder itself: answers by status, caching, refreshing, never an exception."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.ocsp import OCSPCertStatus, OCSPResponseStatus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import CertificateRecord, CertificateStatus
from certcenter.pki.hierarchy import CertificateAuthority
from certcenter.pki.ocsp import issuer_hashes
from certcenter.revocation import RevocationStatus, certificate_answer
from tests.revocation import lint
from tests.revocation.support import Ca, change_status, record_active, run

SHA1 = hashes.SHA1()  # noqa: S303 - the CertID hash OCSP clients use


def _request(center: Center, certificate: x509.Certificate, *, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        certificate, center.hierarchy().issuing("mobile").certificate, SHA1
    )
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _answer(revocation: RevocationStatus, request: bytes) -> ocsp.OCSPResponse:
    return ocsp.load_der_ocsp_response(revocation.ocsp.respond(request))


def test_answers_follow_the_record(center: Center, revocation: RevocationStatus) -> None:
    certificate = record_active(center)
    serial = f"{certificate.serial_number:X}"
    assert _answer(revocation, _request(center, certificate)).certificate_status is (
        OCSPCertStatus.GOOD
    )
    when = center.clock.now()
    change_status(center, serial, CertificateStatus.REVOKED, x509.ReasonFlags.key_compromise)
    revoked = _answer(revocation, _request(center, certificate))
    assert revoked.certificate_status is OCSPCertStatus.REVOKED
    assert revoked.revocation_reason is x509.ReasonFlags.key_compromise
    assert revoked.revocation_time_utc == when.replace(microsecond=0)
    validity = timedelta(minutes=center.settings.policy.ocsp_response_validity_minutes)
    assert revoked.this_update_utc == center.clock.now().replace(microsecond=0)
    assert revoked.next_update_utc == revoked.this_update_utc + validity
    for response in (revoked, _answer(revocation, _request(center, certificate, nonce=b"n" * 16))):
        assert (
            lint.errors(lint.ocsp_findings(response.public_bytes(serialization.Encoding.DER))) == []
        )


def _record(status: str, **values: object) -> CertificateRecord:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    base = CertificateRecord(
        serial="AB",
        family="mobile",
        profile="mobile",
        customer_id="c",
        device_id=None,
        enrollment_id=None,
        subject="CN=x",
        public_key_sha256="0" * 64,
        not_before=now,
        not_after=now + timedelta(days=730),
        tbs=b"",
        issuer_key_label="mobile-ca",
        status=status,
        created_at=now,
    )
    for name, value in values.items():
        setattr(base, name, value)
    return base


def test_certificate_answer_for_every_status(ca: Ca) -> None:
    mobile: CertificateAuthority = ca.hierarchy.issuing("mobile")
    at = datetime(2027, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    good, unknown, revoked = OCSPCertStatus.GOOD, OCSPCertStatus.UNKNOWN, OCSPCertStatus.REVOKED
    hold = x509.ReasonFlags.certificate_hold
    cases = [
        (None, unknown, None),
        (_record("pending"), unknown, None),
        (_record("abandoned"), unknown, None),
        (_record("active"), good, None),
        (_record("active", issuer_key_label="other-ca"), unknown, None),
        (_record("suspended", suspended_at=at, revoked_at=at, revocation_reason="certificateHold"),
         revoked, hold),
        (_record("revoked", revoked_at=at, revocation_reason="keyCompromise"),
         revoked, x509.ReasonFlags.key_compromise),
        (_record("revoked", revoked_at=at, revocation_reason="unspecified"), revoked, None),
        (_record("superseded", revoked_at=at, revocation_reason="superseded"),
         revoked, x509.ReasonFlags.superseded),
        (_record("superseded", revoked_at=at), revoked, x509.ReasonFlags.superseded),
        (_record("expired"), good, None),
        (_record("expired", revoked_at=at, revocation_reason="certificateHold"), revoked, hold),
        (_record("something-new"), unknown, None),
    ]  # fmt: skip
    for record, status, reason in cases:
        answer = certificate_answer(record, mobile)
        assert answer.status is status, record and record.status
        assert answer.revocation_reason is reason
        if status is revoked:
            assert answer.revocation_time == at.replace(microsecond=0)


def test_responses_without_nonce_are_cached_until_the_refresh_margin(
    center: Center, clock: FrozenClock, revocation: RevocationStatus
) -> None:
    certificate = record_active(center)
    request = _request(center, certificate)
    first = revocation.ocsp.respond(request)
    clock.advance(minutes=30)
    assert revocation.ocsp.respond(request) == first  # cached
    fresh = revocation.ocsp.respond(_request(center, certificate, nonce=b"0123456789"))
    assert fresh != first
    assert (
        ocsp.load_der_ocsp_response(fresh)
        .extensions.get_extension_for_class(x509.OCSPNonce)
        .value.nonce
        == b"0123456789"
    )
    assert revocation.ocsp.respond(request) == first  # the nonce one is not stored
    policy = center.settings.policy
    clock.advance(
        minutes=policy.ocsp_response_validity_minutes - policy.ocsp_refresh_margin_minutes - 30
    )
    renewed = revocation.ocsp.respond(request)  # inside the margin: signed anew
    assert renewed != first
    assert ocsp.load_der_ocsp_response(renewed).this_update_utc == clock.now()
    with center.uow_factory() as uow:
        entry = uow.ocsp.get(f"{certificate.serial_number:X}")
    assert entry is not None and entry.der == renewed


def test_unknown_serials_are_not_cached(center: Center, revocation: RevocationStatus) -> None:
    issuer = center.hierarchy().issuing("mobile").certificate
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(*_issuer_hashes(issuer), serial_number=0xDEADBEEF, algorithm=SHA1)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    answer = _answer(revocation, request)
    assert answer.certificate_status is OCSPCertStatus.UNKNOWN
    with center.uow_factory() as uow:
        assert uow.ocsp.get("DEADBEEF") is None


def _issuer_hashes(issuer: x509.Certificate) -> tuple[bytes, bytes]:
    return issuer_hashes(issuer, SHA1)


def test_refresh_due_resigns_what_is_near_its_end(
    center: Center, clock: FrozenClock, revocation: RevocationStatus
) -> None:
    kept = record_active(center, "C001")
    dropped = record_active(center, "C002")
    for certificate in (kept, dropped):
        revocation.ocsp.respond(_request(center, certificate))
    assert revocation.ocsp.refresh_due() == 0  # nothing due yet
    with center.uow_factory() as uow:  # the second expires meanwhile
        record = uow.certificates.get(f"{dropped.serial_number:X}")
        assert record is not None
        record.not_after = clock.now() + timedelta(hours=1)
        uow.commit()
    policy = center.settings.policy
    clock.advance(
        minutes=policy.ocsp_response_validity_minutes - policy.ocsp_refresh_margin_minutes
    )
    # root + 16 shards of each family (mobile, financial, joint)
    assert revocation.refresh() == {"crls_published": 49, "ocsp_refreshed": 1}
    with center.uow_factory() as uow:
        entry = uow.ocsp.get(f"{kept.serial_number:X}")
        assert uow.ocsp.get(f"{dropped.serial_number:X}") is None
    assert entry is not None and entry.this_update == clock.now()
    refreshed = ocsp.load_der_ocsp_response(entry.der)
    assert refreshed.certificate_status is OCSPCertStatus.GOOD
    assert refreshed.hash_algorithm.name == "sha1"
    # and a client asking as before gets the refreshed one from the cache
    assert revocation.ocsp.respond(_request(center, kept)) == entry.der
    assert revocation.ocsp.refresh_due() == 0


def test_several_certificates_in_one_request_are_each_answered(
    center: Center, revocation: RevocationStatus, tmp_path: Path
) -> None:
    leaves: list[str | Path] = []
    serials = []
    for customer in ("C001", "C002"):
        path = tmp_path / f"{customer}.pem"
        certificate = record_active(center, customer)
        serials.append(certificate.serial_number)
        path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        leaves += ["-cert", path]
    issuer = tmp_path / "mobile-ca.pem"
    issuer.write_bytes(
        center.hierarchy().issuing().certificate.public_bytes(serialization.Encoding.PEM)
    )
    request = tmp_path / "two.der"
    run("openssl", "ocsp", "-issuer", issuer, *leaves, "-reqout", request, check=True)
    answer = _answer(revocation, request.read_bytes())
    assert answer.response_status is OCSPResponseStatus.SUCCESSFUL
    assert [single.serial_number for single in answer.responses] == serials
    assert {single.certificate_status for single in answer.responses} == {OCSPCertStatus.GOOD}


def test_bad_nonces_and_hashes_are_malformed(
    center: Center, revocation: RevocationStatus, tmp_path: Path
) -> None:
    certificate = record_active(center)
    too_long = _answer(revocation, _request(center, certificate, nonce=b"x" * 33))
    assert too_long.response_status is OCSPResponseStatus.MALFORMED_REQUEST
    longest = _answer(revocation, _request(center, certificate, nonce=b"x" * 32))
    assert longest.response_status is OCSPResponseStatus.SUCCESSFUL
    issuer = tmp_path / "mobile-ca.pem"
    issuer.write_bytes(
        center.hierarchy().issuing().certificate.public_bytes(serialization.Encoding.PEM)
    )
    for digest in ("-md5", "-sha3-256"):  # CertID hashes cryptography cannot answer with
        request = tmp_path / "request.der"
        run("openssl", "ocsp", "-issuer", issuer, digest, "-serial", "5", "-no_nonce",
            "-reqout", request, check=True)  # fmt: skip
        answer = _answer(revocation, request.read_bytes())
        assert answer.response_status is OCSPResponseStatus.MALFORMED_REQUEST, digest


def test_a_fault_of_the_center_is_internal_error(
    center: Center, revocation: RevocationStatus, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = record_active(center)

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(revocation.ocsp, "_uow_factory", broken)
    answer = _answer(revocation, _request(center, certificate))
    assert answer.response_status is OCSPResponseStatus.INTERNAL_ERROR


def _valid_request() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "x")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1234)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return (
        ocsp.OCSPRequestBuilder()
        .add_certificate(cert, cert, SHA1)
        .add_extension(x509.OCSPNonce(b"0123456789abcdef"), critical=False)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )


VALID = _valid_request()


@st.composite
def mangled(draw: st.DrawFn) -> bytes:
    """A valid request with some bytes changed, cut or added: reaches deeper than noise."""
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=8))


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.one_of(st.binary(max_size=600), mangled()))
def test_any_bytes_get_an_ocsp_response_never_an_exception(
    revocation: RevocationStatus, data: bytes
) -> None:
    der = revocation.ocsp.respond(data)
    response = ocsp.load_der_ocsp_response(der)
    if response.response_status is OCSPResponseStatus.SUCCESSFUL:  # a request that parsed
        assert response.certificate_status is OCSPCertStatus.UNKNOWN
    else:
        assert response.response_status in (
            OCSPResponseStatus.MALFORMED_REQUEST,
            OCSPResponseStatus.UNAUTHORIZED,
        )


def test_a_responder_holding_an_ended_signer_takes_a_valid_one(
    center: Center, revocation: RevocationStatus
) -> None:
    certificate = record_active(center)
    signer = center.hierarchy().ocsp_signer("mobile")
    assert signer is not None
    remembered = revocation.ocsp._signers  # the responder's memory of its signer
    remembered["mobile"] = replace(signer, certificate=_expired_copy(center, signer.certificate))
    answer = _answer(revocation, _request(center, certificate, nonce=b"abc"))
    assert answer.response_status is OCSPResponseStatus.SUCCESSFUL
    used = answer.certificates[0]
    assert used.not_valid_before_utc <= center.clock.now() < used.not_valid_after_utc


def _expired_copy(center: Center, certificate: x509.Certificate) -> x509.Certificate:
    """The same responder certificate, but ended yesterday (signed by the mobile CA)."""
    now = center.clock.now()
    builder = (
        x509.CertificateBuilder()
        .subject_name(certificate.subject)
        .issuer_name(certificate.issuer)
        .public_key(certificate.public_key())  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now - timedelta(days=1))
    )
    for extension in certificate.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    return center.keys.sign_certificate("mobile-ca", builder)


def test_stored_responses_and_nonce_answers_do_not_wait_for_the_write_lock(
    center: Center, revocation: RevocationStatus
) -> None:
    certificate = record_active(center)
    request = _request(center, certificate)
    first = revocation.ocsp.respond(request)  # stored
    with center.uow_factory() as writer:
        writer.ocsp.invalidate("FFFF")  # SQLite: the write lock, held to the end of the block
        writer.flush()
        assert revocation.ocsp.respond(request) == first
        fresh = _answer(revocation, _request(center, certificate, nonce=b"0123456789"))
        assert fresh.response_status is OCSPResponseStatus.SUCCESSFUL
        assert fresh.certificate_status is OCSPCertStatus.GOOD
