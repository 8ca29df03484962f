"""An administrator's journey in headless Chromium (as ``tests/identity/oauth/test_browser.py``):
sign in, see who asked the eligibility API about the library's patrons, find one's own sign-in
in the audit log, sign out, and be sent back to sign in."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from identity.admin import accounts
from identity.store.database import transaction
from tests.conftest import SECRET
from tests.identity.browser import NewPage
from tests.identity.oauth.conftest import GOOD, LiveHub
from tests.identity.oauth.test_browser import LAPTOP


def test_a_library_administrator_signs_in_reads_and_signs_out(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    with transaction(live_hub.engine) as session:
        made = accounts.add_account(
            session=session, email="ana@rmit.example", library="rmit", actor="test", secret=SECRET
        )
    asked = httpx.post(  # monash's library system asks about an rmit card
        f"{live_hub.issuer}/api/v1/eligibility",
        json={"home_library": "rmit", "card": GOOD},
        headers={"Authorization": f"Bearer {live_hub.partner_token('monash')}"},
    )
    assert asked.status_code == 200

    page = new_page(**LAPTOP)
    page.goto(f"{live_hub.issuer}/admin/lookups")
    expect(page).to_have_url(f"{live_hub.issuer}/admin/login?next=%2Fadmin%2Flookups")
    page.get_by_label("Email address").fill("ana@rmit.example")
    page.get_by_label("Password").fill(made.password)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_hub.issuer}/admin/lookups")  # back where they were going
    table = page.get_by_role("table")
    expect(table).to_contain_text("demo-monash-partner")
    expect(table).to_contain_text(GOOD)
    expect(table).to_contain_text("eligible")

    page.get_by_role("navigation", name="Administration").get_by_role(
        "link", name="Audit log"
    ).click()
    expect(page.get_by_role("table")).to_contain_text("admin.sign-in")

    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{live_hub.issuer}/admin/audit")
    expect(page).to_have_url(f"{live_hub.issuer}/admin/login?next=%2Fadmin%2Faudit")
