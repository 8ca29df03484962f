"""The desk tools and the safety rails in headless Chromium. A patron locked out by the
guessing limits is told to ask at the desk; their library's staff see the card's attempts and
its lock, clear it, and the patron then signs in. A consortium administrator rolling back is
shown what it flips first, and confirms. Each new page passes axe-core."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from identity.admin import audit
from identity.agreements import publishing
from identity.security import guessing_limits
from identity.store.database import transaction
from tests.conftest import SECRET
from tests.identity.admin.test_browser_accessibility import violations
from tests.identity.admin.test_browser_journeys import SUSPENSION, ask, nav, signed_in
from tests.identity.browser import NewPage, screenshot
from tests.identity.oauth.conftest import GOOD, LiveHub
from tests.identity.oauth.test_browser import LAPTOP


def test_desk_staff_clear_a_lock_and_the_patron_signs_in(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    # five wrong PINs at monash's sign-in page: the default limit per card
    limits = guessing_limits.Limits.parse(live_hub.settings.guesses_per_card,
                                          live_hub.settings.guesses_per_address)  # fmt: skip
    key = guessing_limits.card_key(SECRET, "rmit", GOOD)
    for _ in range(5):
        attempt = guessing_limits.begin(engine=live_hub.engine, key=key, address="192.0.2.9",
                                        limits=limits, lender="monash")  # fmt: skip
        guessing_limits.finish(engine=live_hub.engine, attempt=attempt, success=False)

    rp = live_hub.add_rp("monash")
    patron = new_page(**LAPTOP)
    patron.goto(rp.authorization_url())
    patron.get_by_label("Card number", exact=True).fill(GOOD)
    patron.get_by_label("PIN", exact=True).fill(GOOD[-4:])
    patron.get_by_role("button", name="Sign in").click()
    expect(patron.get_by_text("ask staff at the desk")).to_be_visible()

    staff = signed_in(live_hub, new_page, "desk@rmit.example", "rmit")
    nav(staff, "Desk")
    expect(staff.get_by_role("heading", name="A card's sign-ins", level=1)).to_be_visible()
    expect(staff.get_by_label("Home library")).to_have_value("rmit")
    staff.get_by_label("Card number").fill(GOOD)
    staff.get_by_role("button", name="Look up").click()
    expect(staff.get_by_text("Locked: too many wrong PINs.")).to_be_visible()
    attempts = staff.get_by_role("table", name="Recent sign-in attempts, newest first")
    # the header and the five wrong PINs (the refused try asked no library: not recorded)
    expect(attempts.get_by_role("row")).to_have_count(6)
    expect(attempts.get_by_role("row").nth(1).get_by_role("cell")).to_have_text(
        [
            re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$"),
            "Monash University Library",
            "Wrong card number or PIN",
        ]  # fmt: skip
    )
    screenshot(staff, "desk-locked")
    assert violations(staff) == []

    staff.get_by_role("button", name="Clear the lock").click()
    expect(staff.get_by_role("status")).to_have_text(
        "The lock is cleared: the patron can sign in now."
    )
    expect(staff.get_by_text("Not locked: the patron can sign in.")).to_be_visible()
    screenshot(staff, "desk-cleared")
    assert violations(staff) == []

    # the audit log says who cleared it, and what changed, as a diff
    nav(staff, "Audit log")
    staff.get_by_label("Action").select_option("card.unlock")
    staff.get_by_role("button", name="Filter").click()
    expect(staff.get_by_text("1 event.")).to_be_visible()
    staff.get_by_text(
        "Changed: locked_for_seconds", exact=True
    ).click()  # the summary opens the diff
    diff = staff.get_by_role("region", name=re.compile("^Before and after of event"))
    expect(diff).to_contain_text("- locked_for_seconds: ")
    expect(diff).to_contain_text("+ locked_for_seconds: 0")
    screenshot(staff, "audit-unlock")
    assert violations(staff) == []

    patron.goto(rp.authorization_url())
    patron.get_by_label("Card number", exact=True).fill(GOOD)
    patron.get_by_label("PIN", exact=True).fill(GOOD[-4:])
    patron.get_by_role("button", name="Sign in").click()
    expect(patron.get_by_role("heading", name="Share this with Monash University Library?"))\
        .to_be_visible()  # fmt: skip


def test_a_rollback_shows_what_it_flips_and_is_confirmed(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    with transaction(live_hub.engine) as session:  # version 2: monash suspends rmit
        first = publishing.latest(session=session)
        assert first is not None and first.id == 1
        files = [(f["name"], f["text"]) for f in first.files]
        publishing.publish(session=session, sources=[*files, ("suspend.yaml", SUSPENSION)],
                           actor="test", note="suspension")  # fmt: skip
    assert ask(live_hub, "monash", "rmit", GOOD)["eligible"] is False

    page = signed_in(live_hub, new_page, "cora@caval.example", None)
    nav(page, "Agreement versions")
    page.get_by_role("link", name="Version 1", exact=True).click()
    page.get_by_role("button", name="Roll back to version 1").click()

    expect(page.get_by_role("heading", name="Roll back to version 1?", level=1)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(
        "in place of version 2. Nothing is published until you confirm."
    )
    flips = page.get_by_role("table", name=re.compile("^Decisions this change flips"))
    undergraduates = page.get_by_role("cell", name="undergraduate", exact=True)
    monash_rmit = flips.get_by_role("row").filter(has=undergraduates)
    expect(monash_rmit.get_by_role("cell")).to_have_text(
        [
            "monash",
            "rmit",
            "undergraduate",
            "now eligible",
            "not eligible (suspended)",
            re.compile("^eligible"),
            re.compile(r"^\d+$"),
        ]  # fmt: skip
    )
    screenshot(page, "rollback-whatif")
    assert violations(page) == []
    assert ask(live_hub, "monash", "rmit", GOOD)["eligible"] is False  # nothing published yet

    page.get_by_role("button", name="Roll back to version 1").click()
    expect(page).to_have_url(re.compile(r"/admin/versions/3$"))
    expect(page.get_by_role("heading", name="Agreement version 3", level=1)).to_be_visible()
    assert ask(live_hub, "monash", "rmit", GOOD)["eligible"] is True

    nav(page, "Audit log")  # the consortium's view, each change a diff
    expect(page.get_by_label("Library")).to_have_value("")  # any library, or one chosen
    page.get_by_label("Action").select_option("agreements.publish")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("3 events.")).to_be_visible()
    page.get_by_text(re.compile("^Changed: ")).first.click()
    diff = page.get_by_role("region", name=re.compile("^Before and after of event"))
    expect(diff.first).to_contain_text("+ note: Rollback to version 1")
    screenshot(page, "audit-consortium")
    assert violations(page) == []
    with transaction(live_hub.engine) as session:  # 43 changes of a whole agreement each
        entry = {"id": "monash-rmit-staff", "kind": "bilateral", "lender": "monash",
                 "borrowers_from": ["rmit"], "categories": ["staff", "postgraduate"],
                 "terms": {"max_items": 10, "loan_days": 28}}  # fmt: skip
        for n in range(43):
            changed = {**entry, "terms": {"max_items": n + 1, "loan_days": 28}}
            audit.record(session=session, actor="admin:cora@caval.example",
                         action="agreement.update", subject="agreement:monash-rmit-staff",
                         before={"entry": entry}, after={"entry": changed})  # fmt: skip
    page.goto(f"{live_hub.issuer}/admin/audit?action=agreement.update")
    expect(page.get_by_text("Events 1 to 25 of 43.")).to_be_visible()
    height = page.evaluate("document.scrollingElement.scrollHeight")
    print(f"/admin/audit, 25 of 43 events: {height} px high at 1280 px wide")
    assert height < 2500, height
    for path in ("/admin/lookups?library=rmit", "/admin/desk", "/admin/agreements"):
        page.goto(f"{live_hub.issuer}{path}")
        assert violations(page) == [], path
    screenshot(page, "agreements")
