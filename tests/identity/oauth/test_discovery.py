"""Discovery (OpenID Connect Discovery 1.0, RFC 8414), checked by Authlib's own metadata
validators, and what strict relying parties insist on (node ``openid-client``: ``issuer``
exactly the URL it was given, the ID token algorithm listed)."""

from __future__ import annotations

import httpx
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from tests.identity.oauth.conftest import LiveHub


def test_the_metadata_is_valid_and_names_every_endpoint(live_hub: LiveHub) -> None:
    answer = httpx.get(f"{live_hub.issuer}/.well-known/openid-configuration")
    assert answer.status_code == 200
    metadata = answer.json()
    OpenIDProviderMetadata(metadata).validate()
    AuthorizationServerMetadata(metadata).validate()
    assert metadata["issuer"] == live_hub.issuer
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["subject_types_supported"] == ["pairwise"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    for name in ("jwks_uri", "token_endpoint", "userinfo_endpoint", "introspection_endpoint",
                 "revocation_endpoint"):  # fmt: skip
        assert metadata[name].startswith(live_hub.issuer)
    assert httpx.get(metadata["jwks_uri"]).json()["keys"]
    for name in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        assert httpx.post(metadata[name]).status_code in {400, 401}  # there, and answering
