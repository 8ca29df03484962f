"""Who is told of what by email (``identity.admin.outbox`` sends it after the transaction):

- a proposal that waits: the administrators of each library it awaits (a consortium
  administrator's consent: the consortium administrators);
- a proposal approved (and published) or rejected: whoever proposed it;
- a suspension published, made or lifted: the administrators of the lender and of each library
  it names.

The mail names the entry and links to the page it is decided or seen on; it carries no more of
the change than a party of it may read there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from identity.admin import outbox
from identity.agreements import rules
from identity.store.models import AdminAccount, Proposal

LINK = outbox.HUB_LINK


def administrators(session: Session, parties: Iterable[str]) -> list[str]:
    """The email addresses of the administrators of ``parties`` (library ids, or
    ``rules.CONSORTIUM``)."""
    wanted = set(parties)
    libraries = wanted - {rules.CONSORTIUM}
    found: list[str] = []
    if libraries:
        query = select(AdminAccount.email).where(col(AdminAccount.library).in_(sorted(libraries)))
        found += session.exec(query).all()
    if rules.CONSORTIUM in wanted:
        found += session.exec(
            select(AdminAccount.email).where(col(AdminAccount.library).is_(None))
        ).all()
    return sorted(set(found))


def proposal_waits(session: Session, proposal: Proposal) -> None:
    awaiting = rules.split_names(proposal.awaiting)
    what = _what(proposal)
    by = proposal.proposer_library or "a consortium administrator"
    body = (
        f"{by} proposes to {proposal.action} {what}.\n"
        f"It waits for the approval of {', '.join(sorted(awaiting))}.\n\n"
        + (f"Their note: {proposal.note}\n\n" if proposal.note else "")
        + f"See what it would change, and approve or reject it:\n"
        f"{LINK}/admin/proposals/{proposal.id}\n"
    )
    outbox.queue(
        session,
        recipients=administrators(session, awaiting),
        subject=f"Proposal {proposal.id} waits for your approval: {what}",
        body=body,
    )


def proposal_decided(session: Session, proposal: Proposal) -> None:
    proposer = proposal.proposed_by.removeprefix("admin:")
    if proposer == proposal.proposed_by:
        return  # not an administrator's (a command line's): no one to write to
    what = _what(proposal)
    if proposal.status == "published":
        outcome = f"was approved and is published as version {proposal.version}"
    else:
        outcome = f"was {proposal.status} by {proposal.decided_by or 'an administrator'}"
    reason = getattr(proposal, "reason", None)
    body = (
        f"Your proposal to {proposal.action} {what} {outcome}.\n"
        + (f"The reason given: {reason}\n" if reason else "")
        + f"\n{LINK}/admin/proposals/{proposal.id}\n"
    )
    outbox.queue(
        session,
        recipients=[proposer],
        subject=f"Proposal {proposal.id} {proposal.status}: {what}",
        body=body,
    )


def published(
    session: Session,
    section: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    version: int | None,
) -> None:
    """Tell the parties of a suspension that was made, changed or lifted."""
    if section != "agreements":
        return
    entry = next((e for e in (after, before) if e and e.get("kind") == "suspension"), None)
    if entry is None:
        return
    parties = rules.parties(section, before) | rules.parties(section, after)
    lender = str(entry.get("lender"))
    lifted = after is None or after.get("kind") != "suspension"
    borrowers = ", ".join(sorted(parties - {lender}))
    if lifted:
        subject = f"{lender} lifts suspension {entry.get('id')}"
        said = f"{lender} lends again to the patrons of {borrowers}."
    else:
        subject = f"{lender} suspends lending: {entry.get('id')}"
        reason = entry.get("reason")
        said = f"{lender} suspends its lending to the patrons of {borrowers}." + (
            f"\nReason: {reason}" if reason else ""
        )
    body = (
        f"{said}\nIn force from version {version} of the agreements.\n\n"
        f"{LINK}/admin/agreements/{entry.get('id')}\n"
    )
    outbox.queue(session, recipients=administrators(session, parties), subject=subject, body=body)


def _what(proposal: Proposal) -> str:
    singular = "library" if proposal.section == "libraries" else "agreement"
    return f"{singular} {proposal.target}"
