"""A body sent with ``Transfer-Encoding: chunked`` (no ``Content-Length``) is counted as it is
read: 10 MB and 100 MB bodies are answered ``REQUEST_TOO_LARGE`` soon after the limit, on an
API route and a web form alike, without the rest being read. A real server (uvicorn) does the
chunked decoding; the test speaks HTTP/1.1 on a socket to send the chunks itself."""

from __future__ import annotations

import json
import select
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from certcenter.server import MAX_BODY_BYTES
from tests.conftest import LiveServer

CHUNK = 16 * 1024


def _send_chunked(url: str, path: str, total: int, content_type: str) -> tuple[int, bytes, int]:
    """Send ``total`` bytes in chunks until the server answers; (status, body, bytes sent)."""
    where = urlsplit(url)
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        )
        sent = 0
        chunk = b"[" + b"1," * (CHUNK // 2 - 1) + b"1"
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while part := sock.recv(65536):
                answer += part
                if b"\r\n\r\n" in answer and _complete(answer):
                    break
        except ConnectionResetError:
            pass
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body, sent


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


@pytest.mark.parametrize("total", [10 * 1024 * 1024, 100 * 1024 * 1024])
@pytest.mark.parametrize(
    ("path", "content_type"),
    [("/v1/enrollments", "application/json"), ("/why", "application/x-www-form-urlencoded")],
)
def test_a_chunked_body_over_the_limit_is_refused_as_it_is_read(
    api: LiveServer, path: str, content_type: str, total: int
) -> None:
    status, body, sent = _send_chunked(api.url, path, total, content_type)
    assert status == 413
    problem = json.loads(body)
    assert problem["code"] == "REQUEST_TOO_LARGE"
    assert sent < 4 * 1024 * 1024  # answered long before the whole body was sent


def test_a_chunked_body_under_the_limit_is_served(api: LiveServer) -> None:
    body = json.dumps(
        {
            "device": {
                "device_id": "dev-chunked-0001",
                "platform": "android",
                "model": "SM-S928N",
                "app_version": "5.2.0",
            }
        }
    ).encode()
    assert len(body) < MAX_BODY_BYTES
    response = httpx.post(
        f"{api.url}/v1/enrollments",
        content=iter([body[:20], body[20:]]),  # an iterator: sent chunked
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert response.status_code == 201, response.text


def test_content_length_over_the_limit_is_refused_before_reading(api: LiveServer) -> None:
    response = httpx.post(
        f"{api.url}/v1/enrollments",
        content=b"x" * (MAX_BODY_BYTES + 1),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413
    assert response.json()["code"] == "REQUEST_TOO_LARGE"
