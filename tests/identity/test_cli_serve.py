"""``hub serve`` as deployed: what its access log keeps, and whose address a request counts as
(``X-Forwarded-For`` is believed only from a proxy the operator names)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.conftest import HUB, SECRET, free_port, run_hub, wait_for_health

#: an ID token as a relying party sends it to /logout: it names the patron and their standing
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJuYW1lIjoiQWRhIEdvb2QiLCJjYXJkIjoiMjExMTAwMDAwMDAwMDEifQ.c2ln"


class Served:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.log = ""

    def lines(self) -> list[dict[str, object]]:
        """Every line of the log, each a JSON object (json.loads fails on any that is not)."""
        return [json.loads(line) for line in self.log.splitlines() if line.strip()]

    def requests(self) -> list[dict[str, object]]:
        return [line for line in self.lines() if line["event"] == "request"]


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
    logged = {(line["method"], line["route"], line["status"]) for line in served.requests()}
    assert {("GET", "/logout", 400), ("GET", "/authorize", 400)} <= logged, served.log
    assert ("GET", "/admin/lookups", 303) in logged, served.log
    for secret in (ID_TOKEN, "id_token_hint", "21110000000001", "s3cret-state", "?"):
        assert secret not in served.log, served.log


def wrong_sign_ins(served: Served, *forwarded_for: str) -> list[int]:
    """The statuses of one wrong admin sign-in per address claimed in X-Forwarded-For."""
    with httpx.Client(base_url=served.url) as browser:
        form = browser.get("/admin/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf
        return [
            browser.post(
                "/admin/login",
                data={"csrf": csrf[1], "email": f"nobody{n}@example.org", "password": "wrong"},
                headers={"X-Forwarded-For": address},
            ).status_code
            for n, address in enumerate(forwarded_for)
        ]


ADDRESSES = ("203.0.113.1", "203.0.113.2", "203.0.113.3")


def test_forwarded_addresses_are_not_believed_by_default(database_url: str, engine: object) -> None:
    with serving(database_url, HUB_GUESSES_PER_ADDRESS="2/900") as served:
        statuses = wrong_sign_ins(served, *ADDRESSES)
    assert statuses == [400, 400, 429]  # all three counted as 127.0.0.1
    assert "203.0.113." not in served.log
    assert {line["client"] for line in served.requests()} == {"127.0.0.1"}


def test_a_named_proxy_is_believed(database_url: str, engine: object) -> None:
    args = ("--forwarded-allow-ips", "127.0.0.1")
    with serving(database_url, *args, HUB_GUESSES_PER_ADDRESS="2/900") as served:
        statuses = wrong_sign_ins(served, *ADDRESSES)
    assert statuses == [400, 400, 400]  # one attempt from each client behind the proxy
    posts = [(r["client"], r["status"]) for r in served.requests() if r["method"] == "POST"]
    assert posts == [(address, 400) for address in ADDRESSES], served.log
    with serving(database_url, HUB_FORWARDED_ALLOW_IPS="127.0.0.0/8, ::1") as served:
        assert wrong_sign_ins(served, "198.51.100.7") == [400]
    posts = [(r["client"], r["status"]) for r in served.requests() if r["method"] == "POST"]
    assert posts == [("198.51.100.7", 400)], served.log


def test_a_proxy_that_is_not_an_address_is_refused(database_url: str) -> None:
    def serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        # refused before serving: nothing listens on the port
        environment = {"HUB_DATABASE_URL": database_url, "HUB_SECRET_KEY": SECRET, **env}
        return run_hub("serve", "--port", str(free_port()), *args, env=environment)

    bad = serve("--forwarded-allow-ips", "proxy.example.org")
    assert bad.returncode == 2
    plain = " ".join(bad.stderr.replace("│", " ").split())  # typer may draw a box around it
    assert "'proxy.example.org' is not an IP address or network" in plain
    unset = serve(HUB_FORWARDED_ALLOW_IPS="10.0.0.300")
    assert unset.returncode == 1
    assert "HUB_FORWARDED_ALLOW_IPS" in unset.stderr and "10.0.0.300" in unset.stderr
