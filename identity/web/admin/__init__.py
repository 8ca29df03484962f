"""The administration pages under ``/admin`` (issue 6): sign-in and sign-out; libraries and
agreements, each edited as it is written in an agreement file; proposals waiting for another
party; the audit log (filtered, and as CSV); the published agreement versions (view, diff,
export, roll back, import); lookups; the desk (a card's sign-in attempts and lock). And the
same as JSON under ``/api/v1/admin`` (``api``).

``install(app)`` adds their routes and the handler that sends a browser without a session to
``/admin/login``.
"""

from __future__ import annotations

from fastapi import FastAPI

from identity.web.admin import api, audit, deps, desk, edit, login, lookups, proposals, versions


def install(app: FastAPI) -> None:
    deps.install(app)
    for module in (login, edit, proposals, audit, versions, lookups, desk, api):
        app.include_router(module.router)
