"""The eligibility API's records (``identity.eligibility.records``): every question counted
against its client's rate and recorded, in a commit made before its answer leaves, several
requests at a time; the limit exact across processes sharing the database."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from identity.eligibility.records import write
from identity.errors import RateLimited
from identity.settings import Settings
from identity.store.database import make_engine
from identity.store.models import EligibilityLookup, RateWindow
from tests.conftest import TLS
from tests.identity.limit_processes import CLIENT, ask_until_full, ticket
from tests.identity.oauth.conftest import GOOD, LiveHub

pytestmark = pytest.mark.db


def recorded(engine: Engine) -> list[str | None]:
    with Session(engine) as session:
        rows = session.exec(select(EligibilityLookup).order_by(col(EligibilityLookup.id)))
        return [row.card for row in rows]


def counted(engine: Engine, client: str = CLIENT) -> int:
    with Session(engine) as session:
        return sum(row.count for row in session.exec(select(RateWindow)) if row.client_id == client)


def test_requests_that_do_not_fit_are_refused_in_the_order_they_came(engine: Engine) -> None:
    outcomes = write(engine, [ticket("a1", "a2", "a3", allowed=4), ticket("b1", "b2", allowed=4),
                              ticket("c1", allowed=4)])  # fmt: skip
    assert [type(o).__name__ for o in outcomes] == ["NoneType", "RateLimited", "NoneType"]
    refused = outcomes[1]
    assert isinstance(refused, RateLimited) and (refused.retry_after or 0) >= 1
    assert recorded(engine) == ["a1", "a2", "a3", "c1"]  # nothing of the refused request
    assert counted(engine) == 4
    [more] = write(engine, [ticket("d1", allowed=4)])
    assert isinstance(more, RateLimited) and more.status == 429
    assert [o is None for o in write(engine, [ticket("x", allowed=9, client="other")])] == [True]


def test_a_request_whose_record_fails_fails_alone(engine: Engine) -> None:
    """A record the database refuses (here a trigger; a real one could be any constraint)
    fails its own request only: the others of its group are counted and recorded."""
    with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON eligibility_lookup "
                "WHEN NEW.card = 'poison' BEGIN SELECT RAISE(ABORT, 'poison'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.card = 'poison' THEN RAISE EXCEPTION 'poison'; END IF; RETURN NEW; "
                "END $$"
            )
            connection.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON eligibility_lookup "
                "FOR EACH ROW EXECUTE FUNCTION poison()"
            )
    outcomes = write(
        engine, [ticket("a", allowed=10), ticket("poison", allowed=10), ticket("b", allowed=10)]
    )
    assert outcomes[0] is None and outcomes[2] is None
    assert "poison" in str(outcomes[1])
    assert recorded(engine) == ["a", "b"]
    assert counted(engine) == 2


def test_the_limit_is_exact_across_processes(engine: Engine, database_url: str) -> None:
    allowed = 300
    spawn = get_context("spawn")
    with spawn.Manager() as manager, ProcessPoolExecutor(2, mp_context=spawn) as processes:
        start = manager.Barrier(2)
        asked: list[list[Any]] = [[database_url] * 2, [4, 4], [allowed] * 2, [start] * 2]
        got = list(processes.map(ask_until_full, *asked))
    assert sum(got) == allowed, got
    assert all(got), f"one process was never counted: {got}"
    assert counted(engine) == allowed
    assert len(recorded(engine)) == allowed


@pytest.fixture
def poisoned_commits(live_hub: LiveHub) -> Iterator[None]:
    """Every record refused: on PostgreSQL when its transaction commits (a deferred
    constraint trigger), on SQLite (which has none) when it is written."""
    with live_hub.engine.begin() as connection:
        if live_hub.engine.dialect.name == "sqlite":
            connection.exec_driver_sql(
                "CREATE TRIGGER refused BEFORE INSERT ON eligibility_lookup "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            connection.exec_driver_sql(
                "CREATE FUNCTION refused() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'refused at commit'; END $$"
            )
            connection.exec_driver_sql(
                "CREATE CONSTRAINT TRIGGER refused AFTER INSERT ON eligibility_lookup "
                "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refused()"
            )
    yield
    with live_hub.engine.begin() as connection:
        connection.exec_driver_sql(
            "DROP TRIGGER refused" + (" ON eligibility_lookup" if connection.dialect.name
                                      == "postgresql" else "")
        )  # fmt: skip


def ask(live_hub: LiveHub, token: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        f"{live_hub.issuer}/api/v1/eligibility", json=body,
        headers={"Authorization": f"Bearer {token}"}, timeout=30, verify=TLS,
    )  # fmt: skip


def test_no_answer_leaves_before_its_record_is_committed(
    live_hub: LiveHub, poisoned_commits: None
) -> None:
    token = live_hub.partner_token("monash")
    answer = ask(live_hub, token, {"home_library": "rmit", "card": GOOD})
    assert answer.status_code == 500, answer.text
    assert "eligible" not in answer.text
    assert recorded(live_hub.engine) == []
    assert counted(live_hub.engine) == 0  # nothing counted without its record


def test_questions_asked_together_are_each_recorded_when_answered(live_hub: LiveHub) -> None:
    """Sixteen partners' systems asking at once (their records written a few at a time):
    when each answer arrives, its record is there for another connection to read."""
    token = live_hub.partner_token("monash")
    reader = make_engine(Settings(database_url=live_hub.settings.database_url))
    missing: list[str] = []

    def one(n: int) -> int:
        card = f"2111{9000 + n:010d}"  # an rmit card number that rmit does not know
        answer = ask(live_hub, token, {"home_library": "rmit", "card": card})
        with reader.connect() as connection:
            found = connection.execute(
                text("SELECT answer FROM eligibility_lookup WHERE card = :card"), {"card": card}
            ).scalar_one_or_none()
        if found != "unknown-card":
            missing.append(card)
        return answer.status_code

    try:
        with ThreadPoolExecutor(16) as threads:
            statuses = list(threads.map(one, range(64)))
    finally:
        reader.dispose()
    assert statuses == [404] * 64
    assert missing == []
    assert counted(live_hub.engine) == 64
    assert json.loads(ask(live_hub, token, {"home_library": "rmit", "card": GOOD}).text)["eligible"]
