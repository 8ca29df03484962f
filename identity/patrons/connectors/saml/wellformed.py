"""Reading a SAML response safely, before anything in it is believed (SAML core 5.4, the XML
Signature profile; Somorovsky et al., "On Breaking SAML: Be Whoever You Want to Be", 2012, for
signature wrapping; OWASP's XXE prevention for entities).

- **No DTD.** A document type declaration is refused before anything is read, so no external
  entity (XXE) is fetched and no entity is expanded (billion laughs): SAML never needs one.
- **No comments or processing instructions.** A comment inside a value (``alice@uni.edu<!---->
  .evil.example``) is read differently by different XML libraries; SAML never needs one.
- **One assertion, where it belongs.** A response holds exactly one ``Assertion`` or
  ``EncryptedAssertion``, a child of the ``Response`` (after decryption: the one ``Assertion`` in
  the ``EncryptedAssertion``), and no ID appears twice. A second assertion, signed or not, or
  one moved under another element, is signature wrapping.
- **Signatures where they belong.** A ``ds:Signature`` is a child of the ``Response`` or of the
  assertion, at most one each, with one ``Reference`` to its parent's ID (enveloped).

What passes here is still untrusted: the signature is verified afterwards (``response``).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser

from identity.patrons.connectors.saml.errors import Refused

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
RESPONSE = f"{{{SAMLP}}}Response"
ASSERTION = f"{{{SAML}}}Assertion"
ENCRYPTED_ASSERTION = f"{{{SAML}}}EncryptedAssertion"
SIGNATURE = f"{{{DS}}}Signature"
#: the largest response read (bytes, after base64): far more than any IdP sends
MAX_BYTES = 512 * 1024
_ID_ATTRIBUTES = ("ID", "Id", "AssertionID")


def parse(document: bytes | str) -> Element:
    """The response's root element, read without a DTD, entities, comments or processing
    instructions; ``Refused`` (``dtd`` or ``malformed``) otherwise."""
    data = document.encode() if isinstance(document, str) else document
    if len(data) > MAX_BYTES:
        raise Refused("malformed", f"the response is larger than {MAX_BYTES} bytes")
    root = read(data)
    for element in root.iter():
        if not isinstance(element.tag, str):  # a Comment or ProcessingInstruction
            raise Refused("malformed", "the response holds a comment or processing instruction")
    return root


def read(data: bytes) -> Element:
    """A document's root element, read without a DTD or entities (comments and processing
    instructions are kept as elements, for the caller to refuse or skip)."""
    builder = TreeBuilder(insert_comments=True, insert_pis=True)
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        root: Element = parser.close()
    except (DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden) as exc:
        raise Refused("dtd", f"the document has a document type declaration ({exc})") from None
    except ParseError as exc:
        raise Refused("malformed", f"the document is not well-formed XML ({exc})") from None
    return root


def single_assertion(root: Element, *, decrypted: bool = False) -> Element:
    """The response's one ``Assertion`` (or, before decryption, ``EncryptedAssertion``), after
    checking that nothing could be wrapped around or beside it. ``decrypted``: the document is
    the response with its encrypted assertion decrypted in place."""
    if root.tag != RESPONSE:
        raise Refused("malformed", f"the document is not a SAML response but {root.tag}")
    _unique_ids(root)
    parents = {child: parent for parent in root.iter() for child in parent}
    assertions = [e for e in root.iter() if e.tag == ASSERTION]
    encrypted = [e for e in root.iter() if e.tag == ENCRYPTED_ASSERTION]
    if decrypted:
        if len(encrypted) != 1 or parents.get(encrypted[0]) is not root:
            raise Refused("wrapped", "the response must hold exactly one encrypted assertion")
        if len(assertions) != 1 or parents.get(assertions[0]) is not encrypted[0]:
            raise Refused("wrapped", "the encrypted assertion must hold exactly one assertion")
        found = assertions[0]
    else:
        if len(assertions) + len(encrypted) != 1:
            count = len(assertions) + len(encrypted)
            raise Refused("wrapped", f"the response holds {count} assertions, not one")
        found = (assertions or encrypted)[0]
        if parents.get(found) is not root:
            raise Refused("wrapped", "the assertion is not a child of the response")
    _signatures_in_place(root, parents, allowed=(root, found))
    return found


def _unique_ids(root: Element) -> None:
    seen: set[str] = set()
    for element in root.iter():
        for name in _ID_ATTRIBUTES:
            value = element.get(name)
            if value is None:
                continue
            if value in seen:
                raise Refused("wrapped", f"the ID {value!r} appears twice")
            seen.add(value)


def _signatures_in_place(
    root: Element, parents: dict[Element, Element], *, allowed: tuple[Element, ...]
) -> None:
    signed: set[int] = set()
    for signature in (e for e in root.iter() if e.tag == SIGNATURE):
        parent = parents.get(signature)
        if parent is None or not any(parent is a for a in allowed):
            raise Refused(
                "wrapped", "a signature is somewhere other than the response or assertion"
            )
        if id(parent) in signed:
            raise Refused("wrapped", "an element carries two signatures")
        signed.add(id(parent))
        references = signature.findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
        target = parent.get("ID")
        if len(references) != 1 or not target or references[0].get("URI") != f"#{target}":
            raise Refused("wrapped", "a signature does not sign exactly the element it is in")
