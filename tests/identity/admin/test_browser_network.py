"""The network and an agreement's summary in headless Chromium: a library administrator opens
who lends to whom, picks a category and a day, follows a cell's link to the deciding agreement
and opens its printable summary, then the libraries with their status. Every page passes
axe-core, the table's headers stay in view while it scrolls, and the summary prints on one A4
page without the menus. Screenshots go to ``HUB_SCREENSHOTS`` when it is set."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.identity.admin.test_browser_accessibility import TABLET, violations
from tests.identity.admin.test_browser_journeys import nav, signed_in
from tests.identity.browser import NewPage, screenshot
from tests.identity.oauth.conftest import LiveHub

CAPTION = "Lending to staff patrons in good standing on 2026-12-07"


def pdf_pages(page: Page) -> int:
    """How many A4 pages the page prints on (Chromium's own PDF of its print layout)."""
    pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
    return len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))


def test_from_the_network_to_an_agreement_and_its_printed_summary(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    page = signed_in(live_hub, new_page, "net@vu.example", "vu")
    nav(page, "Network")
    expect(page.get_by_role("heading", name="Who lends to whom", level=1)).to_be_visible()
    page.get_by_label("Category", exact=True).select_option("staff")
    page.get_by_label("On", exact=True).fill("2026-12-07")
    page.get_by_role("button", name="Show").click()
    table = page.get_by_role("table", name=CAPTION)
    expect(table.get_by_role("row")).to_have_count(8)  # the header and every lender
    expect(table.get_by_role("rowheader")).to_have_count(7)
    expect(table.get_by_role("columnheader", name="Monash University Library")).to_be_visible()
    seen = {"network": violations(page)}
    screenshot(page, "network")

    # the headers stay in view when the table scrolls (a short window makes it scroll)
    page.set_viewport_size({"width": 700, "height": 500})
    region = page.get_by_role("region", name=CAPTION)
    region.evaluate("wrap => { wrap.scrollTop = 150; wrap.scrollLeft = 300; }")
    header = table.get_by_role("columnheader", name="RMIT University Library")
    lender = table.get_by_role("rowheader", name=re.compile("^Victoria University Library"))
    box, wrap = header.bounding_box(), region.bounding_box()
    assert box and wrap and abs(box["y"] - wrap["y"]) < 3
    row_box = lender.bounding_box()
    assert row_box and abs(row_box["x"] - wrap["x"]) < 3
    seen["network on a small window"] = violations(page)
    screenshot(region, "network-scrolled")
    page.set_viewport_size(TABLET)

    monash = table.get_by_role("row", name=re.compile("^Monash University Library"))
    monash.get_by_role("link", name="monash-rmit-staff").click()
    expect(page.get_by_role("heading", name="Agreement monash-rmit-staff")).to_be_visible()
    page.get_by_role("link", name="Printable summary").click()
    expect(page.get_by_role("heading", name="Monash–RMIT Staff Borrowing", level=1)).to_be_visible()
    expect(page.get_by_text("Up to 10 items for 28 days, renewable twice.")).to_be_visible()
    expect(page.get_by_role("region", name=re.compile("^Signature for"))).to_have_count(2)
    seen["summary"] = violations(page)
    screenshot(page, "summary")

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Administration")).to_be_hidden()
    expect(page.get_by_role("link", name="Back to agreement monash-rmit-staff")).to_be_hidden()
    screenshot(page, "summary-print")
    assert pdf_pages(page) == 1

    page.goto(f"{live_hub.issuer}/admin/agreements/caval-2026/summary")  # six parties sign
    expect(page.get_by_role("region", name=re.compile("^Signature for"))).to_have_count(6)
    screenshot(page, "summary-caval-print")
    assert pdf_pages(page) == 1

    page.emulate_media(media="screen")
    nav(page, "Libraries")  # each library with its status today
    rmit = page.get_by_role("row", name=re.compile("^rmit RMIT University Library"))
    expect(rmit.get_by_role("cell").nth(2)).to_contain_text("suspended")
    screenshot(page, "libraries")

    assert {where: found for where, found in seen.items() if found} == {}
