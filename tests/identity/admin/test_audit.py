"""``/admin/audit`` and ``/admin/audit.csv``: who sees which events, filters, the CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from identity.admin import audit, auditdiff
from identity.oauth import registration
from identity.store.database import transaction
from identity.store.models import AuditEvent, utcnow
from tests.identity.admin.conftest import AddAdmin, sign_in


@pytest.fixture
def events(published: Engine) -> Engine:
    """Events about rmit, monash and neither, besides the publish and the key made at start."""
    with transaction(published) as session:
        audit.record(
            session=session,
            actor="cli:carol",
            action="patrons.import",
            subject="library:rmit",
            after={"added": 4},
        )
        audit.record(
            session=session,
            actor="cli:carol",
            action="patrons.import",
            subject="library:monash",
            after={"added": 9},
        )
        audit.record(
            session=session,
            actor="cli:carol",
            action="patrons.import",
            subject="library:rmit2",  # a library whose id starts like rmit's
            after={"added": 1},
        )
        for library in ("rmit", "monash"):
            registration.add_client(
                session=session, library=library, kind="partner", redirect_uris=[], actor="cli:dan"
            )
        audit.record(
            session=session,
            actor="=cmd|' /C calc'!A0",  # a formula, were it pasted into a spreadsheet as is
            action="test.odd",
            subject="library:monash",
        )
    return published


def csv_rows(client: TestClient, **params: str) -> list[dict[str, str]]:
    response = client.get("/admin/audit.csv", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="audit.csv"'
    assert response.headers["cache-control"] == "no-store"
    return list(csv.DictReader(io.StringIO(response.text)))


@pytest.mark.db
def test_a_library_administrator_sees_only_their_library(
    client: TestClient, add_admin: AddAdmin, events: Engine
) -> None:
    mine = add_admin("ada@rmit.example", "rmit")
    add_admin("max@monash.example", "monash")
    sign_in(client, "ada@rmit.example", mine.password)
    rows = csv_rows(client)
    seen = {(r["action"], r["subject"]) for r in rows}
    assert ("patrons.import", "library:rmit") in seen
    assert ("agreements.publish", "agreement-version:1") in seen
    assert ("admin.add", "admin:ada@rmit.example") in seen
    assert ("admin.sign-in", "admin:ada@rmit.example") in seen
    assert {json.loads(r["after"])["library"] for r in rows if r["action"] == "clients.add"} == {
        "rmit"
    }
    assert all("monash" not in r["subject"] and "rmit2" not in r["subject"] for r in rows)
    assert not any(r["action"] in ("keys.rotate", "test.odd") for r in rows)
    page = client.get("/admin/audit")
    assert "library:rmit<" in page.text
    assert "library:monash" not in page.text and "max@monash.example" not in page.text
    assert "keys.rotate" not in page.text  # not even in the list of actions to filter by
    # asking for another library's events by filter gets nothing either
    assert csv_rows(client, action="test.odd") == []


def test_a_consortium_administrator_sees_everything(
    client: TestClient, add_admin: AddAdmin, events: Engine
) -> None:
    added = add_admin("root@consortium.example")
    sign_in(client, "root@consortium.example", added.password)
    rows = csv_rows(client)
    with Session(events) as session:
        every = session.exec(select(AuditEvent)).all()
    assert len(rows) == len(every)
    assert [int(r["id"]) for r in rows] == sorted((e.id or 0 for e in every), reverse=True)


def test_the_csv(client: TestClient, add_admin: AddAdmin, events: Engine) -> None:
    added = add_admin("root@consortium.example")
    sign_in(client, "root@consortium.example", added.password)
    response = client.get("/admin/audit.csv")
    assert response.text.startswith("id,at,actor,action,subject,address,before,after,hash\r\n")
    rows = csv_rows(client)
    odd = next(r for r in rows if r["action"] == "test.odd")
    assert odd["actor"] == "'=cmd|' /C calc'!A0"  # neutralised for spreadsheets
    sign_in_row = next(r for r in rows if r["action"] == "admin.sign-in")
    assert sign_in_row["address"] == "testclient" and sign_in_row["at"].endswith("+00:00")
    publish = next(r for r in rows if r["action"] == "agreements.publish")
    assert json.loads(publish["after"])["files"] == [
        "bilateral.yaml",
        "caval.yaml",
        "libraries.yaml",
        "suspensions.yaml",
    ]
    with Session(events) as session:
        event = session.get(AuditEvent, int(publish["id"]))
        assert event is not None and publish["hash"] == event.hash
    # no secret: not the password, nor its hash, nor a client's secret digest
    assert added.password not in response.text and "$argon2" not in response.text
    assert "secret" not in response.text


@pytest.mark.db
def test_filters(client: TestClient, add_admin: AddAdmin, events: Engine) -> None:
    added = add_admin("root@consortium.example")
    sign_in(client, "root@consortium.example", added.password)
    imports = csv_rows(client, action="patrons.import")
    assert sorted(r["subject"] for r in imports) == [
        "library:monash",
        "library:rmit",
        "library:rmit2",
    ]
    assert {r["actor"] for r in csv_rows(client, actor="dan")} == {"cli:dan"}
    assert csv_rows(client, actor="%") == []  # a wildcard is taken literally
    today = utcnow().date()
    assert len(csv_rows(client, since=str(today), until=str(today))) == len(csv_rows(client))
    assert csv_rows(client, until=str(today - timedelta(days=1))) == []
    assert csv_rows(client, since=str(today + timedelta(days=1))) == []
    page = client.get("/admin/audit", params={"action": "patrons.import", "actor": "carol"})
    assert page.status_code == 200 and "3 events." in page.text
    assert "/admin/audit.csv?action=patrons.import&amp;actor=carol" in page.text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "From: enter a date like 2026-11-29"),
        ({"until": "2026-13-01"}, "Until: enter a date like 2026-11-29"),
        ({"since": "2026-02-02", "until": "2026-02-01"}, "From must not be after Until."),
    ],
)
def test_a_bad_date_is_said_so(
    client: TestClient, add_admin: AddAdmin, params: dict[str, str], message: str
) -> None:
    added = add_admin("root@consortium.example")
    sign_in(client, "root@consortium.example", added.password)
    page = client.get("/admin/audit", params=params)
    assert page.status_code == 400 and message in page.text and 'role="alert"' in page.text
    exported = client.get("/admin/audit.csv", params=params)
    assert exported.status_code == 400 and message in exported.text


def test_before_and_after_are_shown_as_what_changed() -> None:
    before = {"entry": {"id": "a", "terms": {"max_items": 2, "loan_days": 14}}, "n": 1}
    after = {"entry": {"id": "a", "terms": {"max_items": 3, "loan_days": 14}}, "n": 1}
    change = auditdiff.change(before, after)
    assert change.fields == ["entry.terms.max_items"]
    assert change.summary == "entry.terms.max_items"
    changed = [(line.kind, line.text) for line in change.lines if line.kind in ("add", "del")]
    assert changed == [("del", "    max_items: 2"), ("add", "    max_items: 3")]
    made = auditdiff.change(None, {"added": 4})
    assert [(line.kind, line.text) for line in made.lines] == [("add", "added: 4")]
    assert made.summary == "added"
    many = auditdiff.change({}, dict.fromkeys("abcdef", 1))
    assert many.summary == "a, b, c, d and 2 more"


def test_a_page_at_a_time_filtered_by_library(
    client: TestClient, add_admin: AddAdmin, events: Engine
) -> None:
    with transaction(events) as session:
        for n in range(60):
            audit.record(session=session, actor="cli:carol", action="test.many",
                         subject="library:rmit", before={"n": n}, after={"n": n + 1})  # fmt: skip
    added = add_admin("root@consortium.example")
    sign_in(client, "root@consortium.example", added.password)
    first = client.get("/admin/audit", params={"action": "test.many"})
    assert "Events 1 to 25 of 60." in first.text and "Page 1 of 3" in first.text
    assert first.text.count("<details>") == 25 and "Newer events" not in first.text
    assert '<a href="/admin/audit?action=test.many&amp;page=2" rel="next">' in first.text
    assert '<span class="del">- n: 59</span>' in first.text  # the newest: n 59 to 60
    assert '<span class="add">+ n: 60</span>' in first.text
    last = client.get("/admin/audit", params={"action": "test.many", "page": "3"})
    assert "Events 51 to 60 of 60." in last.text and "Older events" not in last.text
    assert last.text.count("<details>") == 10 and "- n: 0<" in last.text
    assert client.get("/admin/audit", params={"page": "0"}).status_code == 422

    rmit = client.get("/admin/audit", params={"library": "rmit", "page": "1"}).text
    assert "library:rmit2" not in rmit and "library:monash" not in rmit
    assert '<option value="rmit" selected>' in rmit
    only = {r["subject"] for r in csv_rows(client, library="rmit", action="patrons.import")}
    assert only == {"library:rmit"}
