"""Identity providers' metadata, kept per process and fetched again every
``HUB_SAML_METADATA_REFRESH_S``.

A sign-in never waits for a refresh while the copy it has is still valid: a copy older than
the refresh interval is used once more while a thread fetches the next one in the
background. A sign-in waits only when there is no copy yet, or the copy is past its
``validUntil``; then, if the metadata cannot be had, the library's sign-ins are unavailable
(``HomeLibraryUnavailable``) until it can. A failed refresh is logged and tried again at the
next sign-in a minute later; the copy in hand serves until its ``validUntil``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import policies
from identity.patrons.connectors import HomeLibraryUnavailable
from identity.patrons.connectors.saml.idp_metadata import IdentityProvider
from identity.store.models import utcnow

log = logging.getLogger(__name__)

RETRY = timedelta(seconds=60)  # between refreshes that failed
Loader = Callable[[policies.Library], IdentityProvider]


@dataclass
class _Entry:
    idp: IdentityProvider
    next_try: datetime
    refreshing: bool = False


class MetadataCache:
    def __init__(self, load: Loader, *, refresh: timedelta) -> None:
        self._load = load
        self._refresh = refresh
        self._entries: dict[tuple[str, object], _Entry] = {}
        self._locks: dict[tuple[str, object], threading.Lock] = {}
        self._guard = threading.Lock()

    def get(self, library: policies.Library) -> IdentityProvider:
        """``library``'s IdP, from a valid copy or fetched now; ``HomeLibraryUnavailable``."""
        key = (library.id, library.connector)
        now = utcnow()
        with self._guard:
            entry = self._entries.get(key)
            if entry is not None and not entry.idp.expired(now):
                if now >= entry.next_try and not entry.refreshing:
                    entry.refreshing = True
                    threading.Thread(
                        target=self._refresh_in_background,
                        args=(key, library),
                        name=f"saml-metadata-{library.id}",
                        daemon=True,
                    ).start()
                return entry.idp
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one fetch per library at a time; the others wait for its result
            with self._guard:
                entry = self._entries.get(key)
            if entry is not None and not entry.idp.expired(utcnow()):
                return entry.idp
            idp = self._load(library)
            self._store(key, idp)
            return idp

    def _store(self, key: tuple[str, object], idp: IdentityProvider) -> None:
        with self._guard:
            self._entries[key] = _Entry(idp, idp.fetched_at + self._refresh)

    def _refresh_in_background(self, key: tuple[str, object], library: policies.Library) -> None:
        try:
            self._store(key, self._load(library))
        except HomeLibraryUnavailable as exc:
            log.warning("SAML metadata of %s not refreshed: %s", library.id, exc.reason)
            with self._guard:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.refreshing, entry.next_try = False, utcnow() + RETRY
        except Exception:
            log.exception("SAML metadata of %s not refreshed", library.id)
            with self._guard:
                entry = self._entries.get(key)
                if entry is not None:
                    entry.refreshing, entry.next_try = False, utcnow() + RETRY
