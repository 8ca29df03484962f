"""``hub db upgrade``, ``hub agreements load``, ``explain`` from the database, ``audit verify``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from identity.store import migrate
from identity.store.database import transaction
from identity.store.models import AgreementVersion
from tests.conftest import EXAMPLES, Hub, run_hub


@pytest.mark.db
def test_publish_then_explain_from_the_database(hub: Hub, database_url: str) -> None:
    explain = (
        "agreements",
        "explain",
        "--lender",
        "monash",
        "--home",
        "rmit",
        "--category",
        "staff",
    )
    nothing = hub(*explain)
    assert nothing.returncode == 1
    if database_url.startswith("postgresql"):
        assert "run `hub db upgrade` first" in nothing.stderr
    else:
        assert "There is no database at" in nothing.stderr
        assert not Path(database_url.removeprefix("sqlite:///")).exists()  # reading created none
    assert hub("db", "upgrade").stdout == f"Upgraded from (empty) to {migrate.head()}.\n"
    assert hub("db", "upgrade").stdout == f"Already at revision {migrate.head()}.\n"
    nothing = hub(*explain)
    assert nothing.returncode == 1
    assert "Nothing is published yet" in nothing.stderr

    loaded = hub("agreements", "load", str(EXAMPLES), "--note", "first")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == "Published version 1: 7 libraries, 10 agreements from 4 files.\n"
    files = sorted(str(p) for p in EXAMPLES.glob("*.yaml"))[::-1]
    again = hub("agreements", "load", *files)  # the same files, named and ordered otherwise
    assert again.stdout == "Unchanged: version 1 is already these files.\n"

    explained = hub(
        "agreements",
        "explain",
        "--lender",
        "monash",
        "--home",
        "rmit",
        "--ils-category",
        "UG",
        "--fines",
        "25.50",
        "--on",
        "2026-11-22",
        "--json",
    )
    assert explained.returncode == 0, explained.stderr
    answer = json.loads(explained.stdout)
    assert (answer["eligible"], answer["reasons"][0]["code"]) == (False, "fines_over_limit")

    verified = hub("audit", "verify")
    assert (verified.returncode, verified.stdout) == (0, "The audit log is intact.\n")


def test_an_invalid_set_is_not_published(hub: Hub, tmp_path: Path) -> None:
    hub("db", "upgrade")
    broken = tmp_path / "broken.yaml"
    broken.write_text("agreements:\n  - id: x\n    kind: bilateral\n    lender: nowhere\n")
    result = hub("agreements", "load", str(EXAMPLES), str(broken))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{broken}:2:5: agreement x: borrowers_from: missing")
    assert "nothing published" in result.stderr
    nothing = hub(
        "agreements", "explain", "--lender", "monash", "--home", "rmit", "--category", "staff"
    )
    assert "Nothing is published yet" in nothing.stderr


def test_a_published_set_that_no_longer_passes_is_reported(hub: Hub, engine: Engine) -> None:
    with transaction(engine) as session:
        session.add(
            AgreementVersion(
                published_by="an older hub",
                sha256="0" * 64,
                files=[{"name": "old.yaml", "text": "agreements:\n  - id: x\n    kind: gone\n"}],
                libraries=0,
                agreements=1,
            )
        )
    result = hub("agreements", "explain", "--lender", "a", "--home", "b", "--category", "c")
    assert result.returncode == 1
    assert result.stdout.startswith("old.yaml:2:5: agreement x: unknown kind 'gone'")
    assert "the published version 1 no longer passes the checks" in result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("bogus", "Cannot use the database 'bogus'"),
        ("postgresql://nobody:secret@127.0.0.1:1/x", "Cannot use the database postgresql"),
    ],
)
def test_an_unusable_database_is_a_sentence_not_a_traceback(url: str, message: str) -> None:
    for args in (("agreements", "load", str(EXAMPLES)), ("audit", "verify"), ("db", "upgrade")):
        result = run_hub(*args, env={"HUB_DATABASE_URL": url})
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(message)
        assert "Traceback" not in result.stderr and "secret" not in result.stderr
