"""Fixtures for every identity test: the live hub (``tests/identity/oauth/conftest.py``) and a
university's OpenID provider (``tests/identity/connectors/oidc_idp.py``)."""

from tests.identity.connectors.oidc_idp import university
from tests.identity.oauth.conftest import live_hub

__all__ = ["live_hub", "university"]
