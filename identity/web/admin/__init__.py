"""The administration pages under ``/admin`` (issue 6): sign-in and sign-out; libraries and
agreements, each edited as a form or as it is written in an agreement file; proposals waiting
for another party; the audit log (filtered, and as CSV); the published agreement versions
(view, diff, export, roll back, import); lookups; the desk (a card's sign-in attempts and
lock); OAuth clients, administrators (invited by email) and registry patrons (a CSV upload);
choosing a password through an emailed link. And the same as JSON under ``/api/v1/admin``
(``api``).

``install(app)`` adds their routes and the handler that sends a browser without a session to
``/admin/login``.
"""

from __future__ import annotations

from fastapi import FastAPI

from identity.web.admin import (
    account,
    api,
    audit,
    clients,
    deps,
    desk,
    edit,
    forms,
    library_form,
    login,
    lookups,
    password,
    patrons,
    proposals,
    team,
    versions,
    webhooks,
)


def install(app: FastAPI) -> None:
    deps.install(app)
    for module in (login, password, forms, library_form, edit, proposals, audit, versions):
        app.include_router(module.router)
    for module in (lookups, desk, api):
        app.include_router(module.router)
    for module in (clients, team, patrons, account, webhooks):  # onboarding, notifications
        app.include_router(module.router)
