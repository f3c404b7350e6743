"""OCSP as a relying party sees it: the real openssl client against the live server."""

from __future__ import annotations

import base64
import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from certcenter.api.ocsp_endpoint import ocsp_cache_headers
from certcenter.bootstrap import Center
from certcenter.clock import FrozenClock
from certcenter.entities import CertificateStatus
from certcenter.revocation import OcspAnswer
from tests.revocation.support import (
    Pki,
    change_status,
    issue,
    ocsp_get,
    openssl_ocsp,
    run,
)
from tests.support.flow import FlowFactory


def _status_line(result: subprocess.CompletedProcess[str], target: str) -> str:
    lines = [line.strip() for line in result.stdout.splitlines()]
    return next(line for line in lines if line.startswith(f"{target}:"))


def _verified(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and "Response verify OK" in result.stderr


def test_good_then_revoked_with_its_reason(
    center: Center, pki: Pki, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    issued = issue(new_flow, "C001", tmp_path)

    good = openssl_ocsp(pki, status_url, "-cert", issued.leaf)
    assert _verified(good), good.stdout + good.stderr
    assert _status_line(good, str(issued.leaf)) == f"{issued.leaf}: good"
    assert "WARNING" not in good.stderr  # the nonce was echoed and checked

    change_status(center, issued.serial, CertificateStatus.REVOKED, x509.ReasonFlags.key_compromise)
    revoked = openssl_ocsp(pki, status_url, "-cert", issued.leaf)
    assert _verified(revoked), revoked.stdout + revoked.stderr
    assert _status_line(revoked, str(issued.leaf)) == f"{issued.leaf}: revoked"
    assert "Reason: keyCompromise" in revoked.stdout
    assert "Revocation Time:" in revoked.stdout


def test_suspended_is_certificate_hold_and_superseded_keeps_its_reason(
    center: Center, pki: Pki, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    held = issue(new_flow, "C002", tmp_path)
    replaced = issue(new_flow, "C007", tmp_path)
    openssl_ocsp(pki, status_url, "-cert", held.leaf, nonce=False)  # cached as good …
    change_status(
        center, held.serial, CertificateStatus.SUSPENDED, x509.ReasonFlags.certificate_hold
    )
    change_status(center, replaced.serial, CertificateStatus.SUPERSEDED, None)

    on_hold = openssl_ocsp(pki, status_url, "-cert", held.leaf, nonce=False)  # … not any more
    assert _verified(on_hold), on_hold.stdout + on_hold.stderr
    assert f"{held.leaf}: revoked" in on_hold.stdout
    assert "Reason: certificateHold" in on_hold.stdout

    superseded = openssl_ocsp(pki, status_url, "-cert", replaced.leaf)
    assert f"{replaced.leaf}: revoked" in superseded.stdout
    assert "Reason: superseded" in superseded.stdout


def test_a_serial_never_issued_is_unknown(center: Center, pki: Pki, status_url: str) -> None:
    result = openssl_ocsp(pki, status_url, "-serial", "0x1234567890ABCDEF")
    assert _verified(result), result.stdout + result.stderr
    assert "0x1234567890ABCDEF: unknown" in result.stdout


def test_nonce_is_echoed_and_responses_without_one_come_from_the_cache(
    center: Center,
    clock: FrozenClock,
    pki: Pki,
    status_url: str,
    new_flow: FlowFactory,
    tmp_path: Path,
) -> None:
    issued = issue(new_flow, "C014", tmp_path)
    with_nonce = [tmp_path / f"nonce-{i}.der" for i in range(2)]
    cached = [tmp_path / f"cached-{i}.der" for i in range(2)]
    for path in with_nonce:
        result = openssl_ocsp(pki, status_url, "-cert", issued.leaf, respout=path)
        assert _verified(result) and "WARNING" not in result.stderr, result.stderr
    for path in cached:
        clock.advance(seconds=5)
        result = openssl_ocsp(pki, status_url, "-cert", issued.leaf, nonce=False, respout=path)
        assert _verified(result), result.stdout + result.stderr
        assert f"{issued.leaf}: good" in result.stdout

    nonces = [ocsp.load_der_ocsp_response(p.read_bytes()) for p in with_nonce]
    assert all(r.extensions.get_extension_for_class(x509.OCSPNonce) for r in nonces)
    assert nonces[0].tbs_response_bytes != nonces[1].tbs_response_bytes  # signed each time
    # without a nonce: the same pre-computed response, byte for byte, and no nonce in it
    assert cached[0].read_bytes() == cached[1].read_bytes()
    plain = ocsp.load_der_ocsp_response(cached[0].read_bytes())
    assert not [e for e in plain.extensions if isinstance(e.value, x509.OCSPNonce)]
    with center.uow_factory() as uow:
        entry = uow.ocsp.get(issued.serial)
    assert entry is not None and entry.der == cached[0].read_bytes()


def test_a_tampered_nonce_is_caught_by_openssl(
    center: Center, pki: Pki, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    """The nonce check is real: a response to another request's nonce fails it."""
    issued = issue(new_flow, "C018", tmp_path)
    first, second = tmp_path / "req1.der", tmp_path / "req2.der"
    for request in (first, second):
        run("openssl", "ocsp", "-issuer", pki.issuing, "-cert", issued.leaf, "-nonce",
            "-reqout", request, check=True)  # fmt: skip
    answer = httpx.post(
        f"{status_url}/ocsp",
        content=first.read_bytes(),
        headers={"Content-Type": "application/ocsp-request"},
        timeout=30,
    )
    response = tmp_path / "resp.der"
    response.write_bytes(answer.content)
    common = ["openssl", "ocsp", "-issuer", pki.issuing, "-CAfile", pki.root]
    common += ["-respin", response]
    matching = run(*common, "-reqin", first)
    assert _verified(matching), matching.stdout + matching.stderr
    other = run(*common, "-reqin", second)
    assert other.returncode != 0
    assert "Nonce Verify error" in other.stderr


def test_get_and_post_give_the_same_verified_answer(
    center: Center, pki: Pki, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    issued = issue(new_flow, "C003", tmp_path)
    request = tmp_path / "req.der"
    run("openssl", "ocsp", "-issuer", pki.issuing, "-cert", issued.leaf, "-no_nonce",
        "-reqout", request, check=True)  # fmt: skip

    got = ocsp_get(status_url, request.read_bytes())
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/ocsp-response"
    assert "max-age=" in got.headers["cache-control"]
    assert "public" in got.headers["cache-control"]
    posted = httpx.post(
        f"{status_url}/ocsp",
        content=request.read_bytes(),
        headers={"Content-Type": "application/ocsp-request"},
        timeout=30,
    )
    assert posted.status_code == 200
    assert posted.headers["content-type"] == "application/ocsp-response"
    assert posted.content == got.content  # the cached response, both ways

    for answer in (got, posted):
        path = tmp_path / "answer.der"
        path.write_bytes(answer.content)
        checked = run("openssl", "ocsp", "-issuer", pki.issuing, "-cert", issued.leaf,
                      "-CAfile", pki.root, "-respin", path, "-no_nonce")  # fmt: skip
        assert _verified(checked), checked.stdout + checked.stderr
        assert f"{issued.leaf}: good" in checked.stdout

    # the response names its responder by key hash and carries the responder's certificate
    parsed = ocsp.load_der_ocsp_response(got.content)
    signer = center.hierarchy().ocsp_signer("mobile")
    assert signer is not None
    assert parsed.responder_key_hash == (
        x509.SubjectKeyIdentifier.from_public_key(signer.certificate.public_key()).digest
    )
    assert parsed.certificates == [signer.certificate]
    assert parsed.hash_algorithm.name == "sha1"


def test_get_answers_carry_rfc5019_cache_headers_and_revalidate_with_304(
    center: Center, pki: Pki, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    issued = issue(new_flow, "C003", tmp_path)
    request = tmp_path / "req.der"
    run("openssl", "ocsp", "-issuer", pki.issuing, "-cert", issued.leaf, "-no_nonce",
        "-reqout", request, check=True)  # fmt: skip

    got = ocsp_get(status_url, request.read_bytes())
    assert got.status_code == 200
    parsed = ocsp.load_der_ocsp_response(got.content)
    etag = got.headers["etag"]
    assert etag == '"' + hashlib.sha256(got.content).hexdigest()[:32] + '"'
    served = parsedate_to_datetime(got.headers["date"])
    modified = parsedate_to_datetime(got.headers["last-modified"])
    assert modified <= served  # RFC 9110 §8.8.2.1, whatever second the response was made in
    assert modified <= parsed.this_update_utc
    assert parsed.next_update_utc is not None
    cap = center.settings.policy.ocsp_http_max_age_seconds
    assert 0 < cap < (parsed.next_update_utc - parsed.this_update_utc).total_seconds()
    # cached for the cap, not until nextUpdate: a suspension reaches caches within it
    assert got.headers["cache-control"] == f"max-age={cap}, public, no-transform, must-revalidate"
    expires = parsedate_to_datetime(got.headers["expires"])
    assert expires - center.clock.now() == timedelta(seconds=cap)
    again = ocsp_get(status_url, request.read_bytes())
    assert again.content == got.content  # the stored response: the same tag
    assert again.headers["etag"] == etag

    # a cache revalidating its copy: 304 without a body, with the validators
    for match in (etag, f"W/{etag}", f'"0123", {etag}', "*"):
        not_modified = ocsp_get(status_url, request.read_bytes(), {"If-None-Match": match})
        assert not_modified.status_code == 304, match
        assert not_modified.content == b""
        assert not_modified.headers["etag"] == etag
        assert not_modified.headers["cache-control"] == got.headers["cache-control"]
        assert not_modified.headers["last-modified"] == got.headers["last-modified"]
    for stale in ('"0123"', etag.strip('"'), ""):
        answer = ocsp_get(status_url, request.read_bytes(), {"If-None-Match": stale})
        assert answer.status_code == 200, stale
        assert answer.content == got.content

    # once the status changes the stored response is gone: the old tag no longer matches
    change_status(center, issued.serial, CertificateStatus.REVOKED, x509.ReasonFlags.superseded)
    revoked = ocsp_get(status_url, request.read_bytes(), {"If-None-Match": etag})
    assert revoked.status_code == 200
    assert revoked.headers["etag"] != etag
    assert ocsp.load_der_ocsp_response(revoked.content).certificate_status is (
        ocsp.OCSPCertStatus.REVOKED
    )
    answer = tmp_path / "answer.der"
    answer.write_bytes(revoked.content)
    checked = run("openssl", "ocsp", "-issuer", pki.issuing, "-cert", issued.leaf,
                  "-CAfile", pki.root, "-respin", answer, "-no_nonce")  # fmt: skip
    assert _verified(checked), checked.stdout + checked.stderr
    assert f"{issued.leaf}: revoked" in checked.stdout


def test_uncacheable_answers_have_no_validators_and_never_304(
    center: Center, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    issued = issue(new_flow, "C001", tmp_path)
    issuer = center.hierarchy().issuing("mobile").certificate
    with_nonce = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(issued.certificate, issuer, hashes.SHA1())  # noqa: S303 - OCSP clients
        .add_extension(x509.OCSPNonce(b"0123456789abcdef"), critical=False)
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    for request, match in ((with_nonce, "*"), (b"garbage", "*")):
        got = ocsp_get(status_url, request, {"If-None-Match": match})
        assert got.status_code == 200
        assert got.headers["cache-control"] == "no-store"
        assert "etag" not in got.headers
        assert "last-modified" not in got.headers
        assert got.content
    # POST answers are never cached by HTTP caches (RFC 5019 §5): no validators either
    posted = httpx.post(
        f"{status_url}/ocsp",
        content=with_nonce,
        headers={"Content-Type": "application/ocsp-request", "If-None-Match": "*"},
        timeout=30,
    )
    assert posted.status_code == 200
    assert "etag" not in posted.headers


def test_a_sha256_certid_is_answered_with_the_same_certid(
    center: Center, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    issued = issue(new_flow, "C001", tmp_path)
    issuer = center.hierarchy().issuing("mobile").certificate
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(issued.certificate, issuer, hashes.SHA256())
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    for _ in range(2):
        answer = ocsp.load_der_ocsp_response(ocsp_get(status_url, request).content)
        assert answer.certificate_status is ocsp.OCSPCertStatus.GOOD
        assert answer.hash_algorithm.name == "sha256"
        assert answer.serial_number == issued.number


def test_clients_mixing_sha1_and_sha256_certids_each_get_their_presigned_response(
    center: Center, pki: Pki, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    """No re-signing, no new Last-Modified when SHA-1 and SHA-256 clients alternate: one
    stored response per CertID hash (read again by a process that holds nothing)."""
    issued = issue(new_flow, "C001", tmp_path)
    requests = {}
    for digest in ("sha1", "sha256"):
        path = tmp_path / f"req-{digest}.der"
        run("openssl", "ocsp", "-issuer", pki.issuing, f"-{digest}", "-cert", issued.leaf,
            "-no_nonce", "-reqout", path, check=True)  # fmt: skip
        requests[digest] = path.read_bytes()
    first = {digest: ocsp_get(status_url, der) for digest, der in requests.items()}
    for digest, got in first.items():
        assert ocsp.load_der_ocsp_response(got.content).hash_algorithm.name == digest
        answer = tmp_path / f"answer-{digest}.der"
        answer.write_bytes(got.content)
        checked = run("openssl", "ocsp", "-issuer", pki.issuing, f"-{digest}", "-cert",
                      issued.leaf, "-CAfile", pki.root, "-respin", answer, "-no_nonce")  # fmt: skip
        assert _verified(checked), checked.stdout + checked.stderr
        assert f"{issued.leaf}: good" in checked.stdout
    with center.uow_factory() as uow:
        stored = {
            algorithm: uow.ocsp.get(issued.serial, algorithm) for algorithm in ("sha1", "sha256")
        }
    assert all(entry is not None for entry in stored.values())

    other_process = center.reconfigured(center.settings)  # its memory holds nothing
    try:
        for _ in range(2):
            for digest in ("sha1", "sha256", "sha1"):
                again = other_process.revocation.ocsp.answer(requests[digest])
                assert again.der == first[digest].content, digest
    finally:
        other_process.close()
    for digest in ("sha256", "sha1"):
        got = ocsp_get(status_url, requests[digest])
        assert got.content == first[digest].content
        assert got.headers["last-modified"] == first[digest].headers["last-modified"]
        assert got.headers["etag"] == first[digest].headers["etag"]
    with center.uow_factory() as uow:
        for algorithm, entry in stored.items():
            kept = uow.ocsp.get(issued.serial, algorithm)
            assert kept is not None and entry is not None and kept.der == entry.der

    # a status change drops both
    change_status(center, issued.serial, CertificateStatus.REVOKED, x509.ReasonFlags.superseded)
    with center.uow_factory() as uow:
        assert uow.ocsp.get(issued.serial, "sha1") is None
        assert uow.ocsp.get(issued.serial, "sha256") is None
    for digest, der in requests.items():
        revoked = ocsp.load_der_ocsp_response(ocsp_get(status_url, der).content)
        assert revoked.certificate_status is ocsp.OCSPCertStatus.REVOKED, digest


def _status_of(content: bytes) -> ocsp.OCSPResponseStatus:
    return ocsp.load_der_ocsp_response(content).response_status


def test_garbage_is_malformed_request_never_a_500(status_url: str) -> None:
    posted = httpx.post(
        f"{status_url}/ocsp",
        content=b"\x30\x03garbage",
        headers={"Content-Type": "application/ocsp-request"},
        timeout=30,
    )
    assert posted.status_code == 200
    assert posted.headers["content-type"] == "application/ocsp-response"
    assert posted.content == bytes.fromhex("30030a0101")  # OCSPResponse{malformedRequest}
    assert _status_of(posted.content) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST

    empty = httpx.post(f"{status_url}/ocsp", content=b"", timeout=30)
    assert empty.status_code == 200
    assert _status_of(empty.content) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST

    for path in ("not-base64!", "%00%01", "AAAA", "MEMwQTA%2FMD0wOzAJBgUrDgMCGgUABBQ", "a/b/c"):
        got = httpx.get(f"{status_url}/ocsp/{path}", timeout=30)
        assert got.status_code == 200, path
        assert got.headers["content-type"] == "application/ocsp-response"
        assert _status_of(got.content) is ocsp.OCSPResponseStatus.MALFORMED_REQUEST, path
        assert got.headers["cache-control"] == "no-store"


def test_a_certificate_of_another_ca_is_unauthorized(
    center: Center, status_url: str, pki: Pki, tmp_path: Path
) -> None:
    """Asking with the root as issuer (the responder serves the mobile CA): unauthorized."""
    hierarchy = center.hierarchy()
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(
            hierarchy.issuing("mobile").certificate,
            hierarchy.root.certificate,
            hashes.SHA1(),  # noqa: S303 - what OCSP clients send
        )
        .build()
        .public_bytes(serialization.Encoding.DER)
    )
    posted = httpx.post(f"{status_url}/ocsp", content=request, timeout=30)
    assert _status_of(posted.content) is ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_a_get_request_whose_base64_ends_in_a_slash_is_read_whole(
    pki: Pki, status_url: str
) -> None:
    """ "/" is a base64 digit: a request whose encoding ends with one (about one in 64 serials)
    is answered, not taken for a trailing slash and refused as malformed."""
    issuer = x509.load_pem_x509_certificate(Path(pki.issuing).read_bytes())
    name_hash = hashlib.sha1(issuer.subject.public_bytes()).digest()  # noqa: S324 — CertID
    key_hash = x509.SubjectKeyIdentifier.from_public_key(issuer.public_key()).digest
    for serial in range(1, 10_000):
        der = (
            ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(name_hash, key_hash, serial, hashes.SHA1())  # noqa: S303
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        if len(der) % 3 == 0 and base64.b64encode(der).endswith(b"/"):
            break
    else:
        raise AssertionError("no serial gives a request ending in '/'")
    got = ocsp_get(status_url, der)
    assert got.status_code == 200
    answer = ocsp.load_der_ocsp_response(got.content)
    assert answer.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.serial_number == serial
    assert answer.certificate_status is ocsp.OCSPCertStatus.UNKNOWN


def test_cache_headers_of_a_response_signed_this_second() -> None:
    """The server's Date may lag our clock by up to a second: a response signed in this
    second is Last-Modified a second earlier; max-age is the cap, or less near the refresh."""
    now = datetime(2026, 11, 23, 10, 0, 0, 400_000, tzinfo=UTC)
    this_update = now.replace(microsecond=0)
    answer = OcspAnswer(
        b"\x30\x03\x0a\x01\x00", True, this_update, this_update + timedelta(hours=24)
    )
    margin = timedelta(hours=1)
    headers = ocsp_cache_headers(answer, now, margin, 60)
    assert parsedate_to_datetime(headers["Last-Modified"]) == this_update - timedelta(seconds=1)
    assert headers["Cache-Control"].startswith("max-age=60,")
    assert parsedate_to_datetime(headers["Expires"]) == this_update + timedelta(seconds=60)
    # an older response keeps its thisUpdate; near the refresh, max-age is what is left
    later = this_update + timedelta(hours=23, seconds=20)
    headers = ocsp_cache_headers(answer, later, margin, 60)
    assert parsedate_to_datetime(headers["Last-Modified"]) == this_update
    assert headers["Cache-Control"].startswith("max-age=0,")  # past the refresh margin
    headers = ocsp_cache_headers(
        answer, this_update + timedelta(hours=22, minutes=59, seconds=30), margin, 60
    )
    assert headers["Cache-Control"].startswith("max-age=30,")
    assert ocsp_cache_headers(OcspAnswer(b"\x30\x03\x0a\x01\x01"), now, margin, 60) == {}


def test_two_certificates_in_one_request_are_each_answered(
    center: Center, pki: Pki, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    """``openssl ocsp -issuer … -cert a -cert b``: one response, a SingleResponse for each,
    signed for the request with a nonce or without."""
    good = issue(new_flow, "C001", tmp_path)
    revoked = issue(new_flow, "C002", tmp_path)
    change_status(
        center, revoked.serial, CertificateStatus.REVOKED, x509.ReasonFlags.key_compromise
    )
    for nonce in (True, False):
        both = openssl_ocsp(pki, status_url, "-cert", good.leaf, "-cert", revoked.leaf, nonce=nonce)
        assert _verified(both), both.stdout + both.stderr
        assert _status_line(both, str(good.leaf)) == f"{good.leaf}: good"
        assert _status_line(both, str(revoked.leaf)) == f"{revoked.leaf}: revoked"
        assert "Reason: keyCompromise" in both.stdout
        if nonce:
            assert "WARNING" not in both.stderr  # the nonce was echoed and checked

    # over HTTP GET too, never cached (the set asked about is the client's)
    request = tmp_path / "two.der"
    run("openssl", "ocsp", "-issuer", pki.issuing, "-cert", good.leaf, "-cert", revoked.leaf,
        "-no_nonce", "-reqout", request, check=True)  # fmt: skip
    got = ocsp_get(status_url, request.read_bytes())
    assert got.headers["cache-control"] == "no-store" and "etag" not in got.headers
    parsed = ocsp.load_der_ocsp_response(got.content)
    assert [single.serial_number for single in parsed.responses] == [good.number, revoked.number]
    assert [single.certificate_status for single in parsed.responses] == [
        ocsp.OCSPCertStatus.GOOD,
        ocsp.OCSPCertStatus.REVOKED,
    ]


def test_a_request_for_certificates_of_two_issuers_and_over_the_limit(
    center: Center, pki: Pki, status_url: str, new_flow: FlowFactory, tmp_path: Path
) -> None:
    issued = issue(new_flow, "C001", tmp_path)
    # the second names the root as issuer: the mobile CA's responder cannot speak for it
    mixed = run("openssl", "ocsp", "-issuer", pki.issuing, "-cert", issued.leaf,
                "-issuer", pki.root, "-serial", "0x1234567890ABCDEF",
                "-url", f"{status_url}/ocsp", "-CAfile", pki.root)  # fmt: skip
    assert "unauthorized" in (mixed.stdout + mixed.stderr).lower(), mixed.stdout + mixed.stderr

    limit = center.settings.policy.ocsp_max_certificates_per_request
    serials = [arg for n in range(limit) for arg in ("-serial", hex(0x1000 + n))]
    at_limit = openssl_ocsp(pki, status_url, *serials)
    assert _verified(at_limit), at_limit.stdout + at_limit.stderr
    assert at_limit.stdout.count(": unknown") == limit
    over = openssl_ocsp(pki, status_url, *serials, "-serial", "0x2000")
    assert "malformedrequest" in (over.stdout + over.stderr).lower()
