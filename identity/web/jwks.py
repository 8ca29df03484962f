"""``GET /jwks.json``: the public signing keys (RFC 7517), the current one and those retired
recently enough that tokens they signed may still be in use (OpenID Connect Core 10.1.1)."""

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Response

from identity.oauth import signing_keys
from identity.web.deps import SessionDep, SettingsDep

router = APIRouter()


@router.get("/jwks.json", tags=["openid"])
def jwks(session: SessionDep, settings: SettingsDep, response: Response) -> dict[str, Any]:
    # short enough that a rotation reaches every relying party well within a token's lifetime
    response.headers["Cache-Control"] = "public, max-age=300"
    return signing_keys.jwks(session=session, lifetime=timedelta(seconds=settings.token_lifetime_s))
