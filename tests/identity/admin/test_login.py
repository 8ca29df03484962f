"""Signing in at ``/admin/login``: password, TOTP, CSRF, guessing limits, sessions, sign-out."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from identity.admin import accounts, sessions
from identity.app import create_app
from identity.settings import Settings
from identity.store.models import AdminAccount, AuditEvent, utcnow
from tests.conftest import SECRET
from tests.identity.admin.conftest import AddAdmin, csrf_of, sign_in

WRONG = "The email address, password or code is not right."


@pytest.mark.parametrize(
    "path",
    [
        "/admin",
        "/admin/audit?action=admin.sign-in",
        "/admin/audit.csv",
        "/admin/versions",
        "/admin/versions/1",
        "/admin/versions/1/diff/1",
        "/admin/versions/1/export",
    ],
)
def test_every_page_needs_a_sign_in(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?" + urlencode({"next": path})
    assert client.post("/admin/logout", follow_redirects=False).status_code == 303


def test_sign_in_goes_back_to_the_page_asked_for_and_is_recorded(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    added = add_admin("Ada@Example.org", "rmit")
    response = sign_in(client, " ada@example.ORG ", added.password, next="/admin/versions")
    assert (response.status_code, response.headers["location"]) == (303, "/admin/versions")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hub_admin=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http: the test server
    home = client.get("/admin")
    assert home.status_code == 200
    assert "ada@example.org" in home.text and "administrator of <strong>rmit</strong>" in home.text
    with Session(published) as session:
        event = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc())).first()
    assert event is not None
    assert (event.action, event.actor, event.subject, event.address, event.after) == (
        "admin.sign-in",
        "admin:ada@example.org",
        "admin:ada@example.org",
        "testclient",
        {"library": "rmit"},
    )


def test_never_sent_elsewhere_after_sign_in(client: TestClient, add_admin: AddAdmin) -> None:
    added = add_admin("ada@example.org")
    for target in ("https://evil.example/admin", "//evil.example/admin", "/authorize"):
        response = sign_in(client, "ada@example.org", added.password, next=target)
        assert response.headers["location"] == "/admin"


def test_over_https_the_cookie_is_secure_and_host_prefixed(
    settings: Settings, published: Engine, add_admin: AddAdmin
) -> None:
    added = add_admin("ada@example.org")
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        response = sign_in(client, "ada@example.org", added.password)
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-hub_admin=") and "Secure" in cookie
        assert client.get("/admin").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    added = add_admin("ada@example.org", "rmit")
    wrong = sign_in(client, "ada@example.org", added.password + "x")
    unknown = sign_in(client, "nobody@example.org", added.password)
    for response in (wrong, unknown):
        assert response.status_code == 400
        assert WRONG in response.text and 'role="alert"' in response.text
        assert 'aria-invalid="true"' in response.text
        assert "hub_admin" not in response.headers.get("set-cookie", "")
    assert client.get("/admin", follow_redirects=False).status_code == 303
    with Session(published) as session:
        refused = session.exec(
            select(AuditEvent).where(AuditEvent.action == "admin.sign-in-refused")
        ).all()
    assert [e.subject for e in refused] == ["admin:ada@example.org"]  # not the unknown one


def test_a_post_without_the_csrf_token_signs_no_one_in(
    client: TestClient, add_admin: AddAdmin
) -> None:
    added = add_admin("ada@example.org")
    client.get("/admin/login")  # the browser has the cookie, but the form lacks the token
    for token in ("", "forged.token"):
        response = client.post(
            "/admin/login",
            data={"email": "ada@example.org", "password": added.password, "csrf": token},
            follow_redirects=False,
        )
        assert response.status_code == 400
        assert "This page had expired" in response.text
        assert "hub_admin" not in response.headers.get("set-cookie", "")


def test_an_account_with_totp_needs_a_fresh_code(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    added = add_admin("ada@example.org", totp=True)
    assert added.totp_secret is not None and added.totp_uri is not None
    with Session(published) as session:
        account = session.exec(select(AdminAccount)).one()
    assert account.totp_secret_encrypted is not None
    assert added.totp_secret not in account.totp_secret_encrypted
    code = accounts.totp_code(account, SECRET, utcnow())
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    assert WRONG in sign_in(client, "ada@example.org", added.password).text  # no code
    assert WRONG in sign_in(client, "ada@example.org", added.password, wrong).text
    assert sign_in(client, "ada@example.org", added.password, code).status_code == 303
    sign_out(client)
    replayed = sign_in(client, "ada@example.org", added.password, code)
    assert replayed.status_code == 400 and WRONG in replayed.text


@pytest.mark.db
def test_guessing_is_limited_per_account(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    added = add_admin("ada@example.org")  # the test settings allow 3 failures in 15 minutes
    for _ in range(3):
        assert sign_in(client, "ADA@example.org", "guess").status_code == 400
    before = refusals()
    limited = sign_in(client, "ada@example.org", added.password)
    assert limited.status_code == 429
    assert refusals() == before + 1  # hub_rate_limit_refusals_total{limit="admin_sign_in"}
    assert int(limited.headers["retry-after"]) > 800
    assert "Too many sign-in attempts" in limited.text and 'role="alert"' in limited.text
    assert client.get("/admin", follow_redirects=False).status_code == 303
    other = add_admin("bob@example.org")  # another account is not locked out
    assert sign_in(client, "bob@example.org", other.password).status_code == 303


def refusals() -> float:
    counted = REGISTRY.get_sample_value("hub_rate_limit_refusals_total", {"limit": "admin_sign_in"})
    return counted or 0.0


def sign_out(client: TestClient) -> None:
    home = client.get("/admin")
    response = client.post(
        "/admin/logout", data={"csrf": csrf_of(home.text)}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/admin/login?signed_out=1",
    )


def test_sign_out_ends_the_session_for_good(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    added = add_admin("ada@example.org")
    sign_in(client, "ada@example.org", added.password)
    stolen = client.cookies["hub_admin"]
    home = client.get("/admin")
    refused = client.post("/admin/logout", data={"csrf": "forged"}, follow_redirects=False)
    assert refused.status_code == 400 and "try signing out again" in refused.text
    sign_out(client)
    assert "You have signed out." in client.get("/admin/login?signed_out=1").text
    client.cookies.set("hub_admin", stolen)  # a copy of the cookie is no good either
    assert client.get("/admin", follow_redirects=False).status_code == 303
    assert home.status_code == 200
    with Session(published) as session:
        actions = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert actions[-2:] == ["admin.sign-in", "admin.sign-out"]


@pytest.mark.db
def test_a_session_ends_when_idle_or_old(published: Engine, add_admin: AddAdmin) -> None:
    add_admin("ada@example.org")
    now = utcnow()
    with Session(published) as session:
        account = session.exec(select(AdminAccount)).one()
        token = sessions.start(session=session, account=account, now=now)
        session.commit()
        later = now + sessions.IDLE - timedelta(seconds=5)
        assert sessions.resume(session=session, token=token, now=later) is not None
        # used a moment ago, so idle time counts from then
        assert sessions.resume(session=session, token=token, now=later + sessions.IDLE / 2)
        idle = later + sessions.IDLE / 2 + sessions.IDLE
        assert sessions.resume(session=session, token=token, now=idle) is None
        old = sessions.start(session=session, account=account, now=now)
        session.commit()
        step = now
        while step < now + sessions.LIFETIME - sessions.IDLE:
            step += sessions.IDLE / 2
            assert sessions.resume(session=session, token=old, now=step) is not None
        assert sessions.resume(session=session, token=old, now=now + sessions.LIFETIME) is None
        assert sessions.resume(session=session, token="", now=now) is None
