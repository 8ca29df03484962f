"""What the SAML service provider raises::

    Exception
    ├── Refused                 the identity provider's answer is not accepted; ``reason`` is a
    │   │                       stable code (below), ``detail`` says what was wrong, for the log
    │   └── Declined            the identity provider answered, but did not sign the patron in
    │                           (a SAML status other than Success: cancelled, failed, denied)
    └── HomeLibraryUnavailable  (``identity.patrons.connectors``) the identity provider's metadata
                                cannot be fetched, is not signed by ``metadata_cert``, does not
                                name the IdP, or is past its ``validUntil``: a 503, never a guess

The reasons of ``Refused``: ``malformed`` (not a SAML response the hub can read), ``dtd`` (a
document type declaration or entity: XXE, entity expansion), ``wrapped`` (a second assertion,
a signature out of place, a repeated ID: signature wrapping), ``issuer``, ``destination``,
``in-response-to``, ``undecryptable``, ``unsigned`` (no signature on the assertion),
``weak-signature`` (SHA-1), ``signature`` (one that does not verify against the IdP's
metadata), ``audience``, ``recipient``, ``expired``, ``not-yet-valid``, ``replayed``, ``scope``
(a scoped value outside the IdP's ``shibmd:Scope``), ``no-patron-id``, ``declined``.
"""

from __future__ import annotations


class Refused(Exception):
    """The identity provider's answer is not accepted: nobody is signed in."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Declined(Refused):
    """The identity provider did not sign the patron in (its status, e.g. ``AuthnFailed``)."""

    def __init__(self, status: str, message: str = "") -> None:
        super().__init__("declined", f"the identity provider answered {status} {message}".strip())
        self.status = status
