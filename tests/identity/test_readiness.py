"""``/readyz`` for a load balancer, ``/metrics`` only for whom the settings name, the request id
given back, ``/docs`` from the hub's own files under the same framing policy, and unknown API
paths answered as problems. In-process: what is checked is the app's answer."""

from __future__ import annotations

import io
import json
import logging
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

import policies
from identity import logs
from identity.agreements import publishing
from identity.app import create_app
from identity.settings import Settings
from identity.store import migrate
from identity.store.database import transaction
from tests.conftest import EXAMPLES, SECRET

TOKEN = "a-metrics-token-that-is-long-enough-0123456789"
LOOPBACK = ("127.0.0.1", 50000)


def test_ready_once_agreements_are_published(database_url: str, engine: Engine) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET)
    with TestClient(create_app(settings), client=LOOPBACK) as client:
        empty = client.get("/readyz")
        assert empty.status_code == 503 and empty.headers["retry-after"] == "10"
        assert empty.json()["reason"] == "no agreement set is published yet"
        assert client.get("/healthz").status_code == 200
        sources = [(Path(name).name, text) for name, text in policies.read(EXAMPLES)]
        with transaction(engine) as session:
            publishing.publish(session=session, sources=sources, actor="test")
        ready = client.get("/readyz")
        newest = migrate.current(engine)
        for revision, status in (("0001", 503), ("a-newer-hubs-revision", 200), (newest, 200)):
            with engine.begin() as connection:  # behind, upgraded by a newer hub, at head
                connection.execute(text("UPDATE alembic_version SET version_num = :r"),
                                   {"r": revision})  # fmt: skip
            assert client.get("/readyz").status_code == status, revision
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "reason": None, "agreements_version": 1}


def test_not_ready_without_its_database(tmp_path: Path) -> None:
    gone = tmp_path / "no-such-directory" / "hub.db"
    settings = Settings(database_url=f"sqlite:///{gone}", secret_key=SECRET)
    with TestClient(create_app(settings), client=LOOPBACK) as client:
        answer = client.get("/readyz")
        assert client.get("/healthz").status_code == 200
    assert answer.status_code == 503 and answer.headers["retry-after"] == "10"
    assert answer.json()["reason"] == "the database cannot be reached"


@pytest.mark.parametrize(
    ("client", "headers", "status"),
    [
        (LOOPBACK, {}, 200),
        (("::1", 50000), {}, 200),
        (("203.0.113.9", 50000), {}, 403),
        (LOOPBACK, {"X-Forwarded-For": "203.0.113.9"}, 403),  # a proxy on the hub's host
        (("203.0.113.9", 50000), {"Authorization": f"Bearer {TOKEN}"}, 200),
        (("203.0.113.9", 50000), {"Authorization": f"Bearer {TOKEN[:-1]}"}, 403),
        (("10.1.2.3", 50000), {}, 200),
    ],
)
def test_metrics_only_for_the_addresses_and_token_named(
    database_url: str, engine: Engine, client: tuple[str, int], headers: dict[str, str], status: int
) -> None:
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        metrics_token=TOKEN,
        metrics_allow_ips="127.0.0.1,::1,10.0.0.0/8",
    )
    with TestClient(create_app(settings), client=client) as http:
        answer = http.get("/metrics", headers=headers)
    assert answer.status_code == status, answer.text
    if status == 200:
        assert answer.headers["content-type"].startswith("text/plain; version=")
        assert "# TYPE hub_http_request_duration_seconds histogram" in answer.text
    else:
        assert "hub_" not in answer.text


def test_request_ids_docs_and_unknown_api_paths(database_url: str, engine: Engine) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET)
    with TestClient(create_app(settings), client=LOOPBACK) as client:
        given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.1"})
        odd = client.get("/healthz", headers={"X-Request-ID": 'x" level=error'})
        made = client.get("/healthz")
        docs = client.get("/docs")
        script = client.get("/docs/assets/swagger-ui-bundle.js")
        unknown = client.get("/api/v1/no-such-thing")
        redoc = client.get("/redoc")
    assert given.headers["x-request-id"] == "lb-7f3a.1"
    assert re.fullmatch("[0-9a-f]{16}", odd.headers["x-request-id"])  # not taken: made anew
    assert re.fullmatch("[0-9a-f]{16}", made.headers["x-request-id"])
    assert docs.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text and "https://" not in docs.text
    policy = docs.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert docs.headers["x-frame-options"] == "DENY"
    assert script.status_code == 200 and "SwaggerUIBundle" in script.text
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json()["type"] == "/problems/not-found"
    assert redoc.status_code == 200 and "/docs/assets/redoc.standalone.js" in redoc.text
    assert redoc.headers["content-security-policy"] == policy


def test_console_lines_for_a_person_json_lines_for_machines() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        for log_format in ("console", "json"):
            stream = io.StringIO()
            logs.configure(log_format, stream=stream)
            logs.event(logs.get("hub.test"), "sign-in", outcome="wrong", home_library="rmit")
            logging.getLogger("uvicorn.error").info("Started server process [%d]", 7)
            first, second = stream.getvalue().splitlines()
            if log_format == "console":
                assert "sign-in" in first and "outcome=wrong" in first and "[info" in first
                assert "Started server process [7]" in second
            else:
                assert json.loads(first)["outcome"] == "wrong"
                assert json.loads(second)["event"] == "Started server process [7]"
    finally:
        logs.unconfigure()
        root.handlers = handlers
        root.setLevel(level)
