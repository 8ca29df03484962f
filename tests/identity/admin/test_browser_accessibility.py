"""The admin pages checked by axe-core (the accessibility rules engine, through
axe-playwright-python) in headless Chromium, at laptop and tablet widths: every page a library
administrator reaches, the editor showing the validator's problems, and a proposal with its
what-if. Any violation fails, whatever its impact."""

from __future__ import annotations

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, ViewportSize, expect

from tests.identity.admin.test_browser_journeys import EDITOR, nav, signed_in
from tests.identity.browser import NewPage
from tests.identity.oauth.conftest import LiveHub

PAGES = (
    "/admin",
    "/admin/libraries",
    "/admin/libraries/monash",
    "/admin/agreements",
    "/admin/agreements/caval-2026",
    "/admin/agreements/new?kind=suspension",
    "/admin/agreements/monash-rmit-staff/form",
    "/admin/agreements/new/form?kind=suspension",
    "/admin/libraries/monash/form",
    "/admin/proposals",
    "/admin/versions",
    "/admin/versions/1",
    "/admin/audit",
    "/admin/lookups",
    "/admin/desk",
)
TABLET: ViewportSize = {"width": 820, "height": 1180}
PROPOSAL = """\
agreements:
  - id: monash-slv-public
    kind: bilateral
    lender: monash
    borrowers_from: [slv]
    categories: [public]
    terms: {max_items: 2, loan_days: 14}
"""


def violations(page: Page) -> list[str]:
    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}" for v in found]


def test_the_admin_pages_pass_axe(live_hub: LiveHub, new_page: NewPage) -> None:
    page = signed_in(live_hub, new_page, "axe@monash.example", "monash")
    seen: dict[str, list[str]] = {}
    for path in PAGES:
        page.goto(f"{live_hub.issuer}{path}")
        seen[path] = violations(page)

    nav(page, "Agreements")
    page.get_by_role("link", name="New bilateral agreement").click()
    page.get_by_role("link", name="Advanced: edit as YAML").click()
    page.get_by_label(EDITOR).fill(PROPOSAL.replace("[public]", "[publik]"))
    page.get_by_role("button", name="Check and show what it changes").click()
    expect(page.get_by_role("alert")).to_contain_text("Line 6, column 18")
    seen["editor with a problem"] = violations(page)

    page.get_by_label(EDITOR).fill(PROPOSAL)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Proposal")
    seen["proposal with its what-if"] = violations(page)
    page.set_viewport_size(TABLET)
    seen["proposal on a tablet"] = violations(page)

    partner = signed_in(live_hub, new_page, "axe@slv.example", "slv")
    partner.goto(page.url)
    partner.get_by_role("button", name="Reject").click()  # without the reason it needs
    expect(partner.get_by_label(re.compile("^Why you reject it"))).to_be_focused()
    seen["proposal with the form to reject it"] = violations(partner)

    assert {where: found for where, found in seen.items() if found} == {}
