"""``/admin/lookups``: a home library's administrators see who asked the eligibility API about
their patrons, and only their own library's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.store.database import transaction
from identity.store.models import EligibilityLookup, utcnow
from tests.identity.admin.conftest import AddAdmin, sign_in


@pytest.fixture
def asked(published: Engine) -> Engine:
    rows = [
        ("demo-monash-partner", "monash", "rmit", "21110000000001", "eligible", []),
        ("demo-latrobe-partner", "latrobe", "rmit", "21110000000004", "not-eligible",
         ["suspended"]),
        ("demo-rmit-partner", "rmit", "monash", "22220000000001", "eligible", []),
    ]  # fmt: skip
    with transaction(published) as session:
        for client_id, lender, home, card, answer, reasons in rows:
            session.add(
                EligibilityLookup(
                    at=utcnow(), client_id=client_id, lender=lender, home_library=home,
                    card=card, by="card", answer=answer, reasons=reasons,
                )
            )  # fmt: skip
    return published


@pytest.mark.db
def test_a_library_administrator_sees_who_asked_about_their_patrons(
    client: TestClient, add_admin: AddAdmin, asked: Engine
) -> None:
    made = add_admin("ana@rmit.example", "rmit")
    assert sign_in(client, "ana@rmit.example", made.password).status_code == 303
    page = client.get("/admin/lookups", params={"library": "monash"}).text  # ignored for them
    assert "demo-monash-partner" in page and "demo-latrobe-partner" in page
    assert "21110000000004" in page and "suspended" in page
    assert "22220000000001" not in page and "2 questions" in page
    one = client.get("/admin/lookups", params={"card": "21110000000004"}).text
    assert "1 question" in one and "demo-monash-partner" not in one


def test_a_consortium_administrator_chooses_the_library(
    client: TestClient, add_admin: AddAdmin, asked: Engine
) -> None:
    made = add_admin("cora@caval.example")
    sign_in(client, "cora@caval.example", made.password)
    page = client.get("/admin/lookups", params={"library": "monash"}).text
    assert "22220000000001" in page and "21110000000001" not in page
    assert '<option value="monash" selected>Monash University Library (monash)</option>' in page
    assert '<option value="rmit">' in page  # every library, to choose from
    assert client.get("/admin/lookups").status_code == 200


@pytest.mark.db
def test_a_card_is_found_however_it_is_typed(
    client: TestClient, add_admin: AddAdmin, asked: Engine
) -> None:
    with transaction(asked) as session:
        session.add(
            EligibilityLookup(
                at=utcnow(), client_id="demo-monash-partner", lender="monash",
                home_library="rmit", card="dj\u00e91", by="card", answer="unknown-card",
                reasons=[],
            )
        )  # fmt: skip
    made = add_admin("ana@rmit.example", "rmit")
    sign_in(client, "ana@rmit.example", made.password)
    decomposed = client.get("/admin/lookups", params={"card": " dje\u03011 "})
    assert decomposed.status_code == 200 and "1 question" in decomposed.text
    assert "unknown-card" in decomposed.text
    spaced = client.get("/admin/lookups", params={"card": "2111 0000"})
    assert spaced.status_code == 400
    assert "A card number has no spaces or control characters in it." in spaced.text
    assert "0 questions" not in spaced.text and "unknown-card" not in spaced.text
    assert 'inputmode="numeric"' not in spaced.text  # cards are not always numbers


def test_lookups_need_a_signed_in_administrator(client: TestClient, asked: Engine) -> None:
    answer = client.get("/admin/lookups", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/admin/login")
