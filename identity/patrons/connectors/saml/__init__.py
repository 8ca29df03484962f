"""SAML 2.0 home libraries (``kind: saml``; SAML core, bindings, profiles and metadata 2.0, the
OASIS standard of 2005): the hub is one service provider for all of them, and each library's
identity provider (Shibboleth, ADFS, Entra ID, a federation member) says who signed in.

The module's whole interface is ``ServiceProvider`` (``provider``), made once per process:

- ``begin(library, relay_state) -> (url, request_id)``: the URL to send the browser to (a
  signed ``AuthnRequest`` in the HTTP-Redirect binding) and the request's ID, which the caller
  keeps with the pending sign-in;
- ``finish(saml_response=, relay_state=, expected_request_id=, library=) -> FederatedPatron``:
  the answer posted to ``/saml/acs`` checked (``response``'s steps) and turned into who signed
  in, or ``Refused``/``Declined`` (``errors``), or ``HomeLibraryUnavailable``;
- ``metadata() -> bytes``: the hub's signed metadata, served at ``/saml/metadata``;
- ``fetch_identity_provider(library)`` (also a function of the module, with the settings): the
  IdP as its metadata describes it, fetched and verified now (``hub connectors test``);
- ``keys_in_use()``: the service provider's keys (``keys``: rotation with an overlap).

pysaml2 does the XML signatures, encryption and its own checks (``toolkit``); the hub reads
every response safely first (``wellformed``) and checks what the SAML profile requires itself
(``checks``), so that each refusal has a reason and a test.


pysaml2 takes seconds to import (it compiles the SAML schemas), so this package imports only its
errors: ``provider`` (and with it pysaml2) is imported where SAML is first used, and a hub
without SAML libraries never pays for it.
"""

from identity.patrons.connectors.saml.errors import Declined, Refused

__all__ = ["Declined", "Refused"]
