"""Checking a change to one entry without storing anything.

``check`` validates the set with the change made, by the same loader as ``hub agreements check``
(the edited entry under ``entries.EDITED``, so that problems name the textarea's lines), and gives
the loaded set for a what-if; ``preview`` does so for an administrator about to save, refused
(``NotPermitted``) as saving would be. ``new_data`` and ``new_id`` read the entry of a mini file as
plain data, for the rules to judge before the text is validated.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

import policies
from identity import errors
from identity.admin.accounts import Admin
from identity.agreements import edits, entries, queries, rules


def check(
    session: Session, section: entries.Section, entry_id: str | None, text: str | None
) -> tuple[policies.Agreements | None, list[policies.Problem]]:
    """The set with the change, loaded (None when it has problems), and its problems, without
    publishing anything. It is validated as ``edits.candidate`` (the edited entry under
    ``entries.EDITED``, so that problems name the textarea's lines)."""
    _, files = queries.current_files(session)
    if entry_id is not None and entries.find(files, section, entry_id) is None:
        raise errors.NotFound(f"There is no {entries.singular(section)} {entry_id}.")
    try:
        proposed = edits.candidate(files, section, entry_id, text)
    except entries.EntryRefused as exc:
        return None, [exc.problem]
    try:
        loaded = policies.load_sources(proposed)
    except policies.InvalidAgreements as exc:
        return None, list(exc.problems)
    try:  # valid as a set; and can it be made: one entry, its id unchanged, or new and free
        edits.apply(files, section, entry_id, text)
    except entries.EntryRefused as exc:
        return None, [exc.problem]
    return loaded, []


def preview(
    session: Session, admin: Admin, section: entries.Section, entry_id: str | None, text: str
) -> tuple[policies.Agreements | None, list[policies.Problem]]:
    """``check`` for an administrator about to save: refused (``NotPermitted``) when they
    could not save it, as saving would be, so that nobody previews (and counts the patrons
    of) a change between other libraries."""
    _, files = queries.current_files(session)
    old = entries.find(files, section, entry_id) if entry_id is not None else None
    if entry_id is None or old is not None:  # (an entry that is not there: ``check`` says so)
        rules.check_may_start(admin, section, old.data if old else None)  # before reading ``text``
    after = new_data(section, text, strict=False)
    if after is not None or old is not None:
        rules.check_may_touch(
            admin, section, old.data if old else None, after or (old.data if old else None)
        )
    return check(session, section, entry_id, text)


def new_data(
    section: entries.Section, text: str | None, *, strict: bool = True
) -> dict[str, Any] | None:
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


def new_id(section: entries.Section, text: str) -> str | None:
    """The id of the one entry in ``text``, if it holds exactly one."""
    data = new_data(section, text, strict=False)
    return None if data is None else str(data["id"])
