"""The admin API's main flows, over HTTP against the app: sign in for a token; a bilateral
agreement proposed by one party, approved by the other, and the eligibility decision changing;
a suspension in force at once and seen by the other party; the validator's problems with the
lines of the entry sent; rollback, export and import of versions."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from identity.agreements import publishing
from identity.app import create_app
from identity.settings import Settings
from identity.store.database import transaction
from tests.conftest import Hub
from tests.identity.admin.conftest import AddAdmin

NEW_BILATERAL = """\
agreements:
  - id: monash-latrobe-alumni
    kind: bilateral
    lender: monash
    borrowers_from: [latrobe]
    categories: [alumni]
    terms: {max_items: 2, loan_days: 14}
"""

SUSPENSION = """\
agreements:
  - id: monash-suspends-vu
    kind: suspension
    lender: monash
    borrowers_from: [vu]
    reason: Unreturned loans under review
"""


def token(client: TestClient, add_admin: AddAdmin, email: str, library: str | None) -> str:
    added = add_admin(email, library)
    answer = client.post(
        "/api/v1/admin/sessions", json={"email": email, "password": added.password}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["token_type"] == "Bearer"
    return str(answer.json()["token"])


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def decide(engine: Engine, lender: str, home: str, category: str) -> dict[str, Any]:
    import datetime

    import policies

    with transaction(engine) as session:
        found = publishing.in_force(session=session)
    assert found is not None
    request = policies.BorrowRequest(
        lender=lender, home_library=home, category=category, on=datetime.date.today()
    )
    return found[1].decide(request).to_dict()


def test_no_token_is_401_problem(client: TestClient) -> None:
    answer = client.get("/api/v1/admin/agreements")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/unauthorized"


def test_wrong_password_is_401(client: TestClient, add_admin: AddAdmin) -> None:
    add_admin("ann@monash.example", "monash")
    answer = client.post(
        "/api/v1/admin/sessions", json={"email": "ann@monash.example", "password": "nope"}
    )
    assert answer.status_code == 401


def test_bilateral_proposed_approved_and_decision_changes(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    monash = token(client, add_admin, "ann@monash.example", "monash")
    latrobe = token(client, add_admin, "lee@latrobe.example", "latrobe")
    assert decide(published, "monash", "latrobe", "alumni")["eligible"] is False

    checked = client.post(
        "/api/v1/admin/check",
        headers=bearer(monash),
        json={"section": "agreements", "yaml": NEW_BILATERAL},
    ).json()
    assert checked["valid"] is True
    flipped = [
        (f["lender"], f["home_library"], f["category"], f["change"]) for f in checked["flips"]
    ]
    assert flipped == [("monash", "latrobe", "alumni", "now eligible")]

    answer = client.post(
        "/api/v1/admin/agreements", headers=bearer(monash), json={"yaml": NEW_BILATERAL}
    )
    assert answer.status_code == 202, answer.text
    proposal = answer.json()["proposal"]
    assert proposal["status"] == "pending"
    assert proposal["awaiting"] == ["latrobe"]
    assert decide(published, "monash", "latrobe", "alumni")["eligible"] is False  # not yet

    # the proposer cannot approve its own proposal
    refused = client.post(
        f"/api/v1/admin/proposals/{proposal['id']}/approve", headers=bearer(monash)
    )
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/not-permitted"

    seen = client.get(f"/api/v1/admin/proposals/{proposal['id']}", headers=bearer(latrobe))
    assert seen.json()["you_may"]["approve"] is True
    assert [f["category"] for f in seen.json()["flips"]] == ["alumni"]

    approved = client.post(
        f"/api/v1/admin/proposals/{proposal['id']}/approve", headers=bearer(latrobe)
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["proposal"]["status"] == "published"
    version = approved.json()["version"]
    assert version is not None
    after = decide(published, "monash", "latrobe", "alumni")
    assert after["eligible"] is True
    assert after["agreements"] == ["monash-latrobe-alumni"]

    again = client.post(
        f"/api/v1/admin/proposals/{proposal['id']}/approve", headers=bearer(latrobe)
    )
    assert again.status_code == 409


def test_suspension_at_once_and_the_other_party_sees_it(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    monash = token(client, add_admin, "ann@monash.example", "monash")
    vu = token(client, add_admin, "val@vu.example", "vu")
    assert decide(published, "monash", "vu", "undergraduate")["eligible"] is True

    answer = client.post(
        "/api/v1/admin/agreements", headers=bearer(monash), json={"yaml": SUSPENSION}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "published"
    refused = decide(published, "monash", "vu", "undergraduate")
    assert refused["eligible"] is False
    assert refused["reasons"][0]["code"] == "suspended"

    listed = client.get("/api/v1/admin/agreements?library=vu", headers=bearer(vu)).json()
    assert "monash-suspends-vu" in [a["id"] for a in listed]
    events = client.get("/api/v1/admin/audit", headers=bearer(vu)).json()
    assert any(
        e["action"] == "agreement.create" and e["subject"] == "agreement:monash-suspends-vu"
        for e in events
    )

    # the lender lifts it at once too
    lifted = client.delete("/api/v1/admin/agreements/monash-suspends-vu", headers=bearer(monash))
    assert lifted.status_code == 200, lifted.text
    assert decide(published, "monash", "vu", "undergraduate")["eligible"] is True


def test_problems_name_the_lines_of_the_entry_sent(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    monash = token(client, add_admin, "ann@monash.example", "monash")
    for wrong, line, message in (
        (("loan_days: 14", "loan_dayz: 14"), 7, "loan_dayz"),
        (("categories: [alumni]", "categories: [alumnus]"), 6, "alumnus"),
        (("lender: monash", "lender: monash2"), 4, "monash2"),
    ):
        broken = NEW_BILATERAL.replace(*wrong)
        answer = client.post(
            "/api/v1/admin/agreements", headers=bearer(monash), json={"yaml": broken}
        )
        assert answer.status_code in (403, 422), answer.text
        if answer.status_code == 403:  # monash2 is not monash: refused before it is checked
            assert wrong[1] == "lender: monash2"
            continue
        body = answer.json()
        assert body["type"] == "/problems/invalid-agreements"
        found = body["problems"]
        assert {(p["file"], p["line"]) for p in found} == {("your change", line)}
        assert any(message in p["message"] for p in found)
    with transaction(published) as session:
        assert publishing.latest(session=session).id == 1  # type: ignore[union-attr]


def test_rollback_export_and_import(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    boss = token(client, add_admin, "boss@caval.example", None)
    made = client.post(
        "/api/v1/admin/agreements", headers=bearer(boss), json={"yaml": NEW_BILATERAL}
    )
    assert made.status_code == 201 and made.json()["version"] == 2
    rolled = client.post("/api/v1/admin/versions/1/rollback", headers=bearer(boss))
    assert rolled.status_code == 201, rolled.text
    assert rolled.json()["version"] == 3
    assert decide(published, "monash", "latrobe", "alumni")["eligible"] is False

    exported = client.get("/api/v1/admin/versions/2/export", headers=bearer(boss))
    assert exported.status_code == 200
    imported = client.post(
        "/api/v1/admin/versions",
        headers=bearer(boss),
        json={"files": [{"name": "v2.yaml", "text": exported.text}], "note": "back to 2"},
    )
    assert imported.status_code == 201, imported.text
    assert decide(published, "monash", "latrobe", "alumni")["eligible"] is True

    bad = client.post(
        "/api/v1/admin/versions",
        headers=bearer(boss),
        json={"files": [{"name": "bad.yaml", "text": "agreements:\n  - id: x\n"}]},
    )
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["file"] == "bad.yaml"


@pytest.mark.db
def test_audit_verify_catches_an_approval_edited_in_the_database(
    client: TestClient, add_admin: AddAdmin, published: Engine, hub: Hub
) -> None:
    """Approvals are in the hash chain: rewriting who approved, behind the triggers, is found."""
    monash = token(client, add_admin, "ann@monash.example", "monash")
    latrobe = token(client, add_admin, "lee@latrobe.example", "latrobe")
    made = client.post(
        "/api/v1/admin/agreements", headers=bearer(monash), json={"yaml": NEW_BILATERAL}
    ).json()
    number = made["proposal"]["id"]
    assert client.post(
        f"/api/v1/admin/proposals/{number}/approve", headers=bearer(latrobe)
    ).is_success
    assert hub("audit", "verify").returncode == 0

    with published.begin() as connection:
        if published.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            connection.execute(text("DROP TRIGGER audit_event_no_update"))
        event = connection.execute(
            text("SELECT id FROM audit_event WHERE action = 'proposal.approve'")
        ).scalar_one()
        connection.execute(
            text("UPDATE audit_event SET actor = 'admin:mallory@evil.example' WHERE id = :id"),
            {"id": event},
        )
    verified = hub("audit", "verify")
    assert verified.returncode == 1
    assert verified.stdout == f"event {event}: content does not match its hash\n"
    assert "the audit log was altered" in verified.stderr


def test_no_token_gets_a_bare_bearer_challenge_and_a_bad_one_an_error(client: TestClient) -> None:
    """RFC 6750 section 3.1: no error code when the request carried no token."""
    assert client.get("/api/v1/admin/me").headers["WWW-Authenticate"] == "Bearer"
    wrong = client.get("/api/v1/admin/me", headers=bearer("not-a-session"))
    assert wrong.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_only_those_who_could_save_a_change_may_preview_it(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    """The what-if counts a library's patrons: deakin may not preview monash's change."""
    deakin = token(client, add_admin, "dee@deakin.example", "deakin")
    answer = client.post(
        "/api/v1/admin/check",
        headers=bearer(deakin),
        json={"section": "agreements", "yaml": NEW_BILATERAL},
    )
    assert answer.status_code == 403
    assert "deakin" in answer.json()["detail"] and "monash" in answer.json()["detail"]


@pytest.mark.parametrize("day", [0, 1795000000, "0", "1795000000", "2026-11-22T00:00:00"], ids=repr)
def test_a_day_is_written_yyyy_mm_dd_and_nothing_else(
    client: TestClient, add_admin: AddAdmin, day: object
) -> None:
    consortium = bearer(token(client, add_admin, "cat@caval.example", None))
    checked = client.post(
        "/api/v1/admin/check",
        headers=consortium,
        json={"section": "agreements", "yaml": NEW_BILATERAL, "on": day},
    )
    assert checked.status_code == 422 and checked.json()["type"] == "/problems/invalid-request"
    listed = client.get("/api/v1/admin/audit", headers=consortium, params={"until": str(day)})
    assert listed.status_code == 422 and listed.json()["type"] == "/problems/invalid-request"
    on_the_day = {"section": "agreements", "yaml": NEW_BILATERAL, "on": "2026-11-22"}
    assert client.post("/api/v1/admin/check", headers=consortium, json=on_the_day).is_success
    listed = client.get("/api/v1/admin/audit", headers=consortium, params={"until": "2026-11-22"})
    assert listed.status_code == 200


def test_an_import_over_the_size_limit_is_refused_unread(
    settings: Settings, published: Engine, add_admin: AddAdmin
) -> None:
    """HUB_AGREEMENTS_MAX_MB and HUB_AGREEMENTS_MAX_ENTRIES bound what an import may hold."""
    small = settings.model_copy(update={"agreements_max_mb": 1, "agreements_max_entries": 20})
    entries = [f"  - {{id: l{n}, name: {'N' * 100}}}\n" for n in range(10_000)]
    with TestClient(create_app(small)) as client:
        boss = token(client, add_admin, "boss@caval.example", None)
        for lines, message in [
            (entries, "larger than the limit of 1 MiB (HUB_AGREEMENTS_MAX_MB)"),
            (entries[:30], "more than 20 libraries and agreements, the limit "
                           "(HUB_AGREEMENTS_MAX_ENTRIES)"),
        ]:  # fmt: skip
            text = "libraries:\n" + "".join(lines)
            answer = client.post(
                "/api/v1/admin/versions",
                headers=bearer(boss),
                json={"files": [{"name": "big.yaml", "text": text}]},
            )
            assert answer.status_code == 422, answer.text
            (problem,) = answer.json()["problems"]
            assert problem["file"] == "big.yaml" and message in problem["message"]
    with transaction(published) as session:
        assert publishing.latest(session=session).id == 1  # type: ignore[union-attr]


def test_a_rejection_needs_a_reason_and_carries_it(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    monash = token(client, add_admin, "ann@monash.example", "monash")
    latrobe = token(client, add_admin, "lee@latrobe.example", "latrobe")
    made = client.post("/api/v1/admin/agreements", headers=bearer(monash),
                       json={"yaml": NEW_BILATERAL})  # fmt: skip
    number = made.json()["proposal"]["id"]
    path = f"/api/v1/admin/proposals/{number}/reject"
    for body in (None, {}, {"reason": ""}, {"reason": "   "}):
        refused = client.post(path, headers=bearer(latrobe), json=body)
        assert refused.status_code == 422, body
    done = client.post(path, headers=bearer(latrobe), json={"reason": "No alumni here"})
    assert done.status_code == 200
    seen = client.get(f"/api/v1/admin/proposals/{number}", headers=bearer(monash)).json()
    assert (seen["status"], seen["reason"]) == ("rejected", "No alumni here")
