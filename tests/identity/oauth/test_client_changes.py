"""A client disabled or given a new secret, a client-credentials token revoked: refused at once
by every process of the hub, whatever each holds in memory. Two apps on one database stand
for two processes (each has its own engine and caches); the change is made beside them, as
``hub clients ...`` or an operator's SQL would make it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from identity import demo
from identity.app import create_app
from identity.oauth import registration
from identity.settings import Settings
from identity.store.database import transaction
from tests.conftest import SECRET
from tests.identity.oauth.conftest import GOOD, LiveHub

pytestmark = pytest.mark.db

PARTNER = "demo-monash-partner"
QUESTION = {"home_library": "rmit", "card": GOOD, "material": "book"}


@pytest.fixture
def apps(demo_network: Engine, database_url: str) -> Iterator[tuple[TestClient, TestClient]]:
    settings = Settings(database_url=database_url, secret_key=SECRET)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as other:
        yield one, other


def token(app: TestClient, secret: str | None = None) -> httpx2.Response:
    return app.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(PARTNER, secret or demo.client_secret("monash", "partner")),
    )


def access(app: TestClient, secret: str | None = None) -> str:
    answer = token(app, secret)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def ask(app: TestClient, access_token: str) -> int:
    answer = app.post(
        "/api/v1/eligibility", json=QUESTION, headers={"Authorization": f"Bearer {access_token}"}
    )
    return answer.status_code


def introspect(app: TestClient, access_token: str, secret: str | None = None) -> dict[str, Any]:
    answer = app.post(
        "/introspect",
        data={"token": access_token},
        auth=(PARTNER, secret or demo.client_secret("monash", "partner")),
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def change(engine: Engine, what: Any) -> Any:
    with transaction(engine) as session:
        return what(session=session, client_id=PARTNER, actor="test")


def test_a_disabled_client_and_its_tokens_are_refused_at_once(
    apps: tuple[TestClient, TestClient], demo_network: Engine
) -> None:
    one, other = apps
    held = access(other)  # the other app now holds the client, its key and its revocations
    assert ask(other, held) == 200 and introspect(other, held)["active"] is True

    change(demo_network, registration.disable)
    refused = token(other)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert ask(other, held) == 401 and ask(one, held) == 401

    change(demo_network, registration.enable)
    again = access(other)
    assert ask(other, again) == 200 and ask(one, again) == 200
    assert ask(other, held) == 401  # what the client held before stays ended
    assert introspect(one, held) == {"active": False}


def test_a_new_secret_ends_the_old_one_and_its_tokens_at_once(
    apps: tuple[TestClient, TestClient], demo_network: Engine
) -> None:
    one, other = apps
    held = access(other)
    new = change(demo_network, registration.rotate_secret)
    assert new != demo.client_secret("monash", "partner")

    old = token(other)
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    assert ask(other, held) == 401
    fresh = access(one, new)
    assert ask(other, fresh) == 200
    assert introspect(other, fresh, new)["active"] is True
    assert introspect(other, held, new) == {"active": False}


def test_a_revoked_token_is_refused_at_once_by_the_other_process(
    apps: tuple[TestClient, TestClient],
) -> None:
    one, other = apps
    revoked, kept = access(one), access(one)
    assert ask(other, revoked) == 200 and ask(other, kept) == 200
    answer = one.post(
        "/revoke",
        data={"token": revoked},
        auth=(PARTNER, demo.client_secret("monash", "partner")),
    )
    assert answer.status_code == 200
    assert ask(other, revoked) == 401 and introspect(other, revoked) == {"active": False}
    assert ask(other, kept) == 200 and introspect(other, kept)["active"] is True


def test_another_clients_token_cannot_be_revoked_or_read(
    apps: tuple[TestClient, TestClient],
) -> None:
    one, other = apps
    monash = access(one)
    latrobe = ("demo-latrobe-partner", demo.client_secret("latrobe", "partner"))
    refused = other.post("/revoke", data={"token": monash}, auth=latrobe)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    hidden = other.post("/introspect", data={"token": monash}, auth=latrobe)
    assert hidden.json() == {"active": False}
    assert ask(one, monash) == 200


def test_a_change_made_in_sql_is_seen_at_once(
    apps: tuple[TestClient, TestClient], demo_network: Engine
) -> None:
    one, other = apps
    held = access(other)
    with demo_network.begin() as connection:  # an operator, in psql or sqlite3
        connection.execute(
            text("UPDATE oauth_client SET scopes = :none WHERE client_id = :id"),
            {"none": "[]", "id": PARTNER},
        )
    refused = token(other)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    assert token(one).status_code == 400
    assert ask(other, held) == 200  # a token already issued keeps the scope it was given


def test_disabling_a_relying_party_ends_its_sign_ins(live_hub: LiveHub) -> None:
    rp = live_hub.add_rp("monash")
    signed_in = rp.sign_in(live_hub.browser(), GOOD)
    with transaction(live_hub.engine) as session:
        registration.disable(session=session, client_id=rp.client_id, actor="test")
    userinfo = httpx.get(
        f"{live_hub.issuer}/userinfo",
        headers={"Authorization": f"Bearer {signed_in['access_token']}"},
    )
    assert userinfo.status_code == 401
    with transaction(live_hub.engine) as session:
        registration.enable(session=session, client_id=rp.client_id, actor="test")
    refreshed = httpx.post(
        f"{live_hub.issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": signed_in["refresh_token"]},
        auth=(rp.client_id, rp.client_secret or ""),
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
