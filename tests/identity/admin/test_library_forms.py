"""The library form, driven as a browser without JavaScript would: its category map as rows
(one added, one emptied), saved at once for the library's own administrator exactly as the YAML
editor would save it; "Test connection" from the form, and the confirmation before saving
settings whose test just failed; a row with a code and no category refused at the map; only a
consortium administrator may add a library. And, without the web: what the form does not show
(a standing source, a comment inside the entry) is kept as written."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from identity.agreements import edits, formfields, library_forms, minifile
from tests.identity.admin.conftest import AddAdmin
from tests.identity.admin.test_edit_pages import port_nobody_listens_on
from tests.identity.admin.test_forms import (
    changed,
    files_now,
    form_of,
    nothing_saved,
    post,
    signed_in,
)


def test_a_library_changes_its_category_map_by_form_as_by_yaml(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "rae@rmit.example", "rmit")
    before = files_now(published)
    libraries = client.get("/admin/libraries").text
    assert 'href="/admin/libraries/rmit/form"' in libraries
    page = client.get("/admin/libraries/rmit/form")
    assert (
        '<label for="code-0" class="visually-hidden">Home system code, row 1</label>' in page.text
    )
    fields = form_of(page.text)
    assert ("code-3", "ALUM") in fields and ("category-3", "alumni") in fields
    assert ("connector_kind", "registry") in fields and ("pin_format", "numeric") in fields
    edited = changed(fields, **{"code-1": "", "category-1": "", "code-4": "FAC",
                                "category-4": "staff", "do": "save"})  # fmt: skip
    saved = post(client, "/admin/libraries/rmit/form", edited)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/admin/libraries/rmit/form?published=2"
    yaml = minifile.editable(before, "libraries", "rmit")
    by_hand = yaml.replace(
        "{STAFF: staff, PG: postgraduate, UG: undergraduate, ALUM: alumni}",
        "{STAFF: staff, UG: undergraduate, ALUM: alumni, FAC: staff}",
    )
    assert by_hand != yaml
    assert files_now(published) == edits.apply(before, "libraries", "rmit", by_hand)

    half = post(client, "/admin/libraries/rmit/form",
                changed(fields, **{"code-4": "FAC", "do": "check"}))  # fmt: skip
    assert half.status_code == 422
    assert "Row 5: give both the home system code and the hub category" in half.text
    assert 'href="#code-0">Category map: Row 5' in half.text


def test_a_failed_connection_test_from_the_form_asks_before_saving(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "boss@caval.example", None)
    fields = form_of(client.get("/admin/libraries/rmit/form").text)
    assert ("sip2_encoding", "cp850") in fields  # each kind's settings, with their defaults
    sip2 = changed(fields, connector_kind="sip2", sip2_host="127.0.0.1", sip2_timeout_s="1",
                   sip2_port=str(port_nobody_listens_on()), sip2_institution="rmit",
                   card="21110000000001")  # fmt: skip
    tested = post(client, "/admin/libraries/rmit/form", changed(sip2, do="test"))
    assert tested.status_code == 200, tested.text
    assert "The home system could not be reached" in tested.text
    failed = form_of(tested.text)
    assert [k for k, _ in failed].count("failed") == 1
    asked = post(client, "/admin/libraries/rmit/form", changed(failed, do="save"))
    assert asked.status_code == 409
    assert "Save settings whose connection test failed?" in asked.text
    assert nothing_saved(published)
    anyway = post(client, "/admin/libraries/rmit/form", changed(failed, do="save-anyway"))
    assert anyway.status_code == 303
    text = dict(files_now(published))["libraries.yaml"]
    assert "    connector: {kind: sip2, host: 127.0.0.1, port: " in text
    assert ", institution: rmit, timeout_s: 1}\n" in text  # the defaults are not written


def test_only_a_consortium_administrator_adds_a_library(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    signed_in(client, add_admin, "rae@rmit.example", "rmit")
    page = client.get("/admin/libraries/rmit/form")
    theirs = post(client, "/admin/libraries/monash/form",
                  changed(form_of(page.text), name="Monash Two", do="save"))  # fmt: skip
    assert theirs.status_code == 403
    assert "Library monash is not yours" in theirs.text
    mine = changed(form_of(page.text), id="rmit2", name="RMIT Two", do="save")
    refused = post(client, "/admin/libraries/new/form", mine)
    assert refused.status_code == 403
    assert "Only a consortium administrator can add or remove a library." in refused.text
    assert nothing_saved(published)

    client.cookies.clear()
    signed_in(client, add_admin, "boss@caval.example", None)
    new = form_of(client.get("/admin/libraries/new/form").text)
    made = changed(new, id="acu", name="ACU Library", card_prefixes="2888",
                   **{"code-0": "STAFF", "category-0": "staff", "do": "save"})  # fmt: skip
    saved = post(client, "/admin/libraries/new/form", made)
    assert saved.status_code == 303, saved.text
    text = dict(files_now(published))["libraries.yaml"]
    assert text.endswith(
        "  - id: acu\n    name: ACU Library\n    card_prefixes: ['2888']\n"
        "    categories: {STAFF: staff}\n"
    ), text[-300:]


def test_what_the_form_does_not_show_is_kept_as_written() -> None:
    base = (
        "libraries:\n  # Signs in at its own identity provider\n  - id: uni\n    name: Uni\n"
        "    categories: {staff: staff}  # as the IdP sends them\n"
        "    connector: {kind: saml, idp: 'https://idp.uni.example/idp', "
        "metadata_url: 'https://fed.example/md.xml', metadata_cert: fed.pem}\n"
        "    standing: {kind: registry, match: eduPersonPrincipalName}\n"
    )
    data = {"id": "uni", "name": "Uni", "categories": {"staff": "staff"},
            "connector": {"kind": "saml", "idp": "https://idp.uni.example/idp",
                          "metadata_url": "https://fed.example/md.xml",
                          "metadata_cert": "fed.pem"}}  # fmt: skip
    posted = library_forms.library_shown(data) | {"name": ["Uni Library"]}
    fields = library_forms.fields_of("saml", new=False)
    offered = {"pin_formats": ["text", "numeric"], "connector_kinds": ["registry", "saml"]}
    values, invalid = formfields.read(fields, posted, offered)
    assert invalid == {}
    categories, _ = library_forms.categories_read(posted)
    text = library_forms.library_text(base, fields, values, categories)
    assert text == base.replace("name: Uni\n", "name: Uni Library\n")
