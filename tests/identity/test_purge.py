"""Expired codes, tokens, answered tickets and old sign-in attempts are forgotten (they hold
card numbers or traces of them), by ``hub db purge`` and when the app starts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from identity import retention
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import (
    AuthorizationCode,
    EligibilityLookup,
    LoginAttempt,
    OAuthToken,
    PairwiseSubject,
    PatronImport,
    SpentTicket,
    utcnow,
)
from tests.conftest import Hub

pytestmark = pytest.mark.db


def code(name: str, expires_in: timedelta) -> AuthorizationCode:
    return AuthorizationCode(
        code_sha256=name, client_id="c", redirect_uri="https://x/cb", scope="openid",
        code_challenge="x" * 43, code_challenge_method="S256", patron={}, family="f",
        auth_time=0, expires_at=utcnow() + expires_in,
    )  # fmt: skip


def token(name: str, expires_in: timedelta, refresh_in: timedelta | None) -> OAuthToken:
    now = utcnow()
    return OAuthToken(
        jti=name, family="f", client_id="c", scope="openid", subject="s",
        access_sha256=name, refresh_sha256=None if refresh_in is None else f"r{name}",
        issued_at=now, expires_at=now + expires_in,
        refresh_expires_at=None if refresh_in is None else now + refresh_in,
    )  # fmt: skip


def count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_hub_db_purge_forgets_only_what_has_expired(engine: Engine, hub: Hub) -> None:
    old, soon = timedelta(days=-3), timedelta(minutes=5)
    with transaction(engine) as session:
        session.add_all([code("old", old), code("live", soon)])
        session.add_all(
            [
                token("old", old, None),
                token("old-refresh-alive", old, soon),  # its refresh token is still good
                token("old-refresh-old", old, old),
                token("live", soon, soon),
            ]
        )
        session.add_all(
            [SpentTicket(ticket="t1", at=utcnow() + old), SpentTicket(ticket="t2", at=utcnow())]
        )
        session.add_all(
            [LoginAttempt(card_key="k", address="a", at=utcnow() + old, outcome="failure"),
             LoginAttempt(card_key="k", address="a", at=utcnow(), outcome="failure")]
        )  # fmt: skip
    result = hub("db", "purge")
    assert result.returncode == 0, result.stderr
    assert "1 authorization codes, 2 tokens" in result.stdout
    assert (count(engine, AuthorizationCode), count(engine, OAuthToken)) == (1, 2)
    assert (count(engine, SpentTicket), count(engine, LoginAttempt)) == (1, 1)
    with Session(engine) as session:
        kept = set(session.exec(select(OAuthToken.jti)).all())
    assert kept == {"old-refresh-alive", "live"}


def lookup(days_ago: float) -> EligibilityLookup:
    return EligibilityLookup(
        at=utcnow() - timedelta(days=days_ago), client_id="c", lender="monash",
        home_library="rmit", card="21110000000001", by="card", answer="eligible",
    )  # fmt: skip


def attempt(days_ago: float) -> LoginAttempt:
    at = utcnow() - timedelta(days=days_ago)
    return LoginAttempt(card_key="k", address="a", at=at, outcome="failure")


def test_lookups_and_sign_in_attempts_are_kept_as_long_as_the_settings_say(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        session.add_all([lookup(31), lookup(29), lookup(0)])
        session.add_all([attempt(8), attempt(6), attempt(0)])
    settings = Settings(database_url="sqlite://", retain_lookups_days=30,
                        retain_signin_attempts_days=7)  # fmt: skip
    with transaction(engine) as session:
        counts = retention.purge(session=session, settings=settings)
    assert (counts["eligibility lookups"], counts["sign-in attempts"]) == (1, 1)
    assert (count(engine, EligibilityLookup), count(engine, LoginAttempt)) == (2, 2)

    # never shorter than the longest guessing window: the limits could not hold otherwise
    settings = Settings(database_url="sqlite://", retain_signin_attempts_days=1,
                        guesses_per_card="5/900,20/432000")  # fmt: skip
    assert retention.kept_for(settings).signin_attempts == timedelta(days=5)
    with transaction(engine) as session:
        counts = retention.purge(session=session, settings=settings)
    assert counts["sign-in attempts"] == 1  # 6 days old; the one of today stays
    assert count(engine, LoginAttempt) == 1


def test_lookups_are_kept_six_months_by_default(engine: Engine) -> None:
    with transaction(engine) as session:
        session.add_all([lookup(181), lookup(179)])
    with transaction(engine) as session:
        retention.purge(session=session, settings=Settings(database_url="sqlite://"))
    assert count(engine, EligibilityLookup) == 1


def pairwise(sub: str, first_days_ago: float, last_days_ago: float | None) -> PairwiseSubject:
    now = utcnow()
    last = None if last_days_ago is None else now - timedelta(days=last_days_ago)
    return PairwiseSubject(
        lender="monash", sub=sub, home_library="rmit", card="21110000000001", scope="openid",
        first_seen=now - timedelta(days=first_days_ago), last_seen=last,
    )  # fmt: skip


def test_a_lenders_pairwise_subject_is_forgotten_once_the_patron_stops_signing_in_there(
    engine: Engine,
) -> None:
    with transaction(engine) as session:
        session.add_all([
            pairwise("signed-in-last-week", 900, 7),
            pairwise("not-since-last-year", 900, 401),
            pairwise("kept-before-last-seen-was", 401, None),
            pairwise("new", 0, 0),
        ])  # fmt: skip
    with transaction(engine) as session:
        counts = retention.purge(session=session, settings=Settings(database_url="sqlite://"))
    assert counts["pairwise subjects"] == 2  # 400 days after the latest sign-in, by default
    with Session(engine) as session:
        kept = sorted(row.sub for row in session.exec(select(PairwiseSubject)))
    assert kept == ["new", "signed-in-last-week"]

    # never shorter than a refresh token lives: a lender holding one may still ask by sub
    settings = Settings(database_url="sqlite://", retain_pairwise_days=1,
                        refresh_lifetime_s=30 * 86400)  # fmt: skip
    assert retention.kept_for(settings).pairwise == timedelta(days=31)
    with transaction(engine) as session:
        session.add_all([pairwise("twenty-days-ago", 900, 20), pairwise("forty-days-ago", 900, 40)])
    with transaction(engine) as session:
        assert retention.purge(session=session, settings=settings)["pairwise subjects"] == 1
    with Session(engine) as session:
        assert session.get(PairwiseSubject, ("monash", "twenty-days-ago")) is not None


def test_a_patron_import_is_forgotten_after_30_days(engine: Engine) -> None:
    """Its problems name cards."""

    def started(name: str, days_ago: float) -> PatronImport:
        return PatronImport(id=name, library="monash", admin="admin:a@x", file="p.csv",
                            state="refused", problems=[[2, "card 2222 is also on line 3"]],
                            started_at=utcnow() - timedelta(days=days_ago))  # fmt: skip

    with transaction(engine) as session:
        session.add_all([started("old", 30.1), started("recent", 29.9)])
    with transaction(engine) as session:
        counts = retention.purge(session=session, settings=Settings(database_url="sqlite://"))
    assert counts["patron imports"] == 1
    with Session(engine) as session:
        assert session.exec(select(PatronImport.id)).all() == ["recent"]
