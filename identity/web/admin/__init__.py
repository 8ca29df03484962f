"""The administration pages under ``/admin`` (issue 6): sign-in and sign-out; libraries and
agreements, each edited as a form or as it is written in an agreement file; proposals waiting
for another party; the audit log (filtered, and as CSV); the published agreement versions
(view, diff, export, roll back, import); the network (who lends to whom, per category and
day) and an agreement's printable summary; lookups; the desk (a card's sign-in attempts and
lock); OAuth clients, administrators (invited by email) and registry patrons (a CSV upload);
choosing a password through an emailed link. And the same as JSON under ``/api/v1/admin``
(``api``).

``install(app)`` adds their routes and the handler that sends a browser without a session to
``/admin/login``.
"""

from __future__ import annotations

from fastapi import FastAPI

from identity.web import routes
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
    network,
    password,
    patrons,
    proposals,
    team,
    versions,
    webhooks,
)


def install(app: FastAPI) -> None:
    deps.install(app)
    for module in (login, password, network, forms, library_form, edit, proposals, audit):
        routes.add(app, module.router)
    for module in (versions, lookups, desk, api):
        routes.add(app, module.router)
    for module in (clients, team, patrons, account, webhooks):  # onboarding, notifications
        routes.add(app, module.router)
