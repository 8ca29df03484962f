"""Administrators' changes to the agreement set, and the rules for who may make them.

One entry (a library or an agreement) is changed at a time, written as a one-entry agreement
file (``identity.agreements.entries``) and validated with the rest of the set by the same loader as
``hub agreements check``. The web UI and the admin API both call this module, so a rule holds
in both or in neither.

Who may touch what:

- a consortium administrator: everything, published at once;
- a library administrator: their own library's entry (not making or removing libraries), and the
  agreements their library is party to, before the change and after it.

Whose consent a change needs (``consent``): a library entry, that library's; a bilateral
agreement, every party's (the lender and each library in ``borrowers_from``); a consortium
agreement, a consortium administrator's; a suspension, the lender's alone. A change that needs
only the proposer's own consent is published at once: a library editing its own entry, a lender
suspending its lending (and lifting the suspension). Anything else becomes a ``Proposal`` that
waits for the others: each awaited library's administrator approves (or rejects) it, or a
consortium administrator does for all. On the last approval it is published, unless the entry
has changed since it was proposed (then approving is refused; the proposer proposes again).

A change that cannot be made raises one of ``identity.errors``' problems, and nothing is stored:
``NotPermitted`` (this administrator may not), ``NotFound`` (no such entry, proposal or version),
``Conflict`` (a proposal decided already, an entry changed since it was proposed) or
``InvalidAgreements`` (the set would not be valid; ``problems`` say where and why).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlmodel import Session, col, select

import policies
from identity import errors
from identity.admin import audit
from identity.admin.accounts import Admin
from identity.agreements import entries, publishing
from identity.store.database import lock
from identity.store.models import AgreementVersion, Proposal, utcnow

Section = Literal["libraries", "agreements"]
#: the party that stands for "a consortium administrator" in ``consent`` and ``awaiting`` (with a
#: space, so that no library id can be it)
CONSORTIUM = "consortium administrators"
SECTIONS: tuple[Section, ...] = ("libraries", "agreements")
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


# --- the rules -----------------------------------------------------------------------------


def parties(section: str, data: dict[str, Any] | None) -> frozenset[str]:
    """The libraries an entry involves: a library itself; an agreement's members, or its lender
    and the libraries it lends to."""
    if data is None:
        return frozenset()
    if section == "libraries":
        return frozenset({str(data.get("id"))})
    if data.get("kind") == "consortium":
        return frozenset(str(m) for m in data.get("members") or ())
    lender = data.get("lender")
    borrowers = {str(b) for b in data.get("borrowers_from") or ()}
    return frozenset(borrowers | ({str(lender)} if lender else set()))


def consent(section: str, data: dict[str, Any] | None) -> frozenset[str]:
    """Whose consent a change to (or from) this entry needs."""
    if data is None:
        return frozenset()
    if section == "libraries":
        return frozenset({str(data.get("id"))})
    kind = data.get("kind")
    if kind == "consortium":
        return frozenset({CONSORTIUM})
    if kind == "suspension":
        return frozenset({str(data.get("lender"))})
    return parties(section, data)


def may_touch(
    admin: Admin, section: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> bool:
    """``check_may_touch`` as a yes or no, for showing (or not) an editor."""
    try:
        check_may_touch(admin, section, before, after)
    except errors.NotPermitted:
        return False
    return True


def overlapping(
    files: Sequence[tuple[str, str]],
    section: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> frozenset[str]:
    """The other libraries whose cards a library entry's new card prefixes would take or share:
    a new prefix that one of theirs starts with, or that starts with one of theirs (cards go to
    the longest matching prefix). Their consent is needed too."""
    if section != "libraries" or after is None:
        return frozenset()
    old = {str(p) for p in (before or {}).get("card_prefixes") or ()}
    new = {str(p) for p in after.get("card_prefixes") or ()} - old
    found = set()
    for other in entries.entries(files, "libraries"):
        if other.id == after.get("id"):
            continue
        theirs = {str(p) for p in other.data.get("card_prefixes") or ()}
        if any(a.startswith(b) or b.startswith(a) for a in new for b in theirs):
            found.add(other.id)
    return frozenset(found)


def check_may_start(
    admin: Admin, section: str, before: dict[str, Any] | None, *, removing: bool = False
) -> None:
    """Raise ``NotPermitted`` when ``admin`` may not change ``before`` (None: add an entry) at
    all, whatever the new text says: checked before that text is read."""
    if admin.consortium:
        return
    mine = admin.library
    if section == "libraries":
        if before is None or removing:
            raise errors.NotPermitted(
                "Only a consortium administrator can add or remove a library."
            )
        if before.get("id") != mine:
            raise errors.NotPermitted(
                f"Library {before.get('id')} is not yours: you can change only your own "
                f"library's entry ({mine})."
            )
    elif before is not None:
        _check_party(admin, section, before, "is")


def check_may_touch(
    admin: Admin, section: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> None:
    """Raise ``NotPermitted`` unless ``admin`` may change ``before`` into ``after`` (either may
    be None: a new entry, a removed one)."""
    check_may_start(admin, section, before, removing=after is None)
    if admin.consortium:
        return
    mine = admin.library
    if section == "libraries":
        assert before is not None and after is not None  # else refused above
        if _password_env(before) != _password_env(after):
            raise errors.NotPermitted(
                "Only a consortium administrator can change password_env: it names an "
                "environment variable of the hub itself (the hub's operator sets it), and "
                f"{mine}'s connector may use only the one it has "
                f"({_password_env(before) or 'none'})."
            )
        return
    if after is not None:
        _check_party(admin, section, after, "would be")


def _check_party(admin: Admin, section: str, data: dict[str, Any], when: str) -> None:
    if admin.library not in parties(section, data):
        names = ", ".join(sorted(parties(section, data)))
        raise errors.NotPermitted(
            f"Agreement {data.get('id')} {when} between {names}: you can change only "
            f"agreements that {admin.library} is party to."
        )


def _password_env(data: dict[str, Any]) -> str | None:
    connector = data.get("connector")
    value = connector.get("password_env") if isinstance(connector, dict) else None
    return str(value) if value is not None else None


def may_see(admin: Admin, proposal: Proposal) -> bool:
    return admin.consortium or f",{admin.library}," in proposal.parties


def may_decide(admin: Admin, proposal: Proposal) -> bool:
    """Whether ``admin`` may approve or reject ``proposal`` now."""
    if proposal.status != "pending":
        return False
    return admin.consortium or f",{admin.library}," in proposal.awaiting


def may_withdraw(admin: Admin, proposal: Proposal) -> bool:
    if proposal.status != "pending":
        return False
    return admin.consortium or (
        admin.library is not None and admin.library == proposal.proposer_library
    )


# --- reading -------------------------------------------------------------------------------


def current_files(session: Session) -> tuple[AgreementVersion | None, list[tuple[str, str]]]:
    version = publishing.latest(session=session)
    if version is None:
        return None, []
    return version, [(f["name"], f["text"]) for f in version.files]


def visible_entries(
    session: Session, admin: Admin, section: Section, library: str | None = None
) -> list[entries.Entry]:
    """The section's entries in load order, only those involving ``library`` when given. Every
    administrator may read every entry (each published version is the whole consortium's)."""
    _, files = current_files(session)
    found = entries.entries(files, section) if files else []
    if library:
        found = [e for e in found if library in parties(section, e.data)]
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
    if proposal is None or not may_see(admin, proposal):
        raise errors.NotFound(f"There is no proposal {number} that you can see.")
    return proposal


# --- changing ------------------------------------------------------------------------------


def check(
    session: Session, section: Section, entry_id: str | None, text: str | None
) -> tuple[policies.Agreements | None, list[policies.Problem]]:
    """The set with the change, loaded (None when it has problems), and its problems, without
    publishing anything. It is validated as ``entries.candidate`` (the edited entry under
    ``entries.EDITED``, so that problems name the textarea's lines)."""
    _, files = current_files(session)
    if entry_id is not None and entries.find(files, section, entry_id) is None:
        raise errors.NotFound(f"There is no {_singular(section)} {entry_id}.")
    try:
        proposed = entries.candidate(files, section, entry_id, text)
    except entries.EntryRefused as exc:
        return None, [exc.problem]
    try:
        loaded = policies.load_sources(proposed)
    except policies.InvalidAgreements as exc:
        return None, list(exc.problems)
    try:  # valid as a set; and can it be made: one entry, its id unchanged, or new and free
        entries.apply(files, section, entry_id, text)
    except entries.EntryRefused as exc:
        return None, [exc.problem]
    return loaded, []


def preview(
    session: Session, admin: Admin, section: Section, entry_id: str | None, text: str
) -> tuple[policies.Agreements | None, list[policies.Problem]]:
    """``check`` for an administrator about to save: refused (``NotPermitted``) when they
    could not save it, as saving would be, so that nobody previews (and counts the patrons
    of) a change between other libraries."""
    _, files = current_files(session)
    old = entries.find(files, section, entry_id) if entry_id is not None else None
    if entry_id is None or old is not None:  # (an entry that is not there: ``check`` says so)
        check_may_start(admin, section, old.data if old else None)  # before reading ``text``
    after = new_data(section, text, strict=False)
    if after is not None or old is not None:
        check_may_touch(
            admin, section, old.data if old else None, after or (old.data if old else None)
        )
    return check(session, section, entry_id, text)


def change(
    *,
    session: Session,
    admin: Admin,
    section: Section,
    entry_id: str | None,
    text: str | None,
    note: str | None = None,
    address: str | None = None,
) -> Outcome:
    """Change one entry: ``entry_id`` None adds ``text`` as a new entry, ``text`` None removes
    the entry. Published at once, or stored as a pending proposal (see the module's rules).
    Raises ``NotPermitted``, ``NotFound``, ``InvalidAgreements`` (nothing stored)."""
    if note is not None and len(note) > NOTE_LIMIT:
        message = f"the note is {len(note)} characters long; at most {NOTE_LIMIT}"
        raise errors.InvalidAgreements([policies.Problem("note", None, None, message)])
    lock(session, "agreements")
    version, files = current_files(session)
    old = entries.find(files, section, entry_id) if entry_id is not None else None
    if entry_id is not None and old is None:
        raise errors.NotFound(f"There is no {_singular(section)} {entry_id}.")
    before = old.data if old else None
    check_may_start(admin, section, before, removing=text is None)  # before reading ``text``
    after = new_data(section, text)
    check_may_touch(admin, section, before, after)  # before validation: refuse without a hint
    _, problems = check(session, section, entry_id, text)
    if problems:
        raise errors.InvalidAgreements(problems)
    assert after is not None or before is not None
    target = str((after or before or {}).get("id"))
    claimed = overlapping(files, section, before, after)
    needed = consent(section, before) | consent(section, after) | claimed
    awaiting = set() if admin.consortium else needed - {admin.library}
    action = "create" if before is None else "delete" if after is None else "update"
    if not awaiting:
        published = _publish(
            session,
            admin,
            files,
            section,
            entry_id,
            text,
            note or _describe(action, section, target),
        )
        _record(session, admin, f"{_singular(section)}.{action}", section, target, before, after,
                address, version=published.id, also=claimed)  # fmt: skip
        return Outcome(version=published)
    proposal = Proposal(
        proposed_by=admin.actor,
        proposer_library=admin.library,
        section=section,
        target=target,
        action=action,
        text=text,
        before=jsonable(before),
        after=jsonable(after),
        parties=_joined(parties(section, before) | parties(section, after) | claimed),
        awaiting=_joined(awaiting),
        note=note,
    )
    session.add(proposal)
    session.flush()
    _record(session, admin, "proposal.create", section, target, before, after, address,
            proposal=proposal)  # fmt: skip
    return Outcome(proposal=proposal)


def approve(*, session: Session, admin: Admin, number: int, address: str | None = None) -> Outcome:
    """Approve for the admin's library (or, as a consortium administrator, for everyone). The
    last approval publishes the change."""
    lock(session, "agreements")
    proposal = get_proposal(session, admin, number)
    _check_decidable(admin, proposal)
    awaiting = set() if admin.consortium else split_names(proposal.awaiting) - {admin.library}
    published: AgreementVersion | None = None
    if not awaiting:
        section = section_of(proposal.section)
        _, files = current_files(session)
        now = entries.find(files, section, proposal.target)
        if jsonable(now.data if now else None) != proposal.before:
            raise errors.Conflict(
                f"{_singular(section).capitalize()} {proposal.target} has changed since this "
                "proposal was made, so it cannot be approved as it stands. Reject it, and "
                "propose the change again on the current version."
            )
        entry_id = proposal.target if proposal.before is not None else None
        _, problems = check(session, section, entry_id, proposal.text)
        if problems:
            raise errors.InvalidAgreements(problems)
        note = proposal.note or _describe(proposal.action, section, proposal.target)
        published = _publish(session, admin, files, section, entry_id, proposal.text,
                             f"{note} (proposal {proposal.id})")  # fmt: skip
        proposal.status, proposal.version = "published", published.id
        proposal.decided_by, proposal.decided_at = admin.actor, utcnow()
    proposal.awaiting = _joined(awaiting)
    session.add(proposal)
    session.flush()
    _record(session, admin, "proposal.approve", proposal.section, proposal.target,
            proposal.before, proposal.after, address, proposal=proposal,
            version=published.id if published else None)  # fmt: skip
    return Outcome(version=published, proposal=proposal)


def reject(*, session: Session, admin: Admin, number: int, address: str | None = None) -> Proposal:
    lock(session, "agreements")  # not while an approval is publishing it
    proposal = get_proposal(session, admin, number)
    _check_decidable(admin, proposal)
    return _close(session, admin, proposal, "rejected", address)


def withdraw(
    *, session: Session, admin: Admin, number: int, address: str | None = None
) -> Proposal:
    lock(session, "agreements")  # not while an approval is publishing it
    proposal = get_proposal(session, admin, number)
    if proposal.status != "pending":
        raise errors.Conflict(f"Proposal {number} is already {proposal.status}.")
    if not may_withdraw(admin, proposal):
        by = proposal.proposer_library or "a consortium administrator"
        raise errors.NotPermitted(f"Proposal {number} was made by {by}: only the proposing library "
                            "or a consortium administrator can withdraw it.")  # fmt: skip
    return _close(session, admin, proposal, "withdrawn", address)


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
    version = _publish_set(session, admin, files, f"Rollback to version {number}")
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
    version = _publish_set(session, admin, files, note or "Imported", limits)
    audit.record(session=session, actor=admin.actor, action="agreements.import",
                 subject=f"agreement-version:{version.id}",
                 before={"version": current.id if current else None},
                 after={"version": version.id, "files": [n for n, _ in files]},
                 address=address)  # fmt: skip
    return version


# --- helpers -------------------------------------------------------------------------------


def _publish(
    session: Session,
    admin: Admin,
    files: list[tuple[str, str]],
    section: Section,
    entry_id: str | None,
    text: str | None,
    note: str,
) -> AgreementVersion:
    try:
        changed = entries.apply(files, section, entry_id, text)
    except entries.EntryRefused as exc:
        raise errors.InvalidAgreements([exc.problem]) from None
    return _publish_set(session, admin, changed, note)


def _publish_set(
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


def new_data(section: Section, text: str | None, *, strict: bool = True) -> dict[str, Any] | None:
    """The entry of a one-entry file, as plain data (None when removing). Text that is not one
    entry raises ``InvalidAgreements`` with the validator's problems when ``strict``, else gives
    None (``check`` then says what is wrong)."""
    if text is None:
        return None
    try:
        found = entries.entries([(entries.EDITED, text)], section)
    except Exception:  # noqa: BLE001 - not YAML at all: the validator says where
        found = []
    if len(found) == 1:
        return found[0].data
    if not strict:
        return None
    try:
        policies.load_sources([(entries.EDITED, text)])
    except policies.InvalidAgreements as exc:
        raise errors.InvalidAgreements(exc.problems, exc.count) from None
    raise errors.InvalidAgreements([policies.Problem(
        entries.EDITED, None, None, f"write exactly one entry under {section}:")])  # fmt: skip


def new_id(section: Section, text: str) -> str | None:
    """The id of the one entry in ``text``, if it holds exactly one."""
    data = new_data(section, text, strict=False)
    return None if data is None else str(data["id"])


def _check_decidable(admin: Admin, proposal: Proposal) -> None:
    if proposal.status != "pending":
        raise errors.Conflict(f"Proposal {proposal.id} is already {proposal.status}.")
    if not may_decide(admin, proposal):
        waiting = ", ".join(sorted(split_names(proposal.awaiting)))
        raise errors.NotPermitted(f"Proposal {proposal.id} waits for {waiting}, not for you.")


def _close(
    session: Session, admin: Admin, proposal: Proposal, status: str, address: str | None
) -> Proposal:
    proposal.status, proposal.decided_by, proposal.decided_at = status, admin.actor, utcnow()
    session.add(proposal)
    session.flush()
    action = "proposal.reject" if status == "rejected" else "proposal.withdraw"
    _record(session, admin, action, proposal.section, proposal.target, proposal.before,
            proposal.after, address, proposal=proposal)  # fmt: skip
    return proposal


def _record(
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
    involved = parties(section, before) | parties(section, after) | also
    if proposal is not None:
        involved |= split_names(proposal.parties)
    extra: dict[str, Any] = {"parties": _joined(involved)}
    if proposal is not None:
        extra |= {"proposal": proposal.id, "status": proposal.status,
                  "awaiting": sorted(split_names(proposal.awaiting))}  # fmt: skip
    if version is not None:
        extra["version"] = version
    audit.record(
        session=session,
        actor=admin.actor,
        action=action,
        subject=f"{_singular(section)}:{target}",
        before=None if before is None else {"entry": jsonable(before)},
        after={"entry": jsonable(after), **extra},
        address=address,
    )


def jsonable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """Plain JSON (dates as ISO strings), the same for the same entry however it was written."""
    if data is None:
        return None
    loaded: dict[str, Any] = json.loads(json.dumps(data, default=_iso, sort_keys=True))
    return loaded


def _iso(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _joined(names: Iterable[str]) -> str:
    return "," + ",".join(sorted(names)) + "," if names else ""


def split_names(joined: str) -> set[str]:
    return {name for name in joined.split(",") if name}


def section_of(name: str) -> Section:
    if name == "libraries":
        return "libraries"
    return "agreements"


def _singular(section: str) -> str:
    return "library" if section == "libraries" else "agreement"


def _describe(action: str, section: str, target: str) -> str:
    verb = {"create": "Added", "update": "Changed", "delete": "Removed"}[action]
    return f"{verb} {_singular(section)} {target}"
