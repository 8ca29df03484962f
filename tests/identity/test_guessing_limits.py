"""PIN guessing limits: per card, per address, in windows, and under a burst of parallel guesses."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session

from identity.security import guessing_limits
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import LoginAttempt, utcnow

pytestmark = pytest.mark.db

DEFAULTS = guessing_limits.Limits.parse(Settings().guesses_per_card, Settings().guesses_per_address)
KEY = guessing_limits.card_key("secret", "rmit", "21110000000001")


def fail(engine: Engine, *, key: str = KEY, address: str = "192.0.2.1", at: object = None) -> None:
    attempt = guessing_limits.begin(
        engine=engine,
        key=key,
        address=address,
        limits=DEFAULTS,
        now=at,  # type: ignore[arg-type]
    )
    guessing_limits.finish(engine=engine, attempt=attempt, success=False)


def test_five_failures_then_wait_out_the_window(engine: Engine) -> None:
    start = utcnow()
    for i in range(5):
        fail(engine, at=start + timedelta(minutes=i))
    with pytest.raises(guessing_limits.TooManyAttempts) as refused:
        fail(engine, at=start + timedelta(minutes=5))
    assert refused.value.retry_after == 600  # the first failure leaves the 15-minute window
    fail(engine, at=start + timedelta(minutes=15, seconds=1))  # allowed again


def test_a_success_starts_the_count_again(engine: Engine) -> None:
    start = utcnow()
    for i in range(4):
        fail(engine, at=start + timedelta(seconds=i))
    ok = guessing_limits.begin(
        engine=engine,
        key=KEY,
        address="192.0.2.1",
        limits=DEFAULTS,
        now=start + timedelta(seconds=5),
    )
    guessing_limits.finish(engine=engine, attempt=ok, success=True)
    for i in range(5):
        fail(engine, at=start + timedelta(seconds=10 + i))
    with pytest.raises(guessing_limits.TooManyAttempts):
        fail(engine, at=start + timedelta(seconds=20))


def test_an_unfinished_attempt_counts_as_a_failure(engine: Engine) -> None:
    now = utcnow()
    for _ in range(5):
        guessing_limits.begin(engine=engine, key=KEY, address="192.0.2.1", limits=DEFAULTS, now=now)
    with pytest.raises(guessing_limits.TooManyAttempts):
        guessing_limits.begin(engine=engine, key=KEY, address="192.0.2.1", limits=DEFAULTS, now=now)


def test_one_address_guessing_many_cards_is_limited_too(engine: Engine) -> None:
    now = utcnow()
    for i in range(30):
        fail(engine, key=guessing_limits.card_key("secret", "rmit", f"2111{i:010d}"), at=now)
    with pytest.raises(guessing_limits.TooManyAttempts):
        fail(engine, key=guessing_limits.card_key("secret", "rmit", "21119999999999"), at=now)
    fail(
        engine,
        key=guessing_limits.card_key("secret", "rmit", "21119999999999"),
        address="198.51.100.7",
        at=now,
    )


def test_a_day_of_guessing_as_fast_as_allowed_gets_20_tries(engine: Engine) -> None:
    start, accepted = utcnow(), 0
    for step in range(24 * 12):  # every five minutes for a day
        for _ in range(10):
            try:
                fail(engine, at=start + timedelta(minutes=5 * step))
                accepted += 1
            except guessing_limits.TooManyAttempts:
                break
    assert accepted == 20  # so 5,000 guesses (half of 10,000 PINs) take 250 days


def test_a_burst_of_parallel_guesses_gets_exactly_five_through(engine: Engine) -> None:
    results: list[str] = []
    barrier = threading.Barrier(16)

    def guess() -> None:
        barrier.wait()
        try:
            guessing_limits.begin(engine=engine, key=KEY, address="192.0.2.1", limits=DEFAULTS)
            results.append("through")
        except guessing_limits.TooManyAttempts:
            results.append("refused")

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["refused"] * 11 + ["through"] * 5


def test_no_card_number_is_stored(engine: Engine) -> None:
    fail(engine)
    with engine.connect() as connection:
        dump = str(connection.execute(text("SELECT * FROM login_attempt")).all())
    assert "21110000000001" not in dump and KEY in dump
    assert guessing_limits.card_key("other secret", "rmit", "21110000000001") != KEY


@pytest.mark.parametrize("text_", ["5", "5/0", "0/900", "five/900", "5/900,"])
def test_limits_are_parsed_strictly(text_: str) -> None:
    with pytest.raises(ValueError, match="written like 5/900"):
        guessing_limits.Limits.parse(text_, "30/900")


def test_an_address_cannot_reset_its_count_with_a_card_of_its_own(engine: Engine) -> None:
    now, own = utcnow(), guessing_limits.card_key("secret", "rmit", "21110000000099")
    accepted = 0
    for i in range(60):
        if i % 5 == 4:  # sign in with a card of one's own, while the address is still allowed
            try:
                ok = guessing_limits.begin(
                    engine=engine, key=own, address="203.0.113.9", limits=DEFAULTS, now=now
                )
            except guessing_limits.TooManyAttempts:
                continue
            guessing_limits.finish(engine=engine, attempt=ok, success=True)
            continue
        try:
            fail(
                engine,
                key=guessing_limits.card_key("secret", "rmit", f"2111{i:010d}"),
                address="203.0.113.9",
                at=now,
            )
            accepted += 1
        except guessing_limits.TooManyAttempts:
            pass
    assert accepted <= 30


def test_ipv6_clients_are_counted_by_their_64(engine: Engine) -> None:
    now = utcnow()
    for i in range(30):
        fail(
            engine,
            key=guessing_limits.card_key("s", "rmit", f"2111{i:010d}"),
            address=f"2001:db8:1:2::{i:x}",
            at=now,
        )
    with pytest.raises(guessing_limits.TooManyAttempts):
        fail(
            engine,
            key=guessing_limits.card_key("s", "rmit", "21119999999999"),
            address="2001:db8:1:2:ffff::1",
            at=now,
        )
    assert guessing_limits.client_network("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert guessing_limits.client_network("192.0.2.1") == "192.0.2.1"


def test_unanswered_attempts_count_against_the_address_but_not_the_card(engine: Engine) -> None:
    """An attempt the home library did not answer made no guess: the patron's card is not
    locked out by their library's outage, but one address cannot send the hub's home libraries
    attempts without end (30 per 15 minutes by default)."""
    now = utcnow()
    for i in range(30):
        attempt = guessing_limits.begin(
            engine=engine,
            key=guessing_limits.card_key("secret", "sipu", f"dj\u00e9{i}"),
            address="192.0.2.66",
            limits=DEFAULTS,
            now=now,
        )
        guessing_limits.finish(engine=engine, attempt=attempt, success=False, unanswered=True)
    with pytest.raises(guessing_limits.TooManyAttempts):
        guessing_limits.begin(
            engine=engine, key=KEY, address="192.0.2.66", limits=DEFAULTS, now=now
        )
    for _ in range(10):  # the card of an unanswered attempt, from elsewhere: never limited
        attempt = guessing_limits.begin(
            engine=engine, key=KEY, address="198.51.100.66", limits=DEFAULTS, now=now
        )
        guessing_limits.finish(engine=engine, attempt=attempt, success=False, unanswered=True)
    guessing_limits.begin(engine=engine, key=KEY, address="203.0.113.66", limits=DEFAULTS, now=now)


def test_one_query_for_the_counts_says_what_a_query_per_window_says(engine: Engine) -> None:
    """``waits`` (one query) against ``waits_per_window`` (its readable twin), over random
    histories of one card and one address: failures, successes, unfinished and unanswered
    attempts, some at the very same moment, before and after the moment asked about."""
    limits = guessing_limits.Limits.parse("2/60,4/600", "3/120,6/900")
    start = utcnow()
    rng = random.Random(15)
    other = guessing_limits.card_key("secret", "rmit", "21110000000002")
    moments = [start + timedelta(seconds=rng.randrange(-1200, 1200)) for _ in range(40)]
    with transaction(engine) as session:
        for _ in range(120):
            session.add(
                LoginAttempt(
                    card_key=rng.choice([KEY, KEY, other]),
                    address=rng.choice(["192.0.2.1", "192.0.2.1", "198.51.100.7"]),
                    at=rng.choice(moments),
                    outcome=rng.choice(["failure", "failure", "success", "pending", "unanswered"]),
                )
            )
    full = 0
    with Session(engine) as session:
        for now in [*moments, *(start + timedelta(seconds=s) for s in range(-1300, 1300, 7))]:
            asked = {"key": KEY, "address": "192.0.2.1", "now": now, "limits": limits}
            expected = guessing_limits.waits_per_window(session, **asked)  # type: ignore[arg-type]
            assert guessing_limits.waits(session, **asked) == expected, now  # type: ignore[arg-type]
            full += bool(expected)
    assert 0 < full  # some windows were full, so the waits were compared too


STARTS = guessing_limits.windows("3/600,5/86400")


def test_sign_ins_started_at_identity_providers_are_limited_apart_from_pins(
    engine: Engine,
) -> None:
    """A burst of starts from one address gets exactly its window's worth through; PIN
    failures and starts do not count against each other; the day's window holds after the
    first has passed."""
    results: list[str] = []
    barrier = threading.Barrier(12)

    def start() -> None:
        barrier.wait()
        try:
            guessing_limits.start(engine=engine, address="192.0.2.1", per_address=STARTS)
            results.append("through")
        except guessing_limits.TooManyAttempts:
            results.append("refused")

    threads = [threading.Thread(target=start) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["refused"] * 9 + ["through"] * 3

    fail(engine)  # a PIN attempt from the same address goes ahead
    for _ in range(29):  # and a full window of PIN failures (30 in all) ...
        fail(engine, key=guessing_limits.card_key("secret", "rmit", f"2111{random.random()}"))
    later = utcnow() + timedelta(minutes=11)  # ... leaves the starts' windows as they were
    guessing_limits.start(engine=engine, address="192.0.2.1", per_address=STARTS, now=later)
    guessing_limits.start(engine=engine, address="192.0.2.1", per_address=STARTS, now=later)
    with pytest.raises(guessing_limits.TooManyAttempts) as refused:
        guessing_limits.start(engine=engine, address="192.0.2.1", per_address=STARTS, now=later)
    assert 23 * 3600 < refused.value.retry_after <= 86400  # the day's window is full
    guessing_limits.start(engine=engine, address="192.0.2.2", per_address=STARTS, now=later)
