"""``/admin/versions``: list, view, diff, and export as one file that ``hub agreements check``
accepts and that decides as the version did."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

import policies
from identity import publishing
from identity.db import transaction
from identity.models import AgreementVersion
from tests.conftest import run_hub
from tests.identity.admin.conftest import SOURCES, AddAdmin, csrf_of, sign_in

pytestmark = pytest.mark.db

EXTRA = """\
libraries:
  - id: "no"
    name: "Norwegian \\"Test\\" Library: yes"
    card_prefixes: ["0099"]
    categories: {Y: staff, "1E3": undergraduate, ON: postgraduate}
    connector: {kind: registry}
agreements:
  - id: no-rmit
    kind: bilateral
    lender: "no"
    borrowers_from: [rmit]
    categories: [staff]
    terms: {max_items: 1, loan_days: 7}
"""


@pytest.fixture
def second(published: Engine) -> Engine:
    """Version 2: one agreement's loan days changed, and a file added with awkward values."""
    changed = [
        (name, text.replace("loan_days: 28, renewals: 2, holds: 5}", "loan_days: 21}", 1))
        for name, text in SOURCES
    ]
    with transaction(published) as session:
        publishing.publish(
            session=session,
            sources=[*changed, ("zz-extra.yaml", EXTRA)],
            actor="cli:bob",
            note="shorter loans <b>",
        )
    return published


@pytest.fixture
def signed_in(client: TestClient, add_admin: AddAdmin) -> TestClient:
    added = add_admin("ada@rmit.example", "rmit")  # a library administrator may read them too
    sign_in(client, "ada@rmit.example", added.password)
    return client


def test_the_list(signed_in: TestClient, second: Engine) -> None:
    page = signed_in.get("/admin/versions")
    assert page.status_code == 200
    text = page.text
    assert text.index("Version 2</a> (in force)") < text.index("Version 1</a>")
    assert "shorter loans &lt;b&gt;" in text  # escaped
    assert "cli:bob" in text and "zz-extra.yaml" in text
    assert 'href="/admin/versions/1/diff/2"' in text


def test_one_version(signed_in: TestClient, second: Engine) -> None:
    page = signed_in.get("/admin/versions/1")
    assert page.status_code == 200
    assert '<h2 id="file-1">bilateral.yaml</h2>' in page.text
    assert "loan_days: 28, renewals: 2, holds: 5}" in page.text
    assert 'href="/admin/versions/1/export"' in page.text
    latest = signed_in.get("/admin/versions/2")
    assert 'href="/admin/versions/1/diff/2"' in latest.text
    missing = signed_in.get("/admin/versions/9")
    assert missing.status_code == 404 and "There is no published version 9." in missing.text
    assert signed_in.get("/admin/versions/1/diff/9").status_code == 404
    assert signed_in.get("/admin/versions/9/export").status_code == 404


def test_the_diff(signed_in: TestClient, second: Engine) -> None:
    page = signed_in.get("/admin/versions/1/diff/2")
    assert page.status_code == 200
    text = page.text
    assert '<span class="file">--- version-1/bilateral.yaml</span>' in text
    assert '<span class="file">+++ version-2/bilateral.yaml</span>' in text
    assert '<span class="del">-    terms: {max_items: 10, loan_days: 28, renewals: 2' in text
    assert '<span class="add">+    terms: {max_items: 10, loan_days: 21}</span>' in text
    assert '<span class="file">--- /dev/null</span>' in text
    assert '<span class="file">+++ version-2/zz-extra.yaml</span>' in text
    assert "caval.yaml" not in text  # unchanged files are not mentioned
    backwards = signed_in.get("/admin/versions/2/diff/1").text
    assert '<span class="file">+++ /dev/null</span>' in backwards
    same = signed_in.get("/admin/versions/2/diff/2")
    assert "The two versions have the same files." in same.text


@pytest.mark.parametrize("number", [1, 2])
def test_the_export_is_checked_and_decides_the_same(
    signed_in: TestClient, second: Engine, tmp_path: Path, number: int
) -> None:
    response = signed_in.get(f"/admin/versions/{number}/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/yaml; charset=utf-8"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="agreements-version-{number}.yaml"'
    )
    exported = tmp_path / "exported.yaml"
    exported.write_bytes(response.content)
    checked = run_hub("agreements", "check", str(exported))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with transaction(second) as session:
        version = session.get(AgreementVersion, number)
        assert version is not None
        original = policies.load_sources([(f["name"], f["text"]) for f in version.files])
    again = policies.load(exported)
    assert dict(again.libraries) == dict(original.libraries)
    assert dict(again.agreements) == dict(original.agreements)
    if number == 2:  # the awkward values kept their type and text
        assert again.libraries["no"].categories == {
            "Y": "staff",
            "1E3": "undergraduate",
            "ON": "postgraduate",
        }
        assert again.libraries["no"].name == 'Norwegian "Test" Library: yes'


def test_rollback_and_import_from_the_pages(
    client: TestClient, add_admin: AddAdmin, second: Engine
) -> None:
    boss = add_admin("boss@caval.example")
    assert sign_in(client, "boss@caval.example", boss.password).status_code == 303
    page = client.get("/admin/versions/1")
    assert "Roll back to version 1" in page.text
    assert "Roll back" not in client.get("/admin/versions/2").text  # the one in force
    rolled = client.post(
        "/admin/versions/1/rollback", data={"csrf": csrf_of(page.text)}, follow_redirects=False
    )
    assert rolled.status_code == 303 and rolled.headers["location"] == "/admin/versions/3"
    with transaction(second) as session:
        third = session.get(AgreementVersion, 3)
        assert third is not None and third.note == "Rollback to version 1"
        assert third.sha256 == session.get(AgreementVersion, 1).sha256  # type: ignore[union-attr]

    listing = client.get("/admin/versions")
    exported = client.get("/admin/versions/2/export").text
    bad = client.post(
        "/admin/versions/import",
        data={"csrf": csrf_of(listing.text), "note": "bad"},
        files=[("files", ("bad.yaml", b"agreements:\n  - id: x\n", "application/yaml"))],
    )
    assert bad.status_code == 422
    assert "bad.yaml, line 2" in bad.text
    good = client.post(
        "/admin/versions/import",
        data={"csrf": csrf_of(listing.text), "note": "as 2"},
        files=[("files", ("v2.yaml", exported.encode(), "application/yaml"))],
        follow_redirects=False,
    )
    assert good.status_code == 303 and good.headers["location"] == "/admin/versions/4"


def test_a_library_administrator_cannot_roll_back(
    client: TestClient, add_admin: AddAdmin, second: Engine
) -> None:
    ann = add_admin("ann@monash.example", "monash")
    assert sign_in(client, "ann@monash.example", ann.password).status_code == 303
    page = client.get("/admin/versions/1")
    assert "Roll back" not in page.text
    refused = client.post("/admin/versions/1/rollback", data={"csrf": csrf_of(page.text)})
    assert refused.status_code == 403
    assert "Only a consortium administrator can roll the agreements back." in refused.text
    assert "Import" not in client.get("/admin/versions").text
