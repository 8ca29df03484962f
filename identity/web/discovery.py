"""``GET /.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 section 3, with the
RFC 8414, 7662, 7009 and 9207 additions). ``issuer`` is exactly ``HUB_ISSUER``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from identity.oauth.claims import CLAIMS, SCOPES
from identity.web.deps import OAuthDep

router = APIRouter(tags=["openid"])

AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


@router.get("/.well-known/openid-configuration", summary="OpenID Provider metadata")
def discovery(server: OAuthDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    issuer = server.issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks.json",
        "introspection_endpoint": f"{issuer}/introspect",
        "revocation_endpoint": f"{issuer}/revoke",
        "end_session_endpoint": f"{issuer}/logout",
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": [*AUTH_METHODS, "none"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "sid",
            "at_hash",
            *(claim for names in CLAIMS.values() for claim in names),
        ],  # fmt: skip
        "prompt_values_supported": ["none", "login", "consent"],
        "authorization_response_iss_parameter_supported": True,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }
