"""Libraries whose patrons sign in at the test directory (``slapd.py``), as agreement entries."""

from __future__ import annotations

from typing import Any

import policies
from policies.model import LIBRARY
from tests.identity.connectors.slapd import SERVICE_DN, SERVICE_ENV, SUFFIX, Slapd

CATEGORIES = {"UG": "undergraduate", "staff": "staff", "student": "undergraduate"}
SEARCH = {"base": SUFFIX, "filter": "(uid={card})", "bind_dn": SERVICE_DN,
          "password_env": SERVICE_ENV}  # fmt: skip
#: as an Active Directory is configured: the username is the sAMAccountName
AD_SEARCH = {**SEARCH, "filter": "(&(objectClass=hubPatron)(sAMAccountName={card}))"}
USER_DN = "uid={card},ou=people," + SUFFIX


def settings(slapd: Slapd, **changes: Any) -> dict[str, Any]:
    """The connector: ldaps:// with the test CA, search and bind, then ``changes`` (a key set
    to None is left out)."""
    connector: dict[str, Any] = {
        "kind": "ldap",
        "url": slapd.url("ldaps"),
        "tls_ca": str(slapd.ca),
        "search": SEARCH,
        "category": "hubCategory",
        "expires": "hubExpires",
        "timeout_s": 2,
    }
    connector.update(changes)
    return {k: v for k, v in connector.items() if v is not None}


def library(slapd: Slapd, **changes: Any) -> policies.Library:
    return LIBRARY.validate_python(
        {
            "id": "uni",
            "name": "Example University Library",
            "categories": CATEGORIES,
            "connector": settings(slapd, **changes),
        }
    )
