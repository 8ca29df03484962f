"""Fixtures for every identity test: the browser (``tests/identity/browser.py``), the live hub
(``tests/identity/oauth/conftest.py``) and a university's OpenID provider
(``tests/identity/connectors/oidc_idp.py``)."""

from tests.identity.browser import chromium, new_page
from tests.identity.connectors.oidc_idp import university
from tests.identity.oauth.conftest import live_hub

__all__ = ["chromium", "live_hub", "new_page", "university"]
