"""A university patron's journey in a real browser (Chromium, as in
``tests/identity/oauth/test_browser.py``), on a phone: on the sign-in page they type their
university email address instead of finding their library, sign in on the university's SAML
IdP's own page (``idp_site``), whose answer page posts itself back to the hub, and reach the
consent page, within the hub's Content-Security-Policy; axe-core finds nothing on the sign-in
page saying what is wrong with the address."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.identity.admin.test_browser_accessibility import violations
from tests.identity.browser import NewPage, screenshot
from tests.identity.connectors.saml.idp_site import IdpSite, idp_site
from tests.identity.connectors.saml.test_saml_end_to_end import UNIVERSITY, at_university
from tests.identity.oauth.conftest import LiveHub
from tests.identity.oauth.test_browser import (
    LENDER,
    PHONE,
    WATCH_CSP,
    no_sideways_scroll,
    redirected,
    signed_in_name,
)

__all__ = ["at_university", "idp_site"]  # the fixtures, used here


def test_a_university_patron_types_their_address_and_signs_in_on_a_phone(
    at_university: LiveHub, idp_site: IdpSite, new_page: NewPage
) -> None:
    live_hub = at_university
    rp = live_hub.add_rp("monash")
    page = new_page(**PHONE)
    page.add_init_script(WATCH_CSP)
    page.goto(rp.authorization_url())

    address = page.get_by_label("Or type your email address")
    expect(address).to_be_visible()
    no_sideways_scroll(page)
    screenshot(page, "sign-in-by-email-phone")

    address.fill("nobody@elsewhere.test")
    page.get_by_role("button", name="Continue").tap()
    expect(page.get_by_role("alert")).to_contain_text(
        "No library here signs you in with an address ending in @elsewhere.test."
    )
    expect(page.get_by_label("Or type your email address")).to_be_focused()
    no_sideways_scroll(page)
    assert violations(page) == []
    screenshot(page, "sign-in-by-email-unknown-phone")
    assert page.evaluate("window.__violations") == []

    page.get_by_label("Or type your email address").fill("alice@student.uni.test")
    page.get_by_role("button", name="Continue").tap()
    expect(page).to_have_title("University sign-in")  # the IdP's own page
    assert page.url.startswith(idp_site.base)
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wonderland")
    page.get_by_role("button", name="Sign in").tap()

    expect(page.get_by_role("heading", name=f"Share this with {LENDER}?")).to_be_visible()
    expect(page.get_by_text(f"confirmed by {UNIVERSITY}; standing not known")).to_be_visible()
    assert page.evaluate("window.__violations") == []
    page.get_by_role("button", name="Share and continue").tap()

    redirected(page, rp, live_hub)
    assert signed_in_name(rp, page) == "Alice Liddell"
