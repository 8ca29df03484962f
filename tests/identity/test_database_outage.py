"""A database that cannot be reached is a 503 with Retry-After, never a 500 (docs/operations.md):
problem+json on the APIs, OAuth's error format on the OAuth endpoints, a page on pages. The
connection it came on stays usable, ``/healthz`` (the process answers) stays 200, and the hub
recovers by itself once the database is back.

The outage is real: PostgreSQL refuses connections to a database of the test's own
(``ALLOW_CONNECTIONS false`` and its sessions ended), as in a restart or a failover; and a
server that accepts connections and never answers stands for a database behind a black hole.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.engine import Connection

from identity import demo
from identity.app import create_app
from identity.settings import Settings
from identity.store.database import PING_AFTER_IDLE_S
from identity.store.database import database_url as database_url_for
from tests.conftest import SECRET, free_port
from tests.identity.oauth.conftest import GOOD, LiveHub

PROBLEM = "application/problem+json"


@pytest.fixture
def database_url(database_url: str) -> Iterator[str]:
    """A copy of the test's PostgreSQL database beside it (``<name>_outage``), so that
    refusing its connections touches no other test."""
    if not database_url.startswith("postgres"):
        pytest.skip("PostgreSQL only: the outage is PostgreSQL refusing connections")
    url = make_url(database_url_for(database_url))
    name = f"{url.database}_outage"
    with _server(database_url) as server:
        server.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with _server(database_url) as server:
        server.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def _server(url: str) -> Iterator[Connection]:
    """A connection to the server's ``postgres`` database, outside any transaction."""
    engine = create_engine(make_url(database_url_for(url)).set(database="postgres"))
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            yield connection
    finally:
        engine.dispose()


def refuse(url: str) -> None:
    """PostgreSQL refuses new connections to the database of ``url`` and ends the open ones."""
    name = make_url(database_url_for(url)).database
    with _server(url) as server:
        server.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        server.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )


def allow(url: str) -> None:
    name = make_url(database_url_for(url)).database
    with _server(url) as server:
        server.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))


@contextmanager
def refused(url: str) -> Iterator[None]:
    refuse(url)
    try:
        yield
    finally:
        allow(url)


def _requests(hub: LiveHub) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """One request to each kind of endpoint that needs the database, with its format."""
    partner = hub.partner_token("monash")
    rp = hub.add_rp("monash")
    access = rp.sign_in(hub.browser(), GOOD)["access_token"]
    basic = httpx.BasicAuth("demo-monash-partner", demo.client_secret("monash", "partner"))
    return {
        "jwks": ("problem", "GET /jwks.json", {}),
        "eligibility": (
            "problem",
            "POST /api/v1/eligibility",
            {
                "headers": {"Authorization": f"Bearer {partner}"},
                "json": {"home_library": "rmit", "card": GOOD, "material": "book"},
            },
        ),
        "admin api": (
            "problem",
            "GET /api/v1/admin/me",
            {"headers": {"Authorization": "Bearer some-admin-session"}},
        ),
        "token": (
            "oauth",
            "POST /token",
            {"data": {"grant_type": "client_credentials"}, "auth": basic},
        ),
        "introspect": ("oauth", "POST /introspect", {"data": {"token": partner}, "auth": basic}),
        "revoke": ("oauth", "POST /revoke", {"data": {"token": "not-a-token"}, "auth": basic}),
        "userinfo": (
            "oauth",
            "GET /userinfo",
            {"headers": {"Authorization": f"Bearer {access}"}},
        ),
        "authorize": ("page", "GET " + rp.authorization_url().removeprefix(hub.issuer), {}),
        "admin page": (
            "page",
            "GET /admin",
            {"headers": {"Cookie": "hub_admin=some-admin-session"}},
        ),
    }


def _connection(response: httpx.Response) -> object:
    """The client's end of the TCP connection that carried ``response``."""
    return response.extensions["network_stream"].get_extra_info("client_addr")


@pytest.mark.db
def test_an_outage_is_a_503_in_each_endpoints_format_and_the_hub_recovers(
    live_hub: LiveHub, database_url: str
) -> None:
    requests = _requests(live_hub)
    retry_after = str(live_hub.settings.database_retry_after_s)
    with httpx.Client(base_url=live_hub.issuer, timeout=30) as http:
        first = http.get("/healthz")
        connection = _connection(first)
        with refused(database_url):
            assert http.get("/healthz").json() == {"status": "ok"}  # the process answers
            for name, (kind, request, options) in requests.items():
                answer = http.request(*request.split(" ", 1), **options)
                assert answer.status_code == 503, (name, answer.status_code, answer.text)
                assert answer.headers["retry-after"] == retry_after, name
                assert _connection(answer) == connection, f"{name}: the connection was closed"
                media = answer.headers["content-type"]
                if kind == "problem":
                    assert media == PROBLEM, name
                    assert answer.json()["type"] == "/problems/database-unavailable", name
                    assert answer.json()["status"] == 503, name
                elif kind == "oauth":
                    assert media == "application/json", name
                    assert answer.json()["error"] == "temporarily_unavailable", name
                    assert answer.headers["cache-control"] == "no-store", name
                else:
                    assert media.startswith("text/html"), name
                    assert "try again" in answer.text, name
                    assert answer.headers["x-frame-options"] == "DENY", name
            # and the same connection still answers what needs no database
            assert http.get("/healthz").status_code == 200
            page = http.get("/problems/database-unavailable")
            assert page.status_code == 200 and "Retry-After" in page.text
        # back: every endpoint answers as usual, with no restart
        expected = {"jwks": 200, "eligibility": 200, "admin api": 401, "token": 200,
                    "introspect": 200, "revoke": 200, "userinfo": 200, "authorize": 200,
                    "admin page": 303}  # fmt: skip
        for name, (_, request, options) in requests.items():
            answer = http.request(*request.split(" ", 1), **options)
            assert answer.status_code == expected[name], (name, answer.text)
            assert _connection(answer) == connection, name
        assert answers_of(http, "POST /api/v1/eligibility", requests)["eligible"] is True
        assert answers_of(http, "GET /userinfo", requests)["name"] == "Avery Good"


def restart(url: str) -> None:
    """What a restart of PostgreSQL does to the hub's pooled connections: each one ended."""
    name = make_url(database_url_for(url)).database
    with _server(url) as server:
        server.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )


@pytest.mark.db
def test_after_a_restart_while_the_hub_was_idle_every_request_is_answered(
    live_hub: LiveHub, database_url: str
) -> None:
    """Pooled connections idle for a second are tested before use, so that none left dead by
    the restart is handed out; in steady use they are not."""
    requests = _requests(live_hub)
    with httpx.Client(base_url=live_hub.issuer, timeout=30) as http:
        for _, request, options in requests.values():
            http.request(*request.split(" ", 1), **options)  # every pooled connection used
        restart(database_url)
        time.sleep(PING_AFTER_IDLE_S + 0.5)
        for name, (_, request, options) in requests.items():
            answer = http.request(*request.split(" ", 1), **options)
            assert answer.status_code < 500, (name, answer.status_code, answer.text)
        assert answers_of(http, "POST /api/v1/eligibility", requests)["eligible"] is True


def answers_of(
    http: httpx.Client, request: str, requests: dict[str, tuple[str, str, dict[str, Any]]]
) -> Any:
    """The JSON answer to the request ``request`` of ``requests``, asked again."""
    [options] = [options for _, asked, options in requests.values() if asked == request]
    return http.request(*request.split(" ", 1), **options).json()


@contextmanager
def _silent_server() -> Iterator[int]:
    """A TCP server on a free port that accepts connections and never says a word (a database
    behind a firewall that drops its packets would keep the client waiting the same way)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for each in accepted:
            each.close()
        listener.close()


@contextmanager
def _serve(settings: Settings) -> Iterator[str]:
    port = free_port()
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    try:
        while not server.started:
            assert thread.is_alive(), "the hub did not start"
            assert time.monotonic() < deadline, "the hub did not start within 20 s"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_a_database_that_never_answers_fails_fast_and_the_hub_starts_regardless() -> None:
    with _silent_server() as port:
        settings = Settings(
            database_url=f"postgresql://hub@127.0.0.1:{port}/hub",
            secret_key=SECRET,
            database_connect_timeout_s=2,
        )
        started = time.monotonic()
        with _serve(settings) as issuer, httpx.Client(base_url=issuer, timeout=30) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            asked = time.monotonic()
            answer = http.get("/jwks.json")
            took = time.monotonic() - asked
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.headers["retry-after"] == str(settings.database_retry_after_s)
    assert took < 2 + 2, f"waited {took:.1f} s for a database that never answers"
    assert time.monotonic() - started < 20


@pytest.mark.db
def test_a_hub_started_while_the_database_refuses_serves_once_it_is_back(
    engine: object, database_url: str
) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET)
    with refused(database_url), _serve(settings) as issuer, httpx.Client(base_url=issuer) as http:
        assert http.get("/healthz").status_code == 200
        answer = http.get("/jwks.json")
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == PROBLEM
        assert answer.headers["retry-after"] == str(settings.database_retry_after_s)
        allow(database_url)
        # the hub prepares itself now: it makes its signing key and publishes it
        keys = http.get("/jwks.json")
        assert keys.status_code == 200, keys.text
        assert sorted(k["alg"] for k in keys.json()["keys"]) == ["ES256", "RS256"]
