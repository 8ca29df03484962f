"""``hub connectors test --library L`` and the administrators' "Test connection" for a library
whose patrons sign in at its own OpenID provider (node ``oidc-provider``): discovery checked,
the keys fetched, and what the provider must have registered for the hub."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

import policies
from identity.admin import accounts
from identity.agreements import publishing
from identity.app import create_app
from identity.settings import Settings
from identity.store.database import transaction
from tests.conftest import SECRET, free_port
from tests.identity.admin.conftest import csrf_of, sign_in
from tests.identity.connectors.conftest import Hub
from tests.identity.connectors.oidc_idp import SECRET_ENV, University

HUB = "https://hub.example.org"


def university_set(tmp_path: Path, issuer: str) -> list[tuple[str, str]]:
    entry = tmp_path / "uni.yaml"
    entry.write_text(
        "libraries:\n"
        "  - id: uni\n"
        "    name: University of Testing Library\n"
        "    categories: {student@uni.example: undergraduate}\n"
        f"    connector: {{kind: oidc, issuer: '{issuer}', client_id: hub-test-client,\n"
        f"                client_secret_env: {SECRET_ENV}, timeout_s: 2}}\n"
    )
    examples = Path(policies.__file__).parent / "examples"
    return [*policies.read(examples), (str(entry), entry.read_text())]


@pytest.fixture
def as_hub(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The command's environment: the hub's issuer, and no client secret unless a test sets it."""
    monkeypatch.setenv("HUB_ISSUER", HUB)
    monkeypatch.delenv(SECRET_ENV, raising=False)
    return monkeypatch


def test_hub_connectors_test_shows_discovery_and_keys(
    engine: Engine,
    database_url: str,
    university: University,
    connectors_test: Hub,
    as_hub: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    with transaction(engine) as session:
        publishing.publish(session=session, sources=university_set(tmp_path, university.issuer),
                           actor="test", note="uni")  # fmt: skip
    unset = connectors_test(database_url, "--library", "uni")
    assert unset.returncode == 0 and f"secret in {SECRET_ENV}: NOT SET" in unset.stdout
    as_hub.setenv(SECRET_ENV, "s3cret")
    shown = connectors_test(database_url, "--library", "uni")
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert f"oidc connector at {university.issuer}" in out
    assert f"issuer:   {university.issuer} (discovery checked)" in out
    assert f"authorization endpoint: {university.issuer}/auth" in out
    assert f"token endpoint:         {university.issuer}/token" in out
    assert f"keys:     uni-1 (from {university.issuer}/jwks)" in out
    assert "signing:  RS256, PS256" in out  # what both sign with, of what the hub takes
    assert f"redirect URI to register: {HUB}/oidc/callback" in out
    assert f"client:   hub-test-client, secret in {SECRET_ENV}: set" in out
    assert "s3cret" not in out + shown.stderr
    with_card = connectors_test(database_url, "--library", "uni", "--card", "12345")
    assert with_card.returncode == 2
    assert "there is no card or PIN to ask about" in with_card.stderr


def test_hub_connectors_test_on_a_provider_that_cannot_be_reached(
    engine: Engine,
    database_url: str,
    connectors_test: Hub,
    as_hub: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    with transaction(engine) as session:
        publishing.publish(session=session, sources=university_set(tmp_path, nowhere),
                           actor="test", note="uni")  # fmt: skip
    down = connectors_test(database_url, "--library", "uni")
    assert down.returncode == 2 and "unreachable: uni:" in down.stderr
    assert "ConnectError" in down.stderr


def test_the_admin_connection_test_of_an_identity_provider(
    engine: Engine, database_url: str, university: University, tmp_path: Path
) -> None:
    sources = university_set(tmp_path, university.issuer)
    with transaction(engine) as session:
        publishing.publish(session=session, sources=sources, actor="test", note="uni")
        added = accounts.add_account(session=session, email="it@uni.example", library="uni",
                                     actor="cli:test", totp=False, secret=SECRET)  # fmt: skip
    settings = Settings(database_url=database_url, secret_key=SECRET, issuer=HUB)
    with TestClient(create_app(settings), base_url=HUB) as client:
        login = {"email": "it@uni.example", "password": added.password}
        token = client.post("/api/v1/admin/sessions", json=login)
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        answer = client.post("/api/v1/admin/libraries/uni/test-connection", headers=headers,
                             json={})  # fmt: skip
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert report["where"] == university.issuer and report["connector"] == "oidc"
        assert report["key_ids"] == ["uni-1"] and "RS256" in report["algorithms"]
        assert report["redirect_uri"] == f"{HUB}/oidc/callback"
        assert report["token_endpoint"] == f"{university.issuer}/token"

        assert sign_in(client, "it@uni.example", added.password).status_code == 303
        page = client.get("/admin/libraries/uni")
        text = page.text.split('name="yaml"')[1].split(">", 1)[1].split("</textarea>")[0]
        tested = client.post("/admin/libraries/uni", data={"csrf": csrf_of(page.text),
                             "yaml": html.unescape(text), "do": "test", "card": ""})  # fmt: skip
        assert tested.status_code == 200, tested.text
        assert f"Reached {university.issuer} (oidc)" in tested.text
        assert "publishes the keys uni-1" in tested.text
        assert f"{HUB}/oidc/callback" in tested.text
