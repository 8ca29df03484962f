"""The OpenID provider (docs/signing-in.md), on Authlib's server classes.

- ``server``: the one thin adapter between Starlette requests and Authlib, and the wiring;
- ``grants``: authorization code (RFC 6749 4.1, with PKCE S256 and OpenID Connect), refresh
  token (RFC 6749 section 6, rotated, with reuse detection), client credentials (4.4);
- ``endpoints``: introspection (RFC 7662), revocation (RFC 7009), RP-initiated logout;
- ``tokens``: JWT access tokens (RFC 9068) and their rows; ``claims``: what a lender receives;
- ``patron``: what the home library said at sign-in; ``client``: a registered client as
  Authlib sees it; ``row_adapters``: codes and tokens as Authlib's grants see them;
- ``registration``: registering clients (``hub clients add``); ``signing_keys``: the keys that
  sign ID and access tokens, rotated and published.
"""
