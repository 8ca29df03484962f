"""The checks of ``/authorize`` that every request runs (``checks.REQUEST``): the link the
client sent, each parameter once and the client's grant; then a nonce not used before (``GET``),
the agreement set in force brought up to date, and the posted forms' CSRF token. Also what the
other checks share: the sign-in form again for an expired page, a refusal sent back to the client
or shown, ``iss`` on every answer to the client (RFC 9207), and one answer of a posted field."""

from __future__ import annotations

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import Response

import policies
from identity.i18n import N_
from identity.i18n import gettext as _
from identity.oauth.grants.authorization_code import nonce_used
from identity.oauth.server import HubServer
from identity.web.authorize.pages import (
    bad_link,
    held_agreements,
    login_page,
)
from identity.web.authorize.steps import Context
from identity.web.pages import CSRF_FIELD, csrf_ok

#: translated when shown (``_(EXPIRED)``), in the patron's language
EXPIRED = N_("This page had expired. Please sign in again.")


# --- every request: the link the client sent -----------------------------------------------


async def each_parameter_once(ctx: Context) -> Response | None:
    query = ctx.oauth.starlette.query_params
    repeated = sorted(k for k, v in query.multi_items() if k and len(query.getlist(k)) > 1)
    if repeated:
        problem = _("{parameter} given more than once").format(parameter=repeated[0])
        return bad_link(ctx.request, ctx.server, problem)
    return None


def authorization_request(ctx: Context) -> Response | None:
    try:
        ctx.grant = ctx.server.get_consent_grant(ctx.oauth, None)
    except OAuth2Error as error:
        return _refuse(ctx.request, ctx.server, error, lender=_client_library(ctx))
    except ValueError:  # Authlib refuses to quote some malformed values in its error text
        problem = _("a parameter has characters not allowed")
        return bad_link(ctx.request, ctx.server, problem)
    return None


def nonce_unused(ctx: Context) -> Response | None:
    """A replayed nonce is refused before anyone signs in (and again when the code is made)."""
    assert ctx.reading is not None
    nonce = ctx.oauth.payload.data.get("nonce")
    client_id = ctx.grant.request.client.client_id
    if nonce and nonce_used(session=ctx.reading, client_id=client_id, nonce=nonce):
        error = InvalidRequestError("Replay attack", redirect_uri=ctx.grant.redirect_uri)
        error.state = ctx.oauth.payload.state
        return _refuse(ctx.request, ctx.server, error)
    return None


def follow_agreements(ctx: Context) -> None:
    """Bring the set in force up to date (``InForce.get``)."""
    if ctx.reading is not None:
        ctx.in_force.get(session=ctx.reading)
    else:
        with Session(ctx.server.engine) as session:
            ctx.in_force.get(session=session)
    ctx.followed = True


async def csrf_token(ctx: Context) -> Response | None:
    if not csrf_ok(ctx.server.secret, ctx.request, field(ctx.form, CSRF_FIELD)):
        return await run_in_threadpool(expired, ctx)
    return None


# --- shared by the checks ------------------------------------------------------------------


def expired(ctx: Context) -> Response:
    """The sign-in form again, saying the page had expired (the agreements followed first,
    on the consent post). It blocks: in a worker thread."""
    if not ctx.followed:
        follow_agreements(ctx)
    return login_page(ctx.request, ctx.server, ctx.in_force, ctx.grant, error=_(EXPIRED))


def _refuse(
    request: Request,
    server: HubServer,
    error: OAuth2Error,
    *,
    lender: policies.Library | None = None,
) -> Response:
    """An authorization error: back to the client if its redirect URI was verified, else a page
    for the person in front of the browser (RFC 6749 4.1.2.1), with the ``lender``'s contact
    when the client is known."""
    status, body, headers = error()
    if error.redirect_uri:
        return with_issuer(server, server.handle_response(status, body, headers))
    return bad_link(request, server, error.description or error.error, lender=lender)


def _client_library(ctx: Context) -> policies.Library | None:
    """The library of the client the link names, if it is a client the hub knows (blocking)."""
    client_id = ctx.oauth.starlette.query_params.get("client_id", "")
    client = ctx.server.query_client(client_id) if client_id else None
    if client is None or ctx.in_force.version is None:
        return None
    return held_agreements(ctx.in_force).libraries.get(client.library)


def with_issuer(server: HubServer, response: Response) -> Response:
    """RFC 9207: every authorization response carries ``iss``."""
    location = response.headers.get("location")
    if location:
        response.headers["location"] = add_params_to_uri(location, [("iss", server.issuer)])
    return response


def field(form: FormData, name: str) -> str | None:
    values = [v for v in form.getlist(name) if isinstance(v, str)]
    return values[0] if len(values) == 1 else None  # a repeated field is no answer
