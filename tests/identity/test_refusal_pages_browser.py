"""A refused patron's pages in headless Chromium on a phone (390 CSS pixels): the consent page
of a refusal with its advice, ``/me`` reached from it, and the page for too many attempts, each
checked by axe-core, kept from scrolling sideways, and saved as a screenshot (in the test's
``tmp_path``) to be looked at."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.identity.admin.test_browser_accessibility import violations
from tests.identity.oauth.conftest import GOOD, OWES, LiveHub
from tests.identity.oauth.test_browser import PHONE, NewPage, chromium, new_page, no_sideways_scroll

__all__ = ["chromium", "new_page"]


def looked_at(page: Page, path: Path) -> None:
    no_sideways_scroll(page)
    assert violations(page) == []
    page.screenshot(path=str(path), full_page=True)


def sign_in(page: Page, card: str) -> None:
    page.get_by_label("Card number", exact=True).fill(card)
    page.get_by_label("PIN", exact=True).fill(card[-4:])
    page.get_by_label("PIN", exact=True).press("Enter")


def test_a_refused_patron_on_a_phone(live_hub: LiveHub, new_page: NewPage, tmp_path: Path) -> None:
    rp = live_hub.add_rp("monash")
    page = new_page(**PHONE)
    page.goto(rp.authorization_url())
    sign_in(page, OWES)
    expect(page.get_by_text("No", exact=True)).to_be_visible()
    expect(page.get_by_text("You owe A$25.50 to RMIT University Library.")).to_be_visible()
    expect(page.get_by_text("Pay at RMIT University Library (library.rmit.edu.au)")).to_be_visible()
    looked_at(page, tmp_path / "refusal-phone.png")

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="See every library that would lend to you today").tap()
    me = opened.value
    expect(me.get_by_role("heading", name="Where you can borrow today")).to_be_visible()
    expect(me.get_by_role("heading", name="Libraries that would not, and why")).to_be_visible()
    expect(me.get_by_text("You owe A$25.50 to RMIT University Library.").first).to_be_visible()
    expect(me.get_by_role("heading", name="What you can do")).to_be_visible()
    expect(me.get_by_text("Pay at RMIT University Library (library.rmit.edu.au)")).to_be_visible()
    looked_at(me, tmp_path / "me-phone.png")


def test_where_a_patron_in_good_standing_can_borrow_and_too_many_attempts(
    live_hub: LiveHub, new_page: NewPage, tmp_path: Path
) -> None:
    rp = live_hub.add_rp("monash")
    page = new_page(**PHONE)
    page.goto(rp.authorization_url())
    sign_in(page, GOOD)
    page.goto(f"{live_hub.issuer}/me")
    expect(page.get_by_text("Deakin University Library", exact=True)).to_be_visible()
    looked_at(page, tmp_path / "me-good-phone.png")

    for _ in range(6):  # 5 failures per card, then the sixth is refused before it is asked
        page.goto(rp.authorization_url())
        page.get_by_label("Card number", exact=True).fill(GOOD)
        page.get_by_label("PIN", exact=True).fill("0000")
        page.get_by_label("PIN", exact=True).press("Enter")
        page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
    expect(page.get_by_role("link", name="library.rmit.edu.au")).to_be_visible()
    looked_at(page, tmp_path / "too-many-phone.png")
    page.get_by_role("link", name="Back to the sign-in page").tap()
    expect(page.get_by_role("heading", name="Sign in with your library card")).to_be_visible()
