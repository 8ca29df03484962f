"""The ``oidc`` connector (docs/connectors.md): a library whose patrons sign in at its own
OpenID provider (Entra ID, Okta, Keycloak, ...), the hub being one of its relying parties.

- ``relying_party``: the authorization request, the answer at ``/oidc/callback`` (code
  exchanged with PKCE, ID token checked, claims read as a ``FederatedPatron``), and the
  connection test;
- ``id_token``: ID token validation (OpenID Connect Core 1.0 section 3.1.3.7);
- ``provider``: discovery and keys, cached, behind a circuit breaker.
"""
