"""Sign-ins waiting at a library's identity provider (``identity.patrons.federated_signin``):
the provider's answer is taken once, even by racing requests, only while the sign-in lives and
only with its browser's binding when one is given; the patron is given back once, to the same
browser and request; expired ones are forgotten."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, func, select

from identity.patrons import federated_signin as signins
from identity.retention import purge
from identity.settings import Settings
from identity.store.database import transaction
from identity.store.models import FederatedSignin, utcnow
from tests.conftest import SECRET

pytestmark = pytest.mark.db

QUERY = "response_type=code&client_id=c&state=s"


def begin(engine: Engine) -> tuple[str, str, str]:
    """A new sign-in: its handle, the browser's cookie and its binding."""
    cookie, binding = signins.new_binding()
    handles: list[str] = []

    def depart(handle: str) -> signins.Departure:
        handles.append(handle)
        return signins.Departure(url=f"https://idp/auth?state={handle}", expects="n", verifier="v")

    signins.begin(engine=engine, library="uni", protocol="oidc", authorization=QUERY,
                  binding=binding, depart=depart)  # fmt: skip
    return handles[0], cookie, binding


def test_an_answer_is_taken_once_even_by_racing_requests(engine: Engine) -> None:
    handle, _, binding = begin(engine)
    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(pool.map(lambda _: signins.take(engine=engine, handle=handle,
                                                     binding=binding), range(8)))  # fmt: skip
    winners = [t for t in taken if t is not None]
    assert len(winners) == 1
    assert winners[0] == signins.PendingSignIn("uni", "oidc", "n", "v", QUERY)


def test_another_browser_or_no_such_sign_in_takes_nothing(engine: Engine) -> None:
    handle, _, binding = begin(engine)
    _, other = signins.new_binding()
    assert signins.take(engine=engine, handle=handle, binding=other) is None
    assert signins.take(engine=engine, handle="x" * 43, binding=None) is None
    assert signins.take(engine=engine, handle="", binding=None) is None
    # not spent by those: the sign-in's own answer is still taken (SAML: with no cookie)
    assert signins.take(engine=engine, handle=handle, binding=None) is not None


def test_an_expired_sign_in_takes_nothing(engine: Engine) -> None:
    handle, _, binding = begin(engine)
    with transaction(engine) as session:
        session.execute(update(FederatedSignin).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert signins.take(engine=engine, handle=handle, binding=binding) is None


def test_the_patron_is_given_back_once_to_the_same_browser_and_request(engine: Engine) -> None:
    handle, cookie, binding = begin(engine)
    assert signins.take(engine=engine, handle=handle, binding=None) is not None
    signins.signed_in(engine=engine, secret=SECRET, handle=handle, patron={"card": "alice"})
    with Session(engine) as session:
        stored = session.exec(select(FederatedSignin)).one().patron
    assert stored is not None and "alice" not in stored  # encrypted

    def resume(binding: str, query: str = QUERY) -> object:
        return signins.resume(engine=engine, secret=SECRET, binding=binding, authorization=query)

    assert resume(signins.new_binding()[1]) is None  # another browser
    assert resume(binding, QUERY + "&x=1") is None  # another request
    assert resume(signins.binding_of(cookie)) == {"card": "alice"}
    assert resume(binding) is None  # once


def test_expired_sign_ins_are_forgotten(engine: Engine) -> None:
    begin(engine)
    begin(engine)
    with transaction(engine) as session:
        session.execute(
            update(FederatedSignin)
            .where(col(FederatedSignin.id) == select(FederatedSignin.id).limit(1).scalar_subquery())
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with transaction(engine) as session:
        counts = purge(session=session, settings=Settings())
    assert counts["identity provider sign-ins"] == 1
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(FederatedSignin)).one() == 1
