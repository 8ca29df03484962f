"""``GET /oidc/callback``: where a library's OpenID provider sends the patron back (the hub's
redirect URI as its relying party, OpenID Connect Core 3.1.2.5 and 3.1.2.6). The answer
(``code`` or ``error``, with ``state`` and perhaps ``iss``) goes to the federated sign-in flow
(``identity.web.authorize.federated``), which requires the browser's binding cookie and
continues to the consent page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

import policies
from identity.patrons.connectors.federated import FederatedPatron
from identity.patrons.connectors.oidc import relying_party
from identity.patrons.federated_signin import PendingSignIn
from identity.web.authorize import federated
from identity.web.deps import InForceDep, OAuthDep

router = APIRouter(include_in_schema=False)


@router.get(relying_party.CALLBACK)
async def oidc_callback(request: Request, server: OAuthDep, in_force: InForceDep) -> Response:
    query = request.query_params
    answer = {key: value for key, value in query.items() if len(query.getlist(key)) == 1}

    def finish(library: policies.Library, pending: PendingSignIn) -> FederatedPatron:
        return relying_party.finish(library, pending, answer=answer, hub_issuer=server.issuer)

    return await federated.complete(
        request,
        server,
        in_force,
        handle=answer.get("state", ""),
        protocol="oidc",
        finish=finish,
        binding_required=True,
    )
