"""Deciding on a proposed change: approving, rejecting, withdrawing it.

A change that needs others' consent (``identity.agreements.rules``) waits as a ``Proposal``: each
awaited library's administrator approves (or rejects) it, or a consortium administrator does for
all; the proposing library (or a consortium administrator) may withdraw it while it is pending.
On the last approval it is published, unless the entry has changed since it was proposed (then
approving is refused with ``Conflict``; the proposer proposes again). Each decision is recorded in
the audit log, and refusals raise ``identity.errors``' problems as changes do
(``identity.agreements.changes``).
"""

from __future__ import annotations

from sqlmodel import Session

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import changes, checks, entries, notifications, queries, rules
from identity.store.database import lock
from identity.store.models import AgreementVersion, Proposal, utcnow


def approve(
    *, session: Session, admin: Admin, number: int, address: str | None = None
) -> changes.Outcome:
    """Approve for the admin's library (or, as a consortium administrator, for everyone). The
    last approval publishes the change."""
    lock(session, "agreements")
    proposal = queries.get_proposal(session, admin, number)
    _check_decidable(admin, proposal)
    awaiting = set() if admin.consortium else rules.split_names(proposal.awaiting) - {admin.library}
    published: AgreementVersion | None = None
    if not awaiting:
        section = entries.section_of(proposal.section)
        _, files = queries.current_files(session)
        now = entries.find(files, section, proposal.target)
        if entries.jsonable(now.data if now else None) != proposal.before:
            raise errors.Conflict(
                f"{entries.singular(section).capitalize()} {proposal.target} has changed since "
                "this proposal was made, so it cannot be approved as it stands. Reject it, and "
                "propose the change again on the current version."
            )
        entry_id = proposal.target if proposal.before is not None else None
        _, problems = checks.check(session, section, entry_id, proposal.text)
        if problems:
            raise errors.InvalidAgreements(problems)
        note = proposal.note or changes.describe(proposal.action, section, proposal.target)
        published = changes.publish_entry(
            session,
            admin,
            files,
            section,
            entry_id,
            proposal.text,
            f"{note} (proposal {proposal.id})",
        )
        proposal.status, proposal.version = "published", published.id
        proposal.decided_by, proposal.decided_at = admin.actor, utcnow()
    proposal.awaiting = rules.joined(awaiting)
    session.add(proposal)
    session.flush()
    changes.record(
        session,
        admin,
        "proposal.approve",
        proposal.section,
        proposal.target,
        proposal.before,
        proposal.after,
        address,
        proposal=proposal,
        version=published.id if published else None,
    )
    if published is not None:
        notifications.proposal_decided(session, proposal)
        notifications.published(
            session, proposal.section, proposal.before, proposal.after, published.id
        )
    return changes.Outcome(version=published, proposal=proposal)


#: the longest reason for a rejection
REASON_MAX = 1000


def reject(
    *, session: Session, admin: Admin, number: int, reason: str, address: str | None = None
) -> Proposal:
    """Reject proposal ``number``, saying why (``reason``, required: the proposer is shown
    it)."""
    reason = reason.strip()
    if not reason:
        raise errors.InvalidRequest("Say why you reject it: the proposer is shown your reason.")
    if len(reason) > REASON_MAX:
        raise errors.InvalidRequest(f"A reason is at most {REASON_MAX} characters long.")
    lock(session, "agreements")  # not while an approval is publishing it
    proposal = queries.get_proposal(session, admin, number)
    _check_decidable(admin, proposal)
    proposal.reason = reason
    return _close(session, admin, proposal, "rejected", address)


def withdraw(
    *, session: Session, admin: Admin, number: int, address: str | None = None
) -> Proposal:
    lock(session, "agreements")  # not while an approval is publishing it
    proposal = queries.get_proposal(session, admin, number)
    if proposal.status != "pending":
        raise errors.Conflict(f"Proposal {number} is already {proposal.status}.")
    if not rules.may_withdraw(admin, proposal):
        by = proposal.proposer_library or "a consortium administrator"
        raise errors.NotPermitted(f"Proposal {number} was made by {by}: only the proposing library "
                            "or a consortium administrator can withdraw it.")  # fmt: skip
    return _close(session, admin, proposal, "withdrawn", address)


def _check_decidable(admin: Admin, proposal: Proposal) -> None:
    if proposal.status != "pending":
        raise errors.Conflict(f"Proposal {proposal.id} is already {proposal.status}.")
    if not rules.may_decide(admin, proposal):
        waiting = ", ".join(sorted(rules.split_names(proposal.awaiting)))
        raise errors.NotPermitted(f"Proposal {proposal.id} waits for {waiting}, not for you.")


def _close(
    session: Session, admin: Admin, proposal: Proposal, status: str, address: str | None
) -> Proposal:
    proposal.status, proposal.decided_by, proposal.decided_at = status, admin.actor, utcnow()
    session.add(proposal)
    session.flush()
    action = "proposal.reject" if status == "rejected" else "proposal.withdraw"
    changes.record(
        session,
        admin,
        action,
        proposal.section,
        proposal.target,
        proposal.before,
        proposal.after,
        address,
        proposal=proposal,
    )
    if status == "rejected":
        notifications.proposal_decided(session, proposal)
    return proposal
