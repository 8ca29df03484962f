"""``hub clients add``: clients bound to a library, exact redirect URIs, secrets kept hashed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

import policies
from identity.oauth import registration
from identity.store.database import transaction
from identity.store.models import AuditEvent, OAuthClient
from tests.conftest import Hub

EXAMPLES = Path(policies.__file__).parent / "examples"


@pytest.mark.parametrize(
    "uri",
    [
        "https://catalogue.monash.example/callback",
        "https://lib.example:8443/oidc/cb?tenant=1",
        "http://localhost:5000/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
    ],
)
def test_acceptable_redirect_uris(uri: str) -> None:
    registration.check_redirect_uri(uri)


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("http://catalogue.example/cb", "must be https"),
        ("https://catalogue.example/cb#frag", "has a fragment"),
        ("/relative/cb", "must be https"),
        ("javascript:alert(1)", "must be https"),
        ("http://127.0.0.1.evil.example/cb", "must be https"),
        ("http://evil.example\\@127.0.0.1/cb", "backslash"),
        ("https://good.example@evil.example/cb", "user name"),
        ("https://x.example/cb\t", "unusual character"),
        ("https://exa mple.com/cb", "backslash, space"),
        ("https://bibliothèque.example/cb", "unusual character"),
        ("https://[::1/cb", "malformed"),
        ("https://x.example:99999/cb", "malformed"),
        ("HTTPS://x.example/cb", "plain form"),
        ("https://*.example/cb", "must be https"),
    ],
)
def test_refused_redirect_uris(uri: str, problem: str) -> None:
    with pytest.raises(registration.ClientRefused, match=problem):
        registration.check_redirect_uri(uri)


@pytest.mark.db
@pytest.mark.parametrize(
    ("kind", "uris", "options", "problem"),
    [
        ("rp", [], {}, "needs at least one --redirect-uri"),
        ("partner", ["https://x.example/cb"], {}, "no --redirect-uri"),
        ("partner", [], {"public": True}, "are for relying parties"),
        ("robot", [], {}, "kind must be rp or partner"),
    ],
)
def test_refused_registrations_register_nothing(
    engine: Engine, kind: str, uris: list[str], options: dict[str, bool], problem: str
) -> None:
    with pytest.raises(registration.ClientRefused, match=problem), transaction(engine) as session:
        registration.add_client(
            session=session,
            library="rmit",
            kind=kind,
            redirect_uris=uris,
            actor="t",
            public=options.get("public", False),
        )
    with Session(engine) as session:
        assert session.exec(select(OAuthClient)).all() == []
        assert session.exec(select(AuditEvent)).all() == []


def test_the_secret_is_kept_only_as_a_hash(engine: Engine) -> None:
    with transaction(engine) as session:
        registered = registration.add_client(
            session=session,
            library="monash",
            kind="rp",
            redirect_uris=["https://catalogue.monash.example/callback"],
            actor="t",
        )
    assert registered.client_secret is not None and len(registered.client_secret) >= 43
    with engine.connect() as connection:
        dump = " ".join(
            str(row)
            for table in ("oauth_client", "audit_event")
            for row in connection.execute(text(f"SELECT * FROM {table}"))
        )
    assert registered.client_secret not in dump
    with Session(engine) as session:
        client = session.get(OAuthClient, registered.client_id)
        assert client is not None
        assert registration.secret_matches(client, registered.client_secret)
        assert not registration.secret_matches(client, registered.client_secret[:-1] + "x")
        assert (client.library, client.kind, client.scopes) == (
            "monash",
            "rp",
            ["openid", "profile", "membership", "borrowing"],
        )


def test_the_command(hub: Hub, engine: Engine) -> None:
    hub("agreements", "load", str(EXAMPLES))
    made = hub("clients", "add", "--library", "rmit", "--kind", "partner", "--json")
    assert made.returncode == 0, made.stderr
    answer = json.loads(made.stdout)
    assert answer["client_id"].startswith("rmit-partner-") and answer["client_secret"]
    public = hub(
        "clients",
        "add",
        "--library",
        "vu",
        "--kind",
        "rp",
        "--public",
        "--card-number",
        "--redirect-uri",
        "http://localhost:5173/cb",
    )
    assert "client_secret: none (public client: PKCE is required)" in public.stdout
    refused = hub("clients", "add", "--library", "nowhere", "--kind", "partner")
    assert (refused.returncode, refused.stderr) == (
        1,
        "No library 'nowhere' in the published agreements.\n",
    )
    with Session(engine) as session:
        stored = {c.library: c for c in session.exec(select(OAuthClient))}
    assert stored["rmit"].scopes == ["eligibility"]
    assert stored["vu"].secret_sha256 is None and "card" in stored["vu"].scopes


def test_post_logout_redirect_uris_follow_the_redirect_uri_rules(hub: Hub, engine: Engine) -> None:
    hub("agreements", "load", str(EXAMPLES))
    args = ["clients", "add", "--library", "rmit", "--kind", "rp", "--redirect-uri",
            "https://lib.example/cb"]  # fmt: skip
    made = hub(*args, "--post-logout-redirect-uri", "https://lib.example/bye")
    assert made.returncode == 0, made.stderr
    refused = hub(*args, "--post-logout-redirect-uri", "http://lib.example/bye")
    assert refused.returncode == 1 and "must be https" in refused.stderr
    partner = hub("clients", "add", "--library", "rmit", "--kind", "partner",
                  "--post-logout-redirect-uri", "https://lib.example/bye")  # fmt: skip
    assert partner.returncode == 1 and "no --redirect-uri" in partner.stderr
    with Session(engine) as session:
        [stored] = session.exec(select(OAuthClient)).all()
    assert stored.post_logout_redirect_uris == ["https://lib.example/bye"]


def test_rotating_a_secret_and_disabling_from_the_command(hub: Hub, engine: Engine) -> None:
    hub("agreements", "load", str(EXAMPLES))
    made = json.loads(
        hub("clients", "add", "--library", "rmit", "--kind", "partner", "--json").stdout
    )
    client_id, old = made["client_id"], made["client_secret"]
    rotated = hub("clients", "rotate-secret", client_id, "--json")
    assert rotated.returncode == 0, rotated.stderr
    new = json.loads(rotated.stdout)
    assert new["client_id"] == client_id and new["client_secret"] not in (old, None)
    with Session(engine) as session:
        stored = session.get(OAuthClient, client_id)
        assert stored is not None and stored.epoch == 1
        assert registration.secret_matches(stored, new["client_secret"])
        assert not registration.secret_matches(stored, old)

    assert hub("clients", "disable", client_id).stdout.startswith(f"Disabled {client_id}")
    with Session(engine) as session:
        stored = session.get(OAuthClient, client_id)
        assert stored is not None and stored.disabled_at is not None and stored.epoch == 2
    assert hub("clients", "enable", client_id).returncode == 0
    with Session(engine) as session:
        stored = session.get(OAuthClient, client_id)
        assert stored is not None and stored.disabled_at is None and stored.epoch == 2
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id)))]
    assert actions[-3:] == ["clients.rotate-secret", "clients.disable", "clients.enable"]

    unknown = hub("clients", "disable", "nobody")
    assert (unknown.returncode, unknown.stderr) == (1, "no client 'nobody'; nothing changed.\n")
    public = hub("clients", "add", "--library", "vu", "--kind", "rp", "--public",
                 "--redirect-uri", "http://localhost:5173/cb", "--json")  # fmt: skip
    public_id = json.loads(public.stdout)["client_id"]
    refused = hub("clients", "rotate-secret", public_id)
    assert refused.returncode == 1 and "is public: it has no secret" in refused.stderr
