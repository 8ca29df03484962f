"""``add(app, router)``: a router's routes, added to an app as the router holds them.

FastAPI's ``include_router`` gives each app its own copy of every route of the router, and
builds each copy's dependencies again on the app's first requests: about 50 ms of CPU for the
hub's routes, in every worker and every app made. The hub's routers carry their prefixes, tags
and dependencies themselves (``APIRouter(prefix=..., dependencies=...)``) and are included with
no options of their own, so the app answers through the routes the routers built at import.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def add(app: FastAPI, router: APIRouter) -> None:
    """``app.include_router(router)``, without copying the router's routes."""
    app.router.routes.extend(router.routes)
