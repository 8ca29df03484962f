"""Administrators' changes to the agreement set: made, proposed, rolled back or imported.

One entry (a library or an agreement) is changed at a time (``change``), written as a mini file
(``identity.agreements.minifile``), spliced into its file (``identity.agreements.edits``) and
validated with the rest of the set (``identity.agreements.checks``). The web UI and the admin API
both call this module, so a rule (``identity.agreements.rules``) holds in both or in neither.

A change that needs only the proposer's own consent is published at once: a library editing its
own entry, a lender suspending its lending (and lifting the suspension), anything a consortium
administrator does. Anything else becomes a ``Proposal`` that waits for the others
(``identity.agreements.proposals``). A consortium administrator may also publish an earlier
version again (``rollback``) or a whole uploaded set (``import_set``). Each is recorded in the
audit log (``record``).

A change that cannot be made raises one of ``identity.errors``' problems, and nothing is stored:
``NotPermitted`` (this administrator may not), ``NotFound`` (no such entry, proposal or version),
``Conflict`` (a proposal decided already, an entry changed since it was proposed) or
``InvalidAgreements`` (the set would not be valid; ``problems`` say where and why).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

import policies
from identity import errors
from identity.admin import audit
from identity.admin.accounts import Admin
from identity.agreements import checks, edits, entries, notifications, publishing, queries, rules
from identity.store.database import lock
from identity.store.models import AgreementVersion, Proposal

NOTE_LIMIT = 500


@dataclass(frozen=True)
class Outcome:
    """What became of a change: published as ``version`` or waiting as ``proposal``."""

    version: AgreementVersion | None = None
    proposal: Proposal | None = None
    problems: list[policies.Problem] = field(default_factory=list)

    @property
    def published(self) -> bool:
        return self.version is not None


def change(
    *,
    session: Session,
    admin: Admin,
    section: entries.Section,
    entry_id: str | None,
    text: str | None,
    note: str | None = None,
    address: str | None = None,
) -> Outcome:
    """Change one entry: ``entry_id`` None adds ``text`` as a new entry, ``text`` None removes
    the entry. Published at once, or stored as a pending proposal (see identity.agreements.rules).
    Raises ``NotPermitted``, ``NotFound``, ``InvalidAgreements`` (nothing stored)."""
    if note is not None and len(note) > NOTE_LIMIT:
        message = f"the note is {len(note)} characters long; at most {NOTE_LIMIT}"
        raise errors.InvalidAgreements([policies.Problem("note", None, None, message)])
    lock(session, "agreements")
    version, files = queries.current_files(session)
    old = entries.find(files, section, entry_id) if entry_id is not None else None
    if entry_id is not None and old is None:
        raise errors.NotFound(f"There is no {entries.singular(section)} {entry_id}.")
    before = old.data if old else None
    rules.check_may_start(admin, section, before, removing=text is None)  # before reading ``text``
    after = checks.new_data(section, text)
    rules.check_may_touch(admin, section, before, after)  # before validation: refuse without a hint
    _, problems = checks.check(session, section, entry_id, text)
    if problems:
        raise errors.InvalidAgreements(problems)
    assert after is not None or before is not None
    target = str((after or before or {}).get("id"))
    claimed = rules.overlapping(files, section, before, after)
    needed = rules.consent(section, before) | rules.consent(section, after) | claimed
    needed |= rules.new_domains(section, before, after)
    awaiting = set() if admin.consortium else needed - {admin.library}
    action = "create" if before is None else "delete" if after is None else "update"
    if not awaiting:
        published = publish_entry(
            session,
            admin,
            files,
            section,
            entry_id,
            text,
            note or describe(action, section, target),
        )
        record(session, admin, f"{entries.singular(section)}.{action}", section, target,
               before, after, address, version=published.id, also=claimed)  # fmt: skip
        notifications.published(session, section, before, after, published.id)
        return Outcome(version=published)
    proposal = Proposal(
        proposed_by=admin.actor,
        proposer_library=admin.library,
        section=section,
        target=target,
        action=action,
        text=text,
        before=entries.jsonable(before),
        after=entries.jsonable(after),
        parties=rules.joined(
            rules.parties(section, before) | rules.parties(section, after) | claimed
        ),
        awaiting=rules.joined(awaiting),
        note=note,
    )
    session.add(proposal)
    session.flush()
    record(
        session,
        admin,
        "proposal.create",
        section,
        target,
        before,
        after,
        address,
        proposal=proposal,
    )
    notifications.proposal_waits(session, proposal)
    return Outcome(proposal=proposal)


def rollback(
    *, session: Session, admin: Admin, number: int, address: str | None = None
) -> AgreementVersion:
    """Publish version ``number``'s files again as a new version (consortium administrators)."""
    if not admin.consortium:
        raise errors.NotPermitted("Only a consortium administrator can roll the agreements back.")
    lock(session, "agreements")
    old = session.get(AgreementVersion, number)
    if old is None:
        raise errors.NotFound(f"There is no published version {number}.")
    current = publishing.latest(session=session)
    if current is not None and current.id == number:
        raise errors.Conflict(f"Version {number} is the version in force already.")
    files = [(f["name"], f["text"]) for f in old.files]
    version = publish_set(session, admin, files, f"Rollback to version {number}")
    audit.record(session=session, actor=admin.actor, action="agreements.rollback",
                 subject=f"agreement-version:{version.id}",
                 before={"version": current.id if current else None},
                 after={"version": version.id, "copy_of": number}, address=address)  # fmt: skip
    return version


def import_set(
    *,
    session: Session,
    admin: Admin,
    files: Sequence[tuple[str, str]],
    note: str | None = None,
    address: str | None = None,
    limits: policies.Limits = policies.DEFAULT_LIMITS,
) -> AgreementVersion:
    """Publish uploaded files as the whole new set (consortium administrators), as ``hub
    agreements load`` does. Raises ``InvalidAgreements`` listing the problems (also when the set is
    beyond ``limits``)."""
    if not admin.consortium:
        raise errors.NotPermitted(
            "Only a consortium administrator can import a whole agreement set."
        )
    lock(session, "agreements")
    current = publishing.latest(session=session)
    version = publish_set(session, admin, files, note or "Imported", limits)
    audit.record(session=session, actor=admin.actor, action="agreements.import",
                 subject=f"agreement-version:{version.id}",
                 before={"version": current.id if current else None},
                 after={"version": version.id, "files": [n for n, _ in files]},
                 address=address)  # fmt: skip
    return version


def publish_entry(
    session: Session,
    admin: Admin,
    files: list[tuple[str, str]],
    section: entries.Section,
    entry_id: str | None,
    text: str | None,
    note: str,
) -> AgreementVersion:
    try:
        changed = edits.apply(files, section, entry_id, text)
    except entries.EntryRefused as exc:
        raise errors.InvalidAgreements([exc.problem]) from None
    return publish_set(session, admin, changed, note)


def publish_set(
    session: Session,
    admin: Admin,
    files: Sequence[tuple[str, str]],
    note: str,
    limits: policies.Limits = policies.DEFAULT_LIMITS,
) -> AgreementVersion:
    try:
        version, _ = publishing.publish(
            session=session, sources=files, actor=admin.actor, note=note[:500], limits=limits
        )
    except policies.InvalidAgreements as exc:
        raise errors.InvalidAgreements(exc.problems, exc.count) from None
    return version


def record(
    session: Session,
    admin: Admin,
    action: str,
    section: str,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    address: str | None,
    *,
    proposal: Proposal | None = None,
    version: int | None = None,
    also: frozenset[str] = frozenset(),
) -> None:
    """One audit event with the entry before and after; ``parties`` lets each party's
    administrators find it (``identity.admin.auditlog``)."""
    involved = rules.parties(section, before) | rules.parties(section, after) | also
    if proposal is not None:
        involved |= rules.split_names(proposal.parties)
    extra: dict[str, Any] = {"parties": rules.joined(involved)}
    if proposal is not None:
        extra |= {"proposal": proposal.id, "status": proposal.status,
                  "awaiting": sorted(rules.split_names(proposal.awaiting))}  # fmt: skip
        if proposal.reason:
            extra["reason"] = proposal.reason
    if version is not None:
        extra["version"] = version
    audit.record(
        session=session,
        actor=admin.actor,
        action=action,
        subject=f"{entries.singular(section)}:{target}",
        before=None if before is None else {"entry": entries.jsonable(before)},
        after={"entry": entries.jsonable(after), **extra},
        address=address,
    )


def describe(action: str, section: str, target: str) -> str:
    verb = {"create": "Added", "update": "Changed", "delete": "Removed"}[action]
    return f"{verb} {entries.singular(section)} {target}"
