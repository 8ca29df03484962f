"""The audit log: append-only, hash-chained (docs/administration.md, Audit log).

``record`` appends an event whose hash covers its content and the previous event's hash;
``verify`` walks the chain and reports every event that no longer matches. Each event is also
logged (``audited``: its action, actor and subject) once its transaction commits.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sqlalchemy_event
from sqlmodel import Session, col, select

from identity import logs
from identity.store.database import lock
from identity.store.models import AuditEvent, utcnow

GENESIS = "0" * 64
log = logs.get("hub.audit")


def record(
    *,
    session: Session,
    actor: str,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    address: str | None = None,
) -> AuditEvent:
    """Append one event, in the caller's transaction (it is kept only if that commits)."""
    lock(session, "audit")  # one writer at a time, or two events could name one predecessor
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    event = AuditEvent(
        at=utcnow(),
        actor=actor,
        action=action,
        subject=subject,
        before=before,
        after=after,
        address=address,
        previous_hash=last.hash if last else GENESIS,
        hash="",
    )
    event.hash = digest(event)
    session.add(event)
    session.flush()
    fields = {"action": action, "actor": actor, "subject": subject}
    sqlalchemy_event.listen(
        session, "after_commit", lambda _: logs.event(log, "audited", **fields), once=True
    )
    return event


def digest(event: AuditEvent) -> str:
    content = {
        "at": _utc(event.at),
        "actor": event.actor,
        "action": event.action,
        "subject": event.subject,
        "before": event.before,
        "after": event.after,
        "address": event.address,
        "previous_hash": event.previous_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def verify(*, session: Session) -> list[str]:
    """Every break in the chain, as sentences; empty when the log is intact."""
    problems = []
    previous = GENESIS
    for event in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))):
        if event.previous_hash != previous:
            problems.append(f"event {event.id}: does not follow the event before it")
        if digest(event) != event.hash:
            problems.append(f"event {event.id}: content does not match its hash")
        previous = event.hash
    return problems


def _utc(moment: datetime) -> str:
    """The same text whether the database gave the time back with its zone or without (SQLite)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")
