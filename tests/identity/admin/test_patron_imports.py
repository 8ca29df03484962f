"""Importing patrons from a CSV upload on ``/admin/patrons``: the upload starts a job and the
browser is sent to its page, which shows how far it has come (refreshing itself while it runs)
and then its outcome; all or nothing; only the library's administrators (and the consortium's)
see it; a job whose process ended is shown as failed; a stopping hub saves nothing."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from identity.patrons import import_jobs
from identity.store.database import transaction
from identity.store.models import AuditEvent, PatronImport, RegistryPatron, utcnow
from tests.identity.admin.conftest import AddAdmin, csrf_of, sign_in

REFRESH = '<noscript><meta http-equiv="refresh" content="2"></noscript>'
PROGRESS = re.compile(r'<progress id="progress" max="(\d+)" value="(\d+)"')


def patrons_csv(rows: int, *, bad_line: int = 0) -> str:
    """``rows`` Monash patrons with plain PINs (each hashed on import); the row on ``bad_line``
    (the header is line 1) has a category Monash does not have."""
    lines = ["card,name,category,pin"]
    for n in range(rows):
        category = "UNDERGRAD" if n + 2 == bad_line else "UGRD"
        lines.append(f"2222{n:010d},Patron {n},{category},{1000 + n}")
    return "\n".join(lines) + "\n"


def upload(client: TestClient, csrf: str, text: str, name: str = "patrons.csv") -> str:
    """Upload ``text``; the address of the import's page."""
    answer = client.post("/admin/patrons", data={"csrf": csrf},
                         files={"file": (name, text, "text/csv")},
                         follow_redirects=False)  # fmt: skip
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert re.fullmatch(r"/admin/patrons/imports/[A-Za-z0-9_-]{43}", location)
    return str(location)


def watch(client: TestClient, url: str, timeout_s: float = 120) -> list[str]:
    """The import's page as a browser sees it, fetched again and again until it no longer
    refreshes itself (finished); every version seen, the finished one last."""
    seen = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page = client.get(url)
        assert page.status_code == 200, page.text
        seen.append(page.text)
        if REFRESH not in page.text:
            return seen
        time.sleep(0.02)
    raise AssertionError(f"the import was still running after {timeout_s} s")


def signed_in(client: TestClient, add_admin: AddAdmin, email: str, library: str | None) -> str:
    added = add_admin(email, library)
    assert sign_in(client, email, added.password).status_code == 303
    return csrf_of(client.get("/admin/patrons").text)


@pytest.mark.usefixtures("paced_hashes")  # hashing takes long enough to be seen midway
def test_a_large_file_shows_its_progress_and_then_how_many_were_imported(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    client.app.state.imports.step = 5  # type: ignore[attr-defined]
    csrf = signed_in(client, add_admin, "ann@monash.example", "monash")
    seen = watch(client, upload(client, csrf, patrons_csv(40), "big.csv"))
    running = [page for page in seen if REFRESH in page]
    assert running, "the first page was already the finished one"
    midway = [page for page in running if "Hashing the PINs" in page]
    values = {int(PROGRESS.search(page).group(2)) for page in midway}  # type: ignore[union-attr]
    assert values & set(range(5, 40, 5)), values  # seen between the start and the end
    done = min(values - {0})
    assert f"Hashing the PINs: {done} of 40 rows ready." in "\n".join(midway)
    assert 'role="status" aria-live="polite"' in running[-1]
    finished = seen[-1]
    assert "Imported 40 patrons from big.csv into monash: 40 new, 0 updated." in finished
    assert PROGRESS.search(finished).groups() == ("40", "40")  # type: ignore[union-attr]
    with Session(published) as session:
        assert len(session.exec(select(RegistryPatron)).all()) == 40
        event = session.exec(select(AuditEvent).where(AuditEvent.action == "patrons.import")).one()
    assert (event.actor, event.subject) == ("admin:ann@monash.example", "library:monash")
    assert event.after == {"added": 40, "updated": 0, "rejected": 0}


def test_a_bad_row_anywhere_refuses_the_whole_file_by_its_line(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    client.app.state.imports.step = 50  # type: ignore[attr-defined]
    csrf = signed_in(client, add_admin, "ann@monash.example", "monash")
    finished = watch(client, upload(client, csrf, patrons_csv(400, bad_line=377)))[-1]
    assert "1 row of patrons.csv has a problem; nothing was imported." in finished
    assert "Refused: 400 of 400 rows checked, nothing imported." in finished
    assert "Line 377: category &#39;UNDERGRAD&#39; is not in monash&#39;s category map" in finished
    with Session(published) as session:
        assert session.exec(select(RegistryPatron)).all() == []
        imports = select(AuditEvent).where(AuditEvent.action == "patrons.import")
        assert session.exec(imports).all() == []

    not_csv = client.post("/admin/patrons", data={"csrf": csrf},
                          files={"file": ("p.csv", "card,name\n1,A\n", "text/csv")})  # fmt: skip
    assert not_csv.status_code == 422  # refused at once, no job
    assert "p.csv: missing column(s): category" in not_csv.text


def test_only_the_librarys_and_the_consortiums_administrators_see_an_import(
    client: TestClient, add_admin: AddAdmin
) -> None:
    csrf = signed_in(client, add_admin, "ann@monash.example", "monash")
    url = upload(client, csrf, patrons_csv(2))
    watch(client, url)
    listed = client.get("/admin/patrons").text
    assert f'<a href="{url}">patrons.csv</a></td>\n      <td>monash</td>' in listed
    assert "imported 2</td>" in listed
    client.cookies.clear()
    signed_in(client, add_admin, "rae@rmit.example", "rmit")
    assert url not in client.get("/admin/patrons").text
    refused = client.get(url)
    assert refused.status_code == 403
    assert "Library monash is not yours" in refused.text
    assert "Patron 1" not in refused.text and "patrons.csv" not in refused.text
    assert client.get("/admin/patrons/imports/" + "x" * 43).status_code == 404
    client.cookies.clear()
    signed_in(client, add_admin, "root@consortium.example", None)
    assert "Imported 2 patrons from patrons.csv into monash" in client.get(url).text


def test_one_import_a_library_at_a_time_and_one_whose_process_ended_is_shown_failed(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    csrf = signed_in(client, add_admin, "ann@monash.example", "monash")
    job = "j" * 43
    row = PatronImport(id=job, library="monash", admin="admin:ann@monash.example",
                       file="old.csv", state="importing", total=50_000, done=12_000)  # fmt: skip
    with transaction(published) as session:
        session.add(row)
    page = client.get(f"/admin/patrons/imports/{job}")
    assert REFRESH in page.text
    assert "Hashing the PINs: 12,000 of 50,000 rows ready." in page.text
    second = client.post("/admin/patrons", data={"csrf": csrf},
                         files={"file": ("p.csv", patrons_csv(2), "text/csv")})  # fmt: skip
    assert second.status_code == 409
    assert "An import into monash is running" in second.text
    assert f'href="/admin/patrons/imports/{job}"' in second.text

    with transaction(published) as session:
        stalled = session.get(PatronImport, job)
        assert stalled is not None
        stalled.updated_at = utcnow() - import_jobs.STALLED - timedelta(seconds=1)
        session.add(stalled)
    page = client.get(f"/admin/patrons/imports/{job}")
    assert REFRESH not in page.text
    assert "The import stopped without finishing (the hub process running it ended)" in page.text
    assert "Imported 2 patrons" in watch(client, upload(client, csrf, patrons_csv(2)))[-1]


def test_a_hub_stopping_during_an_import_saves_nothing(
    client: TestClient, add_admin: AddAdmin, published: Engine
) -> None:
    runner = client.app.state.imports  # type: ignore[attr-defined]
    runner.step = 1
    csrf = signed_in(client, add_admin, "ann@monash.example", "monash")
    url = upload(client, csrf, patrons_csv(200))
    runner.close()
    finished = watch(client, url)[-1]
    assert "The hub was stopped during the import; nothing was imported." in finished
    with Session(published) as session:
        assert session.exec(select(RegistryPatron)).all() == []
        states = session.exec(select(PatronImport.state).order_by(col(PatronImport.started_at)))
        assert list(states) == ["failed"]
