"""``hub connectors test`` and the administrators' "Test connection" for a SAML library: its
identity provider's metadata fetched and verified, and what it says shown (or why not)."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

import policies
from identity.admin import accounts
from identity.agreements import publishing
from identity.app import create_app
from identity.cli import app, context
from identity.settings import Settings
from identity.store.database import make_engine, transaction
from tests.conftest import SECRET
from tests.identity.admin.conftest import csrf_of, sign_in
from tests.identity.connectors.saml.conftest import IDP, Keys
from tests.identity.connectors.saml.idp import Federation, IdentityProvider

EXAMPLES = Path(policies.__file__).parent / "examples"
API = "/api/v1/admin"


def entry(metadata: Path, cert: str) -> str:
    return (
        "libraries:\n"
        "  - id: uni\n"
        "    name: University Library\n"
        "    categories: {staff@uni.test: staff, student@uni.test: undergraduate}\n"
        f"    connector: {{kind: saml, idp: '{IDP}', metadata_file: '{metadata}',\n"
        f"                metadata_cert: '{cert}'}}\n"
    )


@pytest.fixture
def published(engine: Engine, metadata_file: Path, saml_keys: Keys) -> Engine:
    sources = [
        *policies.read(EXAMPLES),
        ("uni.yaml", entry(metadata_file, saml_keys.federation.cert_file)),
    ]
    with transaction(engine) as session:
        publishing.publish(session=session, sources=sources, actor="test", note="uni")
    return engine


Hub = Callable[..., tuple[int, str, str]]


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[Hub]:
    """``hub ARGS`` run in this process on the test's database, with ``env`` added to its
    environment: (exit code, stdout, stderr). The engines it makes are disposed of afterwards."""
    engines: list[Engine] = []

    def make(settings: Settings) -> Engine:
        engines.append(make_engine(settings))
        return engines[-1]

    monkeypatch.setattr(context, "make_engine", make)

    def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        context.settings.cache_clear()
        try:
            ran = CliRunner().invoke(
                app, list(args), env={"HUB_DATABASE_URL": database_url, **(env or {})}
            )
        finally:
            context.settings.cache_clear()
        return ran.exit_code, ran.stdout, ran.stderr

    yield run
    for engine in engines:
        engine.dispose()


def test_hub_connectors_test_shows_what_the_idps_metadata_says(
    published: Engine, hub: Hub, metadata_file: Path
) -> None:
    code, out, _ = hub("connectors", "test", "--library", "uni")
    assert code == 0, out
    assert f"metadata: {metadata_file}, an aggregate of 2 entities" in out
    assert "signed by CN=federation (certificate expires" in out
    assert f"idp:      {IDP}" in out
    assert f"sign-on:  {IDP}/sso/redirect (HTTP-Redirect)" in out
    assert "signs:    CN=idp (certificate expires" in out
    assert "scopes:   uni.test" in out
    assert "service provider http://127.0.0.1:8000/saml/metadata" in out


def test_hub_connectors_test_says_why_the_metadata_cannot_be_used(
    published: Engine,
    hub: Hub,
    metadata_file: Path,
    federation: Federation,
    idp: IdentityProvider,
) -> None:
    metadata_file.write_text(federation.publish([idp.descriptor()], sign=False))
    code, _, err = hub("connectors", "test", "--library", "uni")
    assert code == 2
    assert "unavailable: identity provider metadata:" in err and "is not signed" in err


@pytest.fixture
def admin_client(published: Engine, database_url: str) -> Iterator[tuple[TestClient, str]]:
    with transaction(published) as session:
        added = accounts.add_account(
            session=session,
            email="boss@consortium.example",
            library=None,
            actor="test",
            totp=False,
            secret=SECRET,
        )
    with TestClient(create_app(Settings(database_url=database_url, secret_key=SECRET))) as client:
        answer = client.post(
            f"{API}/sessions", json={"email": "boss@consortium.example", "password": added.password}
        )
        assert answer.status_code == 201, answer.text
        yield client, str(answer.json()["token"])


def test_an_administrator_tests_a_saml_library_without_a_card(
    admin_client: tuple[TestClient, str],
    metadata_file: Path,
    saml_keys: Keys,
    tmp_path: Path,
    federation: Federation,
    idp: IdentityProvider,
) -> None:
    client, token = admin_client
    headers = {"Authorization": f"Bearer {token}"}
    answer = client.post(f"{API}/libraries/uni/test-connection", headers=headers, json={})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["idp"], report["entities"], report["scopes"]) == (IDP, 2, ["uni.test"])
    assert report["sign_on"] == [
        {
            "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
            "location": f"{IDP}/sso/redirect",
        }
    ]
    assert report["signing_certificates"][0]["subject"] == "CN=idp"
    # settings not yet saved: metadata the federation did not sign
    unsigned = tmp_path / "unsigned.xml"
    unsigned.write_text(federation.publish([idp.descriptor()], sign=False))
    yaml = entry(unsigned, saml_keys.federation.cert_file)
    answer = client.post(
        f"{API}/libraries/uni/test-connection", headers=headers, json={"yaml": yaml}
    )
    assert answer.status_code == 503
    assert answer.json()["type"] == "/problems/home-library-unavailable"
    assert "is not signed" in answer.json()["detail"]


def test_the_library_page_tests_a_saml_library_without_a_card(
    published: Engine, database_url: str
) -> None:
    with transaction(published) as session:
        added = accounts.add_account(
            session=session,
            email="una@uni.example",
            library="uni",
            actor="test",
            totp=False,
            secret=SECRET,
        )
    with TestClient(create_app(Settings(database_url=database_url, secret_key=SECRET))) as client:
        assert sign_in(client, "una@uni.example", added.password).status_code == 303
        page = client.get("/admin/libraries/uni")
        text = html.unescape(
            page.text.split('name="yaml"')[1].split(">", 1)[1].split("</textarea>")[0]
        )
        tested = client.post(
            "/admin/libraries/uni",
            data={"csrf": csrf_of(page.text), "yaml": text, "do": "test", "card": ""},
        )
    assert tested.status_code == 200, tested.text
    assert f"The identity provider {IDP} is in" in tested.text
    assert "(an aggregate of 2 entities)" in tested.text
    assert f"Single sign-on: {IDP}/sso/redirect (HTTP-Redirect)" in tested.text
    assert "Scopes: uni.test" in tested.text


def test_hub_saml_rotate_announces_a_pair_and_hub_saml_keys_says_what_each_does(
    engine: Engine, hub: Hub
) -> None:
    env = {"HUB_SECRET_KEY": SECRET}

    def run(*args: str) -> tuple[int, str, str]:
        return hub("saml", *args, env=env)

    assert run("keys")[1] == "No keys yet: the hub makes them when it first needs them.\n"
    code, out, _ = run("rotate", "--announce-days", "14")
    assert code == 0, out
    assert out.startswith("New keys published in http://127.0.0.1:8000/saml/metadata; in use from")
    code, out, _ = run("keys")
    states = [line.split("  ")[-1].split(";")[0].strip() for line in out.splitlines()]
    assert states.count("in use") == 2  # the first pair, made to be replaced
    assert sum(s.startswith("announced, in use from") for s in states) == 2
    assert all("certificate expires" in line for line in out.splitlines())
    code, _, err = run("rotate")
    assert code == 1 and "Not rotated: a new pair is already announced" in err
    env["HUB_SAML_KEY_FILE"], env["HUB_SAML_CERT_FILE"] = "/x.key", "/x.crt"
    code, _, err = run("rotate")
    assert code == 1 and "The keys come from files" in err
