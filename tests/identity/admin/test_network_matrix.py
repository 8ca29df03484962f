"""Who lends to whom (``/admin/network``, ``identity.agreements.matrix``): every cell is the
decision engine's answer for a patron in good standing, checked here against the rules' plain
Python twin (``policies.reference``); the page links each cell's deciding agreements, follows
the agreements' dates and suspensions, refuses bad input with a message, offers CSV, and shows
the whole network to every administrator, read-only."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from html import unescape

import pytest
from fastapi.testclient import TestClient

import policies
from identity.agreements import matrix
from policies import reference
from tests.conftest import EXAMPLES
from tests.identity.admin.conftest import AddAdmin, sign_in

NETWORK = policies.load(EXAMPLES)
DAYS = (date(2025, 6, 1), date(2026, 10, 31), date(2026, 11, 1), date(2026, 12, 31),
        date(2027, 1, 1), date(2027, 3, 1))  # fmt: skip


@pytest.mark.parametrize("on", DAYS)
def test_every_cell_is_the_rules_answer_for_a_patron_in_good_standing(on: date) -> None:
    libraries, agreements = NETWORK.libraries.values(), NETWORK.agreements.values()
    for category in matrix.categories(NETWORK):
        found = matrix.build(NETWORK, category, on)
        assert [lib.id for lib in found.libraries] == [r.lender.id for r in found.rows]
        for row in found.rows:
            for cell in row.cells:
                if cell.lender == cell.home:
                    assert cell == matrix.Cell(cell.lender, cell.home, "own")
                    continue
                request = policies.BorrowRequest(lender=cell.lender, home_library=cell.home,
                                                 category=category, on=on)  # fmt: skip
                rules = reference.decide(libraries, agreements, request)
                assert (cell.state == "lends") == rules.eligible
                assert cell.terms == rules.terms
                suspended = any(r.code == policies.Code.SUSPENDED for r in rules.reasons)
                assert (cell.state == "suspended") == suspended
                assert cell.agreements == (rules.agreements if cell.state != "no" else ())


def test_an_unknown_category_is_refused() -> None:
    with pytest.raises(ValueError, match="not a category"):
        matrix.build(NETWORK, "visitor", date(2026, 12, 7))


def cell(page: str, lender: str, home: str) -> str:
    """The words and the links of one cell of the page's table (row ``lender``, column ``home``)."""
    head = re.search(r"<thead>(.*?)</thead>", page, re.S)
    assert head, "the page has no table"
    homes = re.findall(
        r'<th scope="col"><abbr title="[^"]*" aria-hidden="true">([^<]+)</abbr>', head.group(1)
    )
    rows = re.findall(r"<tr>\s*<th scope=\"row\">.*?</tr>", page, re.S)
    row = next(r for r in rows if f'<span class="hint">{lender}</span>' in r)
    cells = re.findall(r"<td class=\"([^\"]+)\">(.*?)</td>", row, re.S)
    state, inner = cells[homes.index(home)]
    links = re.findall(r'href="(/admin/agreements/[^"]+)"', inner)
    words = re.sub(r"<[^>]+>", " ", re.sub(r"<a .*?</a>", "", inner))  # the links named apart
    text = " ".join(unescape(words).split())
    return f"{state}: {text} " + " ".join(links)


def test_the_page_links_the_deciding_agreement(client: TestClient, add_admin: AddAdmin) -> None:
    added = add_admin("cora@example.org")
    sign_in(client, "cora@example.org", added.password)
    page = client.get("/admin/network", params={"category": "staff", "on": "2026-12-07"}).text
    assert "Lending to staff patrons in good standing on 2026-12-07" in page
    assert (
        '<th scope="col"><abbr title="Monash University Library" aria-hidden="true">monash</abbr>'
        '<span class="visually-hidden">Monash University Library</span></th>'
    ) in page
    assert cell(page, "monash", "rmit") == (
        "cell-lends: ✓ lends 10 × 28 d /admin/agreements/monash-rmit-staff"
    )
    assert 'title="Up to 10 items for 28 days, renewable twice."' in page
    assert (
        cell(page, "rmit", "deakin") == "cell-lends: ✓ lends 3 × 14 d /admin/agreements/caval-2026"
    )
    assert cell(page, "monash", "monash") == "cell-own: — own "
    assert cell(page, "deakin", "slv") == "cell-no: ✗ no "
    assert "No category code of State Library Victoria maps to staff" in page
    nav = re.search(r'<nav class="admin".*?</nav>', page, re.S)
    assert nav and '<a href="/admin/network">Network</a>' in nav.group(0)


def test_an_agreement_shows_from_its_first_day(client: TestClient, add_admin: AddAdmin) -> None:
    added = add_admin("cora@example.org")
    sign_in(client, "cora@example.org", added.password)

    def swinburne_to_vu(on: str) -> str:
        page = client.get("/admin/network", params={"category": "postgraduate", "on": on})
        return cell(page.text, "swinburne", "vu")

    assert swinburne_to_vu("2026-12-31") == (
        "cell-lends: ✓ lends 3 × 14 d /admin/agreements/caval-2026"
    )
    # from its first day the bilateral agreement decides, not the consortium (rule 3)
    assert swinburne_to_vu("2027-01-01") == (
        "cell-lends: ✓ lends 6 × 28 d /admin/agreements/swinburne-vu-postgrad-2027"
    )
    assert swinburne_to_vu("2028-01-01") == "cell-no: ✗ no "


def test_a_suspension_turns_a_cell_off(client: TestClient, add_admin: AddAdmin) -> None:
    added = add_admin("cora@example.org")
    sign_in(client, "cora@example.org", added.password)

    def latrobe_to_rmit(on: str) -> str:
        page = client.get("/admin/network", params={"category": "undergraduate", "on": on})
        return cell(page.text, "latrobe", "rmit")

    assert latrobe_to_rmit("2026-10-31") == (
        "cell-lends: ✓ lends 3 × 14 d /admin/agreements/caval-2026"
    )
    assert latrobe_to_rmit("2026-11-01") == (
        "cell-suspended: ⊘ suspended /admin/agreements/latrobe-suspends-rmit"
    )
    page = client.get("/admin/network", params={"category": "undergraduate", "on": "2026-11-01"})
    counts = "<strong>28</strong> lend, <strong>12</strong> do not and <strong>2</strong> are"
    assert counts in page.text


def test_bad_input_is_refused_with_a_message(client: TestClient, add_admin: AddAdmin) -> None:
    added = add_admin("cora@example.org")
    sign_in(client, "cora@example.org", added.password)
    page = client.get("/admin/network", params={"category": "visitor"})
    assert page.status_code == 400
    assert (
        "Category: choose one of the network&#39;s categories, not &#39;visitor&#39;." in page.text
    )
    assert "<table" not in page.text
    page = client.get("/admin/network", params={"category": "staff", "on": "2026-13-01"})
    assert page.status_code == 400 and "Date: enter a date like" in page.text
    assert 'id="on" name="on" type="date" value="2026-13-01" aria-invalid="true"' in page.text
    as_csv = client.get("/admin/network", params={"category": "visitor", "format": "csv"})
    assert as_csv.status_code == 400 and "not 'visitor'" in as_csv.text


def test_today_and_the_first_category_by_default(client: TestClient, add_admin: AddAdmin) -> None:
    added = add_admin("cora@example.org")
    sign_in(client, "cora@example.org", added.password)
    page = client.get("/admin/network").text
    today = date.today().isoformat()  # noqa: DTZ011
    assert f"Lending to alumni patrons in good standing on {today}" in page
    assert '<option value="alumni" selected>alumni</option>' in page


def test_the_network_as_csv(client: TestClient, add_admin: AddAdmin) -> None:
    added = add_admin("cora@example.org")
    sign_in(client, "cora@example.org", added.password)
    page = client.get("/admin/network", params={"category": "staff", "on": "2026-12-07"})
    assert 'href="/admin/network?category=staff&amp;on=2026-12-07&amp;format=csv"' in page.text
    answer = client.get("/admin/network", params={"category": "staff", "on": "2026-12-07",
                                                  "format": "csv"})  # fmt: skip
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="network-staff-2026-12-07.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 7 * 7
    monash_rmit = next(r for r in rows if (r["lender"], r["home_library"]) == ("monash", "rmit"))
    assert monash_rmit == {
        "lender": "monash", "home_library": "rmit", "category": "staff", "on": "2026-12-07",
        "state": "lends", "max_items": "10", "loan_days": "28", "renewals": "2", "holds": "5",
        "excluded_material": "", "agreements": "monash-rmit-staff",
    }  # fmt: skip


def test_a_library_administrator_reads_the_whole_network(
    client: TestClient, add_admin: AddAdmin
) -> None:
    assert client.get("/admin/network", follow_redirects=False).headers["location"] == (
        "/admin/login?next=%2Fadmin%2Fnetwork"
    )
    added = add_admin("val@vu.example", "vu")
    sign_in(client, "val@vu.example", added.password)
    page = client.get("/admin/network", params={"category": "staff", "on": "2026-12-07"}).text
    assert "the whole network, to read" in page
    assert len(re.findall(r'<th scope="row">', page)) == 7  # every lender, not only vu
    assert cell(page, "monash", "rmit").endswith("/admin/agreements/monash-rmit-staff")
    assert 'method="post"' not in page.split("</nav>", 1)[1]  # nothing to change here
