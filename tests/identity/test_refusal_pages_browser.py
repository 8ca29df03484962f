"""A refused patron's pages in headless Chromium on a phone (390 CSS pixels): the consent page
of a refusal with its advice, ``/me`` reached from it, and the page for too many attempts, each
checked by axe-core, kept from scrolling sideways, and photographed (``HUB_SCREENSHOTS``) to
be looked at; and the consent page and ``/me`` in French and Spanish, on a
phone and a laptop (1280 px), with nothing left in English."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.identity.admin.test_browser_accessibility import violations
from tests.identity.browser import NewPage, screenshot
from tests.identity.oauth.conftest import GOOD, OWES, LiveHub
from tests.identity.oauth.test_browser import LAPTOP, PHONE, no_sideways_scroll
from tests.identity.test_refusal_pages import EXAMPLES, ids_and_codes


def looked_at(page: Page, name: str) -> None:
    no_sideways_scroll(page)
    assert violations(page) == []
    screenshot(page, name)


def sign_in(page: Page, card: str) -> None:
    page.get_by_label("Card number", exact=True).fill(card)
    page.get_by_label("PIN", exact=True).fill(card[-4:])
    page.get_by_label("PIN", exact=True).press("Enter")


def test_a_refused_patron_on_a_phone(live_hub: LiveHub, new_page: NewPage) -> None:
    rp = live_hub.add_rp("monash")
    page = new_page(**PHONE)
    page.goto(rp.authorization_url())
    sign_in(page, OWES)
    expect(page.get_by_text("No", exact=True)).to_be_visible()
    expect(page.get_by_text("You owe A$25.50 to RMIT University Library.")).to_be_visible()
    expect(page.get_by_text("Pay at RMIT University Library (library.rmit.edu.au)")).to_be_visible()
    looked_at(page, "refusal-phone")

    with page.context.expect_page() as opened:
        page.get_by_role("link", name="See every library that would lend to you today").tap()
    me = opened.value
    expect(me.get_by_role("heading", name="Where you can borrow today")).to_be_visible()
    expect(me.get_by_role("heading", name="Libraries that would not, and why")).to_be_visible()
    expect(me.get_by_text("You owe A$25.50 to RMIT University Library.").first).to_be_visible()
    expect(me.get_by_role("heading", name="What you can do")).to_be_visible()
    expect(me.get_by_text("Pay at RMIT University Library (library.rmit.edu.au)")).to_be_visible()
    looked_at(me, "me-phone")


def test_where_a_patron_in_good_standing_can_borrow_and_too_many_attempts(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    rp = live_hub.add_rp("monash")
    page = new_page(**PHONE)
    page.goto(rp.authorization_url())
    sign_in(page, GOOD)
    page.goto(f"{live_hub.issuer}/me")
    expect(page.get_by_text("Deakin University Library", exact=True)).to_be_visible()
    looked_at(page, "me-good-phone")

    for _ in range(6):  # 5 failures per card, then the sixth is refused before it is asked
        page.goto(rp.authorization_url())
        page.get_by_label("Card number", exact=True).fill(GOOD)
        page.get_by_label("PIN", exact=True).fill("0000")
        page.get_by_label("PIN", exact=True).press("Enter")
        page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Too many attempts")).to_be_visible()
    expect(page.get_by_role("link", name="library.rmit.edu.au")).to_be_visible()
    looked_at(page, "too-many-phone")
    page.get_by_role("link", name="Back to the sign-in page").tap()
    expect(page.get_by_role("heading", name="Sign in with your library card")).to_be_visible()


#: sentences of the English pages that a translated page must not show
ENGLISH = {
    "consent": [
        "will receive exactly the following, and nothing else",
        "Where your standing comes from",
        "may ask the hub this again later",
        "You owe",
        "Share and continue",
    ],
    "me": [
        "Where you can borrow today",
        "Libraries that would not, and why",
        "What you can do",
        "Forget me on this device",
    ],
}
#: what the same pages say instead: the consent page's heading and advice, /me's heading
SAID = {
    "fr": (
        "Partager ceci avec Monash University Library ?",
        "Vous devez 25,50\xa0$AU à RMIT University Library.",
        "Où emprunter aujourd'hui",
    ),
    "es": (
        "¿Compartir esto con Monash University Library?",
        "Debe 25,50\xa0AUD a RMIT University Library.",
        "Dónde tomar préstamos hoy",
    ),
}


def read_in(page: Page, lang: str, english: list[str]) -> None:
    """The page is in ``lang`` for assistive technology and for the eye: no English sentence
    of its own, no reason code or id, and no axe-core violation."""
    expect(page.locator("html")).to_have_attribute("lang", lang)
    shown = page.locator("body").inner_text()
    assert [sentence for sentence in english if sentence in shown] == [], lang
    assert ids_and_codes(shown, EXAMPLES) == [], lang
    assert violations(page) == [], lang


def test_a_refused_patron_reads_french_and_spanish(live_hub: LiveHub, new_page: NewPage) -> None:
    rp = live_hub.add_rp("monash")
    for lang, (heading, owes, me_heading) in SAID.items():
        for width, device in ((390, PHONE), (1280, LAPTOP)):
            page = new_page(**device)
            page.context.add_cookies([{"name": "lang", "value": lang, "url": live_hub.issuer}])
            page.goto(rp.authorization_url())
            page.locator("#card").fill(OWES)  # the labels are translated
            page.locator("#pin").fill(OWES[-4:])
            page.locator("#pin").press("Enter")
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
            expect(page.get_by_text(owes)).to_be_visible()
            read_in(page, lang, ENGLISH["consent"])
            no_sideways_scroll(page)
            screenshot(page, f"consent-{lang}-{width}")

            page.goto(f"{live_hub.issuer}/me")
            expect(page.get_by_role("heading", level=1)).to_have_text(me_heading)
            expect(page.get_by_text(owes).first).to_be_visible()
            read_in(page, lang, ENGLISH["me"])
            screenshot(page, f"me-{lang}-{width}")
