"""The live hub fixture (``tests/identity/oauth/conftest.py``) for every identity test."""

from tests.identity.oauth.conftest import live_hub

__all__ = ["live_hub"]
