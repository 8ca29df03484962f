"""``create_app(settings)``: health, JWKS, and refusing to start in a state it cannot serve from."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from identity.app import NotReady, create_app
from identity.settings import Settings
from identity.store.database import make_engine
from tests.conftest import HUB, SECRET, free_port, wait_for_health


def test_health_and_the_jwks_of_a_fresh_hub(database_url: str, engine: object) -> None:
    with TestClient(create_app(Settings(database_url=database_url, secret_key=SECRET))) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        response = client.get("/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    keys = response.json()["keys"]  # one for ID tokens, one for access tokens
    assert sorted((k["kty"], k["alg"], k["use"]) for k in keys) == [
        ("EC", "ES256", "sig"),
        ("RSA", "RS256", "sig"),
    ]


@pytest.mark.db
def test_postgresql_must_be_upgraded_first(database_url: str, engine: object) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET)
    with TestClient(create_app(settings)) as client:  # the `engine` fixture migrated it
        assert client.get("/healthz").status_code == 200
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: the app brings an SQLite file up to date itself")
    blank = make_engine(settings)
    with blank.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    blank.dispose()
    with (
        pytest.raises(NotReady, match="run `hub db upgrade` first"),
        TestClient(create_app(settings)),
    ):
        pass


def test_the_development_secret_is_refused_outside_demo_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_DEMO", "1")  # demo mode cannot be switched on from outside
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    with (
        pytest.raises(ValueError, match="HUB_SECRET_KEY is unset"),
        TestClient(create_app(Settings(database_url=url))),
    ):
        pass
    with TestClient(create_app(Settings.for_demo(database_url=url))) as client:
        assert client.get("/healthz").status_code == 200


@pytest.mark.db
def test_hub_serve_answers_over_http(database_url: str, engine: object) -> None:
    port = free_port()
    env = {**os.environ, "HUB_DATABASE_URL": database_url, "HUB_SECRET_KEY": SECRET}
    server = subprocess.Popen(
        [HUB, "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        health = wait_for_health(server, port, within_s=30)
        assert health.json() == {"status": "ok"}
        kids = {
            httpx.get(f"http://127.0.0.1:{port}/jwks.json").json()["keys"][0]["kid"]
            for _ in range(6)
        }
        assert len(kids) == 1  # both workers publish the one key made before they started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
        if server.stdout:
            server.stdout.close()


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("http://hub.example.org", "must be https"),
        ("ftp://hub.example.org", "must be an https URL"),
        ("https://hub.example.org/?tenant=1", "no query or fragment"),
        ("hub.example.org", "must be an https URL"),
    ],
)
def test_an_issuer_oauth_cannot_work_with_is_refused(issuer: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Settings(issuer=issuer)
    assert Settings(issuer="https://hub.example.org/").issuer == "https://hub.example.org"
    assert Settings(issuer="http://localhost:8000").issuer == "http://localhost:8000"


def test_a_method_a_path_does_not_take_is_a_405_naming_every_method_it_does(
    database_url: str, engine: object
) -> None:
    with TestClient(create_app(Settings(database_url=database_url, secret_key=SECRET))) as client:
        for path, methods in [
            ("/api/v1/admin/versions", "GET, POST"),  # a route per method
            ("/api/v1/admin/libraries/rmit", "DELETE, GET, PUT"),
            ("/userinfo", "GET, POST"),
            ("/token", "POST"),
            ("/authorize", "GET, POST"),  # a page
            ("/static/hub.css", "GET, HEAD"),  # a mounted app names its own
        ]:
            for method in ("OPTIONS", "PATCH"):
                answer = client.request(method, path)
                assert (answer.status_code, answer.headers["allow"]) == (405, methods), path
