"""Patron CSV imports started on the admin pages (``/admin/patrons``), run as jobs in a thread of
their own while the administrator watches their progress.

A job checks every row, then hashes the PINs, then writes every patron in one transaction with
its audit event and its outcome: all or nothing, as ``hub patrons import``. Its progress is a
``PatronImport`` row, written every ``Runner.step`` rows in a short transaction of its own, so
that whichever process of the hub serves the page can show it. A job still running whose
progress has not moved for ``STALLED`` (its process ended: nothing of it was saved) is shown as
failed. The page's address holds the job's random id.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

import policies
from identity import logs
from identity.patrons import registry_import
from identity.store.database import transaction
from identity.store.models import PatronImport, as_utc, utcnow

#: rows between two writes of a job's progress
STEP = 500
#: a running job whose progress has not moved for so long is shown as failed; hashing STEP PINs
#: takes seconds, and writing 50,000 patrons well under a minute
STALLED = timedelta(minutes=10)
#: problems kept (and listed) for a refused file; all are counted
SHOWN = 100
RUNNING = ("checking", "importing", "saving")
STOPPED = "The hub was stopped during the import; nothing was imported. Upload the file again."
ENDED = (
    "The import stopped without finishing (the hub process running it ended); nothing was "
    "imported. Upload the file again."
)

log = logs.get("hub.patrons")


class Stopping(Exception):
    """The hub is stopping: the job ends without saving anything."""


def running_for(session: Session, library: str, now: datetime | None = None) -> str | None:
    """The id of an import into ``library`` that is running (and not stalled), if any."""
    since = (now or utcnow()) - STALLED
    return session.exec(
        select(PatronImport.id).where(
            PatronImport.library == library,
            col(PatronImport.state).in_(RUNNING),
            col(PatronImport.updated_at) >= since,
        )
    ).first()


def recent(session: Session, libraries: list[str], count: int = 10) -> list[PatronImport]:
    """The latest imports into ``libraries``, the latest first."""
    return list(
        session.exec(
            select(PatronImport)
            .where(col(PatronImport.library).in_(libraries))
            .order_by(col(PatronImport.started_at).desc())
            .limit(count)
        )
    )


def seen(job: PatronImport, now: datetime | None = None) -> PatronImport:
    """``job`` as its page shows it: failed if it is running but has stalled."""
    if job.state in RUNNING and as_utc(job.updated_at) < (now or utcnow()) - STALLED:
        return job.model_copy(update={"state": "failed", "message": ENDED})
    return job


class Runner:
    """Runs each import in a thread of its own (at most one a library runs at a time: the page
    refuses a second); ``close`` stops them, saving nothing, when the hub stops."""

    def __init__(self, engine: Engine, *, step: int = STEP) -> None:
        self.engine, self.step = engine, step
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def start(
        self, *, library: policies.Library, actor: str, file: str, lines: list[list[str]]
    ) -> str:
        """Record a job for ``lines`` (``registry_import.parse``'s) and start it; its id."""
        job_id = secrets.token_urlsafe(32)
        job = PatronImport(
            id=job_id,
            library=library.id,
            admin=actor,
            file=file[:200],
            state="checking",
            total=registry_import.patron_rows(lines),
        )
        with transaction(self.engine) as session:
            session.add(job)
        thread = threading.Thread(target=self._run, args=(job_id, library, actor, lines),
                                  name=f"patron-import-{library.id}")  # fmt: skip
        with self._lock:
            self._threads.add(thread)
        thread.start()
        return job_id

    def close(self, timeout_s: float = 30.0) -> None:
        self._stopping.set()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout_s)

    def _run(self, job: str, library: policies.Library, actor: str, lines: list[list[str]]) -> None:
        try:
            try:
                self._import(job, library, actor, lines)
            except Stopping:
                self._update(job, state="failed", message=STOPPED, finished_at=utcnow())
            except Exception as exc:
                log.exception("patron import failed", library=library.id, job=job)
                message = f"The import failed ({type(exc).__name__}); nothing was imported."
                self._update(job, state="failed", message=message, finished_at=utcnow())
        except Exception:  # not even that written: the page shows it failed once it stalls
            log.exception("patron import outcome not recorded", library=library.id, job=job)
        finally:
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _import(
        self, job: str, library: policies.Library, actor: str, lines: list[list[str]]
    ) -> None:
        checked = registry_import.check_rows(lines, library, self._progress(job, "checking"))
        if checked.rejected or not checked.rows:  # refused: nothing is imported
            count = len(checked.rejected)
            problems = [[line, reason] for line, reason in checked.rejected[:SHOWN]]
            self._update(job, state="refused", done=len(checked.rows) + count, rejected=count,
                         problems=problems, finished_at=utcnow())  # fmt: skip
            return
        self._update(job, state="importing", done=0)
        hashes = registry_import.hash_pins(checked.rows, self._progress(job, "importing"))
        self._update(job, state="saving", done=len(hashes))
        self._check_stopping()
        with transaction(self.engine) as session:
            result = registry_import.import_rows(
                session=session, library=library.id, rows=checked.rows, hashes=hashes, actor=actor
            )
            row = session.get(PatronImport, job)
            assert row is not None
            row.state, row.finished_at, row.updated_at = "imported", utcnow(), utcnow()
            row.added, row.updated, row.not_in_file = (
                result.added,
                result.updated,
                result.not_in_file,
            )
            session.add(row)

    def _progress(self, job: str, state: str) -> Callable[[int], None]:
        def told(done: int) -> None:
            if done % self.step == 0:
                self._check_stopping()
                self._update(job, state=state, done=done)

        return told

    def _check_stopping(self) -> None:
        if self._stopping.is_set():
            raise Stopping

    def _update(self, job: str, **fields: Any) -> None:
        with transaction(self.engine) as session:
            row = session.get(PatronImport, job)
            assert row is not None
            for name, value in {**fields, "updated_at": utcnow()}.items():
                setattr(row, name, value)
            session.add(row)
