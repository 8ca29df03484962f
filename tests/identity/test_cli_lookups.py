"""``hub lookups``, run as a user runs it: a library nobody knows is bad usage, and one removed
from the set keeps its questions."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

import policies
from identity.store.database import transaction
from identity.store.models import EligibilityLookup
from tests.conftest import Hub

EXAMPLES = Path(policies.__file__).parent / "examples"


def test_an_unknown_home_library_is_bad_usage(hub: Hub, engine: Engine) -> None:
    assert hub("agreements", "load", str(EXAMPLES)).returncode == 0
    known = hub("lookups", "--home-library", "rmit")
    assert known.returncode == 0, known.stderr
    assert "0 question(s) about rmit's patrons." in known.stderr
    unknown = hub("lookups", "--home-library", "nosuch")
    assert unknown.returncode == 2
    assert "unknown library 'nosuch'" in unknown.stderr and "rmit" in unknown.stderr
    assert unknown.stdout == ""

    with transaction(engine) as session:  # asked about, then removed from the set
        session.add(EligibilityLookup(at=datetime.now(UTC), client_id="demo-monash-partner",
                                      lender="monash", home_library="gone", card="1",
                                      by="card", answer="eligible"))  # fmt: skip
    removed = hub("lookups", "--home-library", "gone")
    assert removed.returncode == 0, removed.stderr
    assert "1 question(s) about gone's patrons." in removed.stderr
