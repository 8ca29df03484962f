"""``GET|POST /logout``: RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0); see
``identity.oauth.endpoints.end_session`` for what it ends."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from identity.i18n import gettext as _
from identity.oauth.server import HubRequest
from identity.web import pages, patron_session
from identity.web.deps import OAuthDep

router = APIRouter(include_in_schema=False)


@router.api_route("/logout", methods=["GET", "POST"])
async def logout(request: Request, server: OAuthDep) -> Response:
    form = await request.form() if request.method == "POST" else None
    oauth = HubRequest(request, form, server.issuer)
    try:
        validated = await run_in_threadpool(server.validate_endpoint_request, "end_session", oauth)
        response: Response | None = await run_in_threadpool(
            server.create_endpoint_response, "end_session", validated
        )
    except OAuth2Error as error:
        # the client's mistake, in OAuth's words (English), under a title in the patron's
        context = {
            "title": _("Sign-out did not work"),
            "message": error.description or error.error,
        }
        return pages.render(request, "problem.html", context, secret=server.secret, status_code=400)
    if response is None:
        response = pages.render(
            request,
            "problem.html",
            {
                "title": _("Signed out"),
                "message": _("You are signed out. You can close this window."),
            },
            secret=server.secret,
        )
    # else back to the lender's registered post-logout page; either way, /me forgets the patron
    patron_session.forget(response, request)
    return response
