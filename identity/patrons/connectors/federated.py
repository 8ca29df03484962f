"""Home libraries whose patrons sign in at the library's own identity provider (docs/connectors.md):
SAML 2.0 (``kind: saml``) and OpenID Connect (``kind: oidc``).

There is no card and PIN: the sign-in page sends the browser to the library's identity provider,
which sends it back to the hub (``/saml/acs``, ``/oidc/callback``) with a signed statement of who
signed in. The protocol module checks that statement and turns it into a ``FederatedPatron``;
the sign-in flow then continues to the consent page as after a PIN.

A federated sign-in proves membership today and, unless the library names a standing source,
nothing about fines, flags or expiry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class FederatedPatron:
    """Who the library's identity provider says signed in."""

    library: str
    #: the provider's stable identifier of the patron (the configured attribute or claim), which
    #: takes the place of the card number: the pairwise ``sub`` is derived from it
    patron_id: str
    name: str
    #: the provider's value (e.g. ``student@rmit.edu.au``), mapped through the library's
    #: ``categories`` like an ILS code (``policies.Library.hub_category``)
    category: str
    #: every attribute or claim released, by name, for the record and for a standing source's
    #: ``match``
    attributes: Mapping[str, tuple[str, ...]]
