"""Rolling back and importing a whole set, asked to be confirmed first: what it would flip
(``whatif``), and a token for the second request that makes it.

The token is an HMAC of what was shown: the kind of change, the version in force, and the files
that would be published. So a confirmation holds only for the set it was shown against: if
another change is published in between, the token no longer matches, and the administrator is
shown the what-if again (``stale``), rather than publishing what they never saw.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

import policies
from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import publishing, whatif
from identity.store.models import AgreementVersion
from policies.warnings import warnings


@dataclass(frozen=True)
class Preview:
    """What a rollback or an import would do, to be confirmed with ``token``."""

    flips: list[whatif.Flip]
    warnings: list[policies.Problem]
    #: the version in force when it was shown (None: nothing is published yet)
    current: int | None
    token: str


def rollback(
    session: Session, admin: Admin, number: int, *, secret: str, on: date
) -> tuple[AgreementVersion, Preview]:
    """The version to roll back to and what publishing its files again would flip."""
    if not admin.consortium:
        raise errors.NotPermitted("Only a consortium administrator can roll the agreements back.")
    old = session.get(AgreementVersion, number)
    if old is None:
        raise errors.NotFound(f"There is no published version {number}.")
    files = [(f["name"], f["text"]) for f in old.files]
    found = publishing.in_force(session=session)
    if found is not None and found[0].id == number:
        raise errors.Conflict(f"Version {number} is the version in force already.")
    return old, _preview(session, "rollback", files, found, secret=secret, on=on)


def import_set(
    session: Session,
    admin: Admin,
    files: Sequence[tuple[str, str]],
    *,
    secret: str,
    on: date,
    limits: policies.Limits = policies.DEFAULT_LIMITS,
) -> Preview:
    """What publishing ``files`` as the whole set would flip; ``InvalidAgreements`` (nothing to
    confirm) when they have problems."""
    if not admin.consortium:
        raise errors.NotPermitted(
            "Only a consortium administrator can import a whole agreement set."
        )
    found = publishing.in_force(session=session)
    return _preview(session, "import", files, found, secret=secret, on=on, limits=limits)


def token(secret: str, kind: str, current: int | None, files: Sequence[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for name, text in files:
        for part in (name, text):
            data = part.encode()
            digest.update(len(data).to_bytes(8, "big") + data)
    message = f"confirm {kind}\n{current}\n{digest.hexdigest()}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def confirmed(
    session: Session, secret: str, kind: str, files: Sequence[tuple[str, str]], given: str
) -> bool:
    """Whether ``given`` confirms ``kind`` of ``files`` against the version in force now."""
    current = publishing.latest(session=session)
    wanted = token(secret, kind, current.id if current else None, files)
    return bool(given) and hmac.compare_digest(wanted, given)


def _preview(
    session: Session,
    kind: str,
    files: Sequence[tuple[str, str]],
    found: tuple[AgreementVersion, policies.Agreements] | None,
    *,
    secret: str,
    on: date,
    limits: policies.Limits = policies.DEFAULT_LIMITS,
) -> Preview:
    try:
        after = policies.load_sources(files, limits=limits)
    except policies.InvalidAgreements as exc:
        raise errors.InvalidAgreements(exc.problems, exc.count) from None
    current = found[0].id if found else None
    flips = (
        whatif.counted(session, found[1], after, on=on)
        if found
        else whatif.count_patrons(session, [], after)
    )
    return Preview(flips, warnings(after), current, token(secret, kind, current, files))
