"""The agreement form, driven as a browser without JavaScript would (its fields read from the
page, ticked and filled, then posted): a save publishes or proposes exactly what the YAML editor
would for the same change, rewriting only the entry's changed line (comments kept); bad input is
refused at its field and in the summary, and nothing is saved; a stale CSRF token and an
administrator who may only read the agreement are refused."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from urllib.parse import urlencode

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from identity.agreements import edits, formfields, forms, minifile, publishing, queries
from identity.store.database import transaction
from identity.store.models import Proposal
from tests.identity.admin.conftest import AddAdmin, sign_in
from tests.identity.admin.test_api import decide

Fields = list[tuple[str, str]]


class _Form(HTMLParser):
    """The fields a browser would post from the page's entry form (``form.entry-form``)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: Fields = []
        self.inside = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and "entry-form" in a.get("class", ""):
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("type") in ("checkbox", "radio"):
            if "checked" in a:
                self.fields.append((a["name"], a.get("value", "on")))
        elif tag == "input" and a.get("name") and a.get("type") != "submit":
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self.fields.append((self.select, a.get("value", "")))
        elif tag == "textarea":
            self.textarea = a["name"]
            self.fields.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self.textarea:
            name, value = self.fields[-1]
            self.fields[-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def form_of(page: str) -> Fields:
    parser = _Form()
    parser.feed(page)
    assert parser.fields, "the page has no entry form"
    return parser.fields


def changed(fields: Fields, **values: str | list[str]) -> Fields:
    """``fields`` with those named set to ``values`` (a list: the boxes ticked)."""
    out = [(k, v) for k, v in fields if k not in values]
    for name, value in values.items():
        out += [(name, v) for v in ([value] if isinstance(value, str) else value)]
    return out


def post(client: TestClient, url: str, fields: Fields) -> httpx2.Response:
    """Post ``fields`` as a browser posts a form (a name once per value, in order)."""
    return client.post(url, content=urlencode(fields), follow_redirects=False,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip


def signed_in(client: TestClient, add_admin: AddAdmin, email: str, library: str | None) -> None:
    added = add_admin(email, library)
    assert sign_in(client, email, added.password).status_code == 303


def files_now(engine: Engine) -> list[tuple[str, str]]:
    with transaction(engine) as session:
        return queries.current_files(session)[1]


def nothing_saved(engine: Engine) -> bool:
    with transaction(engine) as session:
        version = publishing.latest(session=session)
        pending = list(session.exec(select(Proposal)))
        return version is not None and version.id == 1 and pending == []


def test_a_form_save_publishes_what_the_yaml_would_keeping_the_comments(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "boss@caval.example", None)
    before = files_now(published)
    page = client.get("/admin/agreements/slv-university-researchers/form")
    assert page.status_code == 200
    assert '<label for="max_items">Items on loan at once</label>' in page.text
    assert "Advanced: edit as YAML" in page.text
    fields = form_of(page.text)
    assert ("requires_standing_source", "on") in fields and ("max_items", "5") in fields
    saved = post(
        client,
        "/admin/agreements/slv-university-researchers/form",
        changed(fields, max_items="6", do="save", note="one more"),
    )
    assert saved.status_code == 303, saved.text
    assert (
        saved.headers["location"] == "/admin/agreements/slv-university-researchers/form?published=2"
    )
    shown = client.get(saved.headers["location"]).text
    assert "Saved: published as version 2" in shown and 'value="6"' in shown

    yaml = minifile.editable(before, "agreements", "slv-university-researchers")
    by_hand = yaml.replace("max_items: 5,", "max_items: 6,")
    assert by_hand != yaml
    assert files_now(published) == edits.apply(
        before, "agreements", "slv-university-researchers", by_hand
    )
    text = dict(files_now(published))["bilateral.yaml"]
    assert "# The State Library lends only on the home library's record of fines" in text
    assert decide(published, "slv", "rmit", "staff")["terms"]["max_items"] == 6


def test_a_library_edits_by_form_and_the_partner_is_asked_as_from_the_yaml(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "ann@monash.example", "monash")
    before = files_now(published)
    fields = form_of(client.get("/admin/agreements/monash-rmit-staff/form").text)
    checked = post(
        client,
        "/admin/agreements/monash-rmit-staff/form",
        changed(fields, categories=["staff", "alumni"], do="check"),
    )
    assert checked.status_code == 200, checked.text
    assert "No problems" in checked.text and "now eligible" in checked.text
    assert 'value="alumni" checked' in checked.text  # the form as posted, not yet saved
    saved = post(
        client,
        "/admin/agreements/monash-rmit-staff/form",
        changed(fields, categories=["staff", "alumni"], do="save"),
    )
    assert saved.status_code == 303 and saved.headers["location"].startswith("/admin/proposals/")
    with transaction(published) as session:
        proposal = session.exec(select(Proposal)).one()
        assert proposal.awaiting == ",rmit,"
        yaml = minifile.editable(before, "agreements", "monash-rmit-staff")
        assert proposal.text == yaml.replace("categories: [staff]", "categories: [staff, alumni]")
    assert decide(published, "monash", "rmit", "alumni")["eligible"] is False  # not yet


def test_a_new_agreement_by_form_and_a_suspension_in_force_at_once(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "ann@monash.example", "monash")
    agreements = client.get("/admin/agreements").text
    assert 'href="/admin/agreements/new/form?kind=suspension"' in agreements
    bilateral = form_of(client.get("/admin/agreements/new/form?kind=bilateral").text)
    assert ("card_must_be_valid", "on") in bilateral and ("renewals", "0") in bilateral
    assert ("lender", "monash") in bilateral
    page = client.get("/admin/agreements/new/form?kind=suspension")
    assert '<option value="monash" selected>' in page.text  # their own library, to start with
    fields = changed(form_of(page.text), id="monash-suspends-vu", borrowers_from=["vu"],
                     reason="Unpaid invoices", do="save")  # fmt: skip
    saved = post(client, "/admin/agreements/new/form", fields)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/admin/agreements/monash-suspends-vu/form?published=2"
    text = dict(files_now(published))["suspensions.yaml"]
    assert "  - id: monash-suspends-vu\n    kind: suspension\n    lender: monash\n" in text
    assert "    borrowers_from: [vu]\n    reason: Unpaid invoices\n" in text
    assert decide(published, "monash", "vu", "staff")["eligible"] is False


def test_bad_input_is_refused_at_its_field_and_nothing_is_saved(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "ann@monash.example", "monash")
    url = "/admin/agreements/monash-rmit-staff/form"
    fields = form_of(client.get(url).text)
    cases: dict[str, tuple[dict[str, str | list[str]], str]] = {
        "until": ({"from": "2026-05-01", "until": "2026-01-01"},
                  "&#39;until&#39; 2026-01-01 is before &#39;from&#39; 2026-05-01"),
        "max_items": ({"max_items": "-1"}, "Input should be greater than or equal to 1"),
        "borrowers_from": ({"borrowers_from": []},
                           "Choose at least one: lends to the patrons of"),
        "lender": ({"lender": "nowhere"}, "&#39;nowhere&#39; is not one of the choices offered"),
        "categories": ({"categories": ["staff", "alumnus"]},
                       "&#39;alumnus&#39; is not one of the choices offered"),
        "loan_days": ({"loan_days": "two weeks"},
                      "Enter loan period in days as a whole number, like 5"),
    }  # fmt: skip
    for name, (values, message) in cases.items():
        for do in ("check", "save"):
            refused = post(client, url, changed(fields, do=do, **values))
            assert refused.status_code == 422, (name, refused.text)
            beside = refused.text.split(f'id="{name}-error">')[1].split("</p>")[0]
            assert message in beside, (name, beside)
            summary = refused.text.split('role="alert"')[1].split("</div>")[0]
            assert "nothing was saved" in summary and f'href="#{name}' in summary
            assert message in summary
            assert refused.text.startswith("<!doctype html>") or "<title>Error: " in refused.text
    assert nothing_saved(published)


def test_a_stale_csrf_token_and_an_administrator_who_may_only_read_are_refused(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "dee@deakin.example", "deakin")
    url = "/admin/agreements/monash-rmit-staff/form"
    page = client.get(url)
    assert page.status_code == 200
    assert "You can read this agreement but not change it: deakin is not party to it" in page.text
    assert 'class="entry-form"' not in page.text
    own = form_of(client.get("/admin/agreements/deakin-alumni/form").text)
    forged = changed(own, max_items="99", do="save")
    refused = post(client, url, forged)
    assert refused.status_code == 403
    assert "you can change only agreements that deakin is party to" in refused.text
    stale = post(
        client,
        "/admin/agreements/deakin-alumni/form",
        changed(own, csrf="forged", max_items="3", do="save"),
    )
    assert stale.status_code == 400
    assert "This page had expired" in html.unescape(stale.text)
    assert nothing_saved(published)


def test_keys_and_comments_the_form_does_not_know_are_kept() -> None:
    base = (
        "agreements:\n  - id: a-b\n    kind: bilateral\n    lender: a\n"
        "    borrowers_from: [b]  # since 2025\n    categories: [staff]\n"
        "    reviewed_by: the board      # a key of a later format\n"
        "    terms:\n      max_items: 2   # two only\n      loan_days: 14\n"
    )
    fields = forms.agreement_fields("bilateral", new=False)
    data = {"id": "a-b", "kind": "bilateral", "lender": "a", "borrowers_from": ["b"],
            "categories": ["staff"], "terms": {"max_items": 2, "loan_days": 14}}  # fmt: skip
    posted = formfields.shown(fields, data) | {"max_items": ["3"], "categories": ["staff", "x"]}
    offered = {"libraries": ["a", "b"], "categories": ["staff", "x"], "flags": [], "materials": []}
    values, invalid = formfields.read(fields, posted, offered)
    assert invalid == {}
    assert forms.agreement_text(base, "bilateral", fields, values) == base.replace(
        "[staff]", "[staff, x]"
    ).replace("max_items: 2 ", "max_items: 3 ")
