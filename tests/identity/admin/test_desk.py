"""Desk tools: a card's recent sign-in attempts and its lock, and clearing the lock, as a page
and as JSON; who may (a library's own administrators, and consortium administrators), the CSRF
token, and the audit event (which keeps no full card number)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from identity.security import guessing_limits
from identity.store.models import AuditEvent
from tests.conftest import SECRET
from tests.identity.admin.conftest import AddAdmin, csrf_of, sign_in
from tests.identity.admin.test_api import bearer, token

CARD = "21110000000001"  # rmit's
LIMITS = guessing_limits.Limits.parse("3/900", "30/900")


def locked(engine: Engine, card: str = CARD) -> int:
    key = guessing_limits.card_key(SECRET, "rmit", card)
    with Session(engine) as session:
        return guessing_limits.card_wait(session, key=key, limits=LIMITS)


def lock_out(engine: Engine, card: str = CARD) -> None:
    """Three wrong PINs at monash's sign-in page: the limit of the tests' settings."""
    key = guessing_limits.card_key(SECRET, "rmit", card)
    for _ in range(3):
        attempt = guessing_limits.begin(engine=engine, key=key, address="192.0.2.7",
                                        limits=LIMITS, lender="monash")  # fmt: skip
        guessing_limits.finish(engine=engine, attempt=attempt, success=False)
    assert locked(engine, card) > 0


def unlock_events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        query = select(AuditEvent).where(AuditEvent.action == "card.unlock")
        return list(session.exec(query.order_by(col(AuditEvent.id))))


def test_desk_staff_see_the_attempts_and_clear_the_lock(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    lock_out(published)
    made = add_admin("dee@rmit.example", "rmit")
    sign_in(client, "dee@rmit.example", made.password)
    form = client.get("/admin/desk")
    assert '<option value="rmit" selected>' in form.text  # their one library, chosen
    assert 'value="monash"' not in form.text
    shown = client.post("/admin/desk", data={"csrf": csrf_of(form.text), "library": "rmit",
                                             "card": f" {CARD} "})  # fmt: skip
    assert shown.status_code == 200
    assert "<strong>Locked</strong>" in shown.text and "Clear the lock" in shown.text
    assert shown.text.count("Wrong card number or PIN") == 3
    assert shown.text.count("Monash University Library") == 3

    cleared = client.post("/admin/desk/unlock", data={"csrf": csrf_of(shown.text),
                                                      "library": "rmit", "card": CARD})  # fmt: skip
    assert cleared.status_code == 200
    assert "The lock is cleared: the patron can sign in now." in cleared.text
    assert "Not locked" in cleared.text and "Lock cleared by staff" in cleared.text
    assert locked(published) == 0
    (event,) = unlock_events(published)
    assert (event.actor, event.subject) == ("dee@rmit.example", "library:rmit")
    assert event.before is not None and event.before["locked_for_seconds"] > 0
    assert event.before == {"library": "rmit", "card": "…0001",
                            "locked_for_seconds": event.before["locked_for_seconds"]}  # fmt: skip
    assert event.after == {"library": "rmit", "card": "…0001", "locked_for_seconds": 0}


def test_another_librarys_card_is_refused(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    lock_out(published)
    made = add_admin("max@monash.example", "monash")
    sign_in(client, "max@monash.example", made.password)
    form = client.get("/admin/desk").text
    refused = client.post("/admin/desk/unlock", data={"csrf": csrf_of(form), "library": "rmit",
                                                      "card": CARD})  # fmt: skip
    assert refused.status_code == 403
    assert "you can see and clear the locks only of monash&#39;s cards" in refused.text
    api = token(client, add_admin, "mo@monash.example", "monash")
    for path in ("/api/v1/admin/desk/card", "/api/v1/admin/desk/card/unlock"):
        answer = client.post(path, headers=bearer(api), json={"library": "rmit", "card": CARD})
        assert answer.status_code == 403, path
        assert answer.json()["type"] == "/problems/not-permitted"
    assert locked(published) > 0 and unlock_events(published) == []


def test_a_stale_form_clears_nothing(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    lock_out(published)
    made = add_admin("dee@rmit.example", "rmit")
    sign_in(client, "dee@rmit.example", made.password)
    client.get("/admin/desk")
    stale = client.post("/admin/desk/unlock", data={"csrf": "forged", "library": "rmit",
                                                    "card": CARD})  # fmt: skip
    assert stale.status_code == 400 and "This page had expired" in stale.text
    assert locked(published) > 0 and unlock_events(published) == []


def test_a_consortium_administrator_serves_any_librarys_cards_by_api(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    lock_out(published)
    api = bearer(token(client, add_admin, "cora@caval.example", None))
    seen = client.post("/api/v1/admin/desk/card", headers=api,
                       json={"library": "rmit", "card": CARD}).json()  # fmt: skip
    assert seen["locked"] is True and seen["retry_after"] > 0
    assert [a["outcome"] for a in seen["attempts"]] == ["failure"] * 3
    assert {a["lender"] for a in seen["attempts"]} == {"Monash University Library"}
    after = client.post("/api/v1/admin/desk/card/unlock", headers=api,
                        json={"library": "rmit", "card": CARD}).json()  # fmt: skip
    assert after["locked"] is False and after["attempts"][0]["outcome"] == "cleared"
    assert locked(published) == 0
    wrong = client.post("/api/v1/admin/desk/card", headers=api,
                        json={"library": "nowhere", "card": CARD})  # fmt: skip
    assert wrong.status_code == 404
    unsaid = client.post("/api/v1/admin/desk/card", headers=api, json={"library": "", "card": CARD})
    assert (
        unsaid.status_code == 422 and unsaid.json()["detail"] == "Choose the card's home library."
    )
