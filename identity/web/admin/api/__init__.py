"""The admin API, ``/api/v1/admin/...``: what the ``/admin`` pages do, as JSON for scripts, a
router per resource: ``sessions`` (sign in and out, who is signed in), ``entries`` (libraries
and agreements), ``checks`` (a change checked without making it; a library's connection),
``proposals``, ``versions``, ``audit``, ``desk`` (a card's sign-in attempts and lock) and
``onboarding`` (clients, administrators, registry patrons). ``auth`` is the bearer session
they all take.

An administrator signs in with ``POST /api/v1/admin/sessions`` (email, password, TOTP code:
the same checks and guessing limits as the sign-in page) and sends the token it returns as
``Authorization: Bearer``. A bearer token is never sent by a browser on its own, so these
endpoints need no CSRF token; the session ends at ``DELETE /api/v1/admin/sessions/current``, after
30 minutes unused or 12 hours.

Entries are written as in agreement files: a change sends ``{"yaml": ...}``, a one-entry file
(``libraries:`` or ``agreements:`` with one item), and is checked by the same loader as ``hub
agreements check``; problems come back as ``invalid-agreements`` with file, line and column.
Who may change what is decided in ``identity.admin.changes``, for the pages and this API alike.
"""

from __future__ import annotations

from fastapi import APIRouter

from identity.web.admin.api import (
    audit,
    checks,
    desk,
    entries,
    onboarding,
    proposals,
    sessions,
    versions,
)

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])
for _resource in (sessions, entries, checks, proposals, versions, audit, desk, onboarding):
    router.include_router(_resource.router)
