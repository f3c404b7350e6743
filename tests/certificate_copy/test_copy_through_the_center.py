"""인증서 복사 through the center's API, on SQLite and PostgreSQL: a joint certificate copied
from one device's NPKI folder to another's, readable there by PyPinkSign with its password;
the center holds nothing that opens it and forgets it; the relay's refusals."""

from __future__ import annotations

import base64
import concurrent.futures
from pathlib import Path

import httpx
import pypinksign
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import select

from certcenter.bootstrap import Center
from certcenter.cli.main import cli
from certcenter.clock import FrozenClock
from certcenter.npki import write_folder
from certcenter.npki.copy import (
    CopyReceiver,
    check_fingerprint,
    pack_folder,
    parse_code,
    seal,
    unpack_into,
)
from certcenter.npki.folder import CERT_FILE, KEY_FILE
from certcenter.pki.vid import vid_matches
from certcenter.storage import tables
from tests.certificate_copy.conftest import PASSWORD, Holder
from tests.conftest import LiveServer
from tests.npki.conftest import RRN
from tests.security.support import assert_problem

PHONE = "211.36.1.10"
PC = "211.36.1.20"
ATTACKER = "211.36.1.66"


def _client(url: str, address: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"X-Forwarded-For": address}, timeout=30)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _open(http: httpx.Client, receiver: CopyReceiver) -> dict[str, str]:
    response = http.post("/v1/certificate-copies", json={"public_key": _b64(receiver.public_bytes)})
    assert response.status_code == 201, response.text
    body: dict[str, str] = response.json()
    return body


def _send(http: httpx.Client, code: str, folder: Path) -> httpx.Response:
    """The sending device: fetch the key, check the fingerprint, seal, upload."""
    relay_id, digits = parse_code(code)
    shown = http.get(f"/v1/certificate-copies/{relay_id}")
    assert shown.status_code == 200, shown.text
    public_key = base64.b64decode(shown.json()["public_key"])
    check_fingerprint(relay_id, public_key, digits)
    sealed = seal(relay_id, public_key, pack_folder(folder))
    return http.put(f"/v1/certificate-copies/{relay_id}/payload", json={"payload": _b64(sealed)})


def _rows(center: Center) -> list[dict[str, object]]:
    with center.engine.connect() as connection:
        rows = connection.execute(select(tables.certificate_copies)).mappings().all()
    return [dict(row) for row in rows]


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # PyPinkSign leaves its files open
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_certificate_is_copied_from_pc_to_phone_and_the_center_keeps_nothing(
    center: Center, api: LiveServer, holder: Holder, pc_folder: Path, tmp_path: Path
) -> None:
    receiver = CopyReceiver.new()
    with _client(api.url, PHONE) as phone, _client(api.url, PC) as pc:
        opened = _open(phone, receiver)
        relay_id, token = opened["relay_id"], opened["token"]
        code = receiver.code(relay_id)
        auth = {"Authorization": f"Bearer {token}"}
        waiting = phone.get(f"/v1/certificate-copies/{relay_id}/payload", headers=auth)
        assert waiting.status_code == 200 and waiting.json()["state"] == "waiting"

        sent = _send(pc, code, pc_folder)
        assert sent.status_code == 200, sent.text

        # what the center holds: the receiver's public key, a token digest, ciphertext
        (row,) = _rows(center)
        assert row["id"] == relay_id and row["public_key"] == receiver.public_bytes
        assert row["token_digest"] != token and token not in str(row)
        payload = bytes(row["payload"])  # type: ignore[arg-type]
        key_file = (pc_folder / KEY_FILE).read_bytes()
        cert_der = (pc_folder / CERT_FILE).read_bytes()
        for plain in (key_file, cert_der, _b64(key_file).encode(), _b64(cert_der).encode()):
            assert plain[:32] not in payload
        assert b"signPri.key" not in payload and b"yessign" not in payload
        assert code.split("-")[1] not in str(row)  # the fingerprint digits never reach it
        # no stored value opens it: the payload opens for the receiver's private key only
        assert receiver.open(relay_id, payload) == pack_folder(pc_folder)

        fetched = phone.get(f"/v1/certificate-copies/{relay_id}/payload", headers=auth)
        assert fetched.status_code == 200 and fetched.json()["state"] == "sent"
        assert _rows(center) == []  # deleted as it was handed out
        again = phone.get(f"/v1/certificate-copies/{relay_id}/payload", headers=auth)
        assert_problem(again, 404, "CERTIFICATE_COPY_NOT_FOUND")

    phone_root = tmp_path / "phone" / "NPKI"
    archive = receiver.open(relay_id, base64.b64decode(fetched.json()["payload"]))
    folder = unpack_into(phone_root, archive)
    assert (folder / KEY_FILE).read_bytes() == key_file
    assert (folder / CERT_FILE).read_bytes() == cert_der

    signer = pypinksign.choose_cert(base_path=str(phone_root), cn="홍길동", pw=PASSWORD.encode())
    assert signer.issuer() == "yessign"
    signature = signer.sign(b"login 2026-12-04")
    holder.certificate.public_key().verify(  # type: ignore[call-arg]
        signature, b"login 2026-12-04", padding.PKCS1v15(), hashes.SHA256()
    )
    assert vid_matches(holder.certificate, RRN, signer._rand_num.asOctets())

    with center.uow_factory() as uow:
        entries = uow.audit.for_subject("certificate_copy", relay_id)
    assert [e.action for e in reversed(entries)] == [
        "certificate_copy.open",
        "certificate_copy.send",
        "certificate_copy.receive",
    ]
    assert all(token not in str(e.details) for e in entries)


def test_an_expired_relay_is_refused_and_forgotten(
    center: Center, api: LiveServer, clock: FrozenClock, pc_folder: Path
) -> None:
    receiver = CopyReceiver.new()
    with _client(api.url, PHONE) as phone, _client(api.url, PC) as pc:
        relay_id = _open(phone, receiver)["relay_id"]
        other = _open(phone, CopyReceiver.new())
        assert len(_rows(center)) == 2
        clock.advance(seconds=center.settings.policy.certificate_copy_ttl_seconds)
        assert_problem(
            pc.get(f"/v1/certificate-copies/{relay_id}"), 410, "CERTIFICATE_COPY_EXPIRED"
        )
        assert [row["id"] for row in _rows(center)] == [other["relay_id"]]
        # the job deletes the rest, with whatever was sent to them
        report = center.jobs.run_once()
        assert report.copies_purged == 1 and _rows(center) == []
        auth = {"Authorization": f"Bearer {other['token']}"}
        gone = phone.get(f"/v1/certificate-copies/{other['relay_id']}/payload", headers=auth)
        assert_problem(gone, 404, "CERTIFICATE_COPY_NOT_FOUND")


def test_a_sent_payload_expires_unfetched(
    center: Center, api: LiveServer, clock: FrozenClock, pc_folder: Path
) -> None:
    receiver = CopyReceiver.new()
    with _client(api.url, PHONE) as phone, _client(api.url, PC) as pc:
        opened = _open(phone, receiver)
        assert _send(pc, receiver.code(opened["relay_id"]), pc_folder).status_code == 200
        clock.advance(seconds=center.settings.policy.certificate_copy_ttl_seconds + 1)
        auth = {"Authorization": f"Bearer {opened['token']}"}
        late = phone.get(f"/v1/certificate-copies/{opened['relay_id']}/payload", headers=auth)
        assert_problem(late, 410, "CERTIFICATE_COPY_EXPIRED")
        assert _rows(center) == []


def test_a_relay_takes_one_upload(center: Center, api: LiveServer, pc_folder: Path) -> None:
    receiver = CopyReceiver.new()
    with _client(api.url, PHONE) as phone, _client(api.url, PC) as pc:
        relay_id = _open(phone, receiver)["relay_id"]
        code = receiver.code(relay_id)
        assert _send(pc, code, pc_folder).status_code == 200
        first = _rows(center)[0]["payload"]
        sealed = seal(relay_id, receiver.public_bytes, b"another certificate")
        second = pc.put(
            f"/v1/certificate-copies/{relay_id}/payload", json={"payload": _b64(sealed)}
        )
        assert_problem(second, 409, "CERTIFICATE_COPY_ALREADY_SENT")
        assert_problem(
            pc.get(f"/v1/certificate-copies/{relay_id}"), 409, "CERTIFICATE_COPY_ALREADY_SENT"
        )
        assert _rows(center)[0]["payload"] == first


def test_a_substituted_public_key_is_caught_before_anything_is_sent(
    center: Center, api: LiveServer, pc_folder: Path
) -> None:
    """Whoever hands the sender another key (the center itself, or someone between) holds a
    key whose fingerprint is not the one the receiving device shows: the sender refuses."""
    receiver = CopyReceiver.new()
    with _client(api.url, ATTACKER) as attacker:
        # the relay now carries the attacker's key; the receiver shows its own key's code
        relay_id = _open(attacker, CopyReceiver.new())["relay_id"]
    code = receiver.code(relay_id)
    result = CliRunner().invoke(
        cli,
        [
            "--lang",
            "en",
            "app",
            "joint",
            "copy",
            "send",
            "--npki",
            str(pc_folder.parents[2]),
            "--code",
            code,
            "--url",
            api.url,
        ],
    )
    assert result.exit_code == 1, result.output
    assert "CERTIFICATE_COPY_FINGERPRINT_MISMATCH" in result.output
    assert "Traceback" not in result.output
    (row,) = _rows(center)
    assert row["payload"] is None and row["sent_at"] is None


@pytest.mark.policy(failure_max_in_window_per_address=5)
def test_guessing_relay_ids_blocks_the_address(
    center: Center, api: LiveServer, pc_folder: Path
) -> None:
    receiver = CopyReceiver.new()
    with _client(api.url, PHONE) as phone, _client(api.url, ATTACKER) as attacker:
        relay_id = _open(phone, receiver)["relay_id"]
        guesses = [f"{(int(relay_id) + n) % 10**8:08d}" for n in range(1, 6)]
        for guess in guesses:
            assert_problem(
                attacker.get(f"/v1/certificate-copies/{guess}"), 404, "CERTIFICATE_COPY_NOT_FOUND"
            )
        # the window is full: the address is refused, the right id included
        assert_problem(attacker.get(f"/v1/certificate-copies/{relay_id}"), 429, "TOO_MANY_ATTEMPTS")
        assert_problem(
            attacker.put(
                f"/v1/certificate-copies/{relay_id}/payload",
                json={"payload": _b64(seal(relay_id, receiver.public_bytes, b"not theirs"))},
            ),
            429,
            "TOO_MANY_ATTEMPTS",
        )
        # the receiver and other senders are not blocked by it
        with _client(api.url, PC) as pc:
            assert _send(pc, receiver.code(relay_id), pc_folder).status_code == 200


@pytest.mark.policy(failure_max_in_window_per_address=3)
def test_a_wrong_token_is_an_unknown_relay_and_counts(center: Center, api: LiveServer) -> None:
    with _client(api.url, PHONE) as phone, _client(api.url, ATTACKER) as attacker:
        opened = _open(phone, CopyReceiver.new())
        path = f"/v1/certificate-copies/{opened['relay_id']}"
        real = opened["token"]
        changed = real[:-1] + ("B" if real.endswith("A") else "A")  # one character off
        for token in ("", "x" * 43, changed):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            assert_problem(
                attacker.get(f"{path}/payload", headers=headers), 404, "CERTIFICATE_COPY_NOT_FOUND"
            )
        assert_problem(attacker.delete(path), 429, "TOO_MANY_ATTEMPTS")
        assert len(_rows(center)) == 1  # nobody but the receiver fetches or cancels
        auth = {"Authorization": f"Bearer {opened['token']}"}
        assert phone.delete(path, headers=auth).status_code == 204
        assert _rows(center) == []


@pytest.mark.policy(certificate_copy_max_bytes=2048)
def test_an_oversize_payload_is_refused(center: Center, api: LiveServer) -> None:
    receiver = CopyReceiver.new()
    with _client(api.url, PHONE) as phone, _client(api.url, PC) as pc:
        relay_id = _open(phone, receiver)["relay_id"]
        path = f"/v1/certificate-copies/{relay_id}/payload"
        big = seal(relay_id, receiver.public_bytes, b"x" * 2048)
        assert_problem(pc.put(path, json={"payload": _b64(big)}), 413, "CERTIFICATE_COPY_TOO_LARGE")
        huge = pc.put(path, json={"payload": _b64(b"x" * 70_000)})
        assert_problem(huge, 413, "REQUEST_TOO_LARGE")
        (row,) = _rows(center)
        assert row["payload"] is None
        fits = seal(relay_id, receiver.public_bytes, b"x" * 1024)
        assert pc.put(path, json={"payload": _b64(fits)}).status_code == 200


@pytest.mark.policy(certificate_copy_max_open_per_address=2)
def test_one_address_waits_for_a_few_copies_at_once(center: Center, api: LiveServer) -> None:
    with _client(api.url, PHONE) as phone:
        _open(phone, CopyReceiver.new())
        _open(phone, CopyReceiver.new())
        third = phone.post(
            "/v1/certificate-copies", json={"public_key": _b64(CopyReceiver.new().public_bytes)}
        )
        assert_problem(third, 429, "CERTIFICATE_COPY_TOO_MANY")
    with _client(api.url, PC) as pc:
        _open(pc, CopyReceiver.new())
    assert len(_rows(center)) == 3


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"public_key": "AAAA"},
        {"public_key": "!" * 43 + "="},
        {"public_key": _b64(bytes(31)) + "AA"},
        {"public_key": _b64(bytes(32)), "extra": 1},
    ],
)
def test_a_malformed_public_key_is_refused(center: Center, api: LiveServer, body: dict) -> None:
    with _client(api.url, PHONE) as phone:
        assert_problem(phone.post("/v1/certificate-copies", json=body), 422, "INVALID_REQUEST")
    assert _rows(center) == []


@pytest.mark.parametrize("relay_id", ["1234", "abcdefgh", "12345678901234567", "%2e%2e"])
def test_a_malformed_relay_id_is_unknown(center: Center, api: LiveServer, relay_id: str) -> None:
    with _client(api.url, ATTACKER) as attacker:
        response = attacker.get(f"/v1/certificate-copies/{relay_id}")
    assert response.status_code in (404, 422), response.text
    assert response.json()["code"] in ("CERTIFICATE_COPY_NOT_FOUND", "INVALID_REQUEST", "NOT_FOUND")


def test_a_payload_that_is_not_base64_or_sealed_is_refused(center: Center, api: LiveServer) -> None:
    with _client(api.url, PHONE) as phone, _client(api.url, PC) as pc:
        relay_id = _open(phone, CopyReceiver.new())["relay_id"]
        path = f"/v1/certificate-copies/{relay_id}/payload"
        assert_problem(pc.put(path, json={"payload": "not base64!"}), 422, "INVALID_REQUEST")
        assert_problem(pc.put(path, json={"payload": _b64(b"short")}), 422, "INVALID_REQUEST")
    assert _rows(center)[0]["payload"] is None


def test_two_uploads_at_once_leave_one(center: Center, api: LiveServer, pc_folder: Path) -> None:
    receiver = CopyReceiver.new()
    with _client(api.url, PHONE) as phone:
        relay_id = _open(phone, receiver)["relay_id"]
    sealed = [seal(relay_id, receiver.public_bytes, pack_folder(pc_folder)) for _ in range(4)]

    def upload(payload: bytes) -> int:
        with _client(api.url, PC) as pc:
            path = f"/v1/certificate-copies/{relay_id}/payload"
            return pc.put(path, json={"payload": _b64(payload)}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        statuses = sorted(pool.map(upload, sealed))
    assert statuses == [200, 409, 409, 409]
    (row,) = _rows(center)
    assert row["payload"] in sealed


def test_the_sender_chooses_among_several_certificates(
    center: Center, api: LiveServer, holder: Holder, pc_folder: Path, tmp_path: Path
) -> None:
    root = pc_folder.parents[2]
    other = holder.ca.issue("김민준()0098765432109876")
    write_folder(root, other.certificate, other.key, PASSWORD, random_num=None)
    receiver = CopyReceiver.new()
    with _client(api.url, PHONE) as phone:
        opened = _open(phone, receiver)
    code = receiver.code(opened["relay_id"])
    send = ["--lang", "en", "app", "joint", "copy", "send", "--npki", str(root), "--code", code]
    unchosen = CliRunner().invoke(cli, [*send, "--url", api.url])
    assert unchosen.exit_code == 2 and pc_folder.name in unchosen.output
    assert _rows(center)[0]["payload"] is None  # nothing was sent

    chosen = CliRunner().invoke(cli, [*send, "--folder", pc_folder.name, "--url", api.url])
    assert chosen.exit_code == 0, chosen.output
    assert "홍길동" in chosen.output
    with _client(api.url, PHONE) as phone:
        auth = {"Authorization": f"Bearer {opened['token']}"}
        fetched = phone.get(f"/v1/certificate-copies/{opened['relay_id']}/payload", headers=auth)
    archive = receiver.open(opened["relay_id"], base64.b64decode(fetched.json()["payload"]))
    folder = unpack_into(tmp_path / "phone", archive)
    assert folder.name == pc_folder.name
