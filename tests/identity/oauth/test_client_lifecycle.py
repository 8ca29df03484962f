"""``hub clients list/show/revoke/remove``: what an operator sees of the clients, and a client
whose tokens are revoked, or which is removed, refused at once by a hub that held them (the
command runs beside it, as an operator would run it)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from identity import demo
from identity.app import create_app
from identity.settings import Settings
from identity.store.models import AuditEvent, OAuthClient
from tests.conftest import SECRET, Hub
from tests.identity.oauth.conftest import GOOD

pytestmark = pytest.mark.db

PARTNER = "demo-monash-partner"
QUESTION = {"home_library": "rmit", "card": GOOD, "material": "book"}


@pytest.fixture
def app(demo_network: Engine, database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=database_url, secret_key=SECRET))) as app:
        yield app


def token(app: TestClient) -> tuple[int, str]:
    answer = app.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(PARTNER, demo.client_secret("monash", "partner")),
    )
    return answer.status_code, answer.json().get("access_token", "")


def ask(app: TestClient, access_token: str) -> int:
    headers = {"Authorization": f"Bearer {access_token}"}
    return app.post("/api/v1/eligibility", json=QUESTION, headers=headers).status_code


def test_list_and_show_say_what_each_client_is(app: TestClient, hub: Hub) -> None:
    listed = hub("clients", "list", "--library", "monash")
    assert listed.returncode == 0, listed.stderr
    assert f"{PARTNER}  monash  partner  enabled" in listed.stdout.splitlines()
    assert all(" monash " in line for line in listed.stdout.splitlines())
    every = json.loads(hub("clients", "list", "--json").stdout)
    assert {c["client_id"] for c in every} >= {PARTNER, "demo-rmit-rp", "demo-rmit-partner"}
    shown = json.loads(hub("clients", "show", "demo-rmit-rp", "--json").stdout)
    assert shown["kind"] == "rp" and shown["public"] is False and shown["disabled_at"] is None
    assert shown["redirect_uris"][0].endswith("/demo/callback")
    assert "secret" not in json.dumps({k: v for k, v in shown.items() if "rotations" not in k})
    missing = hub("clients", "show", "nobody")
    assert missing.returncode == 1 and "No client 'nobody'" in missing.stderr


def test_revoked_tokens_are_refused_at_once_and_new_ones_work(
    app: TestClient, hub: Hub, demo_network: Engine
) -> None:
    status, held = token(app)
    assert status == 200 and ask(app, held) == 200  # the hub now holds the client in memory
    revoked = hub("clients", "revoke", PARTNER)
    assert revoked.returncode == 0, revoked.stderr
    assert ask(app, held) == 401
    status, fresh = token(app)
    assert status == 200 and ask(app, fresh) == 200
    assert hub("clients", "revoke", "nobody").returncode == 1


def test_a_removed_client_is_refused_at_once(
    app: TestClient, hub: Hub, demo_network: Engine
) -> None:
    status, held = token(app)
    assert status == 200 and ask(app, held) == 200
    removed = hub("clients", "remove", PARTNER, "--yes")
    assert removed.returncode == 0, removed.stderr
    assert ask(app, held) == 401
    assert token(app)[0] == 401
    with Session(demo_network) as session:
        assert session.get(OAuthClient, PARTNER) is None
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "clients.remove")).one()
    assert event.subject == f"client:{PARTNER}"
    assert (event.before or {})["library"] == "monash"
    unconfirmed = hub("clients", "remove", "demo-rmit-partner")  # no --yes, no answer: kept
    assert unconfirmed.returncode == 1
    with Session(demo_network) as session:
        assert session.get(OAuthClient, "demo-rmit-partner") is not None
