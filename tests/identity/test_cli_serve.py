"""``hub serve`` as deployed: what its access log keeps."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.conftest import HUB, free_port, wait_for_health

pytestmark = pytest.mark.db

SECRET = "a-test-secret-that-is-long-enough-for-the-hub-0123456789"
#: an ID token as a relying party sends it to /logout: it names the patron and their standing
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJuYW1lIjoiQWRhIEdvb2QiLCJjYXJkIjoiMjExMTAwMDAwMDAwMDEifQ.c2ln"


class Served:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.log = ""


@contextmanager
def serving(database_url: str, *args: str, **env: str) -> Iterator[Served]:
    """``hub serve`` with ``args`` and ``env``; its log is in ``log`` once it has stopped."""
    port = free_port()
    process = subprocess.Popen(
        [HUB, "serve", "--port", str(port), *args],
        env={**os.environ, "HUB_DATABASE_URL": database_url, "HUB_SECRET_KEY": SECRET, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(process, port)
    try:
        wait_for_health(process, port, within_s=30)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        served.log, _ = process.communicate(timeout=20)


def test_query_strings_stay_out_of_the_access_log(database_url: str, engine: object) -> None:
    with serving(database_url) as served:
        for path in (
            f"/logout?id_token_hint={ID_TOKEN}&state=xyz",
            "/authorize?client_id=lender&login_hint=21110000000001&state=s3cret-state",
            "/admin/lookups?card=21110000000001",
        ):
            httpx.get(f"{served.url}{path}")
    for path in ("/logout", "/authorize", "/admin/lookups"):
        assert re.search(rf'"GET {path} HTTP/1\.1" \d{{3}}', served.log), served.log
    for secret in (ID_TOKEN, "id_token_hint", "21110000000001", "s3cret-state", "?"):
        assert secret not in served.log, served.log
