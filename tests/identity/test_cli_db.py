"""``hub db upgrade``, ``hub agreements load``, ``explain`` from the database, ``audit verify``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import policies

pytestmark = pytest.mark.db

EXAMPLES = Path(policies.__file__).parent / "examples"
HUB = shutil.which("hub", path=str(Path(sys.executable).parent)) or "hub"
Hub = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def hub(database_url: str) -> Hub:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HUB_DATABASE_URL": database_url}
        return subprocess.run([HUB, *args], capture_output=True, text=True, check=False, env=env)

    return run


def test_publish_then_explain_from_the_database(hub: Hub, database_url: str) -> None:
    nothing = hub(
        "agreements", "explain", "--lender", "monash", "--home", "rmit", "--category", "staff"
    )
    if database_url.startswith("postgresql"):
        assert nothing.returncode == 1
        assert "run `hub db upgrade` first" in nothing.stderr
        assert hub("db", "upgrade").stdout == "Upgraded from (empty) to 0001.\n"
        assert hub("db", "upgrade").stdout == "Already at revision 0001.\n"
        nothing = hub(
            "agreements", "explain", "--lender", "monash", "--home", "rmit", "--category", "staff"
        )
    assert nothing.returncode == 1
    assert "Nothing is published yet" in nothing.stderr

    loaded = hub("agreements", "load", str(EXAMPLES), "--note", "first")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout == "Published version 1: 7 libraries, 10 agreements from 4 files.\n"
    again = hub("agreements", "load", str(EXAMPLES))
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


def test_an_invalid_set_is_not_published(hub: Hub, database_url: str, tmp_path: Path) -> None:
    if database_url.startswith("postgresql"):
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
