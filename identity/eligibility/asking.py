"""Who is asking: the reads an eligibility request starts with.

The bearer token is checked first (``identity.oauth.bearer.live``, after the request has
synced with the change counters): a client-credentials token by its signature, its client's
epoch and the revoked tokens, from what this process holds, so that a client disabled or a
token revoked is refused at once. Then one query, on the client's id, reads the client's
library, the latest agreement version (for ``InForce.at``) and the questions the client has
asked in its current rate window. The count is only a first look, so that a client past its
limit is refused before any home library is asked; the count that holds is taken when the
questions are recorded (``records``), exact across processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, func, select, true

from identity import errors
from identity.oauth import bearer
from identity.patrons.connectors import CardHolder, registry
from identity.store.models import AgreementVersion, OAuthClient, RateWindow

if TYPE_CHECKING:
    from identity.oauth.server import HubServer

SCOPE = "eligibility"

_CLIENT = OAuthClient.__table__.c  # type: ignore[attr-defined]
_VERSION = AgreementVersion.__table__.c  # type: ignore[attr-defined]
_RATE = RateWindow.__table__.c  # type: ignore[attr-defined]

_NEWEST = select(_VERSION.id, _VERSION.sha256).order_by(_VERSION.id.desc()).limit(1).subquery()
_USED = (
    select(_RATE.count)
    .where(_RATE.client_id == _CLIENT.client_id, _RATE.window == bindparam("window"))
    .scalar_subquery()
)
_COLUMNS = (
    _CLIENT.client_id,
    _CLIENT.library,
    _CLIENT.disabled_at,
    _NEWEST.c.id.label("version"),
    _NEWEST.c.sha256,
    func.coalesce(_USED, 0).label("used"),
)
_FROM = OAuthClient.__table__.outerjoin(_NEWEST, true())  # type: ignore[attr-defined]
_QUERY = select(*_COLUMNS).select_from(_FROM).where(_CLIENT.client_id == bindparam("client_id"))
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
    .where(_CLIENT.client_id == bindparam("client_id"))
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


def client_of(server: HubServer, token: str) -> str:
    """The id of the client whose access ``token`` this is, if it may ask (scope
    ``eligibility``); else ``Unauthorized`` or ``Forbidden``. Blocking (it syncs with the
    change counters, and a token that is not a client-credentials one is read from the
    database)."""
    with server.synced():
        found = bearer.live(server, token)
    if found is None:
        raise errors.Unauthorized("The access token is not valid (unknown, expired or revoked).")
    if SCOPE not in found.scopes:
        raise errors.Forbidden("The access token does not carry the scope 'eligibility'.")
    return str(found.client.client_id)


def asker(
    connection: Connection, *, client_id: str, window: int, card: tuple[str, str] | None = None
) -> tuple[Asker, CardHolder | None]:
    """The client ``client_id`` (``client_of``), with its library and its count in the rate
    window starting at ``window``; ``Unauthorized`` if it no longer exists. With ``card`` (a
    registry library and one of its cards), the card's holder read in the same query (None: no
    such card); the caller may use it once it knows that the library is still a registry
    library in the latest agreement version."""
    params = {"client_id": client_id, "window": window}
    if card is not None:
        params["library"], params["card"] = card
    row = connection.execute(_QUERY if card is None else _WITH_CARD, params).first()
    if row is None:
        raise errors.Unauthorized("The client of this token no longer exists.")
    if row.disabled_at is not None:  # disabled since this process last synced
        raise errors.Unauthorized("The access token is not valid (unknown, expired or revoked).")
    newest = (0, "") if row.version is None else (row.version, row.sha256)
    found = Asker(row.client_id, row.library, newest, row.used, window)
    if card is None or row.card is None:
        return found, None
    return found, registry.holder(card[0], tuple(row)[len(_COLUMNS) :])
