"""What an administrator may see of the agreement set and its proposals, without changing it.

The files in force (``current_files``), a section's entries (``visible_entries``: every
administrator may read every entry, as each published version is the whole consortium's), the
proposals an administrator may see (all for a consortium administrator, those their library is
party to for a library administrator), the proposals awaiting them (``awaiting_me``), and one
proposal by number (``get_proposal``, ``NotFound`` when they may not see it).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import entries, publishing, rules
from identity.store.models import AgreementVersion, Proposal


def current_files(session: Session) -> tuple[AgreementVersion | None, list[tuple[str, str]]]:
    version = publishing.latest(session=session)
    if version is None:
        return None, []
    return version, [(f["name"], f["text"]) for f in version.files]


def visible_entries(
    session: Session, admin: Admin, section: entries.Section, library: str | None = None
) -> list[entries.Entry]:
    """The section's entries in load order, only those involving ``library`` when given. Every
    administrator may read every entry (each published version is the whole consortium's)."""
    _, files = current_files(session)
    found = entries.entries(files, section) if files else []
    if library:
        found = [e for e in found if library in rules.parties(section, e.data)]
    return found


def proposals(
    session: Session, admin: Admin, *, status: str | None = "pending", library: str | None = None
) -> list[Proposal]:
    """The proposals ``admin`` may see, newest first: all for a consortium administrator, those
    their library is party to for a library administrator."""
    query = select(Proposal).order_by(col(Proposal.id).desc())
    if status:
        query = query.where(col(Proposal.status) == status)
    for name in (admin.library, library):
        if name:
            query = query.where(col(Proposal.parties).contains(f",{name},", autoescape=True))
    return list(session.exec(query))


def awaiting_me(session: Session, admin: Admin) -> list[Proposal]:
    query = select(Proposal).where(col(Proposal.status) == "pending")
    if not admin.consortium:
        query = query.where(col(Proposal.awaiting).contains(f",{admin.library},", autoescape=True))
    return list(session.exec(query.order_by(col(Proposal.id))))


def get_proposal(session: Session, admin: Admin, number: int) -> Proposal:
    proposal = session.get(Proposal, number)
    if proposal is None or not rules.may_see(admin, proposal):
        raise errors.NotFound(f"There is no proposal {number} that you can see.")
    return proposal
