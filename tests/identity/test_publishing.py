"""Publishing agreement sets: validated, versioned, audited, all or nothing."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

import policies
from identity.agreements import publishing
from identity.store.database import transaction
from identity.store.models import AgreementVersion, AuditEvent
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.db

SOURCES = policies.read(EXAMPLES)


def counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        return (
            len(session.exec(select(AgreementVersion)).all()),
            len(session.exec(select(AuditEvent)).all()),
        )


def test_publish_then_read_back_the_set_in_force(engine: Engine) -> None:
    with transaction(engine) as session:
        version, new = publishing.publish(session=session, sources=SOURCES, actor="alice")
        assert new and version.id == 1
    with Session(engine) as session:
        found = publishing.in_force(session=session)
        assert found is not None
        version, agreements = found
        event = session.exec(select(AuditEvent)).one()
    assert (version.libraries, version.agreements, version.published_by) == (7, 10, "alice")
    request = policies.BorrowRequest(
        lender="monash", home_library="rmit", category="staff", on=date(2026, 11, 22)
    )
    assert agreements.decide(request).agreements == ("monash-rmit-staff",)
    assert (event.actor, event.action, event.subject) == (
        "alice",
        "agreements.publish",
        "agreement-version:1",
    )
    assert event.before is None and event.after is not None and event.after["agreements"] == 10


def test_the_same_files_again_are_not_a_new_version(engine: Engine) -> None:
    for _ in range(2):
        with transaction(engine) as session:
            publishing.publish(session=session, sources=SOURCES, actor="alice")
    assert counts(engine) == (1, 1)


def test_a_changed_set_is_a_new_version_with_before_and_after(engine: Engine) -> None:
    with transaction(engine) as session:
        publishing.publish(session=session, sources=SOURCES, actor="alice")
    smaller = [s for s in SOURCES if not s[0].endswith("suspensions.yaml")]
    with transaction(engine) as session:
        version, new = publishing.publish(
            session=session, sources=smaller, actor="bob", note="lift"
        )
        assert new and version.id == 2
    with Session(engine) as session:
        last = session.exec(select(AuditEvent).where(AuditEvent.actor == "bob")).one()
    assert last.before is not None and last.after is not None
    assert (last.before["agreements"], last.after["agreements"], last.after["note"]) == (
        10,
        8,
        "lift",
    )


def test_an_invalid_set_publishes_nothing(engine: Engine) -> None:
    with transaction(engine) as session:
        publishing.publish(session=session, sources=SOURCES, actor="alice")
    broken = [*SOURCES, ("extra.yaml", "agreements:\n  - id: x\n    kind: bilateral\n")]
    with pytest.raises(policies.InvalidAgreements), transaction(engine) as session:
        publishing.publish(session=session, sources=broken, actor="mallory")
    assert counts(engine) == (1, 1)
    with Session(engine) as session:
        latest = publishing.latest(session=session)
        assert latest is not None and latest.published_by == "alice"


def test_concurrent_publishers_each_record_what_they_replaced(engine: Engine) -> None:
    sets = [
        [
            *SOURCES,
            (
                f"extra{i}.yaml",
                f"agreements:\n  - id: s{i}\n    kind: suspension\n"
                f"    lender: rmit\n    borrowers_from: [vu]\n    reason: r{i}\n",
            ),
        ]
        for i in range(6)
    ]

    def publish(sources: list[tuple[str, str]]) -> None:
        with transaction(engine) as session:
            publishing.publish(session=session, sources=sources, actor="racer")

    threads = [threading.Thread(target=publish, args=(s,)) for s in sets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
    befores = [e.before["version"] if e.before else None for e in events]
    afters = [e.after["version"] for e in events if e.after]
    assert afters == [1, 2, 3, 4, 5, 6]
    assert befores == [None, 1, 2, 3, 4, 5]
