"""Notifications and onboarding in headless Chromium, against a live hub that sends its mail to a
real SMTP server (aiosmtpd): a library administrator proposes a bilateral agreement, the
partner's administrator follows the emailed link, approves, and the decision changes; an
invited administrator chooses a password by the emailed link and signs in; a client registered
on the page works with the secret shown once, a CSV with a bad row is refused whole, and a large
one shows its progress while it is imported. Each new page passes axe-core, and is photographed
at 1280 px."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from identity.admin import accounts
from identity.settings import Settings
from identity.store.database import transaction
from tests.conftest import SECRET, issuer_of
from tests.identity.admin.mailbox import Mailbox, link_in, mailbox
from tests.identity.admin.test_browser_accessibility import violations
from tests.identity.admin.test_browser_journeys import BILATERAL, EDITOR, SLV_GOOD, ask, nav
from tests.identity.admin.test_onboarding import BAD_CSV
from tests.identity.admin.test_patron_imports import patrons_csv
from tests.identity.browser import NewPage, screenshot
from tests.identity.oauth.conftest import LiveHub, serving
from tests.identity.oauth.test_browser import LAPTOP

__all__ = ["mailbox"]


@pytest.fixture
def mail_hub(
    demo_network: Engine, database_url: str, live_socket: socket.socket, mailbox: Mailbox
) -> Iterator[LiveHub]:
    """The demo network served live, sending its mail to ``mailbox`` as soon as it is queued."""
    mailbox.clear()
    settings = Settings(database_url=database_url, secret_key=SECRET,
                        issuer=issuer_of(live_socket), smtp_host="127.0.0.1",
                        smtp_port=mailbox.port, smtp_starttls=False,
                        smtp_from="hub@hub.example", smtp_send_interval_s=0.1)  # fmt: skip
    with serving(settings, demo_network, live_socket) as hub:
        yield hub


def account(hub: LiveHub, email: str, library: str | None) -> str:
    with transaction(hub.engine) as session:
        return accounts.add_account(session=session, email=email, library=library,
                                    actor="test").password  # fmt: skip


def sign_in_at(page: Page, url: str, email: str, password: str) -> None:
    """Open ``url``, signing in on the way (the sign-in page sends the browser back)."""
    page.goto(url)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_the_partner_is_emailed_a_proposal_and_approves_it_from_the_link(
    mail_hub: LiveHub, new_page: NewPage, mailbox: Mailbox
) -> None:
    sam = account(mail_hub, "sam@slv.example", "slv")
    page = new_page(**LAPTOP)
    sign_in_at(page, f"{mail_hub.issuer}/admin", "ann@monash.example",
               account(mail_hub, "ann@monash.example", "monash"))  # fmt: skip
    nav(page, "Agreements")
    page.get_by_role("link", name="New bilateral agreement").click()
    page.get_by_role("link", name="Advanced: edit as YAML").click()
    page.get_by_label(EDITOR).fill(BILATERAL.format(category="public"))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_have_text("Proposed. It is published when slv approves.")
    number = page.url.split("?")[0].rsplit("/", 1)[1]

    mail = mailbox.wait_for("sam@slv.example", "waits for your approval")
    assert mail["Subject"] == (
        f"Proposal {number} waits for your approval: agreement monash-slv-public"
    )
    partner = new_page(**LAPTOP)
    sign_in_at(partner, link_in(mail), "sam@slv.example", sam)
    expect(partner.get_by_role("heading", level=1)).to_have_text(
        f"Proposal {number}: create agreement monash-slv-public"
    )
    assert ask(mail_hub, "monash", "slv", SLV_GOOD)["eligible"] is False
    partner.get_by_role("button", name="Approve for slv").click()
    expect(partner.get_by_role("definition").first).to_have_text(
        re.compile(r"^published: published as version 2 by ")
    )
    assert ask(mail_hub, "monash", "slv", SLV_GOOD)["eligible"] is True
    told = mailbox.wait_for("ann@monash.example", f"Proposal {number} published")
    assert "was approved and is published as version 2" in str(told.get_payload(decode=True))


def test_an_invited_administrator_chooses_a_password_from_the_email_and_signs_in(
    mail_hub: LiveHub, new_page: NewPage, mailbox: Mailbox
) -> None:
    seen: dict[str, list[str]] = {}
    page = new_page(**LAPTOP)
    sign_in_at(page, f"{mail_hub.issuer}/admin", "root@consortium.example",
               account(mail_hub, "root@consortium.example", None))  # fmt: skip
    nav(page, "Administrators")
    page.get_by_label("Their email address").fill("rae@rmit.example")
    page.get_by_label("Administrator of").select_option("rmit")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invited rae@rmit.example: an email")
    expect(page.get_by_role("row", name=re.compile("rae@rmit.example rmit"))).to_be_visible()
    seen["administrators"] = violations(page)
    screenshot(page, "administrators")
    nav(page, "Webhooks")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
    seen["webhooks"] = violations(page)

    invited = new_page(**LAPTOP)
    invited.goto(link_in(mailbox.wait_for("rae@rmit.example", "invited")))
    expect(invited.get_by_role("heading", level=1)).to_have_text("Choose your password")
    seen["choose a password"] = violations(invited)
    screenshot(invited, "choose-password")
    invited.get_by_label("New password", exact=True).fill("a reading-room passphrase")
    invited.get_by_label("The same password again").fill("a reading-room passphrase")
    invited.get_by_role("button", name="Save the password").click()
    expect(invited.get_by_role("status")).to_have_text("Your password is saved. Sign in with it.")
    invited.get_by_label("Email address").fill("rae@rmit.example")
    invited.get_by_label("Password").fill("a reading-room passphrase")
    invited.get_by_role("button", name="Sign in").click()
    expect(invited.get_by_role("main")).to_contain_text("an administrator of rmit")
    nav(invited, "Your account")
    invited.get_by_role("button", name="Set up an authenticator app").click()
    expect(invited.get_by_label("The code the app shows now")).to_be_visible()
    seen["your account, setting up an authenticator"] = violations(invited)
    screenshot(invited, "authenticator")

    invited.get_by_role("button", name="Sign out").click()
    invited.get_by_role("link", name="Forgotten your password?").click()
    seen["forgotten password"] = violations(invited)
    screenshot(invited, "forgotten-password")
    assert seen == {key: [] for key in seen}


@pytest.mark.usefixtures("paced_hashes")  # hashing takes long enough to be seen midway
def test_a_library_registers_a_client_and_uses_its_secret_then_a_bad_csv_is_refused_whole(
    mail_hub: LiveHub, new_page: NewPage
) -> None:
    page = new_page(**LAPTOP)
    sign_in_at(page, f"{mail_hub.issuer}/admin/clients", "ann@monash.example",
               account(mail_hub, "ann@monash.example", "monash"))  # fmt: skip
    expect(page.get_by_role("heading", level=1)).to_have_text("OAuth clients")
    found = violations(page)
    page.get_by_label("A library system asking the eligibility API (partner)").check()
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Client registered")
    found += violations(page)
    screenshot(page, "client-registered")
    client_id = page.locator("#client-id").inner_text()
    secret = page.locator("#client-secret").inner_text()
    answer = httpx.post(f"{mail_hub.issuer}/token", data={"grant_type": "client_credentials"},
                        auth=(client_id, secret))  # fmt: skip
    assert answer.status_code == 200, answer.text
    page.get_by_role("link", name="All clients").click()
    expect(page.get_by_role("row", name=re.compile(client_id))).to_contain_text("partner system")
    expect(page.get_by_role("main")).not_to_contain_text(secret)
    screenshot(page, "clients")

    nav(page, "Patrons")
    page.get_by_label("CSV file").set_input_files(
        {"name": "patrons.csv", "mimeType": "text/csv", "buffer": BAD_CSV.encode()}
    )
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import of patrons.csv")
    expect(page.get_by_role("alert")).to_contain_text(
        "1 row of patrons.csv has a problem; nothing was imported."
    )
    expect(page.get_by_role("status")).to_have_text(
        "Refused: 3 of 3 rows checked, nothing imported."
    )
    problems = page.get_by_role("region", name="The rows with a problem")
    expect(problems.get_by_role("listitem")).to_have_count(1)
    expect(problems.get_by_role("listitem")).to_contain_text("Line 4: ")
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)  # finished
    screenshot(page, "patrons-refused")
    found += violations(page)

    mail_hub.app.state.imports.step = 10  # its progress written every 10 rows
    page.get_by_role("link", name="Import another file").click()
    recent = page.get_by_role("region", name="Recent imports")
    expect(recent.get_by_role("row", name=re.compile("patrons.csv"))).to_contain_text("refused")
    found += violations(page)
    page.get_by_label("CSV file").set_input_files(
        {"name": "big.csv", "mimeType": "text/csv", "buffer": patrons_csv(300).encode()}
    )
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_role("progressbar")).to_have_attribute("max", "300")
    # the page asks for its progress every 2 seconds, and puts it in place
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"^Hashing the PINs: [1-9][0-9]* of 300 rows ready\.$"), timeout=20_000
    )
    screenshot(page, "patrons-importing")
    found += violations(page)
    expect(page.get_by_role("status")).to_contain_text(
        re.compile(r"^Imported 300 patrons from big.csv into monash: \d+ new, \d+ updated\."),
        timeout=120_000,
    )
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)
    screenshot(page, "patrons-imported")
    found += violations(page)
    nav(page, "Patrons")
    expect(recent.get_by_role("row", name=re.compile("big.csv"))).to_contain_text("imported 300")
    screenshot(page, "patrons-recent")
    assert found == []


@pytest.mark.usefixtures("paced_hashes")  # hashing takes long enough to be seen midway
def test_without_javascript_an_imports_page_reloads_itself_until_it_has_finished(
    mail_hub: LiveHub, new_page: NewPage
) -> None:
    page = new_page(**LAPTOP, java_script_enabled=False)
    sign_in_at(page, f"{mail_hub.issuer}/admin/patrons", "ann@monash.example",
               account(mail_hub, "ann@monash.example", "monash"))  # fmt: skip
    page.get_by_label("CSV file").set_input_files(
        {"name": "big.csv", "mimeType": "text/csv", "buffer": patrons_csv(100).encode()}
    )
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_role("status")).to_contain_text("of 100 rows")  # running
    expect(page.get_by_role("link", name="Stop updating it")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(
        re.compile(r"^Imported 100 patrons from big.csv into monash"), timeout=120_000
    )  # only by reloading: no script runs here
    expect(page.get_by_role("link", name="Import another file")).to_be_visible()
