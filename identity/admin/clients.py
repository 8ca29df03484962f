"""OAuth clients managed by administrators from the web (the pages and the admin API): the same
registration, secret rotation, token revocation and removal as ``hub clients``
(``identity.oauth.registration``: a rotated or revoked client's tokens stop working at once, in
every process), each allowed by ``rules.check_may_administer``: a library administrator manages
their own library's clients, a consortium administrator anyone's. Refusals are
``identity.errors``' problems; each change is audited (by ``registration``) with the
administrator as actor."""

from __future__ import annotations

from sqlmodel import Session

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import rules
from identity.oauth import registration
from identity.store.models import OAuthClient

WHAT = "OAuth clients"


def register(
    *,
    session: Session,
    admin: Admin,
    library: str,
    libraries: set[str],
    kind: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    public: bool = False,
    card_number: bool = False,
) -> registration.Registered:
    """Register a client of ``library`` (one of the published ``libraries``)."""
    rules.check_may_administer(admin, library, WHAT)
    if library not in libraries:
        raise errors.InvalidRequest(f"There is no library {library!r} in the agreements in force.")
    try:
        return registration.add_client(
            session=session,
            library=library,
            kind=kind,
            redirect_uris=redirect_uris,
            post_logout_redirect_uris=post_logout_redirect_uris,
            actor=admin.actor,
            public=public,
            card_number=card_number,
        )
    except registration.ClientRefused as exc:
        raise errors.InvalidRequest(_sentence(str(exc).replace("--", ""))) from None


def owned(*, session: Session, admin: Admin, client_id: str) -> OAuthClient:
    row = session.get(OAuthClient, client_id)
    if row is None:
        raise errors.NotFound(f"There is no client {client_id!r}.")
    rules.check_may_administer(admin, row.library, WHAT)
    return row


def rotate_secret(*, session: Session, admin: Admin, client_id: str) -> str:
    owned(session=session, admin=admin, client_id=client_id)
    try:
        return registration.rotate_secret(session=session, client_id=client_id, actor=admin.actor)
    except registration.ClientRefused as exc:
        raise errors.Conflict(_sentence(str(exc))) from None


def revoke_tokens(*, session: Session, admin: Admin, client_id: str) -> None:
    owned(session=session, admin=admin, client_id=client_id)
    registration.revoke_tokens(session=session, client_id=client_id, actor=admin.actor)


def remove(*, session: Session, admin: Admin, client_id: str) -> None:
    owned(session=session, admin=admin, client_id=client_id)
    registration.remove(session=session, client_id=client_id, actor=admin.actor)


def visible(*, session: Session, admin: Admin, library: str | None) -> list[OAuthClient]:
    """The clients ``admin`` manages (of ``library``, for a consortium administrator)."""
    if not admin.consortium:
        library = admin.library
    return registration.clients(session=session, library=library or None)


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else f"{text}."
