"""The editor pages, driven as a browser without JavaScript would: check shows the validator's
problems at the textarea's lines or the decisions a change flips; save publishes or proposes;
the partner approves from the proposal page; a library administrator cannot save another
pair's agreement; a connection test answers from the registry."""

from __future__ import annotations

import html
import re
import socket

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.agreements import publishing
from identity.store.database import transaction
from tests.identity.admin.conftest import AddAdmin, csrf_of, sign_in
from tests.identity.admin.test_api import NEW_BILATERAL, decide


def signed_in(client: TestClient, add_admin: AddAdmin, email: str, library: str | None) -> None:
    added = add_admin(email, library)
    assert sign_in(client, email, added.password).status_code == 303


def test_check_then_propose_then_partner_approves(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "ann@monash.example", "monash")
    new = client.get("/admin/agreements/new?kind=bilateral")
    assert new.status_code == 200
    assert "<textarea" in new.text and "lender: monash" in new.text  # theirs to start
    assert "<textarea" not in client.get("/admin/libraries/new").text  # consortium only
    csrf = csrf_of(new.text)

    broken = NEW_BILATERAL.replace("categories: [alumni]", "categories: [alumnus]")
    checked = client.post(
        "/admin/agreements/new", data={"csrf": csrf, "yaml": broken, "do": "check"}
    )
    assert checked.status_code == 422
    assert "Line 6, column 18: agreement monash-latrobe-alumni: unknown category" in checked.text

    checked = client.post(
        "/admin/agreements/new", data={"csrf": csrf, "yaml": NEW_BILATERAL, "do": "check"}
    )
    assert checked.status_code == 200, checked.text
    assert "No problems" in checked.text
    assert "now eligible" in checked.text
    # latrobe has no alumni category in its map: allowed, but said
    assert "1 warning" in checked.text
    assert "agreement monash-latrobe-alumni: can apply to nobody: latrobe maps no patron to alumni"\
        in checked.text  # fmt: skip

    saved = client.post(
        "/admin/agreements/new",
        data={"csrf": csrf, "yaml": NEW_BILATERAL, "do": "save", "note": "alumni"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    proposal_url = saved.headers["location"].split("?")[0]
    shown = client.get(proposal_url)
    assert "Waiting for" in shown.text and "latrobe" in shown.text
    assert "Approve" not in shown.text  # not the proposer's to approve

    client.cookies.clear()
    signed_in(client, add_admin, "lee@latrobe.example", "latrobe")
    home = client.get("/admin")
    assert proposal_url in home.text
    page = client.get(proposal_url)
    assert "Approve for latrobe" in page.text
    assert "monash" in page.text and "alumni" in page.text and "now eligible" in page.text
    done = client.post(
        f"{proposal_url}/approve", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert done.status_code == 303
    assert "published" in client.get(proposal_url).text
    assert decide(published, "monash", "latrobe", "alumni")["eligible"] is True


def test_a_rejection_says_why_and_the_proposer_reads_it(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "ann@monash.example", "monash")
    new = client.get("/admin/agreements/new?kind=bilateral")
    saved = client.post(
        "/admin/agreements/new",
        data={"csrf": csrf_of(new.text), "yaml": NEW_BILATERAL, "do": "save"},
        follow_redirects=False,
    )
    proposal_url = saved.headers["location"].split("?")[0]

    client.cookies.clear()
    signed_in(client, add_admin, "lee@latrobe.example", "latrobe")
    page = client.get(proposal_url)
    assert 'name="reason"' in page.text and "the proposer is shown your reason" in page.text
    unsaid = client.post(f"{proposal_url}/reject", data={"csrf": csrf_of(page.text),
                                                         "reason": "  "})  # fmt: skip
    assert unsaid.status_code == 422
    assert "Say why you reject it: the proposer is shown your reason." in unsaid.text
    assert 'aria-invalid="true"' in unsaid.text and "Waiting for" in unsaid.text  # still pending
    done = client.post(
        f"{proposal_url}/reject",
        data={"csrf": csrf_of(page.text), "reason": "We have no alumni borrowing <yet>"},
        follow_redirects=False,
    )
    assert done.status_code == 303

    client.cookies.clear()
    signed_in(client, add_admin, "max@monash.example", "monash")
    seen = client.get(proposal_url).text
    assert "rejected" in seen and "Why it was rejected" in seen
    assert "We have no alumni borrowing &lt;yet&gt;" in seen


def test_library_admin_cannot_edit_other_pairs_agreement(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "dee@deakin.example", "deakin")
    page = client.get("/admin/agreements/monash-rmit-staff")
    assert page.status_code == 200
    assert "<textarea" not in page.text
    assert "deakin is not party to it" in page.text
    own = client.get("/admin/agreements/deakin-alumni")
    text = own.text.split('name="yaml"')[1]
    assert "<textarea" in own.text
    # posting anyway is refused, and nothing is published
    csrf = csrf_of(own.text)
    edited = (
        "agreements:\n  - id: monash-rmit-staff\n    kind: bilateral\n    lender: monash\n"
        "    borrowers_from: [rmit]\n    categories: [staff]\n"
        "    terms: {max_items: 99, loan_days: 28}\n"
    )
    refused = client.post(
        "/admin/agreements/monash-rmit-staff", data={"csrf": csrf, "yaml": edited, "do": "save"}
    )
    assert refused.status_code == 403
    assert "you can change only agreements that deakin is party to" in refused.text
    with transaction(published) as session:
        assert publishing.latest(session=session).id == 1  # type: ignore[union-attr]
    assert text


def test_library_entry_saved_at_once_and_connection_tested(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "rae@rmit.example", "rmit")
    page = client.get("/admin/libraries/rmit")
    assert "Test connection" in page.text
    csrf = csrf_of(page.text)
    text = page.text.split('name="yaml"')[1].split(">", 1)[1].split("</textarea>")[0]
    import html

    text = html.unescape(text)
    tested = client.post(
        "/admin/libraries/rmit",
        data={"csrf": csrf, "yaml": text, "do": "test", "card": "21110000000001"},
    )
    assert tested.status_code == 200
    assert "it has no card 21110000000001" in tested.text  # no patrons imported here
    renamed = client.post(
        "/admin/libraries/rmit",
        data={"csrf": csrf, "yaml": text.replace("id: rmit", "id: rmit2"), "do": "test",
              "card": "21110000000001"},
    )  # fmt: skip
    assert renamed.status_code == 422
    assert "nothing was saved" in renamed.text  # rmit2: every agreement naming rmit breaks
    changed = text.replace("RMIT University Library", "RMIT Library")
    saved = client.post(
        "/admin/libraries/rmit",
        data={"csrf": csrf, "yaml": changed, "do": "save"},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert "published=2" in saved.headers["location"]
    other = client.get("/admin/libraries/monash")
    assert "<textarea" not in other.text


def test_testing_the_connection_of_an_unknown_library_is_a_not_found_page(
    client: TestClient, add_admin: AddAdmin
) -> None:
    signed_in(client, add_admin, "boss@caval.example", None)
    csrf = csrf_of(client.get("/admin/libraries").text)
    text = "libraries:\n  - id: nosuch\n    name: Nowhere\n    connector: {kind: registry}\n"
    tested = client.post(
        "/admin/libraries/nosuch",
        data={"csrf": csrf, "yaml": text, "do": "test", "card": "29990000000001"},
    )
    assert tested.status_code == 404
    assert tested.headers["content-type"].startswith("text/html")
    assert "There is no library nosuch." in tested.text


@pytest.mark.parametrize("do", ["check", "save"])
def test_the_editor_refuses_another_librarys_entry_before_reading_the_text(
    client: TestClient, add_admin: AddAdmin, published: Engine, do: str
) -> None:
    """Whatever the textarea holds (here 5,000 levels of nesting), deakin may not touch
    rmit's entry: the answer is the refusal, not what reading the text would say."""
    signed_in(client, add_admin, "dee@deakin.example", "deakin")
    csrf = csrf_of(client.get("/admin/libraries/deakin").text)
    deep = "libraries:\n  - " + "- " * 5_000 + "x\n"
    refused = client.post("/admin/libraries/rmit", data={"csrf": csrf, "yaml": deep, "do": do})
    assert refused.status_code == 403
    assert "Library rmit is not yours" in refused.text
    with transaction(published) as session:
        assert publishing.latest(session=session).id == 1  # type: ignore[union-attr]


def test_saving_settings_whose_connection_test_failed_asks_to_confirm(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "boss@caval.example", None)
    page = client.get("/admin/libraries/rmit")
    csrf = csrf_of(page.text)
    text = html.unescape(page.text.split('name="yaml"')[1].split(">", 1)[1].split("</textarea>")[0])
    nowhere = port_nobody_listens_on()
    broken = text.replace(
        "connector: {kind: registry}",
        f"connector: {{kind: sip2, host: 127.0.0.1, port: {nowhere}, institution: rmit, "
        "timeout_s: 1}",
    )
    assert broken != text
    asking = {"csrf": csrf, "yaml": broken, "do": "test", "card": "21110000000001"}
    tested = client.post("/admin/libraries/rmit", data=asking)
    assert "The home system could not be reached" in tested.text
    failed = re.search(r'name="failed" value="([0-9a-f]{64})"', tested.text)
    assert failed is not None

    form = {"csrf": csrf, "yaml": broken, "failed": failed.group(1)}
    asked = client.post("/admin/libraries/rmit", data={**form, "do": "save"})
    assert asked.status_code == 409
    assert "Save settings whose connection test failed?" in asked.text
    assert "rmit's patrons may be unable to sign in" in asked.text
    assert ">Save anyway</button>" in asked.text and 'value="save">Save<' not in asked.text
    with transaction(published) as session:
        assert publishing.latest(session=session).id == 1  # type: ignore[union-attr]
    # other settings than those tested are saved as usual (the mark is for that text only)
    retyped = broken.replace("timeout_s: 1", "timeout_s: 2")
    other = client.post("/admin/libraries/rmit", data={**form, "do": "save", "yaml": retyped},
                        follow_redirects=False)  # fmt: skip
    assert other.status_code == 303
    anyway = client.post("/admin/libraries/rmit", data={**form, "do": "save-anyway"},
                         follow_redirects=False)  # fmt: skip
    assert anyway.status_code == 303 and "published=3" in anyway.headers["location"]


def port_nobody_listens_on() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return int(free.getsockname()[1])
