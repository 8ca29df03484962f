"""A university patron's journey in a real browser (Chromium, as in
``tests/identity/oauth/test_browser.py``), on a phone: the sign-in page offers the university's
own sign-in, hides the card and PIN fields while it is chosen, sends the patron to the
university's provider (node ``oidc-provider``) and back to the consent page, within the pages'
Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.identity.browser import NewPage, screenshot
from tests.identity.connectors.oidc_idp import SECRET, SECRET_ENV, UNIVERSITY, University
from tests.identity.connectors.oidc_idp import publish_university as publish
from tests.identity.oauth.conftest import LiveHub
from tests.identity.oauth.test_browser import (
    HOME_LIBRARY,
    LENDER,
    PHONE,
    WATCH_CSP,
    no_sideways_scroll,
    redirected,
    signed_in_name,
)


def test_a_university_patron_signs_in_on_a_phone(
    live_hub: LiveHub,
    university: University,
    new_page: NewPage,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    publish(live_hub, tmp_path, university.issuer)
    rp = live_hub.add_rp("monash")
    page = new_page(**PHONE)
    page.add_init_script(WATCH_CSP)
    page.goto(rp.authorization_url())

    expect(
        page.get_by_role("heading", name="Libraries that sign you in themselves")
    ).to_be_visible()
    expect(page.get_by_role("button", name=UNIVERSITY)).to_be_visible()
    no_sideways_scroll(page)
    screenshot(page, "sign-in-university-phone")

    library, card = page.get_by_label(HOME_LIBRARY), page.get_by_label("Card number", exact=True)
    library.select_option(label=f"{UNIVERSITY} (signs you in itself)")
    expect(card).to_be_hidden()
    expect(page.get_by_label("PIN", exact=True)).to_be_hidden()
    library.select_option(label="RMIT University Library")
    expect(card).to_be_visible()
    library.select_option(label=f"{UNIVERSITY} (signs you in itself)")
    page.get_by_role("button", name="Sign in", exact=True).tap()

    expect(page).to_have_title("University sign-in")  # the university's own page
    assert page.url.startswith(f"{university.issuer}/interaction/")
    page.get_by_label("Username").fill("alice")
    page.get_by_role("button", name="Sign in").tap()

    expect(page.get_by_role("heading", name=f"Share this with {LENDER}?")).to_be_visible()
    expect(page.get_by_text(f"confirmed by {UNIVERSITY}; standing not known")).to_be_visible()
    no_sideways_scroll(page)
    assert page.evaluate("window.__violations") == []
    page.get_by_role("button", name="Share and continue").tap()

    redirected(page, rp, live_hub)
    assert signed_in_name(rp, page) == "Alice Student"
