"""``hub admin list/remove/reset-password``: a reset password is printed once and kept only as
a hash, a removed or reset administrator is signed out at once, both audited, and the last
consortium administrator is kept."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from identity.store.models import AdminAccount, AuditEvent
from tests.conftest import Hub
from tests.identity.admin.conftest import AddAdmin, sign_in
from tests.identity.admin.test_cli_admin import dump, value

pytestmark = pytest.mark.db


def test_reset_and_remove_sign_the_administrator_out(
    client: TestClient, add_admin: AddAdmin, hub: Hub, published: Engine
) -> None:
    root = add_admin("root@consortium.example")
    ada = add_admin("ada@rmit.example", "rmit", totp=True)
    listed = json.loads(hub("admin", "list", "--json").stdout)
    assert [(a["email"], a["library"], a["totp"]) for a in listed] == [
        ("root@consortium.example", None, False),
        ("ada@rmit.example", "rmit", True),
    ]
    assert sign_in(client, root.account.email, root.password).status_code == 303
    assert client.get("/admin", follow_redirects=False).status_code == 200

    reset = hub("admin", "reset-password", "Root@Consortium.example")
    assert reset.returncode == 0, reset.stderr
    password = value(reset.stdout, "password")
    assert password != root.password and "Shown only now" in reset.stderr
    assert password not in dump(published)
    assert client.get("/admin", follow_redirects=False).status_code == 303  # signed out
    assert sign_in(client, root.account.email, root.password).status_code == 400
    assert sign_in(client, root.account.email, password).status_code == 303

    last = hub("admin", "remove", "root@consortium.example", "--yes")
    assert last.returncode == 1
    assert "the only consortium administrator; nothing removed" in last.stderr
    removed = hub("admin", "remove", ada.account.email, "--yes")
    assert removed.returncode == 0, removed.stderr
    missing = hub("admin", "reset-password", "nobody@example.org")
    assert missing.returncode == 1 and "There is no administrator" in missing.stderr
    with Session(published) as session:
        assert [a.email for a in session.exec(select(AdminAccount))] == [root.account.email]
        actions = [
            (e.action, e.subject)
            for e in session.exec(select(AuditEvent).order_by(AuditEvent.id))  # type: ignore[arg-type]
            if e.action in ("admin.reset-password", "admin.remove")
        ]
    assert actions == [
        ("admin.reset-password", "admin:root@consortium.example"),
        ("admin.remove", "admin:ada@rmit.example"),
    ]
