"""Signing keys: rotation keeps tokens in flight verifiable; private halves stay encrypted."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import Engine, text
from sqlmodel import Session

from identity.agreements.publishing import InForce
from identity.oauth import signing_keys
from identity.oauth.server import HubServer
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import utcnow
from tests.conftest import SECRET, run_hub

pytestmark = pytest.mark.db

HOUR = timedelta(hours=1)


def rotate(engine: Engine) -> str:
    with transaction(engine) as session:
        return signing_keys.rotate(session=session, secret=SECRET, actor="t").kid


def sign(engine: Engine, claims: dict[str, object]) -> str:
    with Session(engine) as session:
        key = signing_keys.active(session=session)
        assert key is not None
        return jwt.encode(
            {"alg": key.alg, "kid": key.kid}, claims, signing_keys.private_key(key, SECRET)
        )


def published(engine: Engine, later: timedelta = timedelta(0)) -> list[dict[str, Any]]:
    with Session(engine) as session:
        found: list[dict[str, Any]] = signing_keys.jwks(
            session=session, lifetime=HOUR, now=utcnow() + later
        )["keys"]
        return found


def verify(engine: Engine, token: str) -> jwt.Token:
    keyset = KeySet.import_key_set({"keys": published(engine)})
    return jwt.decode(token, keyset)


def test_a_token_signed_before_a_rotation_still_verifies(engine: Engine) -> None:
    first = rotate(engine)
    token = sign(engine, {"sub": "patron"})
    second = rotate(engine)
    assert [k["kid"] for k in published(engine)] == [second, first]
    decoded = verify(engine, token)
    assert (decoded.header["kid"], decoded.claims["sub"]) == (first, "patron")
    assert verify(engine, sign(engine, {"sub": "x"})).header["kid"] == second


def test_a_retired_key_is_dropped_once_its_tokens_have_expired(engine: Engine) -> None:
    first = rotate(engine)
    second = rotate(engine)
    # a request being answered when it was retired may still sign with it
    recheck = timedelta(seconds=signing_keys.GRACE_S)
    kids = [k["kid"] for k in published(engine, later=HOUR + recheck - timedelta(seconds=1))]
    assert kids == [second, first]
    kids = [k["kid"] for k in published(engine, later=HOUR + recheck + timedelta(seconds=1))]
    assert kids == [second] and first not in kids


def signing(server: HubServer, alg: str) -> str | None:
    """The key ``server`` signs ``alg`` with, for a request that has synced."""
    with server.synced() as synced:
        assert synced
        [key] = server.signing_keyset(alg)
        return key.kid


def test_keys_rotated_by_another_process_sign_here_from_the_next_request(
    engine: Engine, database_url: str
) -> None:
    settings = Settings(database_url=database_url, secret_key=SECRET)
    server = HubServer(settings=settings, engine=engine, in_force=InForce(engine))
    try:
        with transaction(engine) as session:
            first = {k.alg: k.kid for k in signing_keys.ensure(session=session, secret=SECRET,
                                                                 actor="t")}  # fmt: skip
        assert {alg: signing(server, alg) for alg in signing_keys.ALGS} == first  # now held
        rotated = run_hub("keys", "rotate", env={"HUB_DATABASE_URL": database_url,
                                                 "HUB_SECRET_KEY": SECRET})  # fmt: skip
        assert rotated.returncode == 0, rotated.stderr
        # "Signing RS256 with KID." for each algorithm
        lines = [line.split() for line in rotated.stdout.splitlines() if line.startswith("Signing")]
        second = {words[1]: words[3].rstrip(".") for words in lines}
        assert set(second) == set(signing_keys.ALGS) and not set(second.values()) & set(
            first.values()
        )
        assert {alg: signing(server, alg) for alg in signing_keys.ALGS} == second
    finally:
        server.close()


def test_only_public_halves_are_published_and_private_ones_are_encrypted(engine: Engine) -> None:
    rotate(engine)
    [jwk] = published(engine)
    assert set(jwk) == {"kty", "kid", "alg", "use", "n", "e"}
    with Session(engine) as session:
        key = signing_keys.active(session=session)
        assert key is not None
        private: dict[str, Any] = dict(signing_keys.private_key(key, SECRET).as_dict(private=True))
        with pytest.raises(ValueError, match="cannot be decrypted with this HUB_SECRET_KEY"):
            signing_keys.private_key(key, SECRET + "-changed")
    with engine.connect() as connection:
        dump = str(connection.execute(text("SELECT * FROM signing_key")).all())
    assert private["d"] not in dump and private["p"] not in dump


def test_processes_starting_together_make_one_key_of_each_algorithm(engine: Engine) -> None:
    import threading

    made: list[tuple[str, ...]] = []

    def start() -> None:
        with transaction(engine) as session:
            keys = signing_keys.ensure(session=session, secret=SECRET, actor="hub:startup")
            made.append(tuple(key.kid for key in keys))

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(made)) == 1
    assert sorted((k["alg"], k["kid"]) for k in published(engine)) == sorted(
        zip(signing_keys.ALGS, made[0], strict=True)
    )
