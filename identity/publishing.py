"""Publishing agreement sets to the database, and reading back the set in force.

A set is published whole: validated by the same loader as ``hub agreements check``, stored as one
new version with its files, and recorded in the audit log, in one transaction.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, select

import policies
from identity import audit
from identity.db import lock
from identity.models import AgreementVersion


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
    """The published set for a running server: re-read only when a newer version has been
    published (asking costs one indexed query), so every instance follows ``hub agreements
    load`` and the admin UI without a restart."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._cached: tuple[int, policies.Agreements] | None = None

    def get(self, *, session: Session) -> policies.Agreements:
        newest = session.exec(select(func.max(AgreementVersion.id))).one()
        if newest is None:
            return policies.Agreements([], [])  # nothing published: every decision is "no"
        cached = self._cached
        if cached is not None and cached[0] == newest:
            return cached[1]
        with self._guard:
            cached = self._cached
            if cached is None or cached[0] != newest:
                version = session.get(AgreementVersion, newest)
                assert version is not None
                files = [(f["name"], f["text"]) for f in version.files]
                cached = self._cached = (newest, policies.load_sources(files))
            return cached[1]
