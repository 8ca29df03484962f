"""Webhooks for partner systems, against a real HTTP receiver: each published agreement version
is POSTed signed (HMAC-SHA256 over the timestamp and the body, checked here independently),
retried after a failed answer, and kept in the delivery log that consortium administrators see."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.agreements import webhooks
from identity.settings import Settings
from identity.store.models import utcnow
from tests.conftest import SECRET, free_port
from tests.identity.admin.conftest import AddAdmin, sign_in
from tests.identity.admin.test_api import SUSPENSION, bearer, token

HOOK_SECRET = "a-partner-systems-shared-webhook-secret-0123"


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []  # the statuses to answer, in turn; then 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    thread = threading.Thread(target=made.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield made
    finally:
        made.server.shutdown()
        made.server.server_close()


@pytest.fixture
def settings(database_url: str, receiver: Receiver) -> Settings:
    return Settings(database_url=database_url, secret_key=SECRET, webhook_urls=receiver.url,
                    webhook_secret=HOOK_SECRET, webhook_interval_s=3600)  # fmt: skip


def verified(headers: dict[str, str], body: bytes) -> dict[str, object]:
    signed = headers["X-Hub-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Hub-Signature-256"], expected)
    event: dict[str, object] = json.loads(body)
    return event


def test_each_published_version_is_delivered_signed_and_retried(
    client: TestClient, add_admin: AddAdmin, settings: Settings, published: Engine,
    receiver: Receiver,
) -> None:  # fmt: skip
    receiver.answers = [500]
    assert webhooks.deliver_due(engine=published, settings=settings) == 0  # answered 500
    assert webhooks.deliver_due(engine=published, settings=settings) == 0  # not due again yet
    later = utcnow() + timedelta(minutes=1)
    assert webhooks.deliver_due(engine=published, settings=settings, now=later) == 1
    assert len(receiver.received) == 2  # the same event, tried twice
    first = verified(*receiver.received[-1])
    assert first["event"] == "agreements.published" and first["version"] == 1

    root = token(client, add_admin, "root@consortium.example", None)
    made = client.post("/api/v1/admin/agreements", json={"yaml": SUSPENSION}, headers=bearer(root))
    assert made.status_code == 201, made.text
    assert webhooks.deliver_due(engine=published, settings=settings, now=later) == 1
    assert verified(*receiver.received[-1])["version"] == 2

    ann = add_admin("ann@monash.example", "monash")
    assert sign_in(client, "ann@monash.example", ann.password).status_code == 303
    assert client.get("/admin/webhooks").status_code == 403
    root_page = add_admin("rae@consortium.example", None)
    assert sign_in(client, "rae@consortium.example", root_page.password).status_code == 303
    log = client.get("/admin/webhooks").text
    assert receiver.url in log
    assert "answered 500" not in log  # the last answer of each: delivered
    assert log.count("delivered ") == 2


def test_webhook_urls_must_be_https_and_signed() -> None:
    with pytest.raises(ValueError, match="takes https URLs"):
        Settings(webhook_urls="http://partner.example/hook", webhook_secret=HOOK_SECRET)
    with pytest.raises(ValueError, match="needs HUB_WEBHOOK_SECRET"):
        Settings(webhook_urls="https://partner.example/hook")
