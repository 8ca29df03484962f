"""What an administrator may see of the audit log, filtered, and as CSV.

A consortium administrator sees every event. A library administrator sees the events that
concern their library by a structured field, never by a substring (``rmit`` must not match
``rmit2``):

- the subject is ``library:<theirs>`` (patron imports and other changes to the library),
- the ``after`` or ``before`` record names ``"library": "<theirs>"`` (the library's OAuth
  clients, its administrators being added, signing in and out),
- the ``after`` record's ``parties`` names theirs (``,rmit,monash,``: a change to an agreement
  or library entry, and proposals, seen by every library party to it, so that a library sees
  at once that a partner suspended lending to its patrons),
- and every ``agreements.publish`` (rollback, import): each published version is the whole
  consortium's set, which every member administrator may read (``/admin/versions``), so its
  summary is theirs too.

Everything else (signing-key rotations, other libraries' clients and administrators) is hidden.
The filter by library (``Filters.library``) keeps the events ``concerning`` that library, by
the same fields.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, or_, true
from sqlmodel import Session, col, select

from identity.admin.accounts import Admin
from identity.store.models import AuditEvent, as_utc

COLUMNS = ("id", "at", "actor", "action", "subject", "address", "before", "after", "hash")


@dataclass(frozen=True)
class Filters:
    action: str = ""
    actor: str = ""  # any part of the actor's name
    since: date | None = None  # inclusive, UTC
    until: date | None = None  # inclusive, UTC
    library: str = ""  # the events concerning this library (``concerning``)


#: the events about the whole set, which every administrator sees
WHOLE_SET = ("agreements.publish", "agreements.rollback", "agreements.import")


def concerning(library: str) -> ColumnElement[bool]:
    """The events about ``library`` by a structured field (above)."""
    return or_(
        col(AuditEvent.subject) == f"library:{library}",
        col(AuditEvent.after)["library"].as_string() == library,
        col(AuditEvent.before)["library"].as_string() == library,
        col(AuditEvent.after)["parties"].as_string().contains(f",{library},", autoescape=True),
    )


def visible_to(admin: Admin) -> ColumnElement[bool]:
    if admin.library is None:
        return true()
    return or_(concerning(admin.library), col(AuditEvent.action).in_(WHOLE_SET))


def _conditions(admin: Admin, filters: Filters) -> list[ColumnElement[bool]]:
    conditions = [visible_to(admin)]
    if filters.library:
        conditions.append(concerning(filters.library))
    if filters.action:
        conditions.append(col(AuditEvent.action) == filters.action)
    if filters.actor:
        conditions.append(col(AuditEvent.actor).contains(filters.actor, autoescape=True))
    if filters.since is not None:
        conditions.append(col(AuditEvent.at) >= _midnight(filters.since))
    if filters.until is not None:
        conditions.append(col(AuditEvent.at) < _midnight(filters.until + timedelta(days=1)))
    return conditions


def events(
    *,
    session: Session,
    admin: Admin,
    filters: Filters,
    limit: int | None = None,
    offset: int = 0,
) -> list[AuditEvent]:
    """The events ``admin`` may see that pass ``filters``, newest first (past the first
    ``offset``)."""
    query = (
        select(AuditEvent).where(*_conditions(admin, filters)).order_by(col(AuditEvent.id).desc())
    )
    if limit is not None:
        query = query.limit(limit)
    if offset:
        query = query.offset(offset)
    return list(session.exec(query))


def count(*, session: Session, admin: Admin, filters: Filters) -> int:
    query = select(func.count()).select_from(AuditEvent).where(*_conditions(admin, filters))
    return int(session.exec(query).one())


def actions(*, session: Session, admin: Admin) -> list[str]:
    """The actions among the events ``admin`` may see, for the filter's list."""
    query = select(AuditEvent.action).where(visible_to(admin)).distinct()
    return sorted(session.exec(query))


def to_csv(rows: list[AuditEvent]) -> str:
    """One line per event under a header; ``before`` and ``after`` as JSON. A cell that a
    spreadsheet would read as a formula is prefixed with ``'`` (OWASP CSV injection)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for event in rows:
        writer.writerow(
            [
                event.id,
                _utc(event.at),
                _cell(event.actor),
                _cell(event.action),
                _cell(event.subject),
                _cell(event.address or ""),
                _json(event.before),
                _json(event.after),
                event.hash,
            ]
        )
    return out.getvalue()


def _json(value: object) -> str:
    return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)


def _cell(text: str) -> str:
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _utc(moment: datetime) -> str:
    """ISO 8601 in UTC, whether the database kept the zone (PostgreSQL) or not (SQLite)."""
    return as_utc(moment).isoformat(timespec="seconds")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
