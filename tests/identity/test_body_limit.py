"""The request body limit (``identity.web.body_limit``), against ``hub serve`` over real
sockets: a declared length over the limit is answered 413 before any of the body is sent, a
chunked body is refused as soon as it passes the limit, the server's memory does not grow with
a 40 MB body, and each kind of client gets the 413 in the form it reads."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from identity.app import create_app
from identity.settings import Settings
from tests.conftest import HUB, SECRET, free_port, wait_for_health

KIB, MIB = 1024, 1024 * 1024
SMALL = 64 * KIB  # HUB_MAX_BODY_BYTES by default
ADMIN = 8 * MIB  # HUB_MAX_ADMIN_BODY_BYTES by default


class Served:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def peak_rss_kib(self) -> int:
        """The server's peak resident memory so far (one worker: ``hub serve``'s own process)."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0])

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    database = tmp_path_factory.mktemp("hub") / "hub.db"
    port = free_port()
    env = {**os.environ, "HUB_DATABASE_URL": f"sqlite:///{database}", "HUB_SECRET_KEY": SECRET}
    process = subprocess.Popen(
        [HUB, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_health(process, port, within_s=30)
        yield Served(process, port)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        if process.stdout:
            process.stdout.close()


def answer_within(sock: socket.socket, seconds: float) -> bytes:
    """The server's whole answer, up to its closing the connection, if it began to answer
    within ``seconds`` (empty: it has not)."""
    readable, _, _ = select.select([sock], [], [], seconds)
    if not readable:
        return b""
    answer = b""
    while part := sock.recv(64 * KIB):
        answer += part
    return answer


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(
    served: Served,
) -> None:
    with served.connect() as sock:
        sock.sendall(
            b"POST /api/v1/eligibility HTTP/1.1\r\nHost: hub\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (40 * MIB)
        )  # and not one byte of the body
        answer = answer_within(sock, 5)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"content-type: application/problem+json" in head.lower()
    assert b"connection: close" in head.lower()
    assert b'"type":"/problems/payload-too-large"' in body
    assert b"larger than 65536 bytes" in body


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(served: Served) -> None:
    chunk = b"x" * (16 * KIB)
    sent, answer = 0, b""
    with served.connect() as sock:
        sock.sendall(
            b"POST /api/v1/eligibility HTTP/1.1\r\nHost: hub\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        while sent < 2 * MIB and not answer:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
            answer = answer_within(sock, 0.02)
    assert answer.startswith(b"HTTP/1.1 413 "), (sent, answer[:200])
    assert SMALL < sent <= SMALL + 4 * len(chunk)  # refused within a few chunks of the limit
    assert b'"type":"/problems/payload-too-large"' in answer


def test_a_40_mb_body_does_not_grow_the_servers_memory(served: Served) -> None:
    body = b'{"home_library": "' + b"x" * (40 * MIB) + b'"}'
    before = served.peak_rss_kib()
    declared = httpx.post(f"{served.url}/api/v1/eligibility", content=body,
                          headers={"Content-Type": "application/json"}, timeout=30)  # fmt: skip

    def streamed() -> Iterator[bytes]:
        for start in range(0, len(body), MIB):
            yield body[start : start + MIB]

    chunked = httpx.post(f"{served.url}/api/v1/eligibility", content=streamed(),
                         headers={"Content-Type": "application/json"}, timeout=30)  # fmt: skip
    grown = served.peak_rss_kib() - before
    assert (declared.status_code, chunked.status_code) == (413, 413)
    assert grown < 8 * KIB, f"the server's peak memory grew by {grown} KiB"


def post(served: Served, path: str, size: int, content_type: str) -> httpx.Response:
    """A body of exactly ``size`` bytes: a JSON object, or a form with one field."""
    if content_type == "application/json":
        content = b'{"x": "' + b"a" * (size - 9) + b'"}'
    else:
        content = b"x=" + b"a" * (size - 2)
    assert len(content) == size
    return httpx.post(f"{served.url}{path}", content=content,
                      headers={"Content-Type": content_type}, timeout=30)  # fmt: skip


def test_each_client_reads_the_413_in_its_own_form(served: Served) -> None:
    form = "application/x-www-form-urlencoded"
    token = post(served, "/token", SMALL + 1, form)
    assert token.status_code == 413
    assert token.json()["error"] == "invalid_request"
    assert "65536 bytes" in token.json()["error_description"]
    assert token.headers["cache-control"] == "no-store"

    page = post(served, "/admin/login", SMALL + 1, form)  # a browser's form post
    assert page.status_code == 413
    assert page.headers["content-type"].startswith("text/html")
    assert "The form is too large" in page.text and "Nothing was done." in page.text
    assert page.headers["x-frame-options"] == "DENY"

    described = httpx.get(f"{served.url}/problems/payload-too-large")
    assert described.status_code == 200 and "413 The request body is too large" in described.text


def test_the_limit_is_per_route_family(served: Served) -> None:
    json = "application/json"
    at_limit = post(served, "/api/v1/eligibility", SMALL, json)
    assert at_limit.status_code == 401, at_limit.text  # read whole, then refused for no token
    # an agreement set imported by an administrator may be larger; signing in may not
    imported = post(served, "/api/v1/admin/versions", 2 * MIB, json)
    assert imported.status_code == 401, imported.text
    too_large = post(served, "/api/v1/admin/versions", ADMIN + 1, json)
    assert too_large.status_code == 413
    assert "8388608 bytes" in too_large.json()["detail"]
    signing_in = post(served, "/api/v1/admin/sessions", SMALL + 1, json)
    assert signing_in.status_code == 413
    assert signing_in.json()["type"] == "/problems/payload-too-large"


def test_the_limits_are_settings(database_url: str, engine: object) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET, max_body_bytes=2048,
                        max_admin_body_bytes=4096)  # fmt: skip
    with TestClient(create_app(settings)) as client:
        assert client.post("/token", content=b"x" * 2049).status_code == 413
        assert client.post("/token", content=b"x" * 2048).status_code != 413
        assert client.post("/api/v1/admin/check", content=b"x" * 4097).status_code == 413
        assert client.post("/api/v1/admin/check", content=b"x" * 4096).status_code != 413
    with pytest.raises(ValueError, match="between 1024 bytes and 1 GiB"):
        Settings(max_body_bytes=100)
