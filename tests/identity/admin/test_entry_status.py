"""An agreement's status today, as the lists show it (``identity.agreements.status``)."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.agreements import status
from tests.identity.admin.conftest import AddAdmin, sign_in

ON = date(2026, 12, 7)
LENDS = {"id": "a", "kind": "bilateral", "lender": "monash", "borrowers_from": ["rmit", "vu"]}
SUSPENDS = {"id": "s", "kind": "suspension", "lender": "monash", "borrowers_from": ["rmit"]}


def test_in_force_not_yet_ended_and_suspended() -> None:
    assert status.of(LENDS, [LENDS], ON) == status.Status("in force")
    later = {**LENDS, "effective": {"from": date(2027, 1, 1)}}
    assert status.of(later, [], ON) == status.Status("not yet", "from 2027-01-01")
    over = {**LENDS, "effective": {"until": "2026-06-30"}}
    assert status.of(over, [], ON) == status.Status("ended", "on 2026-06-30")
    assert status.of(LENDS, [LENDS, SUSPENDS], ON) == status.Status(
        "suspended", "monash suspends rmit"
    )
    lifted = {**SUSPENDS, "effective": {"until": "2026-12-06"}}
    assert status.of(LENDS, [LENDS, lifted], ON).name == "in force"
    others = {**SUSPENDS, "lender": "vu"}  # vu is a borrower here, not a lender
    assert status.of(LENDS, [LENDS, others], ON).name == "in force"
    consortium = {"id": "c", "kind": "consortium", "members": ["monash", "rmit", "vu"]}
    assert status.of(consortium, [SUSPENDS], ON).name == "suspended"
    assert status.of(SUSPENDS, [SUSPENDS], ON) == status.Status("in force")


def test_the_list_shows_names_and_status(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    added = add_admin("ann@monash.example", "monash")
    sign_in(client, "ann@monash.example", added.password)
    page = client.get("/admin/agreements").text
    assert "Agreements, with their status today" in page
    assert "Monash University Library lends to" in page
    assert 'class="status status-in-force">in force<' in page
    assert 'class="status status-not-yet">not yet<' in page  # the examples' 2027 agreement


def test_a_library_is_active_suspended_or_without_agreement() -> None:
    suspends = {**SUSPENDS, "categories": ["undergraduate"]}
    assert status.of_library("rmit", [LENDS, suspends], ON) == status.Status(
        "suspended", "monash suspends its undergraduate patrons"
    )
    assert status.of_library("monash", [LENDS, suspends], ON) == status.Status(
        "active", "suspends rmit"
    )
    assert status.of_library("vu", [LENDS, suspends], ON) == status.Status("active")
    assert status.of_library("slv", [LENDS, suspends], ON) == status.Status("no agreement")
    ended = {**SUSPENDS, "effective": {"until": "2026-12-06"}}
    assert status.of_library("rmit", [LENDS, ended], ON) == status.Status("active")


def test_the_libraries_list_shows_names_and_status(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    added = add_admin("ann@monash.example", "monash")
    sign_in(client, "ann@monash.example", added.password)
    page = client.get("/admin/libraries").text
    assert "Libraries, with their status today" in page
    rmit = page.split('<a href="/admin/libraries/rmit">', 1)[1].split("</tr>", 1)[0]
    # the examples' suspension of rmit by latrobe has no end date
    assert "<td>RMIT University Library</td>" in rmit
    assert 'class="status status-suspended">suspended<' in rmit
    assert "latrobe suspends its patrons" in rmit
