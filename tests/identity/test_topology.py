"""The production topology of ``deploy/``: Debian's nginx, with ``deploy/nginx/hub-proxy.conf``,
in front of two ``hub serve`` instances on one PostgreSQL database. Through the balancer a
patron signs in (the authorization code flow, Authlib's client as the relying party) and a
partner asks the eligibility API; the instances believe ``X-Forwarded-For`` from nginx only.

On loopback the parts are told apart by address: nginx connects to the instances from
127.0.0.2 (the only address in ``HUB_FORWARDED_ALLOW_IPS``), the patron's browser connects to
nginx from 127.0.0.3, and the test's other clients from 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from identity import demo
from identity.oauth import registration
from identity.store.database import transaction
from tests.conftest import HUB, SECRET, free_port
from tests.identity.connectors.saml.idp import make_keys
from tests.identity.oauth.browser import Browser
from tests.identity.oauth.conftest import GOOD
from tests.identity.oauth.relying_party import RelyingParty

#: slow as well as db: make test runs it once, in its PostgreSQL pass (three servers to start)
pytestmark = [pytest.mark.db, pytest.mark.slow]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nginx"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
NGINX_ADDRESS, PATRON_ADDRESS, FORGED = "127.0.0.2", "127.0.0.3", "198.51.100.7"

#: what the test adds around hub-proxy.conf: the main context for one process (no workers that
#: would switch to another user) in the foreground, writing only under the test's directory, and
#: the upstream of the two instances as hub.conf has it
CONFIG = """\
daemon off;
master_process off;
pid {root}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream hub {{
        server 127.0.0.1:{first} max_fails=2 fail_timeout=10s;
        server 127.0.0.1:{second} max_fails=2 fail_timeout=10s;
        keepalive 16;
        keepalive_timeout 4s;
    }}
    server {{
        listen 127.0.0.1:{port};
        proxy_bind {nginx_address};
        include {deploy}/hub-proxy.conf;
    }}
}}
"""


@dataclass
class Topology:
    issuer: str
    engine: Engine
    logs: list[Path]
    instances: list[str]
    browsers: list[Browser] = field(default_factory=list)

    def client(self, address: str = "127.0.0.1", **headers: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.issuer,
            transport=httpx.HTTPTransport(local_address=address),
            headers=headers,
            timeout=30,
        )

    def access_log(self) -> list[list[dict[str, Any]]]:
        """Each instance's access log lines so far."""
        return [
            [line for line in map(json.loads, log.read_text().splitlines()) if _request(line)]
            for log in self.logs
        ]


def _request(line: dict[str, Any]) -> bool:
    return line.get("logger") == "hub.access" and line.get("event") == "request"


def nginx_program() -> str:
    """Debian's nginx; without it the test is skipped, or fails under ``HUB_REQUIRE_NGINX=1``
    (set by ``.ci/run``)."""
    if NGINX is None:
        if os.environ.get("HUB_REQUIRE_NGINX") == "1":
            pytest.fail("nginx is not installed (apt-get install nginx)")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    return NGINX


@pytest.fixture
def topology(demo_network: Engine, database_url: str, tmp_path: Path) -> Iterator[Topology]:
    program = nginx_program()
    port, first, second = free_port(), free_port(), free_port()
    issuer = f"http://127.0.0.1:{port}"
    for directory in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / directory).mkdir()
    config = tmp_path / "nginx.conf"
    config.write_text(
        CONFIG.format(
            root=tmp_path, first=first, second=second, port=port,
            nginx_address=NGINX_ADDRESS, deploy=DEPLOY,
        )
    )  # fmt: skip
    environment = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_ISSUER": issuer,
        "HUB_FORWARDED_ALLOW_IPS": NGINX_ADDRESS,
        "HUB_GUESSES_PER_ADDRESS": "3/900",
        "HUB_PURGE_INTERVAL_S": "0",
        "PYTHONUNBUFFERED": "1",  # each log line in the file as it is written
    }
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    with ExitStack() as stack:
        instances = [
            stack.enter_context(_process([HUB, "serve", "--port", str(p)], log, environment))
            for p, log in ((first, logs[0]), (second, logs[1]))
        ]
        nginx = stack.enter_context(
            _process(
                [program, "-p", str(tmp_path), "-c", str(config), "-e", "stderr"],
                tmp_path / "nginx.log",
            )
        )
        for process, answering, log in (
            (instances[0], first, logs[0]),
            (instances[1], second, logs[1]),
            (nginx, port, tmp_path / "nginx.log"),
        ):
            _wait_until_ready(process, answering, log, within_s=60)
        topology = Topology(
            issuer, demo_network, logs, [f"http://127.0.0.1:{p}" for p in (first, second)]
        )
        try:
            yield topology
        finally:
            for browser in topology.browsers:
                browser.http.close()


@contextmanager
def _process(
    command: list[str], log: Path, environment: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=environment, stdout=output, stderr=output)
        try:
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(
    process: subprocess.Popen[bytes], port: int, log: Path, within_s: float
) -> None:
    """Until ``/readyz`` answers 200 on ``port``; fails, with the end of the process's ``log``,
    if the process exits first or ``within_s`` passes."""
    deadline = time.monotonic() + within_s
    while True:
        assert process.poll() is None, log.read_text()[-2000:]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"nothing ready on port {port} within {within_s} s"
        time.sleep(0.1)


def relying_party(topology: Topology, library: str) -> RelyingParty:
    redirect = f"{topology.issuer}/cb/{library}"
    with transaction(topology.engine) as session:
        made = registration.add_client(
            session=session, library=library, kind="rp", redirect_uris=[redirect], actor="test"
        )
    return RelyingParty(topology.issuer, made.client_id, made.client_secret, redirect)


def patron_browser(topology: Topology) -> Browser:
    """A patron's browser at 127.0.0.3 that claims, in every request, to be somewhere else."""
    browser = Browser(topology.issuer)
    browser.http.close()
    browser.http = httpx.Client(
        transport=httpx.HTTPTransport(local_address=PATRON_ADDRESS),
        headers={"X-Forwarded-For": FORGED, "X-Forwarded-Proto": "https"},
        follow_redirects=False,
        timeout=30,
    )
    topology.browsers.append(browser)
    return browser


def test_two_instances_behind_nginx(topology: Topology) -> None:
    """One start of nginx and the two instances (a few seconds) serves every part in turn."""
    ready = httpx.get(f"{topology.issuer}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    a_patron_signs_in_and_a_partner_asks(topology)
    the_guessing_limit_counts_the_address_nginx_saw(topology)
    an_instance_asked_directly_believes_no_header(topology)
    nginx_keeps_metrics_and_large_bodies_out(topology)

    first, second = topology.access_log()
    assert first and second, "nginx sent every request to one instance"
    served = first + second
    assert {"/authorize", "/token", "/api/v1/eligibility"} <= {line["route"] for line in served}
    # each request counts as from the address that connected to nginx: no forged address is
    # believed, and nginx's own address is never taken for the client's
    assert {line["client"] for line in served} == {"127.0.0.1", PATRON_ADDRESS}


def a_patron_signs_in_and_a_partner_asks(topology: Topology) -> None:
    rp = relying_party(topology, "monash")
    browser = patron_browser(topology)
    page = browser.get(rp.authorization_url())
    assert page.status_code == 200
    # the client's X-Forwarded-Proto never reaches the hub: nginx says http, so the page's
    # cookie is neither __Host- nor Secure, as it would be over https
    cookie = page.headers["set-cookie"]
    assert not cookie.startswith("__Host-") and "secure" not in cookie.lower()
    tokens = rp.sign_in(browser, GOOD)
    claims = rp.verify(tokens["id_token"])
    assert claims["iss"] == topology.issuer

    with topology.client() as partner:
        token = partner.post(
            "/token",
            data={"grant_type": "client_credentials"},
            auth=("demo-monash-partner", demo.client_secret("monash", "partner")),
        )
        assert token.status_code == 200, token.text
        answer = partner.post(
            "/api/v1/eligibility",
            json={"patron": claims["sub"]},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["eligible"] is True and answer.json()["lender"] == "monash"


def the_guessing_limit_counts_the_address_nginx_saw(topology: Topology) -> None:
    """Three wrong PINs from one address (HUB_GUESSES_PER_ADDRESS=3/900) stop it, whatever
    address each request claimed; another address is not stopped."""
    rp = relying_party(topology, "monash")
    for n in range(3):
        browser = patron_browser(topology)
        browser.http.headers["X-Forwarded-For"] = f"198.51.100.{n + 10}"
        page = browser.get(rp.authorization_url())
        wrong = browser.submit(page, {"card": f"2111000000000{n + 2}", "pin": "9999"})
        assert wrong.status_code == 400, wrong.text
    browser = patron_browser(topology)
    browser.http.headers["X-Forwarded-For"] = "198.51.100.99"
    page = browser.get(rp.authorization_url())
    stopped = browser.submit(page, {"card": GOOD, "pin": GOOD[-4:]})
    assert stopped.status_code == 429
    assert "Too many sign-in attempts" in stopped.text

    elsewhere = Browser(topology.issuer)  # from 127.0.0.1, through nginx as well
    topology.browsers.append(elsewhere)
    page = elsewhere.get(rp.authorization_url())
    signed_in = elsewhere.submit(page, {"card": GOOD, "pin": GOOD[-4:]})
    assert signed_in.status_code == 200 and "Share this with" in signed_in.text


def an_instance_asked_directly_believes_no_header(topology: Topology) -> None:
    """Asked directly from an address that is not nginx's, an instance believes no header."""
    with topology.client(**{"X-Forwarded-For": FORGED}) as direct:
        assert direct.get(f"{topology.instances[0]}/healthz").status_code == 200
    deadline = time.monotonic() + 5  # the line is written once the answer has been sent
    while not (healthz := [x for x in topology.access_log()[0] if x["route"] == "/healthz"]):
        assert time.monotonic() < deadline, "no access log line for /healthz"
        time.sleep(0.05)
    assert [line["client"] for line in healthz] == ["127.0.0.1"]


def nginx_keeps_metrics_and_large_bodies_out(topology: Topology) -> None:
    with topology.client() as outside:
        assert outside.get("/metrics").status_code == 404  # each instance's, scraped directly
        too_large = outside.post("/token", content=b"x" * (64 * 1024 + 1))
        assert too_large.status_code == 413  # HUB_MAX_BODY_BYTES, refused by nginx itself
        just_fits = outside.post("/token", content=b"x" * (64 * 1024))
        assert just_fits.status_code == 400  # read by the hub, which finds no grant in it


def test_the_production_site_passes_nginxs_check(tmp_path: Path) -> None:
    """``hub.conf`` as installed (``nginx -t``), with a certificate in place of the site's."""
    program = nginx_program()
    pair = make_keys(tmp_path, "hub.example.org")
    site = (DEPLOY / "hub.conf").read_text()
    for installed, here in (
        ("/etc/letsencrypt/live/hub.example.org/fullchain.pem", pair.cert_file),
        ("/etc/letsencrypt/live/hub.example.org/privkey.pem", pair.key_file),
        ("/etc/nginx/hub-proxy.conf", str(DEPLOY / "hub-proxy.conf")),
        ("/var/log/nginx/", f"{tmp_path}/"),
    ):
        assert installed in site
        site = site.replace(installed, here)
    (tmp_path / "hub.conf").write_text(site)
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\n"
        f"http {{ access_log off; include {tmp_path}/hub.conf; }}\n"
    )
    checked = subprocess.run(
        [program, "-t", "-p", str(tmp_path), "-c", str(config), "-e", "stderr"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
