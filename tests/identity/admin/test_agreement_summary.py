"""An agreement's printable summary (``/admin/agreements/{id}/summary``,
``identity.agreements.summary``): what the agreement says, in sentences, with its parties by
name, its dates, the version it is in and a signature block for each signing party."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient

import policies
from identity.agreements import summary
from tests.conftest import EXAMPLES
from tests.identity.admin.conftest import AddAdmin, sign_in

NETWORK = policies.load(EXAMPLES)


def words(page: str) -> str:
    """The page's main text, tags dropped, spaces collapsed."""
    main = page.split("</nav>", 1)[1]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", main)).split())


def test_the_terms_in_words() -> None:
    terms = policies.Terms(max_items=3, loan_days=14, renewals=1,
                           excluded_material=("reserve", "av"))  # fmt: skip
    assert summary.loans(terms, NETWORK.network) == (
        "Up to 3 items for 14 days, renewable once; reserve collection and audio-visual "
        "material excluded."
    )
    one = policies.Terms(max_items=1, loan_days=1, renewals=7, excluded_material=("maps",))
    assert summary.loans(one, policies.Network()) == (
        "Up to 1 item for 1 day, renewable 7 times; maps excluded."
    )
    assert summary.holds(0) == "No holds." and summary.holds(1) == "Up to 1 hold at a time."


def test_a_bilateral_agreement_in_words() -> None:
    said = summary.of(NETWORK, "deakin-alumni")
    assert said.kind == "Bilateral agreement"
    assert said.what == (
        "Deakin University Library lends to patrons of RMIT University Library and Monash "
        "University Library. Lending the other way is an agreement of its own."
    )
    assert said.dates == "In force from 1 January 2026, with no end date."
    assert said.categories == "It covers alumni patrons."
    assert said.standing == (
        "The borrower's library card must be valid (not expired).",
        "The borrower must owe no fines.",
        "A borrower whose home library reports charge denied, card lost or blocked may not borrow.",
    )
    assert said.terms == (
        "Up to 2 items for 14 days, not renewable; reserve collection, audio-visual material "
        "and theses excluded.",
        "No holds.",
    )
    assert [p.id for p in said.signatories] == ["deakin", "rmit", "monash"]
    researchers = summary.of(NETWORK, "slv-university-researchers").standing
    assert researchers[1] == "The borrower may owe at most AUD 20.00 in fines."
    assert researchers[-1].startswith("The home library's record of fines, blocks and card")


def test_a_suspension_is_signed_by_its_lender_alone() -> None:
    said = summary.of(NETWORK, "vu-suspends-swinburne-undergrad")
    assert said.kind == "Suspension"
    assert said.categories == "It covers undergraduate patrons."
    assert said.dates == "In force from 1 October 2026 until 31 December 2026, both days included."
    assert said.standing[0] == (
        "Reason (for administrators and staff only): Undergraduate loans paused while VU "
        "audits its reciprocal collection"
    )
    assert said.terms == ("No loans while it is in force.",)
    assert [p.id for p in said.signatories] == ["vu"]


def test_the_summary_page(client: TestClient, add_admin: AddAdmin) -> None:
    added = add_admin("ann@monash.example", "monash")
    sign_in(client, "ann@monash.example", added.password)
    entry = client.get("/admin/agreements/caval-2026").text
    assert '<a href="/admin/agreements/caval-2026/summary">Printable summary</a>' in entry
    page = client.get("/admin/agreements/caval-2026/summary")
    assert page.status_code == 200
    text = words(page.text)
    assert "<title>Summary of CAVAL Reciprocal Borrowing 2026 · Administration" in page.text
    assert (
        "CAVAL Reciprocal Borrowing 2026 Consortium agreement caval-2026, as published in "
        "agreement version 1 on "
    ) in text
    assert (
        "Parties RMIT University Library (rmit); Monash University Library (monash); La Trobe "
        "University Library (latrobe); Deakin University Library (deakin); Swinburne University "
        "Library (swinburne); Victoria University Library (vu) In force from 1 March 2026 In "
        "force until 28 February 2027 Categories staff, postgraduate, undergraduate"
    ) in text
    assert "It covers staff, postgraduate and undergraduate patrons." in text
    assert "The borrower may owe at most AUD 10.00 in fines." in text
    assert (
        "Terms Up to 3 items for 14 days, renewable once; reserve collection and audio-visual "
        "material excluded. Up to 3 holds at a time. Signatures"
    ) in text
    assert text.count("Name Title Signature Date") == 6
    assert "For Victoria University Library Name Title Signature Date" in text


def test_a_library_administrator_reads_any_summary_and_an_unknown_one_is_missing(
    client: TestClient, add_admin: AddAdmin
) -> None:
    path = "/admin/agreements/monash-rmit-staff/summary"
    assert client.get(path, follow_redirects=False).headers["location"] == (
        "/admin/login?next=%2Fadmin%2Fagreements%2Fmonash-rmit-staff%2Fsummary"
    )
    added = add_admin("val@vu.example", "vu")
    sign_in(client, "val@vu.example", added.password)
    page = client.get(path)  # vu is not party to it: every administrator reads every entry
    assert page.status_code == 200
    assert "Up to 10 items for 28 days, renewable twice." in words(page.text)
    missing = client.get("/admin/agreements/nope/summary")
    assert missing.status_code == 404
    assert "There is no agreement nope in the published set." in missing.text
