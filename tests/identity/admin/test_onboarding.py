"""Onboarding without a shell, over HTTP against the app: OAuth clients registered from the page
(the secret shown once, and working), their tokens revoked and secrets rotated (the old ones
refused at once); administrators invited by an emailed one-time link (through a real SMTP
server) and passwords reset the same way; registry patrons imported from a CSV upload, all or
nothing; and each refused for another library's administrator."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from identity.admin import outbox
from identity.app import create_app
from identity.settings import Settings
from identity.store.models import AdminLink, AuditEvent, OAuthClient, RegistryPatron
from tests.conftest import SECRET
from tests.identity.admin.conftest import AddAdmin, csrf_of, sign_in
from tests.identity.admin.mailbox import Mailbox, link_in, mailbox
from tests.identity.admin.test_api import bearer, token
from tests.identity.admin.test_patron_imports import upload, watch

__all__ = ["mailbox"]

MONASH_CARD = "22220000000042"
GOOD_CSV = (
    "card,name,category,pin,expires,fines\n"
    f"{MONASH_CARD},Robin Reader,UGRD,4242,2030-01-01,0\n"
    "22220000000043,Sam Scholar,HDR,4343,,1.50\n"
)
BAD_CSV = GOOD_CSV + "22220000000044,Pat Typo,UNDERGRAD,4444,2030-02-30,0\n"


@pytest.fixture
def settings(database_url: str, mailbox: Mailbox) -> Settings:
    mailbox.clear()
    return Settings(database_url=database_url, secret_key=SECRET,
                    smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_starttls=False,
                    smtp_from="hub@hub.example", smtp_send_interval_s=3600)  # fmt: skip


def signed_in(client: TestClient, add_admin: AddAdmin, email: str, library: str | None) -> str:
    """Sign ``client`` in as a new administrator; the CSRF token of the admin pages."""
    added = add_admin(email, library)
    assert sign_in(client, email, added.password).status_code == 303
    return csrf_of(client.get("/admin").text)


def partner_token(client: TestClient, client_id: str, secret: str) -> int:
    answer = client.post("/token", data={"grant_type": "client_credentials"},
                         auth=(client_id, secret))  # fmt: skip
    return answer.status_code


def test_a_client_registered_on_the_page_works_with_the_secret_shown_once(
    client: TestClient, add_admin: AddAdmin
) -> None:
    csrf = signed_in(client, add_admin, "ann@monash.example", "monash")
    made = client.post("/admin/clients", data={"csrf": csrf, "kind": "partner"})
    assert made.status_code == 200, made.text
    assert "it is shown only this once" in made.text
    assert made.headers["cache-control"] == "no-store"
    client_id = re.search(r'id="client-id">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    secret = re.search(r'id="client-secret">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
    assert client_id.startswith("monash-partner-")
    assert secret not in client.get("/admin/clients").text  # never shown again
    access = client.post("/token", data={"grant_type": "client_credentials"},
                         auth=(client_id, secret)).json()["access_token"]  # fmt: skip
    question = {"home_library": "rmit", "card": "21110000000001"}
    asked = client.post("/api/v1/eligibility", json=question, headers=bearer(access))
    assert asked.json()["detail"] == "RMIT University Library has no card '21110000000001'."

    revoked = client.post(f"/admin/clients/{client_id}/revoke", data={"csrf": csrf})
    assert revoked.status_code == 200  # the list again, after the redirect
    assert f"Every token of {client_id} is revoked" in revoked.text
    again = client.post("/api/v1/eligibility", json=question, headers=bearer(access))
    assert again.status_code == 401  # at once

    rotated = client.post(f"/admin/clients/{client_id}/rotate-secret", data={"csrf": csrf})
    new = re.search(r'id="client-secret">([^<]+)<', rotated.text).group(1)  # type: ignore[union-attr]
    assert partner_token(client, client_id, secret) == 401
    assert partner_token(client, client_id, new) == 200

    removed = client.post(f"/admin/clients/{client_id}/remove", data={"csrf": csrf})
    assert f"Removed {client_id}" in removed.text
    assert partner_token(client, client_id, new) == 401

    refused = client.post("/admin/clients", data={
        "csrf": csrf, "kind": "rp", "redirect_uris": "http://library.example/cb"})  # fmt: skip
    assert refused.status_code == 422  # and the form is kept, to correct
    assert "must be https (http only for localhost)" in refused.text
    assert "http://library.example/cb</textarea>" in refused.text
    expired = client.post("/admin/clients", data={"csrf": "old", "kind": "partner"})
    assert expired.status_code == 400
    assert "This page had expired" in expired.text


def test_another_librarys_clients_are_refused(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    root = token(client, add_admin, "root@consortium.example", None)
    rmits = client.post("/api/v1/admin/clients", json={"library": "rmit", "kind": "partner"},
                        headers=bearer(root)).json()  # fmt: skip
    ann = token(client, add_admin, "ann@monash.example", "monash")
    for method, path, body in [
        ("post", "/api/v1/admin/clients", {"library": "rmit", "kind": "partner"}),
        ("post", f"/api/v1/admin/clients/{rmits['client_id']}/rotate-secret", None),
        ("post", f"/api/v1/admin/clients/{rmits['client_id']}/revoke", None),
        ("delete", f"/api/v1/admin/clients/{rmits['client_id']}", None),
    ]:
        answer = client.request(method, path, json=body, headers=bearer(ann))
        assert answer.status_code == 403, (path, answer.text)
        assert answer.json()["detail"] == (
            "Library rmit is not yours: you can manage only monash's OAuth clients."
        )
    assert client.get("/api/v1/admin/clients", headers=bearer(ann)).json() == []
    csrf = signed_in(client, add_admin, "bob@monash.example", "monash")
    page = client.post(f"/admin/clients/{rmits['client_id']}/rotate-secret", data={"csrf": csrf})
    assert page.status_code == 403
    assert "Library rmit is not yours" in page.text
    assert partner_token(client, rmits["client_id"], rmits["client_secret"]) == 200
    with Session(published) as session:
        assert len(session.exec(select(OAuthClient)).all()) == 1


def test_an_invited_administrator_sets_a_password_by_the_emailed_link_and_signs_in(
    client: TestClient, add_admin: AddAdmin, settings: Settings, published: Engine,
    mailbox: Mailbox,
) -> None:  # fmt: skip
    csrf = signed_in(client, add_admin, "ann@monash.example", "monash")
    invited = client.post(
        "/admin/administrators", data={"csrf": csrf, "email": "New@Monash.example"}
    )
    assert "Invited new@monash.example" in invited.text
    outbox.send_due(engine=published, settings=settings)
    link = link_in(mailbox.wait_for("new@monash.example", "invited"))
    assert link.startswith(f"{settings.issuer}/admin/password/")
    link = urlsplit(link).path
    with Session(published) as session:  # the mail is emptied once sent; the link kept hashed
        assert link.rsplit("/", 1)[1] not in str(session.exec(select(AdminLink)).all())

    form = client.get(link)
    assert "For new@monash.example." in form.text
    data = {"csrf": csrf_of(form.text), "password": "short", "again": "short"}
    assert "at least 12 characters" in client.post(link, data=data).text
    data |= {"password": "a long passphrase here", "again": "a long passphrase here"}
    chosen = client.post(link, data=data, follow_redirects=False)
    assert chosen.headers["location"] == "/admin/login?password_set=1"
    assert client.post(link, data=data).status_code == 404  # good once
    assert "has been used already or has expired" in client.get(link).text
    assert sign_in(client, "new@monash.example", "a long passphrase here").status_code == 303
    assert "administrator of monash" in client.get("/admin").text
    with Session(published) as session:
        actions = session.exec(select(AuditEvent.action).order_by(col(AuditEvent.id))).all()
    assert actions[-4:-1] == ["admin.add", "admin.invite", "admin.set-password"]


def test_a_library_administrator_invites_only_for_their_library_and_one_root_is_kept(
    client: TestClient, add_admin: AddAdmin
) -> None:
    ann = token(client, add_admin, "ann@monash.example", "monash")
    refused = client.post("/api/v1/admin/administrators",
                          json={"email": "x@rmit.example", "library": "rmit"},
                          headers=bearer(ann))  # fmt: skip
    assert refused.status_code == 403
    refused = client.post("/api/v1/admin/administrators", json={"email": "x@c.example",
                          "library": None}, headers=bearer(ann))  # fmt: skip
    assert refused.status_code == 201  # none named: their own library
    assert refused.json() == {"email": "x@c.example", "library": "monash", "totp": False}
    add_admin("rae@rmit.example", "rmit")
    gone = client.delete("/api/v1/admin/administrators/rae@rmit.example", headers=bearer(ann))
    assert gone.status_code == 403
    listed = client.get("/api/v1/admin/administrators", headers=bearer(ann)).json()
    assert [a["email"] for a in listed] == ["ann@monash.example", "x@c.example"]
    root = token(client, add_admin, "root@consortium.example", None)
    made = client.post("/api/v1/admin/administrators",
                       json={"email": "y@rmit.example", "library": "rmit"},
                       headers=bearer(root))  # fmt: skip
    assert made.status_code == 201
    kept = client.delete("/api/v1/admin/administrators/root@consortium.example",
                         headers=bearer(root))  # fmt: skip
    assert kept.status_code == 409
    assert kept.json()["detail"] == (
        "root@consortium.example is the only consortium administrator, and is kept: without "
        "one, no one could add another."
    )
    gone = client.delete("/api/v1/admin/administrators/nobody@x.example", headers=bearer(root))
    assert gone.status_code == 404


def test_a_forgotten_password_is_reset_by_a_one_time_link(
    client: TestClient, add_admin: AddAdmin, settings: Settings, published: Engine,
    mailbox: Mailbox,
) -> None:  # fmt: skip
    add_admin("ann@monash.example", "monash")
    form = client.get("/admin/login")
    assert "Forgotten your password?" in form.text
    page = client.get("/admin/password/forgot")
    for email in ("ann@monash.example", "nobody@monash.example", "ann@monash.example"):
        sent = client.post("/admin/password/forgot",
                           data={"csrf": csrf_of(page.text), "email": email})  # fmt: skip
        assert f"If {email} is an administrator's address, an email" in sent.text  # the same
    assert outbox.send_due(engine=published, settings=settings) == outbox.Sent(sent=1)
    link = urlsplit(link_in(mailbox.wait_for("ann@monash.example", "new password"))).path
    choose = client.get(link)
    data = {"csrf": csrf_of(choose.text), "password": "correct horse battery",
            "again": "correct horse battery"}  # fmt: skip
    assert client.post(link, data=data, follow_redirects=False).status_code == 303
    assert sign_in(client, "ann@monash.example", "correct horse battery").status_code == 303


def test_a_csv_with_a_bad_row_is_refused_whole_and_a_good_one_imported(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    csrf = signed_in(client, add_admin, "ann@monash.example", "monash")
    bad = watch(client, upload(client, csrf, BAD_CSV))[-1]
    assert "1 row of patrons.csv has a problem; nothing was imported." in bad
    assert "Line 4: " in bad and "UNDERGRAD" in bad
    with Session(published) as session:
        assert session.exec(select(RegistryPatron)).all() == []
    good = watch(client, upload(client, csrf, GOOD_CSV))[-1]
    assert "Imported 2 patrons from patrons.csv into monash: 2 new, 0 updated." in good
    other = client.post("/admin/patrons", data={"csrf": csrf, "library": "rmit"},
                        files={"file": ("patrons.csv", GOOD_CSV, "text/csv")})  # fmt: skip
    assert other.status_code == 403
    ann = token(client, add_admin, "bob@monash.example", "monash")
    api = client.post("/api/v1/admin/libraries/monash/patrons", content=BAD_CSV,
                      headers={**bearer(ann), "Content-Type": "text/csv"})  # fmt: skip
    assert api.status_code == 422
    assert api.json()["rows"][0]["line"] == 4
    with Session(published) as session:
        cards = session.exec(select(RegistryPatron.card)).all()
    assert sorted(cards) == [MONASH_CARD, "22220000000043"]


def test_an_administrator_sets_up_an_authenticator_app_and_then_needs_its_code(
    client: TestClient, add_admin: AddAdmin
) -> None:
    added = add_admin("ann@monash.example", "monash")
    assert sign_in(client, "ann@monash.example", added.password).status_code == 303
    page = client.get("/admin/account")
    assert "Authenticator code</dt><dd>not set up" in page.text
    offered = client.post("/admin/account/totp", data={"csrf": csrf_of(page.text)})
    key = re.search(r'id="totp-secret">([A-Z2-7]+)<', offered.text).group(1)  # type: ignore[union-attr]
    offer = re.search(r'name="offer" value="([^"]+)"', offered.text).group(1)  # type: ignore[union-attr]
    form = {"csrf": csrf_of(offered.text), "offer": offer}
    wrong = client.post("/admin/account/totp", data={**form, "code": "000000"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.text
    assert key not in wrong.text  # shown once; the form stays, for the code again
    now = datetime.now(UTC)
    right = client.post("/admin/account/totp", data={**form, "code": pyotp.TOTP(key).at(now)})
    assert "Your authenticator app is set up" in right.text
    client.post("/admin/logout", data={"csrf": csrf_of(right.text)})
    assert sign_in(client, "ann@monash.example", added.password).status_code == 400
    later = pyotp.TOTP(key).at(now + timedelta(seconds=30))
    assert sign_in(client, "ann@monash.example", added.password, later).status_code == 303


def test_without_a_mail_server_no_invitation_or_reset_link_is_promised(
    database_url: str, published: Engine, add_admin: AddAdmin
) -> None:
    quiet = Settings(database_url=database_url, secret_key=SECRET)
    with TestClient(create_app(quiet)) as client:
        root = token(client, add_admin, "root@consortium.example", None)
        refused = client.post("/api/v1/admin/administrators",
                              json={"email": "y@rmit.example", "library": "rmit"},
                              headers=bearer(root))  # fmt: skip
        assert refused.status_code == 409
        assert "This hub sends no email" in refused.json()["detail"]
        assert "This hub sends no email" in client.get("/admin/password/forgot").text
