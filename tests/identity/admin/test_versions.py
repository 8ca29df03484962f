"""``/admin/versions``: list, view, diff, and export as one file that ``hub agreements check``
accepts and that decides as the version did."""

from __future__ import annotations

import re
import threading
import time
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import Engine

import policies
from identity.agreements import publishing
from identity.app import create_app
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import AgreementVersion
from tests.conftest import SOURCES, free_port, run_hub
from tests.identity.admin.conftest import AddAdmin, csrf_of, sign_in

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
    asked = client.post("/admin/versions/1/rollback", data={"csrf": csrf_of(page.text)})
    assert asked.status_code == 200  # what it changes, to confirm: nothing published yet
    assert "<h1>Roll back to version 1?</h1>" in asked.text
    assert "in place of version 2. Nothing is published until you confirm." in asked.text
    assert "Decisions this change flips" in asked.text or "flips no lending decision" in asked.text
    with transaction(second) as session:
        assert publishing.latest(session=session).id == 2  # type: ignore[union-attr]
    rolled = client.post(
        "/admin/versions/1/rollback",
        data={"csrf": csrf_of(asked.text), "confirm": confirm_of(asked.text)},
        follow_redirects=False,
    )
    assert rolled.status_code == 303 and rolled.headers["location"] == "/admin/versions/3"
    with transaction(second) as session:
        third = session.get(AgreementVersion, 3)
        assert third is not None and third.note == "Rollback to version 1"
        assert third.sha256 == session.get(AgreementVersion, 1).sha256  # type: ignore[union-attr]
    again = client.post(  # the same confirmation, now that the set in force is another
        "/admin/versions/2/rollback",
        data={"csrf": csrf_of(asked.text), "confirm": confirm_of(asked.text)},
    )
    assert again.status_code == 409 and "Nothing was published" in again.text
    assert "<h1>Roll back to version 2?</h1>" in again.text  # shown what it does now

    listing = client.get("/admin/versions")
    exported = client.get("/admin/versions/2/export").text.replace("\n", "\r\n")
    bad = client.post(
        "/admin/versions/import",
        data={"csrf": csrf_of(listing.text), "note": "bad"},
        files=[("files", ("bad.yaml", b"agreements:\n  - id: x\n", "application/yaml"))],
    )
    assert bad.status_code == 422
    assert "bad.yaml, line 2" in bad.text
    shown = client.post(
        "/admin/versions/import",
        data={"csrf": csrf_of(listing.text), "note": "as 2"},
        files=[("files", ("v2.yaml", exported.encode(), "application/yaml"))],
    )
    assert shown.status_code == 200
    assert "<h1>Import 1 file as the whole new set?</h1>" in shown.text
    with transaction(second) as session:
        assert publishing.latest(session=session).id == 3  # type: ignore[union-attr]
    sent_back = re.search(r'name="text" value="([^"]+)"', shown.text)
    assert sent_back is not None
    form = {"csrf": csrf_of(shown.text), "confirm": confirm_of(shown.text),
            "name": "v2.yaml", "note": "as 2", "text": sent_back.group(1)}  # fmt: skip
    other = b64encode(f"{exported}# more\n".encode()).decode()
    forged = client.post("/admin/versions/import/confirm", data={**form, "text": other})
    assert forged.status_code == 409  # other files than those shown: shown again, not published
    good = client.post("/admin/versions/import/confirm", data=form, follow_redirects=False)
    assert good.status_code == 303 and good.headers["location"] == "/admin/versions/4"
    with transaction(second) as session:
        fourth = session.get(AgreementVersion, 4)
        assert fourth is not None and fourth.note == "as 2"
        assert fourth.files[0]["text"] == exported  # its line endings as uploaded


def confirm_of(page: str) -> str:
    found = re.search(r'name="confirm" value="([0-9a-f]{64})"', page)
    assert found, "the page has no confirmation"
    return found.group(1)


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


def invalid_set(files: int, per_file: int) -> list[tuple[str, str]]:
    """``files`` files of ``per_file`` agreements, each with a loan of 0 days."""
    return [
        (f"invalid-{f}.yaml", "agreements:\n" + "".join(
            f"  - {{id: a{f}-{n}, kind: bilateral, lender: rmit, borrowers_from: [monash], "
            "categories: [staff], terms: {max_items: 1, loan_days: 0}}\n"
            for n in range(per_file)
        ))
        for f in range(files)
    ]  # fmt: skip


@pytest.fixture
def live(settings: Settings, published: Engine) -> Iterator[str]:
    """The hub served by uvicorn on 127.0.0.1, for requests at the same time, taking bodies
    up to 32 MiB on the administrators' routes (HUB_MAX_ADMIN_BODY_BYTES)."""
    port = free_port()
    roomy = settings.model_copy(update={"max_admin_body_bytes": 32 * 2**20})
    server = uvicorn.Server(
        uvicorn.Config(create_app(roomy), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_hub_answers_while_a_large_invalid_set_is_validated(
    live: str, add_admin: AddAdmin
) -> None:
    """A 12 MB set of 100,000 invalid agreements, imported from the versions page: its
    validation runs in a thread of its own, so a load balancer's health check (1 s) passes
    throughout, and the page lists the first 100 problems and counts the rest."""
    added = add_admin("boss@caval.example", None)
    browser = httpx.Client(base_url=live, timeout=60)
    form = browser.get("/admin/login")
    login = {"csrf": csrf_of(form.text), "email": added.account.email, "password": added.password}
    signed = browser.post("/admin/login", data=login)
    assert signed.status_code == 303
    csrf = csrf_of(browser.get("/admin/versions").text)
    files = invalid_set(files=25, per_file=4_000)
    answer: list[httpx.Response] = []

    def import_files() -> None:
        upload = [("files", (name, text.encode(), "application/yaml")) for name, text in files]
        answer.append(browser.post("/admin/versions/import", data={"csrf": csrf}, files=upload))

    importing = threading.Thread(target=import_files)
    started = time.monotonic()
    importing.start()
    waits = []
    with httpx.Client(base_url=live, timeout=30) as balancer:
        while importing.is_alive():
            asked = time.monotonic()
            assert balancer.get("/healthz").status_code == 200
            waits.append(time.monotonic() - asked)
            time.sleep(0.05)
    took = time.monotonic() - started
    importing.join()
    browser.close()
    print(f"import {took:.2f} s; /healthz {len(waits)} times, at most {max(waits):.3f} s")
    assert took > 1, "too quick to show anything"
    # validated in the request, the import held every /healthz for the whole 17 s it took; in a
    # thread of its own, the parser's and the collector's pauses stay well under a second, also
    # on two cores busy with other tests
    assert len(waits) > 5 and max(waits) < 1.0, (took, max(waits), len(waits))
    (page,) = answer
    assert page.status_code == 422
    assert "and 99,900 more problems, not listed" in page.text
