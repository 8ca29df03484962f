"""Reading an identity provider's answer at the assertion consumer service (SAML bindings 3.5,
HTTP-POST; SAML profiles 4.1.4, the Web Browser SSO profile), in order:

1. base64, at most ``wellformed.MAX_BYTES`` decoded (``malformed``);
2. read safely (``wellformed.parse``: ``dtd``, ``malformed``);
3. the response's issuer, destination, InResponseTo and status (``checks.response``);
   then its one assertion, in its place (``wellformed.single_assertion``: ``wrapped``);
4. an encrypted assertion decrypted with the hub's encryption keys, and step 2 again on the
   result (``undecryptable``, ``wrapped``);
5. the assertion's issuer, signature's presence and algorithms, times, audience and bearer
   confirmation (``checks.assertion``);
6. the signature verified by pysaml2 against the IdP's metadata, with its own checks again
   (``signature``); the assertion it verified must be the one checked (``wrapped``);
7. the patron from the attributes, scopes checked (``attributes.patron``: ``scope``,
   ``no-patron-id``);
8. the assertion's ID recorded, refused if seen before (``replay``: ``replayed``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from xml.etree.ElementTree import Element

from saml2 import BINDING_HTTP_POST
from saml2.client import Saml2Client
from saml2.response import StatusError
from saml2.sigver import DecryptError, SigverError

from identity.patrons.connectors.saml import checks, toolkit, wellformed
from identity.patrons.connectors.saml.errors import Declined, Refused


def decode(saml_response: str) -> bytes:
    """The document posted as ``SAMLResponse`` (step 1)."""
    text = "".join(saml_response.split())  # base64 may arrive folded into lines
    if len(text) > wellformed.MAX_BYTES * 4 // 3 + 4:
        raise Refused("malformed", "the SAMLResponse is too large")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("malformed", "the SAMLResponse is not base64") from None


def assertion_of(document: bytes, expected: checks.Expected, client: Saml2Client) -> Element:
    """Steps 2 to 5: the one assertion of ``document``, decrypted, checked but not verified."""
    root = wellformed.parse(document)
    checks.response(root, expected)
    outer = wellformed.single_assertion(root)
    if outer.tag == wellformed.ENCRYPTED_ASSERTION:
        try:
            decrypted = client.sec.decrypt(document.decode())
        except (DecryptError, UnicodeDecodeError) as exc:
            toolkit.release(exc)
            raise Refused("undecryptable", "no key of the hub decrypts the assertion") from None
        return wellformed.single_assertion(wellformed.parse(decrypted), decrypted=True)
    return outer


def verified(
    client: Saml2Client, saml_response: str, expected: checks.Expected, relay_state: str
) -> Any:
    """Step 6: pysaml2's verification of the signature (against the IdP's metadata only) and
    of the rest again; the assertion it verified (a ``saml2.saml.Assertion``)."""
    try:
        answer = client.parse_authn_request_response(
            saml_response,
            BINDING_HTTP_POST,
            outstanding={expected.request_id: relay_state},
            conv_info={"remote_addr": "0.0.0.0"},  # the subject's address is not checked
        )
    except StatusError as exc:
        toolkit.release(exc)
        raise Declined(type(exc).__name__.removeprefix("Status")) from None
    except SigverError as exc:  # its message holds the whole document: never passed on
        toolkit.release(exc)
        raise Refused("signature", f"pysaml2: {type(exc).__name__}") from None
    except Exception as exc:
        toolkit.release(exc)
        raise Refused("malformed", f"pysaml2: {type(exc).__name__}") from None
    if answer is None or answer.assertion is None or len(answer.assertions) != 1:
        raise Refused("malformed", "pysaml2 found no single assertion")
    return answer.assertion
