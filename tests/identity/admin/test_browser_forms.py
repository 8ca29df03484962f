"""The agreement form in headless Chromium, against a live hub that sends its mail to a real SMTP
server (aiosmtpd): monash's administrator ticks a category of an agreement with slv on its form,
sees what the change would flip, and saves it; slv's administrator follows the emailed link and
approves; the eligibility API's answer changes. A form with problems shows each beside its field
and in the summary at the top, whose links move to the field. Every form page passes axe-core,
at laptop and phone widths, and is photographed when ``HUB_SCREENSHOTS`` names a folder."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.identity.admin.mailbox import Mailbox, link_in, mailbox
from tests.identity.admin.test_browser_accessibility import violations
from tests.identity.admin.test_browser_journeys import SLV_GOOD, ask, nav
from tests.identity.admin.test_browser_onboarding import account, mail_hub, sign_in_at
from tests.identity.browser import NewPage, screenshot
from tests.identity.oauth.conftest import LiveHub
from tests.identity.oauth.test_browser import LAPTOP, PHONE

__all__ = ["mail_hub", "mailbox"]


def test_a_library_edits_an_agreement_by_form_and_the_partner_approves_it(
    mail_hub: LiveHub, new_page: NewPage, mailbox: Mailbox
) -> None:
    seen: dict[str, list[str]] = {}
    sam = account(mail_hub, "sam@slv.example", "slv")
    page = new_page(**LAPTOP)
    sign_in_at(page, f"{mail_hub.issuer}/admin", "ann@monash.example",
               account(mail_hub, "ann@monash.example", "monash"))  # fmt: skip
    nav(page, "Agreements")
    page.get_by_role("row", name=re.compile("Monash Borrowing for State Library Researchers")) \
        .get_by_role("link", name="Edit monash-slv-researchers").click()  # fmt: skip
    expect(page.get_by_role("heading", level=1)).to_have_text("Agreement monash-slv-researchers")
    seen["agreement form"] = violations(page)
    screenshot(page, "agreement-form")

    categories = page.get_by_role("group", name="Categories of patrons")
    expect(categories.get_by_label("researcher")).to_be_checked()
    page.get_by_label("Items on loan at once").fill("0")
    page.get_by_label("In force from").fill("2026-06-01")
    page.get_by_label("In force until").fill("2026-01-31")
    page.get_by_role("button", name="Check and show what it changes").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There are 2 problems; nothing was saved")
    expect(page.locator("#until-error")).to_contain_text("is before 'from' 2026-06-01")
    expect(page.get_by_label("Items on loan at once")).to_have_attribute("aria-invalid", "true")
    seen["agreement form with problems"] = violations(page)
    screenshot(page, "agreement-form-problems")
    summary.get_by_role("link", name=re.compile("^Items on loan at once")).click()
    expect(page.get_by_label("Items on loan at once")).to_be_focused()
    page.set_viewport_size(PHONE["viewport"])
    seen["agreement form with problems, narrow"] = violations(page)
    screenshot(page, "agreement-form-problems-narrow")
    page.set_viewport_size(LAPTOP["viewport"])

    page.get_by_label("Items on loan at once").fill("4")
    page.get_by_label("In force from").fill("")
    page.get_by_label("In force until").fill("")
    categories.get_by_label("public").check()
    page.get_by_label("Note for the version or proposal").fill("and slv's public members")
    page.get_by_role("button", name="Check and show what it changes").click()
    expect(page.get_by_role("status")).to_contain_text("No problems")
    expect(page.get_by_role("table")).to_contain_text("now eligible")
    seen["agreement form checked"] = violations(page)
    screenshot(page, "agreement-form-checked")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Proposed. It is published when slv approves.")
    number = page.url.split("?")[0].rsplit("/", 1)[1]

    mail = mailbox.wait_for("sam@slv.example", "waits for your approval")
    assert mail["Subject"] == (
        f"Proposal {number} waits for your approval: agreement monash-slv-researchers"
    )
    partner = new_page(**LAPTOP)
    sign_in_at(partner, link_in(mail), "sam@slv.example", sam)
    expect(partner.get_by_role("main")).to_contain_text("public")
    assert ask(mail_hub, "monash", "slv", SLV_GOOD)["eligible"] is False
    partner.get_by_role("button", name="Approve for slv").click()
    expect(partner.get_by_role("definition").first).to_have_text(
        re.compile(r"^published: published as version 2 by ")
    )
    assert ask(mail_hub, "monash", "slv", SLV_GOOD)["eligible"] is True

    page.goto(f"{mail_hub.issuer}/admin/agreements/new/form?kind=consortium")
    seen["new consortium form"] = violations(page)
    page.get_by_role("link", name="Advanced: edit as YAML").click()
    expect(page.get_by_label("The agreement, as written in an agreement file")).to_contain_text(
        "kind: consortium"
    )
    seen["YAML editor"] = violations(page)
    page.get_by_role("link", name="Form", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New consortium agreement")
    page.set_viewport_size(PHONE["viewport"])
    screenshot(page, "new-consortium-form-narrow")
    assert {where: found for where, found in seen.items() if found} == {}


def test_the_library_form_passes_axe_with_and_without_problems(
    mail_hub: LiveHub, new_page: NewPage
) -> None:
    seen: dict[str, list[str]] = {}
    page = new_page(**LAPTOP)
    sign_in_at(page, f"{mail_hub.issuer}/admin/libraries", "root@consortium.example",
               account(mail_hub, "root@consortium.example", None))  # fmt: skip
    page.get_by_role("link", name="Edit rmit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Library rmit")
    seen["library form"] = violations(page)
    screenshot(page, "library-form")
    page.get_by_label("Home system code, row 6").fill("FAC")
    page.get_by_label("How cards are checked").select_option("sip2")
    page.get_by_role("button", name="Check and show what it changes").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There are 4 problems; nothing was saved")
    expect(summary.get_by_role("link")).to_have_text([
        "Category map: Row 6: give both the home system code and the hub category",
        "SIP2: Host: Enter host", "SIP2: Port: Enter port",
        "SIP2: Institution id (AO): Enter institution id (AO)",
    ])  # in the order of the page  # fmt: skip
    expect(page.get_by_label("Hub category, row 6")).to_have_attribute("aria-invalid", "true")
    summary.get_by_role("link", name="SIP2: Port: Enter port").click()
    expect(page.get_by_label("Port")).to_be_focused()
    seen["library form with problems"] = violations(page)
    screenshot(page, "library-form-problems")
    page.set_viewport_size(PHONE["viewport"])
    seen["library form with problems, narrow"] = violations(page)
    screenshot(page, "library-form-problems-narrow")
    page.goto(f"{mail_hub.issuer}/admin/libraries/new/form")
    seen["new library form"] = violations(page)
    assert {where: found for where, found in seen.items() if found} == {}
