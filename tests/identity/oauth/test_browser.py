"""The sign-in and consent pages in a real browser: headless Chromium (Debian's
``chromium-headless-shell``, driven by Playwright) on a phone, by keyboard alone, with
JavaScript off, and under the pages' Content-Security-Policy. Each test follows a patron from
the lender's link to the lender's redirect URI and checks what the patron sees on the way.

Without it these tests skip, saying why, unless ``HUB_REQUIRE_BROWSER=1``
(set by ``.ci/run``, which installs it), which makes that a failure."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import (
    ConsoleMessage,
    Page,
    expect,
)

import policies
from identity.agreements import publishing
from identity.store.database import transaction
from tests.identity.browser import NewPage, screenshot
from tests.identity.oauth.conftest import GOOD, LiveHub
from tests.identity.oauth.relying_party import RelyingParty

LENDER = "Monash University Library"
WRONG = "The card number and PIN do not match"
#: the list's label (its hint, and the search box's label, also say "home library")
HOME_LIBRARY = re.compile(r"^Home library")
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
}
LAPTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}


def redirected(page: Page, rp: RelyingParty, live_hub: LiveHub) -> dict[str, str]:
    """The authorization response the browser was sent back to the lender with (the hub's
    redirect to it is followed by the browser itself, so what answers there does not matter)."""
    page.wait_for_url(f"{rp.redirect_uri}?**", wait_until="commit")
    url = urlsplit(page.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == rp.redirect_uri
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert query["code"] and query["state"] == rp.state and query["iss"] == live_hub.issuer
    return query


def signed_in_name(rp: RelyingParty, page: Page) -> str:
    """The name in the ID token the lender gets for the code the browser brought back."""
    return str(rp.verify(rp.exchange(page.url)["id_token"])["name"])


def no_sideways_scroll(page: Page) -> None:
    """Nothing sticks out sideways, at the phone's width and at 320 CSS pixels (the smallest
    phones, and WCAG 1.4.10's reflow width)."""
    size = page.viewport_size
    assert size is not None
    for width in (size["width"], 320):
        page.set_viewport_size({"width": width, "height": size["height"]})
        widths = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"{page.url} scrolls sideways at {width} px: {widths}"
    page.set_viewport_size(size)


def test_a_patron_signs_in_on_a_phone(live_hub: LiveHub, new_page: NewPage) -> None:
    rp = live_hub.add_rp("monash")
    page = new_page(**PHONE)
    page.goto(rp.authorization_url())

    expect(page.get_by_role("heading", name="Sign in with your library card")).to_be_visible()
    no_sideways_scroll(page)
    expect(page.get_by_label(HOME_LIBRARY)).to_be_visible()
    page.get_by_label("Card number", exact=True).tap()
    page.get_by_label("Card number", exact=True).fill(GOOD)
    page.get_by_label("PIN", exact=True).fill(GOOD[-4:])
    page.get_by_label("PIN", exact=True).press("Enter")

    expect(page.get_by_role("heading", name=f"Share this with {LENDER}?")).to_be_visible()
    no_sideways_scroll(page)
    expect(page.get_by_text("Avery Good", exact=True)).to_be_visible()
    expect(page.get_by_text("Yes", exact=True)).to_be_visible()
    page.get_by_role("button", name="Share and continue").tap()

    redirected(page, rp, live_hub)
    assert signed_in_name(rp, page) == "Avery Good"


def test_the_form_works_by_keyboard_alone(live_hub: LiveHub, new_page: NewPage) -> None:
    rp = live_hub.add_rp("monash")
    page = new_page(**LAPTOP)
    page.goto(rp.authorization_url())
    library = page.get_by_label(HOME_LIBRARY)
    card, pin = (page.get_by_label(name, exact=True) for name in ("Card number", "PIN"))
    sign_in = page.get_by_role("button", name="Sign in")

    expect(card).to_be_focused()  # the page opens ready to type the card number
    page.keyboard.press("Shift+Tab")
    expect(library).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Find", exact=True)).to_be_focused()
    for then in (library, card, pin, sign_in):
        page.keyboard.press("Tab")
        expect(then).to_be_focused()

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(library).to_be_focused()
    page.keyboard.type("RMIT")  # type-ahead in the closed list
    expect(library).to_have_value("rmit")
    page.keyboard.press("Tab")
    page.keyboard.type(GOOD)
    page.keyboard.press("Tab")
    page.keyboard.type("9999")
    page.keyboard.press("Enter")

    expect(page.get_by_role("alert")).to_contain_text(WRONG)
    expect(card).to_be_focused()
    expect(card).to_have_attribute("aria-invalid", "true")
    expect(card).to_have_value(GOOD)  # kept: only the PIN is typed again
    expect(library).to_have_value("rmit")
    page.keyboard.press("Tab")
    expect(pin).to_be_focused()
    page.keyboard.type(GOOD[-4:])
    page.keyboard.press("Enter")

    allow = page.get_by_role("button", name="Share and continue")
    expect(allow).to_be_focused()
    page.keyboard.press("Enter")
    redirected(page, rp, live_hub)
    assert signed_in_name(rp, page) == "Avery Good"


def test_signing_in_needs_no_javascript(live_hub: LiveHub, new_page: NewPage) -> None:
    rp = live_hub.add_rp("monash")
    page = new_page(**LAPTOP, java_script_enabled=False)
    page.goto(rp.authorization_url())

    page.get_by_label("Find your home library").fill("rmit")
    page.get_by_role("button", name="Find", exact=True).click()
    expect(page.get_by_label(HOME_LIBRARY).locator("option")).to_have_text(
        ["Work it out from my card number", "RMIT University Library"]
    )
    page.get_by_label(HOME_LIBRARY).select_option(label="RMIT University Library")
    page.get_by_label("Card number", exact=True).fill(GOOD)
    page.get_by_label("PIN", exact=True).fill(GOOD[-4:])
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name=f"Share this with {LENDER}?")).to_be_visible()
    page.get_by_role("button", name="Share and continue").click()
    redirected(page, rp, live_hub)
    assert signed_in_name(rp, page) == "Avery Good"


def test_the_keyboards_follow_the_library_chosen_on_a_phone(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    """A library whose cards are letters and digits: choosing it brings a full keyboard for
    card and PIN, choosing one with 14-digit cards and numeric PINs brings the numeric one."""
    examples = Path(policies.__file__).parent / "examples"
    koha = "libraries:\n  - id: koha\n    name: Koha Public Library\n"
    koha += '    card_pattern: "[A-Z]{2}[0-9]{4}"\n    categories: {PT: public}\n'
    with transaction(live_hub.engine) as session:
        publishing.publish(
            session=session, sources=[*policies.read(examples), ("koha.yaml", koha)],
            actor="test", note="koha",
        )  # fmt: skip
    rp = live_hub.add_rp("monash")
    page = new_page(**PHONE)
    page.add_init_script(WATCH_CSP)
    page.goto(rp.authorization_url())
    library = page.get_by_label(HOME_LIBRARY)
    card, pin = (page.get_by_label(name, exact=True) for name in ("Card number", "PIN"))
    expect(card).to_have_attribute("inputmode", "text")  # before a library is chosen

    library.select_option(label="RMIT University Library")
    expect(card).to_have_attribute("inputmode", "numeric")
    expect(pin).to_have_attribute("inputmode", "numeric")
    library.select_option(label="Koha Public Library")
    expect(card).to_have_attribute("inputmode", "text")
    expect(pin).to_have_attribute("inputmode", "text")
    no_sideways_scroll(page)
    screenshot(page, "sign-in-koha-phone")
    assert page.evaluate("window.__violations") == []

    card.fill(GOOD)
    pin.fill(GOOD[-4:])
    pin.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text(
        "This is not a Koha Public Library card number. Check it and try again."
    )
    expect(card).to_have_attribute("inputmode", "text")  # the chosen library's, kept
    library.select_option(label="RMIT University Library")
    expect(card).to_have_attribute("inputmode", "numeric")
    pin.fill(GOOD[-4:])
    pin.press("Enter")
    expect(page.get_by_role("heading", name=f"Share this with {LENDER}?")).to_be_visible()


#: in every document: a record of the Content-Security-Policy violations the page reports
WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__violations.push(`${e.effectiveDirective} ${e.blockedURI}`));
"""


def test_the_pages_keep_to_their_content_security_policy(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    rp = live_hub.add_rp("monash")
    page = new_page(**LAPTOP)
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":  # a 404 for an icon would count too
            errors.append(f"{message.location['url']}: {message.text}")

    page.on("console", console)
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.add_init_script(WATCH_CSP)

    with page.expect_response(f"{live_hub.issuer}/static/hub.css") as stylesheet:
        page.goto(rp.authorization_url())
    assert stylesheet.value.ok
    sign_in = page.get_by_role("button", name="Sign in")
    styled = sign_in.evaluate(
        """(button) => {
            const plain = document.createElement("button");
            document.body.append(plain);
            const unstyled = getComputedStyle(plain).backgroundColor;
            plain.remove();
            return [getComputedStyle(button).backgroundColor, unstyled];
        }"""
    )
    assert styled[0] != styled[1], f"the Sign in button looks unstyled: {styled}"
    assert page.evaluate("window.__violations") == []

    page.get_by_label("Card number", exact=True).fill(GOOD)
    page.get_by_label("PIN", exact=True).fill(GOOD[-4:])
    sign_in.click()
    expect(page.get_by_role("heading", name=f"Share this with {LENDER}?")).to_be_visible()
    assert page.evaluate("window.__violations") == []
    assert errors == []

    page.evaluate("document.head.append(document.createElement('style'))")  # the watch works
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__violations") == ["style-src-elem inline"]


def test_the_api_documentation_works_offline(live_hub: LiveHub, new_page: NewPage) -> None:
    """/docs and /redoc draw the API from the hub's own files: nothing is fetched from anywhere
    else, and their policy blocks nothing they need."""
    page = new_page(**LAPTOP)
    elsewhere: list[str] = []
    complaints: list[str] = []

    def only_the_hub(route: Any) -> None:
        if route.request.url.startswith(live_hub.issuer):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_hub)
    page.on("console", lambda m: complaints.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_hub.issuer}/docs")
    expect(page.get_by_text("/api/v1/eligibility/batch")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("patron identity hub"))).to_be_visible()
    screenshot(page, "docs", full_page=False)
    page.get_by_text("/api/v1/eligibility", exact=True).click()  # its request and answers
    body = page.get_by_text("Request body").first
    expect(body).to_be_visible()
    body.scroll_into_view_if_needed()
    screenshot(page, "eligibility", full_page=False)
    assert elsewhere == [] and complaints == []

    page.goto(f"{live_hub.issuer}/redoc")
    expect(page.get_by_role("heading", name=re.compile("patron identity hub"))).to_be_visible()
    expect(page.get_by_text("/api/v1/eligibility/batch").first).to_be_attached()
    screenshot(page, "redoc", full_page=False)
    assert elsewhere == []
    # Redoc's footer asks for its maker's logo from their CDN: the policy refuses it
    assert all("img-src 'self' data:" in complaint for complaint in complaints), complaints
