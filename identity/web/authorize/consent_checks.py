"""The checks of ``/authorize`` that the consent page's post runs (``checks.CONSENT``), after
those of every request and the CSRF token: the sign-in's consent ticket, then the answer to the
client, ``allow`` with a code or ``deny`` with ``access_denied``."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from identity.oauth.grants.authorization_code import AlreadyAnswered
from identity.web.authorize.request_checks import expired, field, with_issuer
from identity.web.authorize.steps import Context
from identity.web.authorize.ticket import read_ticket, spend_ticket


async def consent_ticket(ctx: Context) -> Response | None:
    ctx.consent = read_ticket(ctx.server, ctx.request, field(ctx.form, "ticket") or "")
    return await run_in_threadpool(expired, ctx) if ctx.consent is None else None


def answer_client(ctx: Context) -> Response:
    server, grant, consent = ctx.server, ctx.grant, ctx.consent
    assert consent is not None
    allow = field(ctx.form, "decision") == "allow"
    if not allow and not spend_ticket(server, consent):
        return expired(ctx)
    try:
        status, body, headers = grant.create_authorization_response(
            grant.redirect_uri, consent if allow else None
        )
    except AlreadyAnswered:
        return expired(ctx)
    except OAuth2Error as error:  # access_denied, or a replayed nonce
        error.state = ctx.oauth.payload.state
        return with_issuer(server, server.handle_error_response(ctx.oauth, error))
    return with_issuer(server, server.handle_response(status, body, headers))
