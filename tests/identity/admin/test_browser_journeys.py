"""Administrators' journeys through the agreement editor in headless Chromium (as
``tests/identity/admin/test_browser_admin.py``), checked against the eligibility API that partner
systems ask: a bilateral agreement proposed by its lender, shown as a what-if, and in force only
once the other party approves it; an agreement of two other libraries, readable but not
editable; and a suspension, in force as soon as the lender saves it.

Every library's demo patrons are of one category (undergraduates, or slv's public members), so
the bilateral agreement here lends to slv's public members: an existing card whose answer the
agreement changes."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from identity.admin import accounts
from identity.store.database import transaction
from tests.conftest import SECRET
from tests.identity.browser import NewPage
from tests.identity.oauth.conftest import GOOD, LiveHub
from tests.identity.oauth.test_browser import LAPTOP

#: slv's first demo patron: a public member in good standing (no agreement covers them at monash)
SLV_GOOD = "27770000000001"
EDITOR = "The agreement, as written in an agreement file"
BILATERAL = """\
agreements:
  - id: monash-slv-public
    kind: bilateral
    lender: monash
    borrowers_from: [slv]
    categories: [{category}]
    terms: {{max_items: 2, loan_days: 14}}
"""
SUSPENSION = """\
agreements:
  - id: monash-suspends-rmit
    kind: suspension
    lender: monash
    borrowers_from: [rmit]
    reason: Unpaid lost-item invoices
"""


def signed_in(hub: LiveHub, new_page: NewPage, email: str, library: str | None) -> Page:
    """A page of a new browser (its own cookies), signed in as a new administrator of
    ``library`` (None: a consortium administrator), on the admin home page."""
    with transaction(hub.engine) as session:
        made = accounts.add_account(
            session=session, email=email, library=library, actor="test", secret=SECRET
        )
    page = new_page(**LAPTOP)
    page.goto(f"{hub.issuer}/admin/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(made.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Administration", level=1)).to_be_visible()
    return page


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Administration").get_by_role(
        "link", name=name, exact=True
    ).click()


def ask(hub: LiveHub, lender: str, home: str, card: str) -> dict[str, Any]:
    """The eligibility API's answer to ``lender``'s partner system about ``card``."""
    answer = httpx.post(
        f"{hub.issuer}/api/v1/eligibility",
        json={"home_library": home, "card": card},
        headers={"Authorization": f"Bearer {hub.partner_token(lender)}"},
    )
    assert answer.status_code == 200, answer.text
    decision: dict[str, Any] = answer.json()
    return decision


def test_a_bilateral_agreement_is_proposed_checked_and_in_force_once_approved(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    page = signed_in(live_hub, new_page, "ann@monash.example", "monash")
    nav(page, "Agreements")
    page.get_by_role("link", name="New bilateral agreement").click()  # the form
    page.get_by_role("link", name="Advanced: edit as YAML").click()
    expect(page.get_by_role("heading", name="New agreement", level=1)).to_be_visible()
    editor = page.get_by_label(EDITOR)
    # the page is there (its heading is), so a missing editor need not be waited for
    expect(editor).to_have_value(re.compile(r"kind: bilateral"))  # to replace

    editor.fill(BILATERAL.format(category="publik"))  # a typo: not a category
    page.get_by_role("button", name="Check and show what it changes").click()
    problems = page.get_by_role("alert")
    expect(problems).to_contain_text("The agreement has 1 problem; nothing was saved")
    expect(problems).to_contain_text(
        "Line 6, column 18: agreement monash-slv-public: unknown category"
    )
    expect(editor).to_have_attribute("aria-invalid", "true")
    expect(editor).to_have_value(BILATERAL.format(category="publik"))  # kept, to correct

    editor.fill(BILATERAL.format(category="public"))
    page.get_by_role("button", name="Check and show what it changes").click()
    expect(page.get_by_role("heading", name="No problems")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    flips = page.get_by_role("table", name=re.compile("^Decisions this change flips"))
    expect(flips.get_by_role("row")).to_have_count(2)  # the header and one flip
    expect(flips.get_by_role("row").nth(1).get_by_role("cell")).to_have_text(
        ["monash", "slv", "public", "now eligible", re.compile("^not eligible"),
         "eligible: 2 items, 14 days", "4"]  # slv's four demo patrons
    )  # fmt: skip

    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/admin/proposals/\d+\?created=1$"))
    proposal_url = page.url.split("?")[0]
    number = proposal_url.rsplit("/", 1)[1]
    expect(
        page.get_by_role("heading", name=f"Proposal {number}: create agreement monash-slv-public")
    ).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("Proposed. It is published when slv approves.")
    expect(page.get_by_role("definition").first).to_have_text("pending")
    expect(page.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    expect(page.get_by_role("button", name="Withdraw")).to_be_visible()

    before = ask(live_hub, "monash", "slv", SLV_GOOD)
    assert before["eligible"] is False, before
    assert before["patron_category"] == "public"

    partner = signed_in(live_hub, new_page, "sam@slv.example", "slv")
    waiting = partner.get_by_role("region", name="Waiting for your approval (1)")
    expect(waiting).to_contain_text("create agreement monash-slv-public, by")
    waiting.get_by_role("link", name=f"Proposal {number}").click()
    expect(partner).to_have_url(proposal_url)
    whatif = partner.get_by_role("region", name="What it would change")
    expect(whatif.get_by_role("row").nth(1).get_by_role("cell").nth(3)).to_have_text("now eligible")
    expect(whatif.get_by_role("row").nth(1)).to_contain_text("monash")
    partner.get_by_role("button", name="Approve for slv").click()

    expect(partner).to_have_url(proposal_url)
    expect(partner.get_by_role("definition").first).to_have_text(
        re.compile(r"^published: published as version 2 by ")
    )
    expect(partner.get_by_role("button", name=re.compile("^(Approve|Reject)"))).to_have_count(0)

    after = ask(live_hub, "monash", "slv", SLV_GOOD)
    assert after["eligible"] is True, after
    assert after["agreements"] == ["monash-slv-public"]
    assert (after["terms"]["max_items"], after["terms"]["loan_days"]) == (2, 14)


def test_an_agreement_of_two_other_libraries_can_be_read_but_not_changed(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    page = signed_in(live_hub, new_page, "dee@deakin.example", "deakin")
    nav(page, "Agreements")
    agreements = page.get_by_role("table", name="Agreements, with their status today")
    expect(agreements.get_by_role("link", name="Edit deakin-alumni", exact=True)).to_be_visible()
    expect(agreements.get_by_role("link", name="Edit monash-rmit-staff")).to_have_count(0)
    agreements.get_by_role("link", name="View monash-rmit-staff", exact=True).click()

    expect(page.get_by_role("heading", name="Agreement monash-rmit-staff", level=1)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(
        "You can read this agreement but not change it: deakin is not party to it."
    )
    expect(page.get_by_role("main")).to_contain_text("id: monash-rmit-staff")  # the text, as <pre>
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.get_by_label(EDITOR)).to_have_count(0)
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Remove"))).to_have_count(0)

    nav(page, "Agreements")  # and their own agreement opens in the editor (its YAML view here)
    page.get_by_role("link", name="Edit deakin-alumni", exact=True).click()  # the form
    page.get_by_role("link", name="Advanced: edit as YAML").click()
    expect(page.get_by_label(EDITOR)).to_have_value(re.compile(r"id: deakin-alumni"))
    expect(page.get_by_role("button", name="Save")).to_be_visible()


def test_a_suspension_is_in_force_at_once_and_the_other_party_sees_it(
    live_hub: LiveHub, new_page: NewPage
) -> None:
    assert ask(live_hub, "monash", "rmit", GOOD)["eligible"] is True  # caval-2026, until now

    page = signed_in(live_hub, new_page, "ann@monash.example", "monash")
    nav(page, "Agreements")
    page.get_by_role("link", name="New suspension agreement").click()  # the form
    page.get_by_role("link", name="Advanced: edit as YAML").click()
    expect(page.get_by_role("heading", name="New agreement", level=1)).to_be_visible()
    editor = page.get_by_label(EDITOR)
    expect(editor).to_have_value(re.compile(r"kind: suspension"))
    editor.fill(SUSPENSION)
    page.get_by_role("button", name="Save").click()

    expect(page).to_have_url(re.compile(r"/admin/agreements/monash-suspends-rmit\?published=2$"))
    expect(page.get_by_role("status")).to_have_text("Saved: published as version 2, in force now.")
    expect(page.get_by_label(EDITOR)).to_have_value(SUSPENSION)

    refused = ask(live_hub, "monash", "rmit", GOOD)  # at once: no approval to wait for
    assert refused["eligible"] is False, refused
    assert [r["code"] for r in refused["reasons"]] == ["suspended"]
    assert refused["reasons"][0]["agreement"] == "monash-suspends-rmit"

    other = signed_in(live_hub, new_page, "rae@rmit.example", "rmit")
    latest = other.get_by_role("region", name="Latest changes concerning rmit")
    expect(latest).to_contain_text("agreement.create agreement:monash-suspends-rmit by admin")
    expect(latest).to_contain_text("(suspension: Unpaid lost-item invoices)")
    expect(other.get_by_role("region", name="Waiting for your approval (0)")).to_be_visible()

    nav(other, "Agreements")
    other.get_by_label("Involving library").select_option("rmit")
    other.get_by_role("button", name="Filter").click()
    expect(other).to_have_url(re.compile(r"/admin/agreements\?library=rmit$"))
    rows = other.get_by_role("table", name="Agreements, with their status today").get_by_role("row")
    suspension = rows.filter(has_text="monash-suspends-rmit")
    expect(suspension.get_by_role("cell")).to_contain_text(
        [
            "monash-suspends-rmit",
            "in force",
            "suspension",
            "Monash University Library stops lending to RMIT University Library",
        ]  # fmt: skip
    )
    caval = rows.filter(has_text="caval-2026")  # monash's lending to rmit in it is suspended
    expect(caval.get_by_role("cell").nth(1)).to_contain_text("monash suspends rmit")
    expect(rows.filter(has_text="swinburne-vu-postgrad-2027")).to_have_count(0)  # not rmit's
