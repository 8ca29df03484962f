"""Who is asking: the one read an eligibility request starts with.

One query, on the bearer token's digest, reads the token's client, scope, lifetime and
revocation, the client's library, the latest agreement version (for ``InForce.at``) and the
questions the client has asked in its current rate window. The count is only a first look, so
that a client past its limit is refused before any home library is asked; the count that holds
is taken when the questions are recorded (``records``), exact across processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, func, select, true

from identity import errors
from identity.oauth.tokens import aware, digest
from identity.patrons.connectors import CardHolder, registry
from identity.store.models import AgreementVersion, OAuthClient, OAuthToken, RateWindow, utcnow

SCOPE = "eligibility"

_TOKEN = OAuthToken.__table__.c  # type: ignore[attr-defined]
_CLIENT = OAuthClient.__table__.c  # type: ignore[attr-defined]
_VERSION = AgreementVersion.__table__.c  # type: ignore[attr-defined]
_RATE = RateWindow.__table__.c  # type: ignore[attr-defined]

_NEWEST = select(_VERSION.id, _VERSION.sha256).order_by(_VERSION.id.desc()).limit(1).subquery()
_USED = (
    select(_RATE.count)
    .where(_RATE.client_id == _TOKEN.client_id, _RATE.window == bindparam("window"))
    .scalar_subquery()
)
_COLUMNS = (
    _TOKEN.client_id,
    _TOKEN.scope,
    _TOKEN.expires_at,
    _TOKEN.revoked_at,
    _CLIENT.library,
    _NEWEST.c.id.label("version"),
    _NEWEST.c.sha256,
    func.coalesce(_USED, 0).label("used"),
)
_FROM = OAuthToken.__table__.outerjoin(  # type: ignore[attr-defined]
    OAuthClient.__table__,  # type: ignore[attr-defined]
    _CLIENT.client_id == _TOKEN.client_id,
).outerjoin(_NEWEST, true())
_QUERY = select(*_COLUMNS).select_from(_FROM).where(_TOKEN.access_sha256 == bindparam("digest"))
#: the same, with the holder of one card of a registry library (``registry.lookup_many``'s)
_WITH_CARD = (
    select(*_COLUMNS, *registry.HOLDER_COLUMNS)
    .select_from(
        _FROM.outerjoin(
            registry.TABLE,
            (registry.PATRON.library == bindparam("library"))
            & (registry.PATRON.card == bindparam("card")),
        )
    )
    .where(_TOKEN.access_sha256 == bindparam("digest"))
)


@dataclass(frozen=True, slots=True)
class Asker:
    """The partner client asking, as its bearer token says."""

    client_id: str
    library: str
    #: the latest agreement version and its files' digest; (0, "") when nothing is published
    newest: tuple[int, str]
    #: questions already counted in the client's window that starts at ``window``
    used: int
    window: int


def asker(
    connection: Connection, *, token: str, window: int, card: tuple[str, str] | None = None
) -> tuple[Asker, CardHolder | None]:
    """The client whose access ``token`` this is, if it may ask (scope ``eligibility``), with
    its count in the rate window starting at ``window``; else ``Unauthorized`` or
    ``Forbidden``. With ``card`` (a registry library and one of its cards), the card's holder
    read in the same query (None: no such card); the caller may use it once it knows that the
    library is still a registry library in the latest agreement version."""
    params = {"digest": digest(token), "window": window}
    if card is not None:
        params["library"], params["card"] = card
    row = connection.execute(_QUERY if card is None else _WITH_CARD, params).first()
    if row is None or row.revoked_at is not None or aware(row.expires_at) <= utcnow():
        raise errors.Unauthorized("The access token is not valid (unknown, expired or revoked).")
    if SCOPE not in row.scope.split():
        raise errors.Forbidden("The access token does not carry the scope 'eligibility'.")
    if row.library is None:
        raise errors.Unauthorized("The client of this token no longer exists.")
    newest = (0, "") if row.version is None else (row.version, row.sha256)
    found = Asker(row.client_id, row.library, newest, row.used, window)
    if card is None or row.card is None:
        return found, None
    return found, registry.holder(card[0], tuple(row)[len(_COLUMNS) :])
