"""The administration pages under ``/admin`` (issue 6): sign-in and sign-out, the audit log
(filtered, and as CSV) and the published agreement versions (view, diff, export).

``install(app)`` adds their routes and the handler that sends a browser without a session to
``/admin/login``.
"""

from __future__ import annotations

from fastapi import FastAPI

from identity.web.admin import audit, deps, login, lookups, versions


def install(app: FastAPI) -> None:
    deps.install(app)
    for module in (login, audit, versions, lookups):
        app.include_router(module.router)
