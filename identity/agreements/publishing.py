"""Publishing agreement sets to the database, and reading back the set in force.

A set is published whole: validated by the same loader as ``hub agreements check``, stored as one
new version with its files, and recorded in the audit log, in one transaction. A running server
follows the latest version with ``InForce``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select

import policies
from identity.admin import audit
from identity.store.database import lock
from identity.store.models import AgreementVersion

log = logging.getLogger(__name__)


def publish(
    *,
    session: Session,
    sources: Sequence[tuple[str, str]],
    actor: str,
    note: str | None = None,
    limits: policies.Limits = policies.DEFAULT_LIMITS,
) -> tuple[AgreementVersion, bool]:
    """Publish ``(name, yaml_text)`` files as a new version, or keep the current one when the
    files are the same. Returns the version in force and whether it is new. Raises
    ``policies.InvalidAgreements`` (and publishes nothing) when the set has problems or is
    beyond ``limits``."""
    agreements = policies.load_sources(sources, limits=limits)
    sha = _sha256(sources)
    lock(session, "agreements")  # so that "current" is still current when the new one is added
    current = latest(session=session)
    if current is not None and current.sha256 == sha:
        return current, False
    version = AgreementVersion(
        published_by=actor,
        note=note,
        sha256=sha,
        files=[{"name": name, "text": text} for name, text in sources],
        libraries=len(agreements.libraries),
        agreements=len(agreements),
    )
    session.add(version)
    session.flush()
    _remember(sha, agreements)  # once committed, this process's InForce takes it as it is
    audit.record(
        session=session,
        actor=actor,
        action="agreements.publish",
        subject=f"agreement-version:{version.id}",
        before=None if current is None else _summary(current),
        after=_summary(version),
    )
    return version, True


def latest(*, session: Session) -> AgreementVersion | None:
    query = select(AgreementVersion).order_by(col(AgreementVersion.id).desc()).limit(1)
    return session.exec(query).first()


def in_force(*, session: Session) -> tuple[AgreementVersion, policies.Agreements] | None:
    """The latest published version and its agreements, or None when nothing is published."""
    version = latest(session=session)
    if version is None:
        return None
    return version, policies.load_sources([(f["name"], f["text"]) for f in version.files])


def _sha256(sources: Sequence[tuple[str, str]]) -> str:
    """The same for the same files, whatever order they were given in."""
    digest = hashlib.sha256()
    for name, text in sorted(sources):
        for part in (name, text):
            data = part.encode()
            digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def _summary(version: AgreementVersion) -> dict[str, object]:
    return {
        "version": version.id,
        "sha256": version.sha256,
        "files": [f["name"] for f in version.files],
        "libraries": version.libraries,
        "agreements": version.agreements,
        "note": version.note,
    }


class InForce:
    """The published set for a running server, following every publication without a restart
    (``hub agreements load``, the admin pages and API, other processes), and never making a
    request wait for a set to be read back.

    ``get`` asks the database which version is the latest (one indexed query) and returns the
    set this process holds; ``at`` does the same with a latest version the caller has read
    itself (the eligibility API reads it in the query that checks the bearer token). A version
    published by this process (``publish``), or one whose files are those of the set held (a
    rollback to them), is taken at once. Any other is read back in a worker thread, one at a
    time per process, while the set held keeps answering; it is swapped in whole when it is
    ready. A version that cannot be read back is logged and tried again after ``RETRY_S``; the
    set held stays in force meanwhile. Only the first ``get`` of a process (at startup) reads
    the set in the caller, since there is nothing to answer with yet.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._held: _Held | None = None
        self._first = threading.Lock()  # the first read, in the caller
        self._building: int | None = None  # the version being read back
        self._failed: tuple[int, float] | None = None  # a version that could not be, and when

    def get(self, *, session: Session) -> policies.Agreements:
        """The set in force, as this process holds it (see the class)."""
        newest = _newest(session)
        with self._lock:
            held = self._take(newest)
        if held is not None:
            return held.agreements
        with self._first:  # nothing is held yet: read it here
            with self._lock:
                held = self._take(newest)
            if held is None:
                held = _read_back(session, newest[0])
                with self._lock:
                    if self._held is None or self._held.version < held.version:
                        self._held = held
                    held = self._held
        return held.agreements

    def at(self, newest: tuple[int, str]) -> policies.Agreements | None:
        """The set in force when the latest version is ``newest`` (its id and files' digest,
        as ``_newest`` reads them), as ``get`` gives it, without asking the database; None when
        nothing is held yet (then call ``get``). Cheap enough for the event loop."""
        with self._lock:
            held = self._take(newest)
        return None if held is None else held.agreements

    def held(self) -> policies.Agreements:
        """The set this process holds now, without asking the database (for code on the event
        loop, after a ``get`` in a worker thread)."""
        held = self._held
        if held is None:
            raise RuntimeError("no agreement set has been read yet: call get() first")
        return held.agreements

    @property
    def version(self) -> int | None:
        """The version held (0: nothing was published); None before the first ``get``."""
        held = self._held
        return None if held is None else held.version

    def _take(self, newest: tuple[int, str]) -> _Held | None:
        """(Under the lock.) The set to answer with for the latest version ``newest``: the one
        held, or one known by its files; starts reading it back when neither will do. None
        when nothing is held."""
        version, sha = newest
        held = self._held
        if held is not None and held.version >= version:
            return held
        known = held.agreements if held is not None and held.sha256 == sha else _recent(sha)
        if known is not None:
            self._held = _Held(version, sha, known)
            return self._held
        if held is not None:
            self._start(version)
        return held

    def _start(self, version: int) -> None:
        """(Under the lock.) Read ``version`` back in a worker thread, unless one is being
        read already or it failed less than ``RETRY_S`` ago."""
        if self._building is not None:
            return
        failed = self._failed
        if failed is not None and failed[0] == version and time.monotonic() - failed[1] < RETRY_S:
            return
        self._building = version
        thread = threading.Thread(
            target=self._build, args=(version,), name=f"agreements-v{version}", daemon=True
        )
        thread.start()

    def _build(self, version: int) -> None:
        try:
            with _one_build, Session(self._engine) as session:
                built: _Held | None = _read_back(session, version)
        except Exception:
            log.exception(
                "agreement version %s could not be read back; the set held stays in force "
                "(trying again in %s s)", version, RETRY_S,
            )  # fmt: skip
            built = None
        with self._lock:
            self._building = None
            if built is None:
                self._failed = (version, time.monotonic())
            elif self._held is None or self._held.version < built.version:
                self._held = built


RETRY_S = 30.0  # a version that could not be read back is tried again after this long
_one_build = threading.Lock()  # one set read back at a time in a process
_published: tuple[str, policies.Agreements] | None = None  # the last set published here
_published_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Held:
    version: int  # 0: nothing is published
    sha256: str
    agreements: policies.Agreements


def _remember(sha: str, agreements: policies.Agreements) -> None:
    """A set this process has just published: ``InForce`` takes it without reading it back."""
    global _published
    with _published_lock:
        _published = (sha, agreements)


def _recent(sha: str) -> policies.Agreements | None:
    with _published_lock:
        return _published[1] if _published is not None and _published[0] == sha else None


def _newest(session: Session) -> tuple[int, str]:
    """The latest version and its files' digest; (0, "") when nothing is published."""
    query = select(AgreementVersion.id, AgreementVersion.sha256)
    row = session.exec(query.order_by(col(AgreementVersion.id).desc()).limit(1)).first()
    return (0, "") if row is None or row[0] is None else (row[0], row[1])


def _read_back(session: Session, version: int) -> _Held:
    if version == 0:
        return _Held(0, "", policies.Agreements([], []))  # nothing published: every answer no
    row = session.get(AgreementVersion, version)
    assert row is not None
    agreements = policies.load_sources([(f["name"], f["text"]) for f in row.files])
    return _Held(version, row.sha256, agreements)
