"""Desk tools in headless Chromium: a patron locked out by the guessing limits is told to ask
at the desk; their library's staff see the card's attempts and its lock, clear it, and the
patron then signs in. The desk page passes axe-core."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import expect

from identity.security import guessing_limits
from tests.identity.admin.test_browser_accessibility import violations
from tests.identity.admin.test_browser_journeys import nav, signed_in
from tests.identity.oauth.conftest import GOOD, SECRET, LiveHub
from tests.identity.oauth.test_browser import LAPTOP, NewPage, chromium, new_page

__all__ = ["chromium", "new_page"]  # the fixtures, shared with the patron's browser tests


def test_desk_staff_clear_a_lock_and_the_patron_signs_in(
    live_hub: LiveHub, new_page: NewPage, tmp_path: Path
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
    staff.screenshot(path=str(tmp_path / "desk-locked.png"), full_page=True)
    assert violations(staff) == []

    staff.get_by_role("button", name="Clear the lock").click()
    expect(staff.get_by_role("status")).to_have_text(
        "The lock is cleared: the patron can sign in now."
    )
    expect(staff.get_by_text("Not locked: the patron can sign in.")).to_be_visible()
    staff.screenshot(path=str(tmp_path / "desk-cleared.png"), full_page=True)
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
    staff.screenshot(path=str(tmp_path / "audit-unlock.png"), full_page=True)
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
    staff.screenshot(path=str(tmp_path / "audit-unlock.png"), full_page=True)
    assert violations(staff) == []

    patron.goto(rp.authorization_url())
    patron.get_by_label("Card number", exact=True).fill(GOOD)
    patron.get_by_label("PIN", exact=True).fill(GOOD[-4:])
    patron.get_by_role("button", name="Sign in").click()
    expect(patron.get_by_role("heading", name="Share this with Monash University Library?"))\
        .to_be_visible()  # fmt: skip
